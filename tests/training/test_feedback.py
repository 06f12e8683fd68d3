"""Feedback records become labelled questions: liked answers confirm, corrections teach, the rest is skipped."""

from __future__ import annotations

import json

import pytest

from kgagent.kg import KnowledgeGraph
from kgagent.kg.errors import InputError
from kgagent.training.feedback import read_feedback


@pytest.fixture(scope="module")
def kg() -> KnowledgeGraph:
    return KnowledgeGraph.from_triples([("Alien", "directed_by", "Ridley Scott"),
                                        ("Blade Runner", "directed_by", "Ridley Scott"),
                                        ("Alien", "release_year", "1979")])


def _write(path, records) -> None:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records), encoding="utf-8")


def test_liked_and_corrected_turns_become_examples(kg: KnowledgeGraph, tmp_path) -> None:
    alien, scott = kg.entity_id("Alien"), kg.entity_id("Ridley Scott")
    _write(tmp_path / "f.jsonl", [
        {"question": "who made alien?", "liked": True, "entities": [{"id": alien, "label": "Alien"}],
         "answers": [{"id": scott, "label": "Ridley Scott"}]},
        {"question": "when did Alien come out", "liked": False, "entities": [{"id": alien}],
         "answers": [{"id": scott}], "correct": ["1979"]},
        {"question": "what is Alien about", "liked": False, "entities": [{"id": alien}], "answers": [{"id": scott}]},
        {"question": "", "liked": True},
    ])
    examples = read_feedback(tmp_path / "f.jsonl", kg)
    assert [(e.question, e.topics, e.answers) for e in examples] == [
        ("who made alien?", (alien,), (scott,)),
        ("when did Alien come out", (alien,), (kg.entity_id("1979"),)),
    ]
    made = examples[0]
    assert made.question[made.mention[0]:made.mention[1]] == "alien"  # found case-insensitively
    assert made.source == "feedback:1"


def test_the_newest_record_of_a_question_wins_and_missing_file_is_empty(kg: KnowledgeGraph, tmp_path) -> None:
    alien = kg.entity_id("Alien")
    _write(tmp_path / "f.jsonl", [
        {"question": "who directed Alien", "liked": True, "entities": [alien], "answers": ["Blade Runner"]},
        {"question": "Who directed Alien", "correct": "Ridley Scott", "entities": ["Alien"]},
    ])
    (only,) = read_feedback(tmp_path / "f.jsonl", kg)
    assert only.answers == (kg.entity_id("Ridley Scott"),)
    assert read_feedback(tmp_path / "none.jsonl", kg) == []


def test_a_broken_line_names_the_file_and_line(kg: KnowledgeGraph, tmp_path) -> None:
    _write(tmp_path / "f.jsonl", [{"question": "q", "liked": True}, "{not json"])
    with pytest.raises(InputError, match=r"f\.jsonl:2"):
        read_feedback(tmp_path / "f.jsonl", kg)
