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
                "home", "located", "location of", "born in", "lives in", "where", "headquartered", "based",
                "situated", "housed"}
_TIME_NOUNS = {"year", "date", "time", "day", "month", "century", "decade", "period", "era", "when", "birthday",
               "founded", "released", "release", "born", "died", "start", "end", "since", "until"}
_TYPE_RELATIONS = {"type", "rdf type", "is a", "isa", "instance of", "category", "class", "kind", "is type",
                   "has type", "subclass of", "a"}
# past forms that take no object: "acted in" is said "what did X act in", not "what is X acted in"
_INTRANSITIVE = {"acted", "graduated", "participated", "died", "worked", "lived", "played", "starred", "studied",
                 "competed", "served", "resulted", "occurred", "happened", "appeared", "originated", "emigrated",
                 "immigrated", "moved", "retired", "belonged", "specialized", "specialised", "invested", "voted",
                 "collaborated", "interacted", "contributed", "performed", "fought", "travelled", "traveled",
                 "stayed", "resided", "debuted", "arrived", "evolved", "descended", "converted", "majored",
                 "trained", "taught", "ran", "went", "came", "grew", "rose", "fell", "sat", "stood", "spoke"}
_ADJECTIVE_ENDS = ("ible", "able", "ent", "ant", "al", "ive", "ous", "ar", "ic", "ful", "ary", "ate")
_PARTICIPLES = {"born", "known", "made", "written", "held", "built", "sold", "bought", "paid", "told", "led",
                "shown", "given", "taken", "seen", "done", "drawn", "sung", "chosen", "spoken", "driven", "grown",
                "thrown", "kept", "found", "set", "put", "run", "won", "owned", "based", "housed"}
_IRREGULAR = {"written": ("wrote", "write"), "sung": ("sang", "sing"), "drawn": ("drew", "draw"),
              "taken": ("took", "take"), "given": ("gave", "give"), "made": ("made", "make"),
              "done": ("did", "do"), "known": ("knew", "know"), "seen": ("saw", "see"), "begun": ("began", "begin"),
              "chosen": ("chose", "choose"), "spoken": ("spoke", "speak"), "driven": ("drove", "drive"),
              "grown": ("grew", "grow"), "thrown": ("threw", "throw"), "shown": ("showed", "show"),
              "born": ("bore", "bear"), "led": ("led", "lead"), "held": ("held", "hold"), "built": ("built", "build"),
              "won": ("won", "win"), "founded": ("founded", "found"), "starred": ("starred", "star"),
              "played": ("played", "play"), "owned": ("owned", "own"), "sold": ("sold", "sell"),
              "bought": ("bought", "buy"), "paid": ("paid", "pay"), "told": ("told", "tell"), "run": ("ran", "run")}


def verb_forms(participle: str) -> tuple[str, str]:
    """(simple past, base) of a past participle: directed -> (directed, direct); written -> (wrote, write)."""
    if participle in _IRREGULAR:
        return _IRREGULAR[participle]
    base = participle
    if participle.endswith("ied"):
        base = participle[:-3] + "y"
    elif participle.endswith("ed"):
        base = participle[:-2]
        if len(base) > 2 and base[-1] == base[-2] and base[-1] not in "lsz":
            base = base[:-1]  # starred -> star, planned -> plan
        elif base.endswith(("at", "ut", "iz", "id", "ov", "ur", "ag", "os", "ib", "ev", "as", "lv", "rv")) \
                or (len(base) > 2 and base[-1] == "c"):
            base += "e"  # created -> create, produced -> produce, used -> use
    return participle, base


_PAST = {past: base for past, base in _IRREGULAR.values()}  # simple past -> base form
_YEAR = re.compile(r"^\s*(1[0-9]{3}|20[0-9]{2})\s*$")
_DATE = re.compile(r"^\s*\d{4}-\d{2}(-\d{2})?")
_NUMBER = re.compile(r"^\s*[-+]?\d+([.,]\d+)?\s*$")
_QUANTITY = re.compile(r"^\s*[-+$€£]?\d[\d.,]*\s*[^\W\d_%]*%?")  # a number with its unit: "14 days", "2299 USD"


@dataclass(frozen=True)
class RelationName:
    """How a relation is said. ``kind``: ``passive`` (X directed by Y), ``of`` (X is the capital of Y), ``verb``
    (X treats Y; X acted in Y), ``state`` (X is located in Y; X is available in colour Y), ``type`` (X is a Y),
    ``noun`` (X has genre Y). ``noun`` is the relation's head word without its leading has/is and trailing
    preposition (for ``state``: the participle or adjective); ``obj`` the noun a ``state`` or ``verb`` name ends
    with, which names its tails ("colour", "service" of ``offers_service``); ``domain`` is the head's class where
    the name carries one (Freebase's ``/film/film/...``); ``inverse`` marks a name that says it is another
    relation read backwards."""

    name: str
    words: tuple[str, ...]
    kind: str
    noun: str
    domain: str | None = None
    inverse: bool = False
    prep: str = ""  # the preposition of a ``state`` name ("in" of ``located_in``)
    obj: str = ""

    @property
    def phrase(self) -> str:
        return " ".join(self.words)

    @property
    def base(self) -> str:
        """The name without its inverse marks, as a key: ``parent_of_inverse`` and ``parent_of`` share one."""
        return " ".join(self.words)

    @property
    def past(self) -> bool:
        """Whether the name's verb is in the past ("acted in": "what did X act in")."""
        return self.kind == "verb" and (self.words[0].endswith("ed") or self.words[0] in _PAST)

    @property
    def verb(self) -> str:
        """The phrase with its first word in the base form: "treats" -> "treat", "interacts with" -> "interact
        with", "acted in" -> "act in" (for "what does X treat", "what did X act in")."""
        first, *rest = self.words
        base = _PAST.get(first) or verb_forms(first)[1] if self.past else singular(first)
        return " ".join([base, *rest])


def _split_words(text: str) -> list[str]:
    text = _CAMEL.sub(" ", text)
    return [w.lower() for w in re.split(r"[\s_\-.:/#]+", text) if w and not w.isdigit()]


def _strip_digits(words: list[str]) -> list[str]:
    """``exports3`` -> ``exports``: trailing version digits say nothing about meaning."""
    return [re.sub(r"(?<=[a-z])\d+$", "", w) for w in words]


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
    if " ".join(words) in _TYPE_RELATIONS:
        return RelationName(name=name, words=tuple(words), kind="type", noun="type", domain=domain, inverse=inverse)
    state = _state(words)
    if state is not None:
        return RelationName(name=name, words=tuple(words), kind="state", noun=state[0], domain=domain,
                            inverse=inverse, prep=state[1], obj=state[2])
    last = words[-1]
    obj = ""
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
        obj = " ".join(words[1:]) if len(words) > 1 and not set(words[1:]) & _PREPOSITIONS else ""
    else:
        kind = "noun"
    content = [w for w in words if w not in _LEADING] or words
    if kind == "noun" and len(content) > 1 and content[0] in _PREPOSITIONS:
        content = content[1:]  # "in language" -> "language"
    if kind in ("passive", "of"):
        content = content[:-1] or content
    noun = " ".join(content)
    return RelationName(name=name, words=tuple(words), kind=kind, noun=noun, domain=domain, inverse=inverse, obj=obj)


def _state(words: list[str]) -> tuple[str, str, str] | None:
    """(participle or adjective, preposition, object noun) of a name that says what its head *is*: "located in",
    "is married to", "compatible with", "available in colour", "covered by warranty"; None for other names
    ("acted in" is an intransitive past: a verb; "directed by" a passive)."""
    core = words[1:] if words[0] in ("is", "was", "are", "were", "been") and len(words) > 2 else words
    at = next((i for i, w in enumerate(core) if w in _PREPOSITIONS or w == "by"), None)
    if at is None or at == 0 or at > 2:
        return None
    head, prep, obj = core[at - 1], core[at], " ".join(core[at + 1:])
    if prep == "by" and not obj:
        return None  # a passive: its agent is asked with "who"/"what ... by"
    said = head in _PARTICIPLES or (head.endswith(("ed", "en")) and len(head) > 4) \
        or (head.endswith(_ADJECTIVE_ENDS) and len(head) > 4 and not _looks_like_verb(head))
    if not said or head in _INTRANSITIVE or (core is words and at == 2 and not core[0].endswith("ly")):
        return None
    return " ".join(core[:at]), prep, obj


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
    literal: str | None = None  # "year", "date", "number", "quantity" (with a unit) when the answers are such values
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
    named = _NamedClasses(kg)
    steps: dict[str, StepType] = {}
    for r, rows in zip(kg.relations, by_rel, strict=True):
        for forward in (True, False):
            ends = rows[:, 2 if forward else 0]
            starts = rows[:, 0 if forward else 2]
            steps[r if forward else r + INVERSE] = _step_type(kg, names[r], forward, ends, starts, classes, named)
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
    for kind, rx in (("year", _YEAR), ("date", _DATE), ("number", _NUMBER), ("quantity", _QUANTITY)):
        if sum(bool(rx.match(x)) for x in labels) >= 0.8 * len(labels):
            return kind
    return None


_LABEL_WORD = re.compile(r"[a-z]{3,}")
_NOT_CLASS = {"the", "and", "for", "with", "from", "of", "inc", "ltd", "llc", "new", "old"}


class _NamedClasses:
    """Classes that entity names tell: a word most of a set of entities carry in their names, and few others do
    ("Lumora Store Lisbon", "Lumora Store Milan": store; "Veylin College": college). English puts the head noun
    last, so among such words the one most often last wins."""

    def __init__(self, kg: KnowledgeGraph) -> None:
        self.kg = kg
        self.holders: Counter[str] = Counter(w for label in kg.labels for w in set(self._words(label)))

    @staticmethod
    def _words(label: str) -> list[str]:
        return [w for w in _LABEL_WORD.findall(label.lower()) if w not in _NOT_CLASS]

    def noun(self, ends: np.ndarray) -> str | None:
        ids = np.unique(ends)
        if len(ids) < 3:
            return None
        labels = [self.kg.labels[int(e)] for e in ids[:2000]]
        if sum(label[:1].isdigit() for label in labels) * 2 >= len(labels):
            return None  # quantities ("14 days", "2299 USD"): their unit is no class
        count: Counter[str] = Counter()
        first: Counter[str] = Counter()
        last: Counter[str] = Counter()
        for label in labels:
            words = self._words(label)
            count.update(set(words))
            if words:
                first[words[0]] += 1
                last[words[-1]] += 1
        # most of these entities carry it, few others do, and it does not lead their names (brands, series do)
        ok = [w for w, c in count.items() if 2 * c >= len(labels) and 2 * min(c, len(ids)) >= self.holders[w]
              and self.holders[w] <= 2 * len(ids) and 2 * first[w] < c]
        if not ok:
            return None
        return singular(max(ok, key=lambda w: (last[w], count[w])))


def _step_type(kg: KnowledgeGraph, name: RelationName, forward: bool, ends: np.ndarray, starts: np.ndarray,
               classes: dict[int, str], named: _NamedClasses | None = None) -> StepType:
    sample = np.unique(ends)[:200]
    literal = _literal_kind([kg.labels[int(e)] for e in sample])
    nouns: list[str] = []
    if classes:
        counts = Counter(classes[int(e)] for e in sample if int(e) in classes)
        if counts:
            nouns.append(counts.most_common(1)[0][0].lower())
    label_noun = named.noun(ends) if named is not None and not literal else None
    if label_noun:
        nouns.append(label_noun)
    # the relation's own words name its answers when read forward ("genre" of a film is a genre), but those of
    # an "of" name its heads ("capital_of": the capital is X, so read backwards); backward, the answers are what
    # the relation starts from: Freebase's domain, else nothing (a generic noun is used)
    if (forward and name.kind == "noun" and not literal) or (not forward and name.kind == "of"):
        nouns.append(name.noun)
    elif forward and name.kind in ("state", "verb") and name.obj and not literal:
        nouns.append(name.obj)
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


def singular(noun: str) -> str:
    """A noun's singular form, by its ending: countries -> country, boxes -> box, films -> film."""
    if len(noun) > 4 and noun.endswith("ies"):
        return noun[:-3] + "y"
    if len(noun) > 4 and noun.endswith(("sses", "shes", "ches", "xes", "zes")):
        return noun[:-2]
    if len(noun) > 3 and noun.endswith("s") and not noun.endswith(("ss", "us", "is")):
        return noun[:-1]
    return noun


def is_person_noun(noun: str, *, strict: bool = False) -> bool:
    """Whether a noun names a person or agent: a short list of common ones, else (unless ``strict``) an agent suffix
    (-er, -or, -ist...); plurals too ("starred actors", "writers")."""
    last = noun.split()[-1] if noun else ""
    if len(last) > 3 and last.endswith("s") and not last.endswith("ss") and last not in _PERSON_NOUNS:
        last = last[:-3] + "y" if last.endswith("ies") else last[:-1]  # "actors" -> "actor", "cities" -> "city"
    if not last or last in _NOT_PERSON or noun in _NOT_PERSON:
        return False
    return last in _PERSON_NOUNS or (not strict and len(last) > 4 and last.endswith(_PERSON_SUFFIXES))
