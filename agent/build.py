"""Workspace build steps, shared by the CLI and the UI's knowledge tab.

Each step reads what the step before it wrote, through the workspace folder, so any step can be rerun alone.
``build_workspace`` runs them all in a temporary folder and swaps it into place only when every step succeeded,
so a failed build leaves the previous workspace intact.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kg import KnowledgeGraph, Workspace
from kg.io import atomic_dir

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]  # (fraction done, what is running) -> None


@dataclass
class BuildOptions:
    """What ``kgagent build`` takes."""

    file: Path
    workspace: Path
    format: str | None = None
    intents: Path | None = None
    questions: list[Path] = field(default_factory=list)
    aliases: Path | None = None
    descriptions: Path | None = None


def load_step(file: Path, workspace: Path, *, format: str | None = None, aliases: Path | None = None,
              descriptions: Path | None = None) -> dict[str, Any]:
    """Validate ``file`` and save it as ``WS/kg``; returns the load report."""
    from kg.loaders import load_kg

    kg, report = load_kg(file, format=format, aliases=aliases, descriptions=descriptions)
    ws = Workspace(workspace)
    kg.save(ws.kg_dir)
    rep = report.as_dict()
    ws.record("kg", metrics=rep, source=str(file),
              artifacts=[ws.kg_dir / f for f in KnowledgeGraph.FILES])
    return rep


def kge_step(workspace: Path, *, model: str | None = None, epochs: int | None = None,
             dim: int | None = None) -> dict[str, Any]:
    """Train KG embeddings on ``WS/kg`` into ``WS/kge``; returns the test metrics."""
    from kg.embeddings import KGEConfig, train_embeddings

    ws = Workspace(workspace)
    kg = KnowledgeGraph.load(ws.require("kg"))
    config = ws.config("kge", KGEConfig, model=model, epochs=epochs, dim=dim)
    result = train_embeddings(kg, config=config, out_dir=ws.kge_dir)
    ws.record("kge", config=config, metrics=result.metrics,
              artifacts=sorted(p for p in ws.kge_dir.iterdir() if p.is_file()))
    return result.metrics


def build_workspace(options: BuildOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Run every build step into a fresh workspace; swap it in only when all succeed."""
    progress = progress or (lambda frac, msg: log.info("%3.0f%% %s", 100 * frac, msg))
    steps: list[tuple[str, Callable[[Path], Any]]] = [
        ("kg", lambda ws: load_step(options.file, ws, format=options.format, aliases=options.aliases,
                                    descriptions=options.descriptions)),
        ("kge", lambda ws: kge_step(ws)),
    ]
    summary: dict[str, Any] = {}
    target = Path(options.workspace)
    with atomic_dir(target) as tmp:
        # keep the user's config (kgagent.toml) when rebuilding in place
        old_config = Workspace(target).config_path
        if old_config.exists():
            shutil.copy2(old_config, Workspace(tmp).config_path)
        for i, (name, step) in enumerate(steps):
            progress(i / len(steps), f"{name}…")
            t0 = time.perf_counter()
            summary[name] = step(tmp)
            summary[f"{name}_seconds"] = round(time.perf_counter() - t0, 2)
        progress(1.0, "done")
    return summary
