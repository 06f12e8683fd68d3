"""What the graph and the question's own words say about which relation paths can be meant, before any model.

Priors reweigh the path model's probabilities of one question:

- **The topic's type.** A path can only be meant if entities like the topic have its first step: a writer is
  never the head of ``directed_by``, so "what did X write" cannot be read as a path starting there, whatever the
  wording. "Like the topic" is read off the graph without types: entities that have one of the topic's own steps
  also have this step often enough (``min_share``). A topic that lacks a step its kind usually has (a film
  without tags) keeps the path: the question then asks for something the graph lacks for it, and the ranker
  says so.
- **The asked answer type.** "who" asks for a person, "when" / "what year" for a time, "where" for a place,
  "which films" for something that is not a person; paths whose answers are of another kind (``Schema.steps``)
  are weighed down by ``mismatch``, never removed (question words are a weaker signal than the graph).
- **The relations named.** A relation the question names by its words (stems of its name, verb forms, lexicon
  phrasings) weighs the paths that hold it up (``named``) and those that lack it down (``unnamed``); the one
  named next to the topic's mention weighs up the paths that start with it (``first``): the topic is the
  innermost argument, so "who starred in the films whose directors also directed X" starts at ``directed_by``;
  the one named first after the question word weighs up the paths that end with it (``last``): what is asked
  is said first.

>>> asked_type("who directed | ?"), asked_type("which films did | write"), asked_type("what is |'s genre")
('who', 'thing', None)
>>> asked_type("what kind of film is |"), asked_type("what kind of films did | make"), asked_type("| is by this person")
(None, 'thing', 'who')
"""

from __future__ import annotations

import copy
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kgagent.kg.graph import INVERSE, KnowledgeGraph, inverse_step
from kgagent.kg.schema import Schema, induce_schema, is_person_noun, singular
from kgagent.retrieval.text import FUNCTION_WORDS

_TIME_NOUNS = {"year", "years", "date", "dates", "time", "day", "decade", "century", "month"}
_PLACE_NOUNS = {"place", "places", "country", "countries", "city", "cities", "location", "locations"}
_SKIP = {"is", "are", "was", "were", "the", "a", "an", "kind", "kinds", "type", "types", "of", "sort", "other",
         "some", "all", "different", "main", "primary", "s",  # words between "which" and its noun ("what's")
         "name", "names", "title", "titles"}  # "what is the name of the director of X" asks for the director
_WORD = re.compile(r"[a-z]+|\|")  # "|" stands for the topic's mention: a question's noun never lies past it
TOPIC = " | "


def _asked(text: str) -> tuple[str | None, list[str]]:
    """The first question word of ``text`` and, after "which"/"what", the words that may name what is asked
    (up to the topic's mention). "What kind of N is X" asks for a kind of the topic, not for an N: ``"kind"``,
    no noun. With no question word, "... this N" asks like "which N" ("X is a film written by this person")."""
    words = _WORD.findall(text.lower())
    if words[:1] == ["whose"]:  # "whose novel is X" asks for a person (later, "whose" is a relative pronoun)
        return "who", []
    for i, w in enumerate(words):
        if w in ("who", "whom", "when", "where"):
            return w, []
        if w == "how" and i + 1 < len(words) and words[i + 1] in _HOW_MUCH:
            return "how", []
        if w in ("which", "what"):
            window = words[i + 1: i + 9]
            after = [n for n in window if n not in _SKIP]
            phrase = after[: after.index("|")] if "|" in after else after
            if phrase and _KINDS & set(window[: window.index(phrase[0])]) \
                    and _is_kind_of_topic(words[i + 1:], phrase[0]):
                return "kind", []
            return w, phrase
    for i, w in enumerate(words[:-1]):
        if w in ("this", "these") and words[i + 1] not in _SKIP and words[i + 1] != "|":
            return "which", [words[i + 1]]
    for i, w in enumerate(words[:-1]):  # "name a film directed by X", "list the stores that stock X"
        if w in _IMPERATIVES:
            after = [n for n in words[i + 1: i + 5] if n not in _SKIP and n not in _NOT_NOUNS]
            if after and after[0] != "|" and after[0] not in FUNCTION_WORDS:
                return "which", after[: after.index("|")] if "|" in after else after
            break
    return None, []


_IMPERATIVES = {"name", "list", "give", "show", "tell", "find", "mention", "identify"}
_NOT_NOUNS = {"me", "us", "any", "one", "few", "several", "many", "more", "couple"}  # "give me a few words"


_KINDS = {"kind", "kinds", "type", "types", "sort", "sorts"}
_COPULAS = {"is", "are", "was", "were"}


def _is_kind_of_topic(window: list[str], noun: str) -> bool:
    """``window`` reads "kind of <noun> <copula> [the <another noun>] |": the topic itself is the noun."""
    rest = window[window.index(noun) + 1:]
    if not rest or rest[0] not in _COPULAS or "|" not in rest:
        return False
    between = [x for x in rest[1: rest.index("|")] if x not in ("the", "a", "an")]
    return len(between) <= 1 and not (set(between) & FUNCTION_WORDS)


# "how many" is left out: it mostly asks for a count of things, which no stored value answers
_HOW_MUCH = {"much", "long", "big", "old", "far", "tall", "heavy", "large", "high", "fast", "wide", "deep",
             "often", "small", "short", "expensive", "cheap", "powerful", "strong"}


def asked_type(text: str) -> str | None:
    """The kind of answer a question asks for: who, when, where, thing (not a person), amount ("how much /
    long / many ..."), or None (no telling).

    The first question word decides; "which/what N" is read by its noun N (``TOPIC`` in ``text`` marks the
    topic's mention, which ends the search for N: "what is X's genre" does not ask for an X)."""
    wh, phrase = _asked(text)
    if wh == "how":
        return "amount"
    if wh in ("who", "whom"):
        return "who"
    if wh in ("when", "where"):
        return wh
    if not phrase:
        return None
    noun = _head_noun(phrase)
    if set(phrase[:2]) & _TIME_NOUNS:  # "which year", "what release dates"
        return "when"
    if set(phrase[:2]) & _PLACE_NOUNS:
        return "where"
    if noun in ("did", "does", "do", "has", "have", "had", "can", "could", "will", "would", "should"):
        return None  # "what did X ...": no noun to read
    return "who" if is_person_noun(noun.removesuffix("s")) or is_person_noun(noun) else "thing"


def _head_noun(phrase: list[str]) -> str:
    """The noun of a noun phrase's first words, past a participle that modifies it ("the starred actors")."""
    if len(phrase) > 1 and phrase[0].endswith("ed") and phrase[1] not in _AUXILIARIES:
        return phrase[1]
    return phrase[0]


def asked_noun(text: str) -> str | None:
    """The noun of "which N" / "what N" in its singular form ("which countries": country), else None."""
    _, phrase = _asked(text)
    if not phrase or phrase[0] in _AUXILIARIES or phrase[0] in ("do", "does", "can", "could", "will", "would"):
        return None
    return singular(_head_noun(phrase))


# which answer kinds (Schema.steps qword of a path's last step) fit each asked type
_FITS: dict[str, frozenset[str]] = {"who": frozenset({"who"}), "when": frozenset({"when"}),
                                    "where": frozenset({"where", "what"}), "thing": frozenset({"what", "where"}),
                                    "amount": frozenset()}  # amounts: by the answers' literal kind instead


_NOT_NAMING = {"has", "have", "had", "is", "was", "are", "were", "be", "by", "of", "in", "on", "at", "to", "for",
               "with", "from", "as", "into", "about", "the", "a", "an", "and", "or", "isa", "hasa", "get", "gets"}
_WH = {"who", "whom", "whose", "what", "which", "when", "where"}
_AUXILIARIES = {"did", "does", "do", "can", "could", "will", "would", "should", "has", "have", "had", "is", "was",
                "are", "were"}
_STEM = 4  # words sharing their first four letters count as the same word: direct-ed/-or, writ-er/-ten, star-red


def _stems(words: Sequence[str]) -> set[str]:
    return {w[:_STEM] for w in words if len(w) > 2 and w not in _NOT_NAMING}


def _said(word: str) -> set[str]:
    """The stems a question word can name a relation by: its own, and for a long word those of its tails, since
    compounds name their last part ("screenwriter": writ; "superstar": star)."""
    if len(word) <= 2 or word in _NOT_NAMING:
        return set()
    return {word[:_STEM]} | ({word[i: i + _STEM] for i in range(3, len(word) - 3)} if len(word) >= 8 else set())


def relation_words(schema: Schema) -> dict[str, set[str]]:
    """The words each relation is said with: its name's words, their verb forms ("written": wrote, write), and a
    lexicon's phrasings."""
    from kgagent.training.grammar import verb_forms

    out: dict[str, set[str]] = {}
    for rel, name in schema.names.items():
        words = list(name.words) + [f for w in name.words if w.endswith(("ed", "en")) for f in verb_forms(w)]
        words += [w for v in schema.variants.get(rel, []) for w in v.words]
        out[rel] = {w for w in words if len(w) > 2 and w not in _NOT_NAMING}
    return out


def relation_stems(schema: Schema) -> dict[str, set[str]]:
    """The word stems each relation is said with (see :func:`relation_words`)."""
    return {rel: _stems(list(words)) for rel, words in relation_words(schema).items()}


_TYPO_MIN = 5  # words this long or longer match a relation word one slip away ("driected": directed)


_SUFFIXES = ("ings", "ing", "ions", "ion", "ers", "er", "ors", "or", "es", "ed", "s", "e")


def strict_stem(word: str) -> str:
    """A word without its inflection or a common derivation (one suffix): stricter than the four-letter stems,
    for where a false match costs more ("located" and "location" meet; "procedures" and "process" do not).

    >>> [strict_stem(w) for w in ("located", "location", "carries", "carry", "procedures", "process")]
    ['locat', 'locat', 'carry', 'carry', 'procedur', 'proces']
    """
    if word.endswith(("ies", "ied")) and len(word) > 4:
        return word[:-3] + "y"
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1:] for i in range(len(word))} | {word}


class RelationWords:
    """Which relations a question names by its words; stored inverse twins (``directed_by`` / ``director_of``)
    count as one relation, named by either's words."""

    def __init__(self, schema: Schema) -> None:
        words = relation_words(schema)
        self._stems = {rel: _stems(list(ws)) for rel, ws in words.items()}
        self._twin = {r: schema.canonical(r).removesuffix(INVERSE) for r in schema.names}
        # one deletion from each side meets for a slip of one letter (dropped, added, swapped, or mistyped)
        self._slips: dict[str, set[str]] = {}
        for w in {w for ws in words.values() for w in ws if len(w) >= _TYPO_MIN}:
            for d in _deletions(w):
                self._slips.setdefault(d, set()).add(w)
        self._known = {st for sts in self._stems.values() for st in sts}
        self._strict = {rel: {strict_stem(w) for w in ws if len(w) > 2 and w not in _NOT_NAMING}
                        for rel, ws in words.items()}

    def _said(self, word: str) -> set[str]:
        """The stems ``word`` names relations by; a long word that names none, read as the relation word it is
        one slip from (a typo in its first letters breaks its stem)."""
        said = _said(word)
        if said & self._known or len(word) < _TYPO_MIN or word in FUNCTION_WORDS:
            return said
        near = {w for d in _deletions(word) for w in self._slips.get(d, ())}
        return said | {w[:_STEM] for w in near}

    def relation(self, step: str) -> str:
        """The relation a path step walks, read in either direction, twins as one."""
        rel = step.removesuffix(INVERSE)
        return self._twin.get(rel, rel)

    def relations(self, path: Sequence[str]) -> frozenset[str]:
        return frozenset(self.relation(s) for s in path)

    def by_word(self, word: str) -> set[str]:
        """The relations one question word names."""
        said = self._said(word) if word != "|" else set()
        return {self._twin.get(r, r) for r, st in self._stems.items() if st & said} if said else set()

    def by_word_strictly(self, word: str) -> set[str]:
        """The relations one question word names by its :func:`strict_stem` (no typos, no compounds)."""
        stem = strict_stem(word)
        return {self._twin.get(r, r) for r, st in self._strict.items() if stem in st}

    def named(self, text: str) -> set[str]:
        """The relations ``text`` names."""
        said = {st for w in _WORD.findall(text.lower()) for st in self._said(w)}
        return {self._twin.get(r, r) for r, st in self._stems.items() if st & said}

    def naming_words(self, text: str) -> list[set[str]]:
        """The relations each distinct word of ``text`` names, for the words that name any."""
        out = [self.by_word(w) for w in dict.fromkeys(_WORD.findall(text.lower()))]
        return [rels for rels in out if rels]

    def unnamed(self, path: Sequence[str], text: str) -> int:
        """How many of ``path``'s relations ``text`` does not name."""
        return len(self.relations(path) - self.named(text))


@dataclass
class PriorConfig:
    min_share: float = 0.05  # a step fits a topic when this share of the entities with one of its steps have it
    mismatch: float = 0.01  # factor on paths whose answers are not of the asked kind
    named: float = 2.0  # factor per question word naming a relation that the path holds (1: off)
    unnamed: float = 0.5  # factor per question word naming only relations the path lacks (1: off)
    first: float = 4.0  # factor on paths that start with the relation named next to the topic (1: off)
    last: float = 4.0  # factor on paths that end with the relation named first after the question word (1: off)
    typed: float = 4.0  # factor on paths whose answers are of the class "which N" asks for (1: off)


class PathPrior:
    """Reweighs path probabilities by the topic's steps and the asked answer type (see the module doc)."""

    def __init__(self, kg: KnowledgeGraph, paths: Sequence[tuple[str, ...]], *, schema: Schema | None = None,
                 config: PriorConfig | None = None) -> None:
        import scipy.sparse as sp

        from kgagent.training.qa_paths import PathIndex

        self.config = config or PriorConfig()
        index = PathIndex(kg)
        r = kg.num_relations
        tr = kg.triples
        rows = np.concatenate([tr[:, 0], tr[:, 2]])
        cols = np.concatenate([tr[:, 1], tr[:, 1] + r])
        has = sp.csr_matrix((np.ones(len(rows), dtype=np.float32), (rows, cols)), shape=(kg.num_entities, 2 * r))
        has.data[:] = 1.0  # duplicates summed: back to 0/1
        self._has = has  # (entities, steps): which steps each entity has
        co = (has.T @ has).tocsr()  # (steps, steps): entities having both
        holders = np.maximum(co.diagonal(), 1.0)
        # share[s', s]: of the entities with step s', the share that also has step s
        self._share = sp.diags(1.0 / holders) @ co
        self._step_ids = index.step_ids
        self._relation_names = list(kg.relations)
        self._schema = schema or induce_schema(kg)
        self.words = RelationWords(self._schema)
        self._set_paths(paths)

    def _set_paths(self, paths: Sequence[tuple[str, ...]]) -> None:
        """What the factors read of each path: its first step, answer kind and classes, relations."""
        import scipy.sparse as sp

        self._first = np.array([self._step_ids.get(p[0], -1) for p in paths], dtype=np.int64)
        steps = [self._schema.steps.get(p[-1]) if p else None for p in paths]
        self._kind = np.array(["what" if t is None else t.qword for t in steps])
        self._guessed = np.array([t is not None and t.guessed for t in steps], dtype=bool)  # never weighed down
        self._amount = np.array([t is not None and t.literal in ("number", "quantity") for t in steps], dtype=bool)
        self._lasts = np.array([self.words.relation(p[-1]) if p else "" for p in paths])
        # the step every answer of a path has: the inverse of its last step
        self._answer_step = np.array([self._step_ids.get(inverse_step(p[-1]), -1) if p else -1 for p in paths],
                                     dtype=np.int64)
        self._firsts = np.array([self.words.relation(p[0]) if p else "" for p in paths])
        # (paths, relations) 0/1: which relations each path holds, so a question's named words weigh every path at once
        relations = [self.words.relations(p) for p in paths]
        self._relation_col = {r: j for j, r in enumerate(sorted(set().union(*relations)))}
        rows = np.repeat(np.arange(len(paths)), [len(rels) for rels in relations])
        cols = [self._relation_col[r] for rels in relations for r in rels]
        self._path_relations = sp.csr_matrix((np.ones(len(cols)), (rows, cols)),
                                             shape=(len(paths), len(self._relation_col)))
        self._class_hits: dict[str, np.ndarray] = {}  # class noun -> paths whose answers are of that class
        # the class nouns of each path's answers (rdf:type-style classes, the relation's own noun)
        self._classes = [{singular(n.split()[-1]) for n in steps[k].nouns if n} if steps[k] else set()
                         for k in range(len(paths))]

    def for_paths(self, paths: Sequence[tuple[str, ...]]) -> PathPrior:
        """The same priors over other ``paths`` (the graph's tables are shared, not rebuilt)."""
        other = copy.copy(self)
        other._set_paths(paths)
        return other

    def topic_nouns(self, topics: Sequence[int]) -> set[str]:
        """The class nouns of ``topics`` (singular): those of every step whose answers they are."""
        r = len(self._relation_names)
        out: set[str] = set()
        for col in np.unique(self._has[list(topics)].indices) if len(topics) else ():
            # a topic heading relation c is an answer of c's inverse; one at its tail, of c itself
            name = self._relation_names[col] + INVERSE if col < r else self._relation_names[col - r]
            step = self._schema.steps.get(name)
            if step is not None:
                out |= {singular(n.split()[-1]) for n in step.nouns if n}
        return out

    def named_apart_from(self, text: str, topics: Sequence[int]) -> set[str]:
        """The relations ``text`` names by strict stems, but for a class noun of the topic right after its mention
        ("what does the X plan cover": "plan" says what X is, not a relation to walk; "the successor of X" still
        names one)."""
        words = _WORD.findall(text.lower())
        after = words.index("|") + 1 if "|" in words else len(words)
        skip = after < len(words) and singular(words[after]) in self.topic_nouns(topics)
        return {r for i, w in enumerate(words) if not (skip and i == after) for r in self.words.by_word_strictly(w)}

    def fits_topic(self, topics: Sequence[int]) -> np.ndarray:
        """``(n_paths,)`` bool: paths whose first step entities like ``topics`` have (all True if none tell)."""
        steps = np.unique(self._has[list(topics)].indices) if len(topics) else np.empty(0, dtype=np.int64)
        if not len(steps):
            return np.ones(len(self._first), dtype=bool)
        share = np.asarray(self._share[steps].max(axis=0).todense()).ravel()  # (steps,)
        ok_step = share >= self.config.min_share
        ok_step[steps] = True
        return (self._first >= 0) & ok_step[np.maximum(self._first, 0)]

    def answer_factor(self, text: str) -> np.ndarray | None:
        """``(n_paths,)`` factors for the asked answer type of ``text``; None when the question does not tell."""
        asked = asked_type(text)
        if asked is None:
            return None
        fits = np.isin(self._kind, list(_FITS[asked])) | self._guessed if asked != "amount" else self._amount
        if not fits.any():
            return None
        return np.where(fits, 1.0, self.config.mismatch)

    def naming_factor(self, text: str) -> np.ndarray | None:
        """``(n_paths,)`` factors for the relations the question names by their words (None: it names none)."""
        import scipy.sparse as sp

        cfg = self.config
        if cfg.named == cfg.unnamed == 1.0:
            return None
        # by word, not by relation: a word that names two relations ("warranty": covered_by_warranty and
        # has_warranty_length) is explained by a path holding either, and does not call for both
        said = self.words.naming_words(text)
        if not said:
            return None
        # (relations, words) 0/1, then per path the number of said words it names a relation of
        cells = [(self._relation_col[r], k) for k, named in enumerate(said) for r in named if r in self._relation_col]
        if cells:
            rows, cols = zip(*cells, strict=True)
            asked = sp.csr_matrix((np.ones(len(cells)), (rows, cols)), shape=(len(self._relation_col), len(said)))
            hits = np.asarray(((self._path_relations @ asked) > 0).sum(axis=1)).ravel()
        else:
            hits = np.zeros(self._path_relations.shape[0], dtype=np.int64)
        misses = len(said) - hits
        return cfg.named ** hits * cfg.unnamed ** misses

    def first_factor(self, text: str) -> np.ndarray | None:
        """``(n_paths,)`` factors for the relation named next to the topic's mention: the topic is the innermost
        argument of a question, so the relation said beside it is the path's first ("who starred in the films
        whose directors also directed X": ``directed_by``). Distance counts content words; at equal distance the
        word before the mention wins ("what did the director of X write": ``directed_by``). None: no telling (no
        mention, no relation word, or one word naming two relations)."""
        if self.config.first == 1.0:
            return None
        words = [w for w in _WORD.findall(text.lower()) if w == "|" or w not in FUNCTION_WORDS]
        if "|" not in words:
            return None
        t = words.index("|")
        near: list[tuple[int, int, set[str]]] = []
        for i, w in enumerate(words):
            rels = self.words.by_word(w)
            if rels:
                near.append((abs(i - t), i > t, rels))
        if not near:
            return None
        rels = min(near, key=lambda x: x[:2])[2]
        if len(rels) != 1:
            return None
        return np.where(self._firsts == next(iter(rels)), self.config.first, 1.0)

    def last_factor(self, text: str) -> np.ndarray | None:
        """``(n_paths,)`` factors for the relation named first after the question word: what is asked is said
        first ("who wrote the films that share directors with X": ``written_by`` last; "what is a film directed
        by X": ``directed_by``, a copula is read past). None: no telling (no question word, the mention or an
        auxiliary comes first — "what did the director of X write" says it last —, or one word naming two
        relations)."""
        if self.config.last == 1.0:
            return None
        words = _WORD.findall(text.lower())
        start = next((i for i, w in enumerate(words) if w in _WH), None)
        if start is None:
            return None
        for w in words[start + 1:]:
            if w == "|" or (w in _AUXILIARIES and w not in _COPULAS) or w in _KINDS:
                return None  # "what types are the films written by X" asks for a kind the question does not name
            rels = self.words.by_word(w)
            if rels:
                return np.where(self._lasts == next(iter(rels)), self.config.last, 1.0) if len(rels) == 1 else None
        return None

    def class_factor(self, text: str) -> np.ndarray | None:
        """``(n_paths,)`` factors for paths whose answers are of the class the question asks for ("which
        countries": paths ending at countries, by the graph's own class names); None when no path's answers are
        of that class, or the question names none."""
        if self.config.typed == 1.0:
            return None
        noun = asked_noun(text)
        if noun is None:
            return None
        if noun not in self._class_hits:
            self._class_hits[noun] = np.array([noun in c for c in self._classes], dtype=bool)
        hit = self._class_hits[noun]
        return np.where(hit, self.config.typed, 1.0) if hit.any() else None

    def kind_factor(self, text: str, topics: Sequence[int]) -> np.ndarray | None:
        """``(n_paths,)`` factors for "what kind of film is X": a kind of the topic is asked, so paths whose answers
        are like the topic (other films: they have a step the topic has at their end), persons, times or amounts
        are weighed down by ``mismatch``; None for other questions."""
        if _asked(text)[0] != "kind" or not len(topics):
            return None
        own = np.unique(self._has[list(topics)].indices)
        # nor is a kind a person, a time or an amount
        unfit = np.isin(self._answer_step, own) | (np.isin(self._kind, ["who", "when"]) & ~self._guessed) \
            | self._amount
        return np.where(unfit, self.config.mismatch, 1.0) if unfit.any() and not unfit.all() else None

    def weights(self, topics: Sequence[int], text: str) -> np.ndarray:
        """``(n_paths,)`` product of every factor for this question (not normalised)."""
        weight = self.fits_topic(topics).astype(float)
        for factor in (self.answer_factor(text), self.naming_factor(text), self.first_factor(text),
                       self.last_factor(text), self.class_factor(text), self.kind_factor(text, topics)):
            if factor is not None:
                weight = weight * factor
        return weight

    def apply(self, probs: np.ndarray, topics: Sequence[int], text: str) -> np.ndarray:
        """``probs`` reweighed and renormalised; unchanged where every path would be ruled out."""
        out = probs * self.weights(topics, text)
        total = out.sum()
        return out / total if total > 0 else probs
