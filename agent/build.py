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

from kgagent.kg import KnowledgeGraph, Workspace
from kgagent.kg.io import atomic_dir

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
              descriptions: Path | None = None, **options: Any) -> dict[str, Any]:
    """Validate ``file`` and save it as ``WS/kg``; returns the load report. ``options`` go to the loader."""
    from kgagent.kg.loaders import load_kg

    kg, report = load_kg(file, format=format, aliases=aliases, descriptions=descriptions, **options)
    ws = Workspace(workspace)
    before = ws.manifest().get("steps", {}).get("kg", {}).get("checksums")
    kg.save(ws.kg_dir)
    rep = report.as_dict()
    ws.record("kg", metrics=rep, source=str(file),
              artifacts=[ws.kg_dir / f for f in KnowledgeGraph.FILES])
    # parts built from the previous KG no longer match it; they are kept (a rebuild replaces them) but named
    stale = [p for p in ("kge", "index", "models") if (ws.root / p).exists()]
    if before is not None and before != ws.manifest()["steps"]["kg"]["checksums"] and stale:
        rep["stale"] = stale
        rep["hint"] = f"the KG changed: rebuild {', '.join(stale)} (`kgagent build FILE --workspace {workspace}`)"
        log.warning("%s: %s", workspace, rep["hint"])
    return rep


def kge_step(workspace: Path, *, model: str | None = None, epochs: int | None = None,
             dim: int | None = None) -> dict[str, Any]:
    """Train KG embeddings on ``WS/kg`` into ``WS/kge``; returns the test metrics and ``losses`` (one per epoch)."""
    from kgagent.kg.embeddings import KGEConfig, train_embeddings

    ws = Workspace(workspace)
    kg = KnowledgeGraph.load(ws.require("kg"))
    config = ws.config("kge", KGEConfig, model=model, epochs=epochs, dim=dim)
    result = train_embeddings(kg, config=config, out_dir=ws.kge_dir)
    ws.record("kge", config=config, metrics=result.metrics,
              artifacts=sorted(p for p in ws.kge_dir.iterdir() if p.is_file()))
    # with the loss per epoch, which the app's training tab plots (the manifest keeps the metrics only)
    return {**result.metrics, "losses": result.losses}


def intents_step(workspace: Path, data: Path, **overrides: Any) -> dict[str, Any]:
    """Train the intent model on ``data`` into ``WS/models/intents``; returns its validation metrics.

    ``overrides`` (None skipped) win over ``[intents]`` of ``kgagent.toml``. Entities linked in the examples are
    fused in when the workspace has a KGE (``fusion = "auto"``).
    """
    from kgagent.training.intents import (
        IntentConfig,
        load_intent_data,
        train_intents,
        workspace_entity_vectors,
        workspace_linker,
    )

    ws = Workspace(workspace)
    config = ws.config("intents", IntentConfig, **overrides)
    intent_data = load_intent_data(data)
    vectors = workspace_entity_vectors(ws.root) if config.fusion != "none" else None
    linker = workspace_linker(ws.root) if vectors is not None else None
    out = ws.models_dir / "intents"
    result = train_intents(intent_data, config, out_dir=out, entity_vectors=vectors, linker=linker)
    summary = {k: v for k, v in result.as_dict().items() if k != "confused"}
    ws.record("intents", config=config, metrics=summary, source=str(data),
              artifacts=sorted(p for p in out.rglob("*") if p.is_file()))
    return summary


def qa_step(workspace: Path, questions: list[Path], synthesize: int | None = None, *, feedback: bool = False,
            **overrides: Any) -> dict[str, Any]:
    """Train the QA model on ``questions`` (MetaQA format) plus ``synthesize`` questions generated from the graph
    into ``WS/models/qa``; returns its validation metrics and ``losses`` (per training phase).

    ``overrides`` (None skipped) win over ``[qa]`` of ``kgagent.toml``. ``synthesize=None`` takes ``[qa]
    synthesize``, else, when the files hold fewer than 1000 questions (none at all included), as many as the
    graph's relation paths call for, so a KG without labelled questions still gets a QA model. ``[lexicon]``
    phrasings enter the synthesized questions; ``feedback`` adds the liked and corrected answers of
    ``WS/feedback.jsonl`` as labelled questions.
    """
    from kgagent.training.feedback import read_feedback
    from kgagent.training.qa import QAConfig, train_qa
    from kgagent.training.qa_data import read_qa_files
    from kgagent.training.synthesize import SynthesisConfig

    ws = Workspace(workspace)
    kg = KnowledgeGraph.load(ws.require("kg"))
    config = ws.config("qa", QAConfig, **overrides)
    examples = read_qa_files(questions, kg) if questions else []
    confirmed = read_feedback(ws.root / "feedback.jsonl", kg) if feedback else []
    result = train_qa(kg, [*examples, *confirmed], kge=ws.require("kge"), config=config,
                      out_dir=ws.models_dir / "qa", synthesize=synthesize,
                      synthesis=ws.config("synthesis", SynthesisConfig), lexicon=ws.lexicon() or None,
                      cache_dir=ws.root / ".cache" / "qa")
    metrics = {**result.metrics, "question_files": [str(p) for p in questions], "feedback": len(confirmed)}
    ws.record("qa", config=config, metrics={k: v for k, v in metrics.items() if k != "selection"},
              artifacts=sorted(p for p in (ws.models_dir / "qa").rglob("*") if p.is_file()))
    keep = ("questions", "synthesized", "feedback", "paths", "val_path_accuracy", "val_scorer_hits_at_1",
            "val_hits_at_1", "val_ece", "fallback", "fit_seconds")
    return {**{k: metrics[k] for k in keep if k in metrics}, "losses": result.losses}


def index_step(workspace: Path, *, encoder: str | None = None, documents: Path | None = None) -> dict[str, Any]:
    """Encode the names and passages of ``WS/kg`` into ``WS/index``; returns counts and timings."""
    from kgagent.retrieval import IndexConfig, build_index

    ws = Workspace(workspace)
    config = ws.config("index", IndexConfig, encoder=encoder,
                       documents=str(documents) if documents is not None else None)
    return build_index(ws, config=config)


def ner_step(workspace: Path, **overrides: Any) -> dict[str, Any]:
    """Train the mention tagger on questions synthesized from ``WS/kg`` into ``WS/models/ner``; returns its
    validation metrics and ``losses``. ``overrides`` (None skipped) win over ``[ner]`` of ``kgagent.toml``."""
    from kgagent.training.ner import NERConfig, train_ner

    ws = Workspace(workspace)
    kg = KnowledgeGraph.load(ws.require("kg"))
    config = ws.config("ner", NERConfig, **overrides)
    out = ws.models_dir / "ner"
    result = train_ner(kg, config=config, out_dir=out)
    ws.record("ner", config=config, metrics=result.metrics,
              artifacts=sorted(p for p in out.rglob("*") if p.is_file()))
    return {**result.metrics, "losses": result.losses}


def build_workspace(options: BuildOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Run every build step into a fresh workspace; swap it in only when all succeed."""
    progress = progress or (lambda frac, msg: log.info("%3.0f%% %s", 100 * frac, msg))
    steps: list[tuple[str, Callable[[Path], Any]]] = [
        ("kg", lambda ws: load_step(options.file, ws, format=options.format, aliases=options.aliases,
                                    descriptions=options.descriptions)),
        ("kge", lambda ws: kge_step(ws)),
        ("index", lambda ws: index_step(ws)),
        ("ner", lambda ws: ner_step(ws)),
    ]
    if options.intents is not None:
        steps.append(("intents", lambda ws: intents_step(ws, options.intents)))
    steps.append(("qa", lambda ws: qa_step(ws, list(options.questions))))
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
