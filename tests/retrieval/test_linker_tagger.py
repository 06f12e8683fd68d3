"""The linker with a mention tagger: asked only when the dictionary is unsure; its spans get partial-name and dense
candidates and outrank spans it did not propose. The tagger here is a deterministic object implementing the
protocol (the linker is what is under test; the trained tagger has its own tests in tests/training/test_ner.py)."""

from __future__ import annotations

import random
from collections.abc import Sequence

import pytest

from kgagent.kg import KnowledgeGraph
from kgagent.retrieval import EntityLinker, LinkerConfig
from kgagent.retrieval.perturb import PERTURBATIONS, drop_word, lower_and_drop, misspell, possessive
from kgagent.retrieval.tagging import MentionTagger, Span

PRODUCTS = KnowledgeGraph.from_triples([
    ("Lumora Pulse Max", "made_by", "Lumora"),
    ("Lumora Pulse Mini", "made_by", "Lumora"),
    ("Kite 5 Plus", "made_by", "Lumora"),
    ("Kite 5 Plus", "compatible_with", "Snap Case"),
    ("Slate 12 Pro", "made_by", "Lumora"),
    ("Max", "made_by", "Other Corp"),  # a short name inside a longer one
    ("Ridley Scott", "directed", "Alien"),
    ("Tony Scott", "directed", "Top Gun"),
    ("Tony Scott", "directed", "Days of Thunder"),
])


class Marks:
    """Tags the given words of each text (the first occurrence), counting its calls."""

    def __init__(self, words: Sequence[str], label: str = "ENT", score: float = 0.95) -> None:
        self.words, self.label, self.score, self.calls = list(words), label, score, 0

    def tag(self, texts: Sequence[str]) -> list[list[Span]]:
        self.calls += 1
        out = []
        for t in texts:
            spans = []
            for w in self.words:
                i = t.find(w)
                if i >= 0:
                    spans.append(Span(i, i + len(w), self.label, self.score))
            out.append(spans)
        return out


def entity(kg: KnowledgeGraph, linker: EntityLinker, text: str) -> str:
    return kg.entities[linker.link(text, always=True)[0].entity]


def test_a_tagger_is_a_mention_tagger() -> None:
    assert isinstance(Marks(["x"]), MentionTagger)


def test_partial_name_is_found_only_with_the_tagger() -> None:
    text = "does the pulse max charge wirelessly"
    plain = EntityLinker(PRODUCTS)
    assert entity(PRODUCTS, plain, text) == "Max"  # the dictionary sees only the short name inside it
    tagged = EntityLinker(PRODUCTS, tagger=Marks(["pulse max"]))
    m = tagged.link(text)[0]
    assert (m.text, PRODUCTS.entities[m.entity], m.candidates[0].method) == ("pulse max", "Lumora Pulse Max",
                                                                              "partial")
    assert "Lumora Pulse Mini" not in {PRODUCTS.entities[c.entity] for c in m.candidates}  # "max" is not "mini"


def test_tagger_is_not_asked_when_an_exact_match_is_confident() -> None:
    marks = Marks(["Kite"])
    linker = EntityLinker(PRODUCTS, tagger=marks)
    assert entity(PRODUCTS, linker, "which case fits the Kite 5 Plus?") == "Kite 5 Plus"
    assert marks.calls == 0
    assert entity(PRODUCTS, linker, "which case fits the Kite plus") == "Kite 5 Plus"
    assert marks.calls == 1


def test_untagged_spans_lose_to_the_tagged_one() -> None:
    # "max" alone is an exact (weak) match; the tagger says the mention is "slate pro"
    text = "is the max price of the slate pro high"
    assert entity(PRODUCTS, EntityLinker(PRODUCTS), text) == "Max"
    assert entity(PRODUCTS, EntityLinker(PRODUCTS, tagger=Marks(["slate pro"])), text) == "Slate 12 Pro"


def test_tagged_span_takes_dense_candidates_rescored_by_spelling() -> None:
    queries: list[str] = []

    def dense(text: str, k: int) -> list[tuple[int, str, float]]:
        queries.append(text)
        return [(PRODUCTS.entity_id("Ridley Scott"), "Ridley Scott", 0.6),
                (PRODUCTS.entity_id("Tony Scott"), "Tony Scott", 0.61)]

    linker = EntityLinker(PRODUCTS, dense=dense, tagger=Marks(["ridlee scot"]))
    m = linker.link("films by ridlee scot please")[0]
    assert "ridlee scot" in queries  # the span's text, not the whole question, is searched
    assert (m.text, PRODUCTS.entities[m.entity]) == ("ridlee scot", "Ridley Scott")  # spelling beats cosine


def test_no_dense_query_where_the_tagged_words_name_an_entity() -> None:
    queries: list[str] = []

    def dense(text: str, k: int) -> list[tuple[int, str, float]]:
        queries.append(text)
        return [(PRODUCTS.entity_id("Max"), "Max", 0.9)]

    linker = EntityLinker(PRODUCTS, dense=dense, tagger=Marks(["pulse max"]))
    m = linker.link("is the pulse max any good")[0]
    assert PRODUCTS.entities[m.entity] == "Lumora Pulse Max"
    # a name holds the span's words: neither the span nor (the tagger having placed it) the whole text is searched
    assert queries == []


def test_empty_tagging_changes_nothing() -> None:
    text = "what else did scott direct"
    plain = EntityLinker(PRODUCTS).link(text, always=True)
    tagged = EntityLinker(PRODUCTS, tagger=Marks([])).link(text, always=True)
    assert [(m.start, m.end, m.entity, m.score) for m in plain] == [(m.start, m.end, m.entity, m.score)
                                                                    for m in tagged]


@pytest.mark.parametrize("bad", [{"tagger_weight": 1.5}, {"tagger_below": -1}, {"partial_extra_words": -1}])
def test_tagger_settings_are_checked(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        LinkerConfig(**bad)


# ----------------------------------------------------------------- the perturbations shared with training
def test_perturbations_keep_the_span_on_the_changed_mention() -> None:
    text = "who directed Ridley Scott films"
    for seed in range(20):
        rng = random.Random(seed)
        for kind, fn in PERTURBATIONS.items():
            out = fn(text, 13, 25, rng)
            assert out is not None, kind
            new, s, e = out
            assert new[:s] == text[:13] and new[e:].removeprefix("'s") == text[25:], (kind, new)
    assert drop_word("a Kite b", 2, 6, random.Random(0)) is None  # one word: nothing to drop
    assert possessive("the Alien film", 4, 9)[0] == "the Alien's film"
    assert lower_and_drop("by Ridley Scott", 3, 15, random.Random(0))[0] in ("by scott", "by ridley")
    typo, s, e = misspell("by Ridley Scott", 3, 15, random.Random(3))
    assert typo != "by Ridley Scott" and abs((e - s) - 12) <= 1


def test_an_exact_match_inside_a_longer_capitalized_name_asks_the_tagger() -> None:
    kg = KnowledgeGraph.from_triples([("Slate", "made_by", "Lumora"), ("Slate 12 Pro", "made_by", "Lumora"),
                                      ("Slate 12 Pro", "has_price", "999 USD")])
    marks = Marks(["Slate Pro"])
    linker = EntityLinker(kg, tagger=marks)
    assert entity(kg, linker, "how much is the Slate series") == "Slate" and marks.calls == 0
    assert entity(kg, linker, "how much is the Slate Pro") == "Slate 12 Pro" and marks.calls == 1
