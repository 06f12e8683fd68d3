"""Update ``WS/index`` for a changed graph without rebuilding it (``kgagent kg add`` / ``kg remove``).

Only what differs from a fresh build of the new graph is encoded: names and aliases of new entities (and new
aliases of old ones), verbalized new triples, new or changed descriptions. Vectors of removed triples and of
entities left without triples are removed (FAISS ``remove_ids``, or tombstones for HNSW, see ``VectorIndex``);
passages of kept triples keep their vectors and have their triple ids renumbered. Documents are untouched.

>>> update_index("ws/", GraphChange.between(old_kg, new_kg))  # doctest: +SKIP
{'names_added': 2012, 'names_removed': 0, 'passages_added': 1000, ...}

``complete_index`` adds the names and passages a time-limited build left out (``kgagent index WS --resume``).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

from kgagent.kg import GraphChange, KnowledgeGraph, Workspace
from kgagent.retrieval.encoder import TextEncoder
from kgagent.retrieval.index import VectorIndex
from kgagent.retrieval.passages import PASSAGE_BUILDERS, Passage, build_passages, verbalize
from kgagent.retrieval.store import index_meta, name_records, save_index

log = logging.getLogger(__name__)


def update_index(workspace: str | Path | Workspace, change: GraphChange, *, encoder: TextEncoder | None = None,
                 progress: bool = True) -> dict[str, Any]:
    """Bring ``WS/index`` (built on ``change.old``) in line with ``change.new``, atomically; returns counts."""
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    t0 = time.perf_counter()
    config, meta = index_meta(ws)
    entities = VectorIndex.load(ws.index_dir / "entities", gpu=config.gpu)
    passages = VectorIndex.load(ws.index_dir / "passages", gpu=config.gpu) \
        if (ws.index_dir / "passages").exists() else None
    encoder = encoder or TextEncoder(meta.get("encoder"), batch_size=config.batch_size,
                                     max_length=config.max_length)
    kg = change.new

    report: dict[str, Any] = _sync_names(entities, kg, encoder, progress)

    if passages is not None:
        report.update(_update_passages(passages, change, config, encoder, progress))
    meta = {**meta, "entity_names": len(entities), "passages": len(passages) if passages is not None else 0}
    save_index(ws.index_dir, entities, passages, meta)
    report["seconds"] = round(time.perf_counter() - t0, 2)
    log.info("index of %s updated: %s", ws.root, report)
    return report


def _sync_names(entities: VectorIndex, kg: KnowledgeGraph, encoder: TextEncoder, progress: bool) -> dict[str, int]:
    """Make the name index hold the records a fresh build of ``kg`` would: remove the others, encode the missing
    (new entities, or names a time limit left out)."""
    want = {(r["entity"], r["name"]) for r in name_records(kg)}
    have = {(r["entity"], r["name"]): i for i, r in entities.items()}
    gone = [i for key, i in have.items() if key not in want]
    fresh = sorted(want - have.keys())
    entities.remove(gone)
    if fresh:
        entities.add(encoder.encode([n for _, n in fresh], progress=progress, desc="encoding names"),
                     [{"entity": e, "name": n} for e, n in fresh], progress=progress, desc="indexing names")
    return {"names_added": len(fresh), "names_removed": len(gone)}


def _update_passages(passages: VectorIndex, change: GraphChange, config: Any, encoder: TextEncoder,
                     progress: bool) -> dict[str, int]:
    """Triple passages: drop removed, renumber kept, add new; description passages: replace where they differ."""
    kg = change.new
    descriptions = {p.source["entity"]: p.text for p in PASSAGE_BUILDERS["descriptions"](kg, config)} \
        if "descriptions" in config.passages else {}
    gone: list[int] = []
    renumbered: dict[int, dict[str, Any]] = {}
    described: set[int] = set()
    for i, rec in passages.items():
        src = rec["source"]
        if src.get("kind") == "triple":
            ids = [int(change.kept[t]) for t in src["triples"]]
            if min(ids) < 0:
                gone.append(i)
            elif ids != src["triples"]:
                renumbered[i] = {**rec, "source": {**src, "triples": ids}}
        elif src.get("kind") == "description":
            if descriptions.get(src["entity"]) == rec["text"]:
                described.add(src["entity"])
            else:
                gone.append(i)
    passages.remove(gone)
    passages.set_records(renumbered)
    new = [Passage(verbalize(kg, t), {"kind": "triple", "triples": [t]}) for t in change.added.tolist()] \
        if "triples" in config.passages else []
    new += [Passage(text, {"kind": "description", "entity": e}) for e, text in descriptions.items()
            if e not in described]
    if new:
        passages.add(encoder.encode([p.text for p in new], progress=progress, desc="encoding new passages"),
                     [p.as_record() for p in new])
    return {"passages_added": len(new), "passages_removed": len(gone), "passages_renumbered": len(renumbered)}


def _source_key(source: dict[str, Any]) -> str:
    return json.dumps(source, sort_keys=True)


def complete_index(workspace: str | Path | Workspace, *, encoder: TextEncoder | None = None,
                   progress: bool = True) -> dict[str, Any]:
    """Encode and add the entity names and passages of ``WS/kg`` that ``WS/index`` lacks (those a time limit left
    out), atomically; returns counts. An index that has them all is left as it is."""
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    t0 = time.perf_counter()
    config, meta = index_meta(ws)
    kg = KnowledgeGraph.load(ws.require("kg"))
    encoder = encoder or TextEncoder(meta.get("encoder"), batch_size=config.batch_size,
                                     max_length=config.max_length)
    entities = VectorIndex.load(ws.index_dir / "entities", gpu=config.gpu)
    report: dict[str, Any] = _sync_names(entities, kg, encoder, progress) if meta.get("names_left") else {
        "names_added": 0, "names_removed": 0}
    folder = ws.index_dir / "passages"
    passages = VectorIndex.load(folder, gpu=config.gpu) if folder.exists() else None
    have = {_source_key(r["source"]) for _, r in passages.items()} if passages is not None else set()
    wanted = build_passages(kg, config)
    missing = [p for p in wanted if _source_key(p.source) not in have]
    report["passages_added"] = len(missing)
    if missing:
        vecs = encoder.encode([p.text for p in missing], progress=progress, desc="encoding passages")
        records = [p.as_record() for p in missing]
        if passages is None:
            passages = VectorIndex.build(vecs, records, config=config, progress=progress, desc="indexing passages")
        else:
            passages.add(vecs, records, progress=progress, desc="indexing passages")
    if missing or report["names_added"]:
        meta = {**meta, "entity_names": len(entities), "names_left": 0, "passages": len(passages or ()),
                "passages_total": len(wanted), "passages_left": 0,
                "passages_kind": passages.kind if passages is not None else None}
        save_index(ws.index_dir, entities, passages, meta)
    report.update(entity_names=len(entities), passages=len(passages) if passages is not None else 0,
                  seconds=round(time.perf_counter() - t0, 2))
    log.info("index of %s completed: %s", ws.root, report)
    return report
