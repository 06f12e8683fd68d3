"""Question synthesis from the graph: verbalized walks whose gold answers are the graph's own."""

from __future__ import annotations

from collections import Counter

import pytest

from kgagent.kg import KnowledgeGraph
from kgagent.kg.schema import relation_name
from kgagent.training.qa_data import read_qa_file
from kgagent.training.qa_paths import PathIndex
from kgagent.training.synthesize import SynthesisConfig, synthesize_questions, write_qa_file


@pytest.fixture(scope="module")
def movie_kg() -> KnowledgeGraph:
    triples = []
    for i in range(20):
        film = f"Film {i}"
        triples += [(film, "directed_by", f"Director {i % 5}"), (film, "starred_actors", f"Actor {i % 7}"),
                    (film, "starred_actors", f"Actor {(i + 3) % 7}"), (film, "release_year", str(1990 + i % 4)),
                    (film, "has_genre", ["Drama", "Comedy", "Horror"][i % 3])]
    return KnowledgeGraph.from_triples(triples, literals=[str(1990 + k) for k in range(4)])


def test_questions_are_verbalized_with_correct_answers(movie_kg: KnowledgeGraph) -> None:
    qs = synthesize_questions(movie_kg, 150, config=SynthesisConfig(seed=3))
    assert len(qs) == 150
    index = PathIndex(movie_kg)
    hops = Counter(q.hops for q in qs)
    assert set(hops) == {1, 2, 3} and min(hops.values()) >= 20  # every length asked about
    assert len({(q.topics, q.qtype) for q in qs}) == len(qs)  # no duplicate walk
    for q in qs:
        path = tuple(q.qtype.split("/"))
        (topic,) = q.topics
        s, e = q.mention
        assert q.question[s:e] == movie_kg.labels[topic]
        assert not movie_kg.literal[topic]  # literal values are not asked about by default
        # the gold is exactly what the path reaches on the graph, never the topic
        assert set(q.answers) == set(index.execute([topic], path).tolist())
        assert topic not in q.answers and 1 <= len(q.answers) <= 25
        # a word of the last relation appears in the text outside the topic's name (its stem: "direct" in
        # "directed", "director"; "act" in "acted" for "actors"), except in "who worked with X" for co-agents
        if len(path) > 1 and path[-2] == path[-1] + "^-1":
            continue
        words = relation_name(path[-1].removesuffix("^-1")).words
        rest = (q.question[:s] + q.question[e:]).lower()
        assert any(w[:3] in rest for w in words if w not in ("has", "by", "is")), q.question
    # one-hop answers agree with the graph's own follow()
    for q in (q for q in qs if q.hops == 1):
        assert set(q.answers) == set(movie_kg.follow(q.topics, [q.qtype]))


def test_templates_vary_and_seed_is_deterministic(movie_kg: KnowledgeGraph) -> None:
    a = synthesize_questions(movie_kg, 60, config=SynthesisConfig(seed=1, max_hops=1))
    b = synthesize_questions(movie_kg, 60, config=SynthesisConfig(seed=1, max_hops=1))
    assert [q.question for q in a] == [q.question for q in b]
    by_path: dict[str, set[str]] = {}
    for q in a:
        s, e = q.mention
        by_path.setdefault(q.qtype, set()).add(q.question[:s] + "X" + q.question[e:])
    assert max(len(v) for v in by_path.values()) >= 3  # several templates for the same relation


def test_round_trip_through_a_question_file(movie_kg: KnowledgeGraph, tmp_path) -> None:
    qs = synthesize_questions(movie_kg, 30, config=SynthesisConfig(seed=2))
    write_qa_file(qs, tmp_path / "q.txt", movie_kg)
    back = read_qa_file(tmp_path / "q.txt", movie_kg)
    assert [(q.question, q.topics, set(q.answers)) for q in back] == [(q.question, q.topics, set(q.answers))
                                                                      for q in qs]


def test_small_or_empty_requests(movie_kg: KnowledgeGraph) -> None:
    assert synthesize_questions(movie_kg, 0) == []
    tiny = KnowledgeGraph.from_triples([("a", "r", "b")])
    qs = synthesize_questions(tiny, 50, config=SynthesisConfig(max_hops=1))
    assert {(q.topics, q.qtype) for q in qs} <= {((0,), "r"), ((1,), "r^-1")}  # only two walks exist


@pytest.mark.parametrize("kwargs", [{"max_hops": 4}, {"hop_weights": (1.0,)}, {"max_answers": 0},
                                    {"hop_weights": (0.0, 0.0, 0.0)}])
def test_config_checks_name_the_field(kwargs: dict) -> None:
    field = next(iter(kwargs))
    with pytest.raises(ValueError, match=field):
        SynthesisConfig(**kwargs)


def test_each_sampled_path_is_asked_of_several_topics(movie_kg: KnowledgeGraph) -> None:
    index = PathIndex(movie_kg)
    grouped = synthesize_questions(movie_kg, 80, config=SynthesisConfig(seed=4, per_path=4))
    single = synthesize_questions(movie_kg, 80, config=SynthesisConfig(seed=4, per_path=1))
    per_path = Counter(q.qtype for q in grouped)
    # fewer distinct paths, each with several examples (what a path classifier can learn from)
    assert len(per_path) < len(Counter(q.qtype for q in single))
    assert sum(c >= 2 for c in per_path.values()) >= 0.6 * len(per_path)
    assert len(grouped) == 80 and len({(q.topics, q.qtype) for q in grouped}) == 80
    for q in grouped:
        assert set(q.answers) == set(index.execute(q.topics, tuple(q.qtype.split("/"))).tolist())
    with pytest.raises(ValueError, match="per_path"):
        SynthesisConfig(per_path=0)


def test_mentioned_words_counts_relation_words_in_the_question() -> None:
    from kgagent.training.synthesize import mentioned_words

    q = "what do the accessories for the successor of the X cost"
    # the 3-hop reading names "successor"; the 2-hop one that skips it names nothing
    assert mentioned_words(("successor_of^-1", "compatible_with^-1", "has_price"), q) == 1
    assert mentioned_words(("compatible_with^-1", "has_price"), q) == 0
    assert mentioned_words(("has_price",), "what are the prices of X") == 1  # same first five letters
    assert mentioned_words(("starred_actors^-1", "directed_by"), "who directed the films starred by X") == 2
    assert mentioned_words(("has_genre",), "what has X") == 0  # function words do not count
    # repeating a relation names no more words than walking it once
    q = "which chip powers X"
    assert mentioned_words(("powered_by", "powered_by^-1", "powered_by"), q) == mentioned_words(("powered_by",), q)


def test_a_length_short_of_topics_is_asked_again_in_other_words(movie_kg: KnowledgeGraph) -> None:
    config = SynthesisConfig(seed=1, max_hops=2, hop_weights=(0.5, 0.5), per_path=2)
    qs = synthesize_questions(movie_kg, 600, config=config)
    hops = Counter(q.hops for q in qs)
    # 1-hop paths have too few topics for half of 600 distinct questions: they are asked again, not skipped
    assert hops[1] >= 0.4 * len(qs)
    pairs = Counter((q.topics, q.qtype) for q in qs if q.hops == 1)
    assert max(pairs.values()) <= config.rewordings
    once = synthesize_questions(movie_kg, 600, config=SynthesisConfig(seed=1, max_hops=2, hop_weights=(0.5, 0.5),
                                                                       per_path=2, rewordings=1))
    assert Counter(q.hops for q in once)[1] < hops[1]
