"""Multi-hop QA: question files, path labelling, set-level execution, a real short training run on a toy task,
save/load, the KGE fallback for a removed edge, and the ``train qa`` / ``eval qa`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kg import InputError, KnowledgeGraph
from training.qa_data import NameIndex, QAExample, gold_ids, mask_mention, parse_question, read_qa_file
from training.qa_paths import PathIndex, label_paths

# ----------------------------------------------------------------- a toy movie KG with MetaQA-like questions
N_FILMS = 24
GENRES = ("drama", "comedy", "horror")
MISSING_FILM = "Film 0"  # its directed_by edge is removed; its has_tags edge still names the director


def toy_triples(*, drop_missing: bool) -> list[tuple[str, str, str]]:
    triples = []
    for i in range(N_FILMS):
        film, director = f"Film {i}", f"Director {i % 6}"
        if not (drop_missing and film == MISSING_FILM):
            triples.append((film, "directed_by", director))
        triples += [(film, "has_tags", director), (film, "starred_actors", f"Actor {i % 8}"),
                    (film, "has_genre", GENRES[i % 3]), (film, "written_by", f"Writer {i % 5}")]
    return triples


# (template, relation path); [X] is the topic
TEMPLATES = (
    ("who directed [X]", ("directed_by",)),
    ("who is the director of [X]", ("directed_by",)),
    ("which films did [X] direct", ("directed_by^-1",)),
    ("what did [X] direct", ("directed_by^-1",)),
    ("who acted in [X]", ("starred_actors",)),
    ("what films star [X]", ("starred_actors^-1",)),
    ("who wrote [X]", ("written_by",)),
    ("what genre is [X]", ("has_genre",)),
    ("which actors starred in films directed by [X]", ("directed_by^-1", "starred_actors")),
    ("what genres are the films starring [X]", ("starred_actors^-1", "has_genre")),
    ("who directed the films written by [X]", ("written_by^-1", "directed_by")),
    ("which films share a director with [X]", ("directed_by", "directed_by^-1")),
    ("who wrote the films that share actors with [X]", ("starred_actors", "starred_actors^-1", "written_by")),
)


def toy_questions(kg: KnowledgeGraph) -> list[str]:
    """MetaQA-format lines for every template and every topic the path starts from."""
    index = PathIndex(kg)
    lines = []
    for template, path in TEMPLATES:
        first = index.step_ids[path[0]]
        for topic in range(kg.num_entities):
            reached = index.execute([topic], path)
            if len(index.step(np.array([topic]), first)) and len(reached):
                names = "|".join(kg.labels[int(a)] for a in reached)
                lines.append(f"{template.replace('X', kg.labels[topic])}\t{names}")
    return lines


@pytest.fixture(scope="module")
def full_kg() -> KnowledgeGraph:
    return KnowledgeGraph.from_triples(toy_triples(drop_missing=False))


# ----------------------------------------------------------------- question files
def test_parse_and_mask() -> None:
    text, span, name = parse_question("who directed [Paris, Texas] then")
    assert (text, name) == ("who directed Paris, Texas then", "Paris, Texas")
    assert text[span[0]: span[1]] == "Paris, Texas"
    masked, ph = mask_mention(text, span, "[MASK]")
    assert masked == "who directed [MASK] then" and masked[ph[0]: ph[1]] == "[MASK]"
    assert parse_question("no topic here") == ("no topic here", None, None)


def test_gold_names_rejoin_titles_split_at_commas(tiny_kg: KnowledgeGraph) -> None:
    index = NameIndex(tiny_kg)
    ids = gold_ids(["Paris", "Texas", "Alien"], index)
    assert set(ids) == {tiny_kg.entity_id("Paris, Texas"), tiny_kg.entity_id("Alien")}
    assert index.lookup("sir ridley scott") == [tiny_kg.entity_id("Ridley Scott")]  # alias, any case


def test_read_qa_file_locates_errors_and_skips_unknown_topics(tiny_kg: KnowledgeGraph, tmp_path: Path) -> None:
    good = tmp_path / "q.txt"
    good.write_text("who directed [Alien]\tRidley Scott\nwho directed [Nope]\tX\n\nwhat did [James Cameron] "
                    "direct\tAliens|Titanic\n", encoding="utf-8")
    qtype = tmp_path / "q_qtype.txt"
    qtype.write_text("movie_to_director\nmovie_to_director\n\ndirector_to_movie\n", encoding="utf-8")
    exs = read_qa_file(good, tiny_kg)
    assert [ex.source.rsplit(":", 1)[1] for ex in exs] == ["1", "4"]  # line 2's topic is unknown: skipped
    assert exs[1].answers == (tiny_kg.entity_id("Aliens"), tiny_kg.entity_id("Titanic"))
    assert (exs[1].qtype, exs[1].hops) == ("director_to_movie", 1)
    bad = tmp_path / "bad.txt"
    bad.write_text("who directed [Alien]\tRidley Scott\nno tab on this line\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.txt:2"):
        read_qa_file(bad, tiny_kg)
    nobr = tmp_path / "nobr.txt"
    nobr.write_text("who directed Alien\tRidley Scott\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"nobr.txt:1: no \[topic"):
        read_qa_file(nobr, tiny_kg)


# ----------------------------------------------------------------- set-level execution and path labels
def test_set_execution_matches_follow(full_kg: KnowledgeGraph) -> None:
    index = PathIndex(full_kg)
    for _, path in TEMPLATES:
        for topic in range(0, full_kg.num_entities, 3):
            exact = set(full_kg.follow([topic], list(path)))
            sets = set(index.execute([topic], path).tolist())
            assert exact <= sets and topic not in sets
            if len(path) <= 2:  # two steps cannot revisit an intermediate node other than the topic
                assert exact == sets


def test_label_paths_picks_the_right_path(full_kg: KnowledgeGraph) -> None:
    kg = full_kg
    e = kg.entity_id
    questions = [
        ([e("Film 1")], [e("Writer 1")]),  # who wrote Film 1: written_by, not another relation
        # actors of Director 2's films (Films 2, 8, 14, 20: actors i % 8)
        ([e("Director 2")], [e("Actor 2"), e("Actor 0"), e("Actor 6"), e("Actor 4")]),
        ([e("Film 3")], [e("Film 9"), e("Film 15"), e("Film 21")]),  # films sharing Film 3's director
        ([e("Film 3")], []),  # no gold: no label
    ]
    labels = label_paths(kg, questions)
    # the shortest best path first; longer paths reaching the same set are kept as tied labels
    assert labels[0].path == ("written_by",) and labels[0].f1 == 1.0
    assert labels[1].path == ("directed_by^-1", "starred_actors") and labels[1].f1 == 1.0
    # directed_by and has_tags name the same people here: both paths are kept as tied labels
    assert set(labels[2].paths) >= {("directed_by", "directed_by^-1"), ("has_tags", "has_tags^-1")}
    index = PathIndex(kg)
    for (topics, gold), lab in zip(questions[:3], labels, strict=False):
        assert all(set(index.execute(topics, p).tolist()) == set(gold) for p in lab.paths)
        assert [len(p) for p in lab.paths] == sorted(len(p) for p in lab.paths)
    assert labels[3].paths == ()
