"""Add or remove triples in a built workspace without rebuilding it (``kgagent kg add`` / ``kg remove``).

Each part the workspace has is brought up to date with the changed graph: ``kg/`` (entity and relation ids stay
stable; new ones are appended), ``kge/`` (new entities from their neighbours' vectors, ``kg.kge_extend``),
and ``index/`` (only new names and passages are encoded, ``retrieval.update``). The QA model and its path rules
are kept: it executes its relation paths on the new facts at once (the rules join the new graph's relations),
and needs ``kgagent train qa`` only to ask about a relation it has never seen, which the result says.

The update is atomic: the workspace is copied (hard links, so in seconds) into a temporary sibling, the parts are
rewritten there, and the copy is swapped in only when every part succeeded (``kg.io.atomic_dir``); a failed or
killed update leaves the workspace as it was.

>>> from kgagent.agent.update import add_triples
>>> add_triples("ws/", "new_films.tsv").message  # doctest: +SKIP
'added 1000 triples (812 new entities) in 9.8 s'
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kgagent.kg import GraphChange, KnowledgeGraph, Workspace
from kgagent.kg.io import atomic_dir

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]  # (fraction done, what is running) -> None
Source = str | Path | KnowledgeGraph


@dataclass
class UpdateResult:
    """What an update changed, how long each part took, and whether the QA model should be retrained."""

    action: str  # "add" | "remove"
    source: str
    triples: int  # triples added or removed
    unchanged: int  # triples of the file already in the graph (add) or not in it (remove)
    new_entities: int = 0
    new_relations: list[str] = field(default_factory=list)
    orphaned_entities: int = 0  # entities left without triples (they keep their ids; no longer linked)
    seconds: float = 0.0
    parts: dict[str, Any] = field(default_factory=dict)  # per updated part: its report, with "seconds"
    retrain_qa: bool = False

    @property
    def message(self) -> str:
        verb = {"add": "added", "remove": "removed"}[self.action]
        if not self.triples and not self.parts:
            where = "already in" if self.action == "add" else "not in"
            return f"nothing {verb}: the {self.unchanged} triples of {self.source} are {where} the graph"
        extra = [_count(self.new_entities, "new entity", "new entities")] if self.new_entities else []
        extra += [_count(self.orphaned_entities, "entity", "entities") + " left without triples"] \
            if self.orphaned_entities else []
        extra += [f"{self.unchanged} {'already present' if self.action == 'add' else 'not found'}"] \
            if self.unchanged else []
        text = f"{verb} {_count(self.triples, 'triple', 'triples')}" + (f" ({', '.join(extra)})" if extra else "") \
            + f" in {self.seconds:.1f} s"
        if self.new_relations:
            names = ", ".join(self.new_relations)
            label = "new relation" if len(self.new_relations) == 1 else "new relations"
            text += f"; {label} {names}: run `kgagent train qa WS` to ask about " \
                    + ("it" if len(self.new_relations) == 1 else "them")
        return text

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "message": self.message}


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def add_triples(workspace: str | Path, source: Source, *, progress: Progress | None = None,
                **load_options: Any) -> UpdateResult:
    """Add the triples of ``source`` (a KG file in any supported format, or a ``KnowledgeGraph``) to a workspace.

    ``load_options`` go to ``kg.loaders.load_kg`` (``format``, ``aliases``, ``descriptions``, ``delimiter``, ...).
    """
    return update_workspace(workspace, source, "add", progress=progress, **load_options)


def remove_triples(workspace: str | Path, source: Source, *, progress: Progress | None = None,
                   **load_options: Any) -> UpdateResult:
    """Remove the triples of ``source`` (a KG file or a ``KnowledgeGraph``) from a workspace."""
    return update_workspace(workspace, source, "remove", progress=progress, **load_options)


# ----------------------------------------------------------------- the parts an update rewrites (registry)
def _kg_part(ws: Workspace, change: GraphChange, progress: bool) -> dict[str, Any] | None:
    change.new.save(ws.kg_dir)
    return {"triples": change.new.num_triples, "entities": change.new.num_entities,
            "relations": change.new.num_relations}


def _kge_part(ws: Workspace, change: GraphChange, progress: bool) -> dict[str, Any] | None:
    if not ws.kge_dir.exists():
        return None
    from kgagent.kg.embeddings import KGEmbeddings
    from kgagent.kg.kge_extend import extend_embeddings

    kge = extend_embeddings(KGEmbeddings.load(ws.kge_dir), change)
    kge.save(ws.kge_dir)
    return dict(kge.info["extended"][-1])


def _index_part(ws: Workspace, change: GraphChange, progress: bool) -> dict[str, Any] | None:
    if not ws.index_dir.exists():
        return None
    from kgagent.retrieval.update import update_index

    return update_index(ws, change, progress=progress)


Part = Callable[[Workspace, GraphChange, bool], dict[str, Any] | None]  # None: the workspace lacks the part
# The QA model's path rules are kept as mined: they are joins of relation matrices built from the graph the model
# is loaded with, so they infer over the new facts too; only their confidences are from the old graph. Mining
# them again took 131.5 s of a 167 s update on the demo KG (BENCHMARKS.md); `kgagent train qa` mines them anew.
PARTS: dict[str, Part] = {"kg": _kg_part, "kge": _kge_part, "index": _index_part}


# ----------------------------------------------------------------- the update
def update_workspace(workspace: str | Path, source: Source, action: str, *, progress: Progress | None = None,
                     **load_options: Any) -> UpdateResult:
    """Apply ``action`` ("add" or "remove") with the triples of ``source`` to every part of the workspace."""
    from kgagent.kg.errors import InputError

    if action not in ("add", "remove"):
        raise InputError(f"action must be 'add' or 'remove', not {action!r}", field="action")
    ws = Workspace(workspace)
    ws.require("kg")
    with _one_at_a_time(ws.root):
        result = _update(ws, source, action, progress, load_options)
    log.info("%s: %s", ws.root, result.message)
    return result


def _update(ws: Workspace, source: Source, action: str, progress: Progress | None,
            load_options: dict[str, Any]) -> UpdateResult:
    t0 = time.perf_counter()
    report = progress or (lambda frac, msg: log.info("%3.0f%% %s", 100 * frac, msg))
    old = KnowledgeGraph.load(ws.kg_dir)
    delta, name = _read_source(source, load_options)
    new = old.add_triples(delta) if action == "add" else old.remove_triples(delta)
    change = GraphChange.between(old, new)
    n = len(change.added) if action == "add" else len(change.removed)
    result = UpdateResult(action, name, triples=n, unchanged=delta.num_triples - n,
                          new_entities=len(change.new_entities), new_relations=list(change.new_relations),
                          orphaned_entities=len(change.orphaned))
    if not change.changed:
        result.seconds = round(time.perf_counter() - t0, 2)
        return result
    result.retrain_qa = bool(change.new_relations) and (ws.models_dir / "qa").is_dir()
    with atomic_dir(ws.root) as tmp:
        _link_copy(ws.root, tmp)
        staged = Workspace(tmp)
        for i, (part, run) in enumerate(PARTS.items()):
            report(i / len(PARTS), f"{part}…")
            t_part = time.perf_counter()
            out = run(staged, change, progress is None)
            if out is not None:
                result.parts[part] = {**out, "seconds": round(time.perf_counter() - t_part, 2)}
        result.seconds = round(time.perf_counter() - t0, 2)
        previous = staged.manifest().get("steps", {}).get("update", {}).get("history", [])
        entry = {"action": action, "source": name, "triples": n, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
        staged.record("update", metrics=result.as_dict(), source=name,
                      artifacts=[staged.kg_dir / f for f in KnowledgeGraph.FILES], history=[*previous, entry])
    report(1.0, "done")
    return result


@contextlib.contextmanager
def _one_at_a_time(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on the workspace for one update: two at once would both start from the same graph
    and the second swap would drop the first's change. A second update waits for the first."""
    import fcntl

    with open(root.with_name(f".{root.name}.update.lock"), "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)  # released when the file closes (also when the process dies)
        yield


def _read_source(source: Source, load_options: dict[str, Any]) -> tuple[KnowledgeGraph, str]:
    if isinstance(source, KnowledgeGraph):
        return source, "a KnowledgeGraph"
    from kgagent.kg.loaders import load_kg

    kg, _ = load_kg(source, **load_options)
    return kg, str(source)


def _link_copy(src: Path, dst: Path) -> None:
    """Copy the folder ``src`` into ``dst`` with hard links (every artifact is rewritten by rename, never in place,
    so the original files stay as they were); a plain copy where links are not possible."""
    def link(a: str, b: str) -> None:
        try:
            os.link(a, b)
        except OSError:
            shutil.copy2(a, b)

    shutil.copytree(src, dst, copy_function=link, dirs_exist_ok=True)
