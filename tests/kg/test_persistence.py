"""KnowledgeGraph.save/load: plain files, stable ids, everything kept, and atomic replacement."""

from __future__ import annotations

import numpy as np
import pytest

from kgagent.kg import KnowledgeGraph, WorkspaceError, load_kg


def _assert_same(a: KnowledgeGraph, b: KnowledgeGraph) -> None:
    assert a.entities == b.entities and a.labels == b.labels and a.relations == b.relations
    np.testing.assert_array_equal(a.triples, b.triples)
    np.testing.assert_array_equal(a.literal, b.literal)
    assert a.aliases == b.aliases and a.descriptions == b.descriptions


def test_round_trip_keeps_everything(tmp_path, tiny_kg):
    tiny_kg.save(tmp_path / "kg")
    loaded = KnowledgeGraph.load(tmp_path / "kg")
    _assert_same(tiny_kg, loaded)
    assert loaded.entity_id("Ridley Scott") == tiny_kg.entity_id("Ridley Scott")
    assert loaded.aliases[loaded.entity_id("Alien")] == ["Alien (1979)"]


def test_awkward_strings_survive(tmp_path):
    names = ["tab\there", "new\nline", "carriage\rreturn", "back\\slash", "\\t literally", "Amélie — 東京"]
    kg = KnowledgeGraph.from_triples([(n, "rel\twith tab", "x") for n in names], literals=["x"],
                                     labels={"x": "label\\n"}, descriptions={"x": "two\nlines"})
    kg.save(tmp_path / "kg")
    loaded = KnowledgeGraph.load(tmp_path / "kg")
    _assert_same(kg, loaded)
    assert loaded.literal[loaded.entity_id("x")]


def test_rdf_kg_round_trip_and_stable_files(tmp_path, write_file, movie_ttl):
    kg, _ = load_kg(write_file("movies.ttl", movie_ttl))
    kg.save(tmp_path / "one")
    again = KnowledgeGraph.load(tmp_path / "one")
    _assert_same(kg, again)
    again.save(tmp_path / "two")
    for name in KnowledgeGraph.FILES:  # ids and files are stable: a second save is byte-identical
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    reloaded, _ = load_kg(write_file("movies.ttl", movie_ttl))
    assert reloaded.entities == kg.entities


def test_failed_save_leaves_the_old_folder(tmp_path, tiny_kg):
    target = tmp_path / "kg"
    tiny_kg.save(target)
    before = {p.name: p.read_bytes() for p in target.iterdir()}
    broken = KnowledgeGraph.from_triples([("ok", "r", "\ud800")])  # a lone surrogate: not writable as UTF-8
    with pytest.raises(UnicodeEncodeError):
        broken.save(target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["kg"]  # no temp folder left behind
    _assert_same(KnowledgeGraph.load(target), tiny_kg)


def test_failed_first_save_creates_nothing(tmp_path):
    broken = KnowledgeGraph.from_triples([("ok", "r", "\ud800")])
    with pytest.raises(UnicodeEncodeError):
        broken.save(tmp_path / "kg")
    assert list(tmp_path.iterdir()) == []


def test_load_errors_name_what_is_wrong(tmp_path, tiny_kg):
    with pytest.raises(WorkspaceError, match="not a saved KG"):
        KnowledgeGraph.load(tmp_path / "nothing")
    tiny_kg.save(tmp_path / "kg")
    rows = (tmp_path / "kg" / "entities.tsv").read_text(encoding="utf-8").splitlines()
    rows[3] = "2\tonly two"
    (tmp_path / "kg" / "entities.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(WorkspaceError, match=r"entities.tsv:4: corrupt entity row"):
        KnowledgeGraph.load(tmp_path / "kg")
