"""The real MetaQA knowledge base (133,582 triples) loads fast and exactly; skipped where it is absent."""

from __future__ import annotations

import time

import pytest

from kgagent.kg import KnowledgeGraph, load_kg

FREQUENCIES = {"starred_actors": 33_718, "has_tags": 28_719, "written_by": 19_127, "release_year": 16_715,
               "directed_by": 15_957, "has_genre": 15_485, "in_language": 3_428, "has_imdb_rating": 314,
               "has_imdb_votes": 119}


@pytest.mark.slow
def test_metaqa_kb_loads_exactly_and_fast(shared_data, tmp_path):
    path = shared_data / "metaqa" / "kb.txt"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    start = time.perf_counter()
    kg, report = load_kg(path)
    elapsed = time.perf_counter() - start
    assert (report.format, report.triples, report.entities, report.relations, report.duplicates) == (
        "pipe", 133_582, 43_234, 9, 0)
    assert elapsed < 10.0, f"loading took {elapsed:.1f} s"  # about 1 s on 2 idle cores
    assert kg.stats()["relation_frequencies"] == FREQUENCIES
    alien = kg.entity_id("Alien")
    assert kg.entity_id("Dan O'Bannon") in kg.follow([alien], ["written_by"])
    kg.save(tmp_path / "kg")
    assert KnowledgeGraph.load(tmp_path / "kg").entities == kg.entities
