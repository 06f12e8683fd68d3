"""build_index / open_retriever on a real workspace: files, manifest, sourced search, linking, failures."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from kgagent.kg import KnowledgeGraph, Workspace
from kgagent.kg.errors import InputError, WorkspaceError
from kgagent.retrieval import IndexConfig, Retriever, build_index, open_linker, open_retriever


def test_build_writes_both_indexes_and_records_the_step(built_ws: Workspace, link_kg: KnowledgeGraph) -> None:
    idx = built_ws.index_dir
    for part in ("entities", "passages"):
        assert {p.name for p in (idx / part).iterdir()} == {"index.faiss", "records.jsonl", "index.json"}
    meta = json.loads((idx / "config.json").read_text())
    n_names = sum(len(link_kg.names(e)) for e in range(link_kg.num_entities))
    assert meta["entity_names"] == n_names and meta["dim"] == 32
    assert meta["passage_kinds"] == {"triples": link_kg.num_triples, "descriptions": 1, "documents": 1}
    step = built_ws.manifest()["steps"]["index"]
    assert step["metrics"]["passages"] == link_kg.num_triples + 2
    assert "index/entities/index.faiss" in step["checksums"]


def test_retriever_searches_passages_and_names_with_sources(
    built_ws: Workspace, link_kg: KnowledgeGraph
) -> None:
    r = open_retriever(built_ws)
    assert isinstance(r, Retriever) and len(r.entities) > link_kg.num_entities
    text = "Alien — directed by — Ridley Scott"
    hits = r.search(text, k=3)
    assert hits[0].text == text and hits[0].score == pytest.approx(1.0, abs=1e-4)
    t = hits[0].source["triples"][0]
    assert link_kg.triple_text(t) == ("Alien", "directed_by", "Ridley Scott")
    assert hits[0].cite() == f"triple {t}"
    doc = r.search("# Alien The crew of a spaceship meets a deadly creature.", k=1)[0]
    assert doc.cite() == "notes/alien.md chunk 0 (line 1)"
    names = r.search_entities("Sir Ridley Scott", k=1)
    assert names[0].text == "Sir Ridley Scott" and names[0].source == {
        "kind": "entity",
        "entity": link_kg.entity_id("Ridley Scott"),
    }
    assert link_kg.entities[r.link("who directed Blade Runner")[0].entity] == "Blade Runner"


def test_dense_fallback_uses_the_name_index(built_ws: Workspace) -> None:
    r = open_retriever(built_ws)
    m = r.linker.link("xq zv", always=True)  # no name, no near miss: only the dense name index answers
    assert m and m[0].candidates[0].method == "dense"


def test_open_linker_shares_a_loaded_kg(built_ws: Workspace, link_kg: KnowledgeGraph) -> None:
    linker = open_linker(built_ws, kg=link_kg)
    assert linker.kg is link_kg and linker.dense is not None
    assert link_kg.entities[linker.link("who directed Amélie")[0].entity] == "Amélie"


def test_no_index_yet(tmp_path: Path, link_kg: KnowledgeGraph) -> None:
    ws = Workspace(tmp_path / "ws")
    link_kg.save(ws.kg_dir)
    with pytest.raises(WorkspaceError, match="kgagent index WS"):
        open_retriever(ws)
    assert open_linker(ws).dense is None
    r = open_retriever(ws, require_index=False)  # linking needs only the KG
    assert r.linker.link("who directed Alien")[0].candidates[0].method == "exact"
    with pytest.raises(WorkspaceError, match="no passage index"):
        r.search("Alien")


def test_a_failed_rebuild_keeps_the_previous_index(tmp_path: Path, built_ws: Workspace, tiny_encoder) -> None:
    ws = Workspace(tmp_path / "copy")
    shutil.copytree(built_ws.root, ws.root)
    before = (ws.index_dir / "config.json").read_text()
    with pytest.raises(InputError, match="documents folder not found"):
        build_index(
            ws, config=IndexConfig(documents=str(tmp_path / "gone")), encoder=tiny_encoder, progress=False
        )
    assert (ws.index_dir / "config.json").read_text() == before
    assert len(open_retriever(ws).search("Alien", k=2)) == 2


def test_config_comes_from_the_workspace_toml(tmp_path: Path, link_kg: KnowledgeGraph, tiny_encoder) -> None:
    ws = Workspace(tmp_path / "ws")
    link_kg.save(ws.kg_dir)
    ws.config_path.write_text('[index]\npassages = ["descriptions"]\nexact_threshold = 5\n', encoding="utf-8")
    report = build_index(ws, encoder=tiny_encoder, progress=False)
    assert report["passages"] == 1 and report["entities_kind"] == "hnsw" and report["passages_kind"] == "flat"
    ws.config_path.write_text('[index]\npassages = ["tweets"]\n', encoding="utf-8")
    with pytest.raises(Exception, match=r"kgagent\.toml \[index\].*tweets"):
        build_index(ws, encoder=tiny_encoder, progress=False)
