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
    assert "index" not in built_ws.manifest().get("steps", {})  # the build layer records steps, not retrieval


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
            KnowledgeGraph.load(ws.kg_dir),
            out_dir=ws.index_dir,
            config=IndexConfig(documents=str(tmp_path / "gone")),
            encoder=tiny_encoder,
            progress=False,
        )
    assert (ws.index_dir / "config.json").read_text() == before
    assert len(open_retriever(ws).search("Alien", k=2)) == 2


def test_config_chooses_passages_and_index_kinds(tmp_path: Path, link_kg: KnowledgeGraph, tiny_encoder) -> None:
    config = IndexConfig(passages=("descriptions",), exact_threshold=5)
    result = build_index(link_kg, out_dir=tmp_path / "index", config=config, encoder=tiny_encoder, progress=False)
    report = result.metrics
    assert report["passages"] == 1 and report["entities_kind"] == "hnsw" and report["passages_kind"] == "flat"
    assert result.config is config and json.loads((tmp_path / "index" / "config.json").read_text())["passages"] == 1


def test_linker_section_of_the_toml_sets_the_linker(tmp_path: Path, link_kg: KnowledgeGraph) -> None:
    """[linker] of kgagent.toml fills LinkerConfig: a min_score above every score drops the mentions."""
    from kgagent.kg.errors import ConfigError

    ws = Workspace(tmp_path / "ws")
    link_kg.save(ws.kg_dir)
    assert open_linker(ws).link("who directed Alien")
    ws.config_path.write_text("[linker]\nmin_score = 5.0\nextra_common_words = [\"directed\"]\n", encoding="utf-8")
    linker = open_linker(ws)
    assert linker.config.min_score == 5.0 and linker.link("who directed Alien") == []
    ws.config_path.write_text("[linker]\nmin_scor = 5.0\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\[linker\].*min_scor"):
        open_linker(ws)


class _Clock:
    """A deadline whose ``left()`` answers from a list (then 0): how many chunks of texts a limit allows."""

    def __init__(self, seconds: float | None, answers: list[float]) -> None:
        self.seconds = seconds
        self.answers = list(answers)

    def left(self) -> float:
        return self.answers.pop(0) if self.answers else 0.0


def _rebuild(built_ws: Workspace, tmp_path: Path, link_kg: KnowledgeGraph, tiny_encoder, config: IndexConfig):
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(built_ws.root, ws.root)
    result = build_index(link_kg, out_dir=ws.index_dir, config=config, encoder=tiny_encoder, progress=False)
    return ws, result.metrics


def _limited(built_ws: Workspace, tmp_path: Path, link_kg: KnowledgeGraph, tiny_encoder,
             monkeypatch: pytest.MonkeyPatch, chunks: int) -> tuple[Workspace, dict, dict]:
    """An index rebuilt with chunks of 3 texts, of which ``chunks`` fit after the first (always encoded)."""
    import kgagent.retrieval.store as store

    full = json.loads((built_ws.index_dir / "config.json").read_text())
    monkeypatch.setattr(store, "TEXT_CHUNK", 3)
    monkeypatch.setattr(store, "Deadline", lambda seconds: _Clock(seconds, [1e9] * chunks))
    config = IndexConfig(**{**full["config"], "max_seconds": 60.0})
    ws, metrics = _rebuild(built_ws, tmp_path, link_kg, tiny_encoder, config)
    monkeypatch.undo()
    return ws, metrics, full


def test_a_time_limit_indexes_the_names_then_what_fits_and_resume_adds_the_rest(
    built_ws: Workspace, tmp_path: Path, link_kg: KnowledgeGraph, tiny_encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kgagent.retrieval.update import complete_index

    n_names = json.loads((built_ws.index_dir / "config.json").read_text())["entity_names"]
    name_chunks = -(-n_names // 3)
    ws, metrics, full = _limited(built_ws, tmp_path, link_kg, tiny_encoder, monkeypatch, name_chunks - 1 + 2)
    total = full["passages"]
    assert (metrics["entity_names"], metrics["names_left"]) == (n_names, 0)  # every name, then two chunks
    assert (metrics["passages"], metrics["passages_total"], metrics["passages_left"]) == (6, total, total - 6)
    # descriptions and documents first, then a sample of the triples
    assert metrics["passage_kinds"] == {"triples": 4, "descriptions": 1, "documents": 1}
    r = open_retriever(ws)
    assert len(r.passages) == 6
    report = complete_index(ws, encoder=tiny_encoder, progress=False)
    assert report["passages_added"] == total - 6 and report["passages"] == total
    meta = json.loads((ws.index_dir / "config.json").read_text())
    assert (meta["passages"], meta["passages_left"]) == (total, 0)
    text = "Alien — directed by — Ridley Scott"
    hit = open_retriever(ws).search(text, k=1)[0]
    assert hit.text == text and hit.score == pytest.approx(1.0, abs=1e-4)
    assert complete_index(ws, encoder=tiny_encoder, progress=False)["passages_added"] == 0


def test_a_tight_time_limit_cuts_the_names_of_the_least_connected_entities(
    built_ws: Workspace, tmp_path: Path, link_kg: KnowledgeGraph, tiny_encoder, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kgagent.retrieval.update import complete_index

    ws, metrics, full = _limited(built_ws, tmp_path, link_kg, tiny_encoder, monkeypatch, 1)
    assert metrics["entity_names"] == 6 and metrics["names_left"] == full["entity_names"] - 6
    assert metrics["passages"] == 0
    r = open_retriever(ws)
    kept = {rec["entity"] for _, rec in r.entities.items()}
    degree = link_kg.degrees()
    assert min(degree[e] for e in kept) >= max(degree[e] for e in range(link_kg.num_entities) if e not in kept)
    # an entity whose name was cut is still linked by its spelling
    cut = next(e for e in range(link_kg.num_entities) if e not in kept and degree[e] > 0)
    name = link_kg.labels[cut]
    assert r.link(f"tell me about {name}")[0].entity == cut
    report = complete_index(ws, encoder=tiny_encoder, progress=False)
    assert report["names_added"] == full["entity_names"] - 6 and report["passages"] == full["passages"]
    meta = json.loads((ws.index_dir / "config.json").read_text())
    assert (meta["entity_names"], meta["names_left"]) == (full["entity_names"], 0)
    assert len(open_retriever(ws).entities) == full["entity_names"]


def test_a_spent_time_limit_still_indexes_a_first_chunk_of_names(
    built_ws: Workspace, tmp_path: Path, link_kg: KnowledgeGraph, tiny_encoder
) -> None:
    from kgagent.retrieval.update import complete_index

    full = json.loads((built_ws.index_dir / "config.json").read_text())
    config = IndexConfig(**{**full["config"], "max_seconds": 1e-6})
    ws, metrics = _rebuild(built_ws, tmp_path, link_kg, tiny_encoder, config)
    # the first chunk (2,048 texts) always: here every name
    assert metrics["entity_names"] == full["entity_names"] and metrics["passages"] == 0
    assert not (ws.index_dir / "passages").exists()
    r = open_retriever(ws)
    assert r.passages is None and link_kg.entities[r.link("who directed Blade Runner")[0].entity] == "Blade Runner"
    assert complete_index(ws, encoder=tiny_encoder, progress=False)["passages"] == full["passages"]
    assert open_retriever(ws).search("Alien — directed by — Ridley Scott", k=1)[0].score == pytest.approx(1.0, abs=1e-4)


def test_index_time_limit_is_checked() -> None:
    with pytest.raises(ValueError, match="max_seconds"):
        IndexConfig(max_seconds=0)
