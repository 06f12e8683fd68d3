"""Schema induction: what a graph's relations and entity classes are called, read from the graph alone.

Relation names come in many styles: ``directed_by``, ``hasGenre``, ``http://x.org/onto#birthPlace``,
Freebase paths (``/film/film/cinematographer``, ``film.film.cinematographer``, ``__film__cinematographer__film``),
and stored inverse twins (``parent_of`` beside ``parent_of_inverse`` or ``child_of^-1``). :func:`relation_name`
reads any of them into words and a grammatical *kind*, which decides how a question about the relation is
phrased (``directed_by`` is passive, ``capital_of`` relational, ``treats`` a verb, ``genre`` a noun).

:func:`induce_schema` adds what the triples say: inverse twins found in the data (same pairs, reversed), the
answer type of every relation direction (classes named by ``rdf:type``-style relations when the graph has them,
otherwise by the relation's own words), and the question word that fits it (who / when / where / what).

>>> relation_name("/film/film/cinematographer").noun, relation_name("directed_by").kind
('cinematographer', 'passive')
>>> relation_name("isCapitalOf").kind, relation_name("isCapitalOf").noun
('of', 'capital')
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from functools import cache

import numpy as np

from kgagent.kg.graph import INVERSE, KnowledgeGraph

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_INVERSE_MARKS = re.compile(r"(?:[_\-. ]?(?:inverse|inv|reverse|rev)$|^(?:inverse|reverse)(?:[_\-. ]?of)?[_\-. ]|"
                            r"\^-1$|~$|^~|_?-1$)", re.I)
_LEADING = {"has", "have", "is", "was", "are", "hasa", "isa", "get", "gets"}
_PREPOSITIONS = {"in", "with", "to", "from", "at", "on", "into", "for", "as", "about", "under", "over", "through",
                 "within", "near", "after", "before", "during", "against", "between", "among"}
# answer words: nouns that name people or places; a generic English list, not any one domain's schema
_PERSON_SUFFIXES = ("er", "or", "ist", "ian", "ant", "ent", "ee")
_NOT_PERSON = {"number", "order", "color", "colour", "genre", "letter", "paper", "chapter", "cover", "water",
               "center", "centre", "border", "parameter", "character", "register", "layer", "filter", "error",
               "factor", "vector", "sector", "meter", "counter", "player_count", "content", "component",
               "element", "document", "event", "agent", "treatment", "ingredient", "instrument", "department",
               "percent", "amount", "measurement", "segment", "equipment", "environment", "government",
               "language", "tag", "type", "year", "date", "rating", "votes", "title", "name", "price", "power",
               "tower", "flower", "corner", "chamber", "connector", "adapter", "adaptor", "charger", "processor",
               "monitor", "computer", "printer", "router", "controller", "sensor", "motor", "receiver",
               "transmitter", "container", "server", "browser", "compiler", "parser", "trailer", "poster",
               "folder", "header", "footer", "cluster", "successor", "predecessor", "indicator", "detector",
               "converter", "calculator", "reactor", "accelerator", "amplifier", "identifier", "quarter"}
_PERSON_NOUNS = {"spouse", "wife", "husband", "partner", "parent", "child", "children", "son", "daughter",
                 "mother", "father", "brother", "sister", "sibling", "friend", "member", "star", "cast", "staff",
                 "person", "people", "employee", "student", "alumni", "relative", "uncle", "aunt", "cousin",
                 "nephew", "niece", "grandparent", "grandchild", "colleague", "mentor", "coach", "ceo", "chef",
                 "artist", "guest", "host", "heir", "patient", "king", "queen", "president", "minister",
                 "candidate", "winner", "nominee", "team member", "crew", "actor", "actress", "author", "writer",
                 "director", "producer", "composer", "singer", "player", "founder", "owner", "manager", "leader",
                 "teacher", "doctor", "painter", "poet", "novelist", "scientist", "inventor", "architect",
                 "editor", "narrator", "photographer", "musician", "dancer", "athlete", "citizen", "resident",
                 "politician", "governor", "mayor", "soldier", "officer", "screenwriter", "cinematographer"}
_PERSON_VERBS = {"directed", "written", "wrote", "authored", "composed", "produced", "founded", "painted",
                 "starred", "acted", "played", "sung", "sang", "created", "invented", "designed", "edited",
                 "narrated", "illustrated", "photographed", "coached", "married", "born", "performed", "led"}
_PLACE_NOUNS = {"place", "location", "country", "city", "town", "region", "state", "province", "continent",
                "nation", "capital", "birthplace", "residence", "headquarters", "address", "venue", "site",
                "area", "county", "district", "island", "village", "origin", "destination", "hometown",
                "home", "located", "location of", "born in", "lives in", "where"}
_TIME_NOUNS = {"year", "date", "time", "day", "month", "century", "decade", "period", "era", "when", "birthday",
               "founded", "released", "release", "born", "died", "start", "end", "since", "until"}
_TYPE_RELATIONS = {"type", "rdf type", "is a", "isa", "instance of", "category", "class", "kind", "is type",
                   "has type", "subclass of", "a"}
_YEAR = re.compile(r"^\s*(1[0-9]{3}|20[0-9]{2})\s*$")
_DATE = re.compile(r"^\s*\d{4}-\d{2}(-\d{2})?")
_NUMBER = re.compile(r"^\s*[-+]?\d+([.,]\d+)?\s*$")


@dataclass(frozen=True)
class RelationName:
    """How a relation is said. ``kind``: ``passive`` (X directed by Y), ``of`` (X is the capital of Y), ``verb``
    (X treats Y; X located in Y), ``noun`` (X has genre Y). ``noun`` is the relation's head word without its
    leading has/is and trailing preposition; ``domain`` is the head's class where the name carries one
    (Freebase's ``/film/film/...``); ``inverse`` marks a name that says it is another relation read backwards."""

    name: str
    words: tuple[str, ...]
    kind: str
    noun: str
    domain: str | None = None
    inverse: bool = False

    @property
    def phrase(self) -> str:
        return " ".join(self.words)

    @property
    def base(self) -> str:
        """The name without its inverse marks, as a key: ``parent_of_inverse`` and ``parent_of`` share one."""
        return " ".join(self.words)

    @property
    def verb(self) -> str:
        """The phrase with its first word in the base form: "treats" -> "treat", "interacts with" -> "interact
        with" (for "what does X treat")."""
        first, *rest = self.words
        return " ".join([_base_form(first), *rest])


def _split_words(text: str) -> list[str]:
    text = _CAMEL.sub(" ", text)
    return [w.lower() for w in re.split(r"[\s_\-.:/#]+", text) if w and not w.isdigit()]


def _strip_digits(words: list[str]) -> list[str]:
    """``exports3`` -> ``exports``: trailing version digits say nothing about meaning."""
    return [re.sub(r"(?<=[a-z])\d+$", "", w) for w in words]


def _base_form(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "shes", "ches", "xes", "zes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@cache
def relation_name(name: str) -> RelationName:
    """Read a relation name in any common style (see the module docstring)."""
    raw = name.strip()
    inverse = bool(_INVERSE_MARKS.search(raw.rsplit("/", 1)[-1].rsplit("#", 1)[-1]))
    core = _INVERSE_MARKS.sub("", raw) if inverse else raw
    domain = None
    # Freebase-style paths: /domain/type/property, domain.type.property, __domain__type__property
    parts = [p for p in re.split(r"/|(?<=[a-z0-9])\.(?=[a-z])|__", core) if p]
    if "#" in core:
        parts = [core.rsplit("#", 1)[-1]]
    elif core.startswith(("http://", "https://", "urn:")):
        parts = [parts[-1]] if parts else [core]
    if len(parts) >= 3 and all(re.fullmatch(r"[a-z0-9_]+", p) for p in parts[-3:]):
        domain = " ".join(_split_words(parts[-2])) or None
        local = parts[-1]
    else:
        local = parts[-1] if parts else core
    words = _strip_digits(_split_words(local)) or [core.lower() or "related"]
    last = words[-1]
    if last == "by" and len(words) > 1:
        kind = "passive"
    elif last == "of" and len(words) > 1:
        kind = "of"
    elif last in _PREPOSITIONS and len(words) > 1:
        kind = "verb"
    elif words[0] in _LEADING and len(words) > 1:
        kind = "noun"
    elif _looks_like_verb(words[0]) and (len(words) == 1 or not words[0].endswith("ed")):
        kind = "verb"  # "treats", "exports"; but "starred actors" is an adjective and a noun
    else:
        kind = "noun"
    content = [w for w in words if w not in _LEADING] or words
    if kind == "noun" and len(content) > 1 and content[0] in _PREPOSITIONS:
        content = content[1:]  # "in language" -> "language"
    if kind in ("passive", "of"):
        content = content[:-1] or content
    noun = " ".join(content)
    return RelationName(name=name, words=tuple(words), kind=kind, noun=noun, domain=domain, inverse=inverse)


def _looks_like_verb(word: str) -> bool:
    """A third-person verb ("treats", "exports", "borders") or a past form ("directed"); nouns in -s are rarer
    as relation heads than verbs, and a wrong guess only changes the wording of synthesized questions."""
    return (len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ics", "ies"))) \
        or (len(word) > 5 and word.endswith("ed"))


# ----------------------------------------------------------------- the schema read from the triples
@dataclass
class StepType:
    """What one relation direction leads to: a class noun ("film", "genre"), a question word, literal or not."""

    qword: str  # who / when / where / what
    nouns: tuple[str, ...]  # class nouns of the answers, most specific first (may be empty)
    literal: str | None = None  # "year", "date", "number" when the answers are such values
    guessed: bool = False  # the question word is a default, not read from the graph or a person word


@dataclass
class Schema:
    """Relation names, inverse twins and answer types of a graph (see :func:`induce_schema`)."""

    names: dict[str, RelationName]
    twins: dict[str, str] = field(default_factory=dict)  # relation -> the relation it is the inverse of
    steps: dict[str, StepType] = field(default_factory=dict)  # "r" and "r^-1" -> what that step reaches
    type_relations: tuple[str, ...] = ()
    classes: dict[int, str] = field(default_factory=dict)  # entity -> its class name (explicit types only)
    comparisons: int = 0  # relation pairs compared in the twin search (bounded by ``max_pairs``)
    variants: dict[str, list[RelationName]] = field(default_factory=dict)  # relation -> a lexicon's phrasings

    def say(self, relation: str, rng: np.random.Generator) -> RelationName:
        """How to say ``relation`` this time: its own name, or (half the time) one of the lexicon's phrasings."""
        more = self.variants.get(relation)
        if more and rng.random() < 0.5:
            return more[int(rng.integers(len(more)))]
        return self.names[relation]

    def canonical(self, step: str) -> str:
        """A step with stored inverse twins folded: ``child_of^-1`` -> ``parent_of`` when they are twins."""
        forward = not step.endswith(INVERSE)
        rel = step.removesuffix(INVERSE)
        if rel in self.twins:
            other = self.twins[rel]
            return f"{other}{INVERSE}" if forward else other
        return step


def induce_schema(kg: KnowledgeGraph, *, lexicon: dict[str, list[str]] | None = None, max_pairs: int = 20_000,
                  twin_overlap: float = 0.9) -> Schema:
    """The schema of ``kg``: names of every relation, twins, class names and answer types per step.

    ``lexicon``: a few phrasings per relation from someone who knows the domain (``{"directed_by": ["director",
    "filmmaker"]}``); each is read like a relation name, so "director" is a noun and "made by" a passive.

    Twin detection compares relations with similar triple counts only (sorted by count, neighbours within 10%),
    at most ``max_pairs`` comparisons: linear in practice, bounded always.
    """
    names = {r: relation_name(r) for r in kg.relations}
    tr = kg.triples
    by_rel = [tr[tr[:, 1] == r] for r in range(kg.num_relations)]
    twins, comparisons = _twins(kg, names, by_rel, max_pairs, twin_overlap)
    type_rels = tuple(r for r in kg.relations if " ".join(names[r].words) in _TYPE_RELATIONS
                      or names[r].noun in ("type", "class", "category"))
    classes: dict[int, str] = {}
    for r in type_rels:
        rows = by_rel[kg.relation_id(r)]
        for h, t in zip(rows[:, 0].tolist(), rows[:, 2].tolist(), strict=True):
            classes.setdefault(int(h), kg.labels[int(t)])
    steps: dict[str, StepType] = {}
    for r, rows in zip(kg.relations, by_rel, strict=True):
        for forward in (True, False):
            ends = rows[:, 2 if forward else 0]
            starts = rows[:, 0 if forward else 2]
            steps[r if forward else r + INVERSE] = _step_type(kg, names[r], forward, ends, starts, classes)
    variants = {r: [relation_name(p) for p in phrases] for r, phrases in (lexicon or {}).items() if r in names}
    return Schema(names=names, twins=twins, steps=steps, type_relations=type_rels, classes=classes,
                  comparisons=comparisons, variants=variants)


def _twins(kg: KnowledgeGraph, names: dict[str, RelationName], by_rel: list[np.ndarray], max_pairs: int,
           overlap: float) -> tuple[dict[str, str], int]:
    """Relations stored in both directions: r2's (head, tail) pairs are r1's reversed; and the comparisons made."""
    n_e = max(kg.num_entities, 1)
    keys = [np.unique(rows[:, 0] * n_e + rows[:, 2]) for rows in by_rel]
    rkeys = [np.unique(rows[:, 2] * n_e + rows[:, 0]) for rows in by_rel]
    order = sorted(range(kg.num_relations), key=lambda r: len(keys[r]))
    out: dict[str, str] = {}
    pairs = 0
    for i, a in enumerate(order):
        for b in order[i + 1:]:
            if len(keys[b]) > 1.1 * len(keys[a]) + 1 or pairs >= max_pairs:
                break
            pairs += 1
            if not len(keys[a]) or kg.relations[a] in out or kg.relations[b] in out:
                continue
            shared = len(np.intersect1d(keys[a], rkeys[b], assume_unique=True))
            if shared >= overlap * max(len(keys[a]), len(keys[b])):
                # the name that says "inverse" is the twin; else the later relation
                x, y = (b, a) if names[kg.relations[b]].inverse or not names[kg.relations[a]].inverse else (a, b)
                out[kg.relations[x]] = kg.relations[y]
    return out, pairs


def _literal_kind(labels: list[str]) -> str | None:
    if not labels:
        return None
    for kind, rx in (("year", _YEAR), ("date", _DATE), ("number", _NUMBER)):
        if sum(bool(rx.match(x)) for x in labels) >= 0.8 * len(labels):
            return kind
    return None


def _step_type(kg: KnowledgeGraph, name: RelationName, forward: bool, ends: np.ndarray, starts: np.ndarray,
               classes: dict[int, str]) -> StepType:
    sample = np.unique(ends)[:200]
    literal = _literal_kind([kg.labels[int(e)] for e in sample])
    nouns: list[str] = []
    if classes:
        counts = Counter(classes[int(e)] for e in sample if int(e) in classes)
        if counts:
            nouns.append(counts.most_common(1)[0][0].lower())
    # the relation's own words name its answers when read forward ("genre" of a film is a genre); backward,
    # the answers are what the relation starts from: Freebase's domain, else nothing (a generic noun is used)
    if forward and name.kind in ("noun", "of") and not literal:
        nouns.append(name.noun)
    elif not forward and name.domain:
        nouns.append(name.domain)
    elif forward and name.domain and name.kind != "passive":
        nouns.append(name.noun)
    words = set(name.words) | {name.noun}
    guessed = False
    if literal in ("year", "date") or (forward and words & _TIME_NOUNS and literal):
        qword = "when"
    elif any(is_person_noun(n) for n in nouns) or (forward and name.kind == "passive"
                                                    and (set(name.words) & _PERSON_VERBS or not literal)):
        qword = "who"
        # "powered_by" is passive too, but a chip is no person: only a person word or verb makes it sure
        guessed = not (any(is_person_noun(n, strict=True) for n in nouns) or set(name.words) & _PERSON_VERBS)
    elif forward and (words & _PLACE_NOUNS or any(n in _PLACE_NOUNS for n in nouns)):
        qword = "where"
    else:
        qword = "what"
    return StepType(qword=qword, nouns=tuple(dict.fromkeys(n for n in nouns if n)), literal=literal,
                    guessed=qword == "who" and guessed)


def is_person_noun(noun: str, *, strict: bool = False) -> bool:
    """Whether a noun names a person or agent: a short list of common ones, else (unless ``strict``) an agent suffix
    (-er, -or, -ist...); plurals too ("starred actors", "writers")."""
    last = noun.split()[-1] if noun else ""
    if len(last) > 3 and last.endswith("s") and not last.endswith("ss") and last not in _PERSON_NOUNS:
        last = last[:-3] + "y" if last.endswith("ies") else last[:-1]  # "actors" -> "actor", "cities" -> "city"
    if not last or last in _NOT_PERSON or noun in _NOT_PERSON:
        return False
    return last in _PERSON_NOUNS or (not strict and len(last) > 4 and last.endswith(_PERSON_SUFFIXES))
