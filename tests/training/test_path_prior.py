"""Path priors from the graph (the topic's kind of entity) and the question's words (the asked answer type)."""

from __future__ import annotations

import numpy as np
import pytest

from kgagent.kg import KnowledgeGraph
from kgagent.training.path_prior import TOPIC, PathPrior, PriorConfig, asked_type


@pytest.mark.parametrize(("text", "kind"), [
    ("who directed |?", "who"),
    ("the films written by | starred whom", "who"),
    ("which actors appear in |", "who"),
    ("what year was | released", "when"),
    ("what were the release dates of the films of |", "when"),
    ("when did | come out", "when"),
    ("where was | born", "where"),
    ("which films did | write", "thing"),
    ("what genre is |", "thing"),
    ("what is |'s genre", None),  # the noun after "what" is the topic's
    ("what did | write", None),
    ("| genre", None),
    ("how much does | cost", "amount"),
    ("how long is the warranty of |", "amount"),
    ("how many films did | direct", None),  # a count, not a stored amount
    ("what kind of film is |", None),  # a kind of the topic, not a film
    ("what sort of film is the movie |", None),
    ("what kind of films did | direct", "thing"),  # films
    ("| is a film written by this person", "who"),  # no question word: "this N" asks for an N
    ("can you name a film directed by |", "thing"),  # imperatives ask for their object
    ("name the director of |", "who"),
    ("tell me who wrote |", "who"),
    ("what is the name of the director of |", "who"),  # the name of a person is asked like the person
    ("what's the name of the company that makes |", "thing"),
    ("whose novel is |", "who"),
    ("what are the starred actors of |", "who"),  # a participle before the noun: the noun tells
    ("list the starred actors of |", "who"),
    ("which films starred |", "thing"),
])
def test_asked_type(text: str, kind: str | None) -> None:
    assert asked_type(text) == kind


@pytest.fixture(scope="module")
def film_kg() -> KnowledgeGraph:
    triples = []
    for i in range(12):
        triples += [(f"Film {i}", "directed_by", f"Director {i % 4}"), (f"Film {i}", "written_by", f"Writer {i % 5}"),
                    (f"Film {i}", "release_year", str(2000 + i % 3))]
        if i % 3:  # some films have no tags
            triples.append((f"Film {i}", "has_tags", f"tag {i % 2}"))
    return KnowledgeGraph.from_triples(triples, literals=[str(2000 + k) for k in range(3)])


PATHS = [("directed_by",), ("written_by",), ("written_by^-1",), ("directed_by^-1",), ("has_tags",),
         ("release_year",), ("written_by^-1", "directed_by")]


def test_topic_rules_out_paths_its_kind_never_starts(film_kg: KnowledgeGraph) -> None:
    prior = PathPrior(film_kg, PATHS)
    writer = film_kg.entity_id("Writer 1")
    fits = dict(zip(PATHS, prior.fits_topic([writer]), strict=True))
    assert fits[("written_by^-1",)] and fits[("written_by^-1", "directed_by")]
    assert not fits[("directed_by",)] and not fits[("has_tags",)] and not fits[("directed_by^-1",)]
    # a film without tags still fits has_tags: films have them (the graph lacks it for this one)
    untagged = film_kg.entity_id("Film 0")
    assert dict(zip(PATHS, prior.fits_topic([untagged]), strict=True))[("has_tags",)]
    # a stricter share rules more out
    strict = PathPrior(film_kg, PATHS, config=PriorConfig(min_share=0.9))
    assert not dict(zip(PATHS, strict.fits_topic([untagged]), strict=True))[("has_tags",)]


def test_apply_reweighs_by_topic_and_answer_type(film_kg: KnowledgeGraph) -> None:
    prior = PathPrior(film_kg, PATHS, config=PriorConfig(mismatch=0.1))
    film = film_kg.entity_id("Film 3")
    flat = np.full(len(PATHS), 1 / len(PATHS))
    p = dict(zip(PATHS, prior.apply(flat, [film], f"who directed {TOPIC}?"), strict=True))
    assert p[("written_by^-1",)] == 0.0  # a film heads no written_by^-1 edge
    assert p[("directed_by",)] > 5 * p[("release_year",)]  # "who" asks for a person
    p = dict(zip(PATHS, prior.apply(flat, [film], f"when was {TOPIC} released"), strict=True))
    assert p[("release_year",)] > 5 * p[("directed_by",)]
    assert abs(sum(p.values()) - 1) < 1e-9
    # nothing fits: the model's probabilities are kept as they are
    nobody = np.zeros(len(PATHS))
    nobody[2] = 1.0
    assert np.allclose(prior.apply(nobody, [film], "what"), nobody)


def test_a_kind_of_the_topic_is_no_entity_like_it_nor_a_person_or_time(film_kg: KnowledgeGraph) -> None:
    paths = [("has_tags",), ("directed_by",), ("release_year",), ("directed_by", "directed_by^-1")]
    prior = PathPrior(film_kg, paths, config=PriorConfig(mismatch=0.1))
    film = film_kg.entity_id("Film 4")
    factor = prior.kind_factor(f"what kind of film is {TOPIC}?", [film])
    assert factor is not None and factor.tolist() == [1.0, 0.1, 0.1, 0.1]  # tags; not people, years or films
    assert prior.kind_factor(f"what kind of films did {TOPIC} direct", [film]) is None


def test_relations_named_by_the_question_weigh_their_paths_up(film_kg: KnowledgeGraph) -> None:
    prior = PathPrior(film_kg, PATHS, config=PriorConfig(mismatch=1.0, named=2.0, unnamed=0.5, first=1.0, last=1.0))
    writer = film_kg.entity_id("Writer 2")
    flat = np.full(len(PATHS), 1 / len(PATHS))
    # "wrote" names written_by through its verb forms, "director" names directed_by
    p = dict(zip(PATHS, prior.apply(flat, [writer], f"who is the director of the films {TOPIC} wrote"), strict=True))
    assert p[("written_by^-1", "directed_by")] > 3 * p[("written_by^-1",)]
    film = film_kg.entity_id("Film 4")
    p = dict(zip(PATHS, prior.apply(flat, [film], f"who directed {TOPIC}"), strict=True))
    assert p[("directed_by",)] == pytest.approx(4 * p[("written_by",)])  # named (x2) vs unnamed (x0.5)
    # a compound names its last part: a screenwriter is a writer
    p = dict(zip(PATHS, prior.apply(flat, [film], f"who is the screenwriter of {TOPIC}"), strict=True))
    assert p[("written_by",)] == pytest.approx(4 * p[("directed_by",)])
    # words that name no relation change nothing
    p = prior.apply(flat, [writer], f"tell me about {TOPIC}")
    assert np.allclose(p, prior.apply(flat, [writer], "?"))


def test_a_guessed_answer_kind_is_never_weighed_down() -> None:
    kg = KnowledgeGraph.from_triples([(f"Phone {i}", "powered_by", f"Chip {i % 3}") for i in range(6)]
                                     + [(f"Phone {i}", "made_by", f"Maker {i % 2}") for i in range(6)])
    paths = [("powered_by",), ("powered_by", "powered_by^-1")]
    prior = PathPrior(kg, paths, config=PriorConfig(mismatch=0.1, named=1.0, unnamed=1.0))
    p = prior.apply(np.array([0.5, 0.5]), [kg.entity_id("Phone 1")], f"which chip powers {TOPIC}")
    assert p[0] == pytest.approx(0.5)  # "powered_by" reads "who" by default, but a chip is asked: no penalty


def test_stored_inverse_twins_are_one_named_relation() -> None:
    triples = [(f"Film {i}", "directed_by", f"Director {i % 3}") for i in range(9)]
    triples += [(d, "director_of", f) for f, _, d in triples] + [(f"Film {i}", "written_by", "W") for i in range(9)]
    kg = KnowledgeGraph.from_triples(triples)
    paths = [("directed_by",), ("director_of^-1",), ("written_by",)]
    prior = PathPrior(kg, paths, config=PriorConfig(mismatch=1.0, named=2.0, unnamed=0.5, first=1.0, last=1.0))
    p = prior.apply(np.full(3, 1 / 3), [kg.entity_id("Film 1")], f"who directed {TOPIC}")
    assert p[0] == pytest.approx(p[1]) and p[0] == pytest.approx(4 * p[2])  # neither twin lacks the other


def test_the_relation_named_beside_the_topic_is_the_first_step(film_kg: KnowledgeGraph) -> None:
    paths = [("written_by", "written_by^-1", "directed_by"), ("directed_by", "directed_by^-1", "written_by"),
             ("directed_by", "written_by^-1")]
    prior = PathPrior(film_kg, paths, config=PriorConfig(mismatch=1.0, named=1.0, unnamed=1.0, first=4.0, last=1.0))
    film = film_kg.entity_id("Film 5")
    flat = np.full(len(paths), 1 / len(paths))
    p = prior.apply(flat, [film], f"who directed the films whose writers also wrote {TOPIC}")
    assert p[0] == pytest.approx(4 * p[1])  # "wrote" is said beside the topic: written_by comes first
    p = prior.apply(flat, [film], f"who wrote the films that the director of {TOPIC} directed")
    assert p[1] == pytest.approx(4 * p[0]) and p[2] == pytest.approx(p[1])
    # as near on both sides: the word before the mention ("director of X") wins over the verb after it
    p = prior.apply(flat, [film], f"what did the director of {TOPIC} write")
    assert p[1] == pytest.approx(4 * p[0])
    # no relation word, or the factor off: nothing changes
    assert np.allclose(prior.apply(flat, [film], f"tell me about {TOPIC}"), flat)
    off = PathPrior(film_kg, paths, config=PriorConfig(mismatch=1.0, named=1.0, unnamed=1.0, first=1.0,
                                                         last=1.0))
    assert np.allclose(off.apply(flat, [film], f"who directed the films whose writers also wrote {TOPIC}"), flat)


def test_the_relation_named_after_the_question_word_is_the_last_step(film_kg: KnowledgeGraph) -> None:
    paths = [("written_by", "written_by^-1", "directed_by"), ("directed_by", "directed_by^-1", "written_by"),
             ("directed_by", "directed_by^-1", "directed_by")]
    prior = PathPrior(film_kg, paths, config=PriorConfig(mismatch=1.0, named=1.0, unnamed=1.0, first=1.0, last=4.0))
    film = film_kg.entity_id("Film 5")
    flat = np.full(len(paths), 1 / len(paths))
    p = prior.apply(flat, [film], f"who wrote the films that share directors with {TOPIC}")
    assert p[1] == pytest.approx(4 * p[0]) and p[1] == pytest.approx(4 * p[2])  # what is asked is said first
    # after an auxiliary the verb comes last ("what did ... write"): no telling
    assert np.allclose(prior.apply(flat, [film], f"what did the director of {TOPIC} write"), flat)
    # a copula is read past: "who is the writer of ..." asks for a writer
    p = prior.apply(flat, [film], f"who is the writer of the films that share directors with {TOPIC}")
    assert p[1] == pytest.approx(4 * p[0])
    assert np.allclose(prior.apply(flat, [film], f"{TOPIC}"), flat)  # no question word


def test_relation_words_name_relations_and_count_the_unnamed(film_kg: KnowledgeGraph) -> None:
    from kgagent.kg.schema import induce_schema
    from kgagent.training.path_prior import RelationWords

    words = RelationWords(induce_schema(film_kg))
    text = "who are the actors in the films written by the writer of |"
    assert words.named(text) == {"written_by"}
    assert words.unnamed(("written_by", "written_by^-1"), text) == 0
    assert words.unnamed(("written_by", "directed_by^-1"), text) == 1
    assert words.by_word("directors") == {"directed_by"} and words.by_word("|") == set()


def test_training_labels_prefer_the_tied_path_the_question_names(film_kg: KnowledgeGraph) -> None:
    """A writer who also directed makes both paths reach the same films; the question only says "wrote"."""
    from kgagent.kg.schema import induce_schema
    from kgagent.training.path_prior import RelationWords
    from kgagent.training.qa.fit import PathData

    named, accident = ("written_by", "written_by^-1"), ("written_by", "directed_by^-1")
    data = PathData([], [], np.arange(0), np.arange(0), [], [named, accident],
                    words=RelationWords(induce_schema(film_kg)))
    assert data.best_ties([accident, named], "what else did the writer of | write") == [named]
    assert data.best_ties([accident, named], "what did the writer of | direct") == [accident]
    # without the graph's words, both stay tied
    bare = PathData([], [], np.arange(0), np.arange(0), [], [named, accident])
    assert bare.best_ties([accident, named], "what else did the writer of | write") == [accident, named]


def test_a_slip_of_one_letter_still_names_the_relation(film_kg: KnowledgeGraph) -> None:
    from kgagent.kg.schema import induce_schema
    from kgagent.training.path_prior import RelationWords

    words = RelationWords(induce_schema(film_kg))
    for typo in ("driected", "idrected", "dirrected", "diected"):  # swapped, doubled, dropped letters
        assert words.named(f"who {typo} |") == {"directed_by"}, typo
    assert words.named("what is the rleease year of |") == {"release_year"}
    assert words.named("who wrtoe |") == {"written_by"}  # the verb forms too: wrote
    # short words and words one slip from nothing stay unnamed
    assert words.named("who drected |") == {"directed_by"} and words.named("who dirs |") == set()
    assert words.named("who filmed |") == set() and words.named("what about |") == set()
    assert words.by_word("written") == {"written_by"}


def test_how_much_asks_for_an_amount() -> None:
    triples = [(f"Plan {i}", "has_duration", f"{12 * (i + 1)} months") for i in range(4)]
    triples += [(f"Plan {i}", "covers", f"Damage {i % 2}") for i in range(4)]
    kg = KnowledgeGraph.from_triples(triples)
    prior = PathPrior(kg, [("has_duration",), ("covers",)], config=PriorConfig(mismatch=0.01))
    assert prior.answer_factor(f"how long does{TOPIC}last").tolist() == [1.0, 0.01]
    assert prior.answer_factor(f"what does{TOPIC}cover") is None


def test_the_class_a_question_asks_for_weighs_its_paths_up() -> None:
    from kgagent.training.path_prior import asked_noun

    assert asked_noun("which countries is | from") == "country"
    assert asked_noun("what did | write") is None and asked_noun("who wrote |") is None
    triples = []
    for i in range(6):
        triples += [(f"P{i}", "wasBornIn", f"C{i % 2}"), (f"P{i}", "worksAt", f"U{i % 3}"), (f"P{i}", "type", "Person"),
                    (f"U{i % 3}", "type", "University"), (f"C{i % 2}", "type", "City")]
    kg = KnowledgeGraph.from_triples(triples)
    paths = [("wasBornIn",), ("worksAt",)]
    prior = PathPrior(kg, paths, config=PriorConfig(typed=4.0))
    factor = prior.class_factor(f"which university does{TOPIC}work for")
    assert factor is not None and factor.tolist() == [1.0, 4.0]
    assert prior.class_factor(f"which shoes does{TOPIC}wear") is None  # no path's answers are shoes
    assert PathPrior(kg, paths, config=PriorConfig(typed=1.0)).class_factor(f"which city is{TOPIC}from") is None
