"""The default generator: fluent sentences from relation templates, no model needed.

A template is a sentence about one triple with ``{head}`` and ``{tail}``; ``{is}``, ``{was}`` and ``{has}`` agree
with the head side (``are``/``were``/``have`` when it names several entities), as do the verb endings ``{s}``,
``{es}`` and ``{ies}`` (``repair{s}``, ``appl{ies}``). Templates are derived from relation
names (``directed_by`` -> ``{head} {was} directed by {tail}``) and can be overridden per workspace::

    [agent.templates]
    starred_actors = "{head} starred {tail}"
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kgagent.agent.generators.base import (  # noqa: F401  (AnswerView, Fact: used in the doctest)
    AnswerView,
    Fact,
    Generator,
    GeneratorError,
    ResponseRequest,
    register_generator,
)

# Phrasing for a few relation names common in movie and encyclopedic KGs; the rest is derived from the name.
COMMON_TEMPLATES: dict[str, str] = {
    "starred_actors": "{head} starred {tail}",
    "release_year": "{head} {was} released in {tail}",
    "has_tags": "{head} {is} tagged {tail}",
    "in_language": "{head} {is} in {tail}",
    "has_imdb_rating": "{head} {is} rated {tail} on IMDb",
    "has_imdb_votes": "{head} {has} {tail} IMDb votes",
    "has_genre": "{head} {is} {tail}",
}
_PLURAL = {"is": "are", "was": "were", "has": "have", "s": "", "es": "", "ies": "y"}


def relation_words(name: str) -> str:
    """``"http://x.org/ont#birthPlace"`` -> ``"birth place"``; ``"directed_by^-1"`` -> ``"directed by"``."""
    name = name.removesuffix("^-1")
    name = re.split(r"[#/]", name.rstrip("/#"))[-1] or name
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return re.sub(r"[_\-.\s]+", " ", name).strip().lower()


_PAST = frozenset({"released", "founded", "made", "directed", "written", "born", "created", "published", "built",
                   "established", "produced", "invented", "discovered", "composed", "designed", "developed",
                   "painted", "filmed", "recorded", "died"})  # participles of events: "was", not "is"


def _verb_form(word: str) -> str | None:
    """``"repairs"`` -> ``"repair{s}"``, ``"applies"`` -> ``"appl{ies}"``: a present-tense verb that agrees with
    the head; None when ``word`` does not look like one."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is", "ics")):
        return None
    if word.endswith("ies"):
        return word[:-3] + "{ies}"
    if word.endswith(("ches", "shes", "xes", "sses", "zes")):
        return word[:-2] + "{es}"
    return word[:-1] + "{s}"


def derive_template(relation: str) -> str:
    """A sentence template from a relation name alone."""
    words = relation_words(relation).split()
    if not words:
        return "{head} {is} related to {tail}"
    first, rest = words[0], " ".join(words[1:])
    phrase = " ".join(words)
    if first in ("is", "was") and rest:  # is_part_of
        return "{head} {" + first + "} " + rest + " {tail}"
    if first in ("has", "have", "in") and rest:  # has_genre, in_language: a noun after it
        return "{head} {has} " + rest + " {tail}"
    if first.endswith("ed") or (len(words) > 1 and words[-1] == "by"):  # directed_by, located_in: a participle
        return "{head} " + ("{was}" if first in _PAST else "{is}") + f" {phrase} {{tail}}"
    if first.endswith(("able", "ible", "ent", "ant")):  # compatible_with, eligible_for: an adjective
        return f"{{head}} {{is}} {phrase} {{tail}}"
    if len(words) > 1 and words[-1] == "of":  # successor_of
        return f"{{head}} {{is}} the {phrase} {{tail}}"
    verb = _verb_form(first)
    if verb is not None:  # repairs, belongs_to, applies_to
        return "{head} " + " ".join([verb, *words[1:]]) + " {tail}"
    return f"{{head}} {{has}} {phrase} {{tail}}"


# The reply is plain text built from KG labels (data anyone may have written). A client that renders Markdown
# (a chat UI, an OpenAI-compatible client) must not turn a label into an image, a link or HTML: brackets and angle
# brackets are escaped, which is all those constructs need, and leaves the text readable in a terminal.
_ACTIVE = re.compile(r"[\[\]<>]")


def plain(text: str) -> str:
    """``text`` with ``[``, ``]``, ``<``, ``>`` backslash-escaped (no Markdown image, link, autolink or HTML).

    >>> print(plain("![x](http://h/p.png)"))
    !\\[x\\](http://h/p.png)
    """
    return _ACTIVE.sub(lambda m: "\\" + m.group(), text)


def join_names(names: list[str], more: int = 0) -> str:
    """``["A", "B", "C"]`` -> ``"A, B and C"``; with ``more=12``: ``"A, B, C and 12 more"``."""
    items = [*names, f"{more} more"] if more > 0 else list(names)
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


@dataclass
class Templates:
    """Relation -> template, with overrides first, then the common phrasings, then derivation."""

    overrides: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for rel, tpl in self.overrides.items():
            try:
                tpl.format(head="h", tail="t", **{k: k for k in _PLURAL})
            except (KeyError, IndexError, ValueError) as e:
                raise GeneratorError(f"[agent.templates] {rel}: bad template {tpl!r} ({e}); use {{head}}, {{tail}}, "
                                     "{is}, {was}, {has}, {s}") from e

    def get(self, relation: str) -> str:
        rel = relation.removesuffix("^-1")
        return self.overrides.get(rel) or COMMON_TEMPLATES.get(rel) or derive_template(rel)

    def sentence(self, relation: str, heads: list[str], tails: list[str], *, head_more: int = 0,
                 tail_more: int = 0) -> str:
        """One sentence about the triples ``heads × relation × tails`` (lists already de-duplicated)."""
        plural = len(heads) + (head_more > 0) > 1
        verbs = {k: (v if plural else k) for k, v in _PLURAL.items()}  # {s} -> "s" for one head, "" for several
        text = self.get(relation).format(head=join_names(heads, head_more), tail=join_names(tails, tail_more),
                                         **verbs)
        return text[:1].upper() + text[1:] + ("" if text.endswith((".", "!", "?")) else ".")


@register_generator("template")
class TemplateGenerator(Generator):
    """Grounded replies without a model: the answers as sentences along their evidence paths, then the evidence.

    >>> g = TemplateGenerator()
    >>> g.generate(ResponseRequest("who directed Alien?", answers=[AnswerView("Ridley Scott", 0.9,
    ...     [Fact("Alien", "directed_by", "Ridley Scott")])], evidence=[Fact("Alien", "directed_by", "Ridley Scott")],
    ...     confidence=0.9))
    'Alien was directed by Ridley Scott.\\n\\nEvidence: (Alien, directed_by, Ridley Scott).'
    """

    def __init__(self, templates: dict[str, str] | None = None, max_listed: int = 5, max_evidence: int = 5) -> None:
        if max_listed < 1 or max_evidence < 0:
            raise GeneratorError("template generator: max_listed must be >= 1 and max_evidence >= 0")
        self.templates = Templates(dict(templates or {}))
        self.max_listed = max_listed
        self.max_evidence = max_evidence

    def generate(self, request: ResponseRequest) -> str:
        if request.problem or request.unsure or not request.answers:
            return plain(self.no_answer(request))
        body = self.answer_sentences(request)
        cite = self.citation(request)
        return plain(f"{body}\n\n{cite}" if cite else body)

    # ----------------------------------------------------------------- pieces
    def no_answer(self, request: ResponseRequest) -> str:
        about = join_names(request.topic)
        if request.problem == "no_entity" or not request.topic:
            return ("I couldn't tell which entity your question is about. Could you name it (a title, a person, "
                    "a place ...)?")
        if request.problem == "missing" and request.relation_path:
            from kgagent.kg.schema import relation_name

            asked = ", then ".join(relation_name(r.removesuffix("^-1")).phrase for r in request.relation_path)
            return f"The knowledge graph has no {asked} for {about}, so I can't answer that from it."
        if request.problem in ("no_answer", "missing"):
            return f"I couldn't find that for {about} in the knowledge graph."
        if request.unsure or request.problem == "low_confidence":
            return (f"I'm not sure about that. I found no confident answer about {about} in the knowledge graph "
                    f"(confidence {request.confidence:.2f}), so I'd rather not guess. Could you rephrase it?")
        return f"I couldn't find that for {about} in the knowledge graph."

    def answer_sentences(self, request: ResponseRequest) -> str:
        listed = request.answers[: self.max_listed]
        more = request.total_answers - len(listed)
        with_path = [a for a in listed if a.path]
        if not with_path:
            names = join_names([a.label for a in listed], more)
            return f"The answer{'s are' if len(listed) + (more > 0) > 1 else ' is'} {names}."
        answer_labels = {a.label for a in listed}
        sentences: list[str] = []
        hops = max(len(a.path) for a in with_path)
        for i in range(hops):
            last = i == hops - 1
            # group the i-th triples of the listed answers' paths by relation, keeping first-seen order
            groups: dict[str, tuple[list[str], list[str], list[Fact]]] = {}
            for a in with_path:
                if len(a.path) <= i:
                    continue
                f = a.path[i]
                heads, tails, facts = groups.setdefault(f.relation, ([], [], []))
                if f.head not in heads:
                    heads.append(f.head)
                if f.tail not in tails:
                    tails.append(f.tail)
                if f not in facts:
                    facts.append(f)
            for rel, (heads, tails, facts) in groups.items():
                # the answers sit on the side made only of answer labels; "and N more" goes there
                tail_side = all(t in answer_labels for t in tails)
                head_more = more if last and not tail_side else 0
                tail_more = more if last and tail_side else 0
                if len(facts) > 1 and len(heads) == len(tails) == len(facts):
                    # one-to-one ("each accessory has its own price"): pair them up instead of two lists
                    clauses = [self.templates.sentence(rel, [f.head], [f.tail]).rstrip(".") for f in facts]
                    tail = f"; and {more} more" if last and more > 0 else ""
                    sentences.append("; ".join(clauses) + tail + ".")
                else:
                    sentences.append(self.templates.sentence(rel, heads, tails, head_more=head_more,
                                                             tail_more=tail_more))
        missing = [a.label for a in listed if not a.path]
        if missing:
            sentences.append(f"Also: {join_names(missing)}.")
        return " ".join(sentences)

    def citation(self, request: ResponseRequest) -> str:
        if self.max_evidence == 0:
            return ""
        if request.evidence:
            shown = request.evidence[: self.max_evidence]
            rest = len(request.evidence) - len(shown)
            return "Evidence: " + "; ".join(map(str, shown)) + (f"; and {rest} more." if rest else ".")
        if request.passages:
            return "Sources: " + " | ".join(request.passages[: self.max_evidence])
        return ""
