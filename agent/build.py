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
from kgagent.kg.paths import writable_dir

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]  # (fraction done, what is running) -> None
StepCallback = Callable[[str, int, float], None]  # (training phase, step, loss): each step's loss as it comes


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

    writable_dir(workspace)
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


def intents_step(workspace: Path, data: Path, *, on_step: StepCallback | None = None,
                 **overrides: Any) -> dict[str, Any]:
    """Train the intent model on ``data`` into ``WS/models/intents``; returns its validation metrics and
    ``losses`` (one per step).

    ``overrides`` (None skipped) win over ``[intents]`` of ``kgagent.toml``; ``on_step`` sees each step's loss.
    Entities linked in the examples are fused in when the workspace has a KGE (``fusion = "auto"``).
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
    vectors = workspace_entity_vectors(ws.root) if config.encoder.fusion != "none" else None
    linker = workspace_linker(ws.root) if vectors is not None else None
    out = ws.models_dir / "intents"
    result = train_intents(intent_data, config, out_dir=out, entity_vectors=vectors, linker=linker, on_step=on_step)
    summary = {k: v for k, v in result.as_dict().items() if k not in ("confused", "losses", "history")}
    ws.record("intents", config=config, metrics=summary, source=str(data),
              artifacts=sorted(p for p in out.rglob("*") if p.is_file()))
    # with the loss of every step, which the app's training tab plots (the manifest keeps the metrics only)
    return {**summary, "losses": result.losses}


def qa_step(workspace: Path, questions: list[Path], synthesize: int | None = None, *, feedback: bool = False,
            on_step: StepCallback | None = None, **overrides: Any) -> dict[str, Any]:
    """Train the QA model on ``questions`` (MetaQA format) plus ``synthesize`` questions generated from the graph
    into ``WS/models/qa``; returns its validation metrics and ``losses`` (per training phase).

    ``overrides`` (None skipped) win over ``[qa]`` of ``kgagent.toml``. ``synthesize=None`` takes ``[qa]
    synthesize``, else, when the files hold fewer than 1000 questions (none at all included), as many as the
    graph's relation paths call for, so a KG without labelled questions still gets a QA model. ``[lexicon]``
    phrasings enter the synthesized questions; ``feedback`` adds the liked and corrected answers of
    ``WS/feedback.jsonl`` as labelled questions.
    """
    from kgagent.kg.rules import RuleConfig
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
                      rules=ws.config("rules", RuleConfig), cache_dir=ws.root / ".cache" / "qa", on_step=on_step)
    metrics = {**result.metrics, "question_files": [str(p) for p in questions], "feedback": len(confirmed)}
    ws.record("qa", config=config, metrics=_without_curves({k: v for k, v in metrics.items()
                                                            if k not in ("selection", "abstention")}),
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
    result = build_index(KnowledgeGraph.load(ws.require("kg")), config=config, out_dir=ws.index_dir)
    ws.record("index", config=config, metrics=result.metrics,
              artifacts=sorted(p for p in ws.index_dir.rglob("*") if p.is_file()))
    return result.as_dict()


def _without_curves(metrics: dict[str, Any]) -> dict[str, Any]:
    """Metrics without per-step curves (``losses``, ``history``) at any depth: the manifest stays small."""
    return {k: _without_curves(v) if isinstance(v, dict) else v for k, v in metrics.items()
            if k not in ("losses", "history")}


@dataclass(frozen=True)
class BuildStep:
    """One step of a full build: ``run(workspace, options)`` when ``applies(options)``."""

    run: Callable[[Path, BuildOptions], dict[str, Any]]
    applies: Callable[[BuildOptions], bool] = lambda options: True


# the steps of ``kgagent build``, in order; each reads what the ones before it wrote
BUILD_STEPS: dict[str, BuildStep] = {
    "kg": BuildStep(lambda ws, o: load_step(o.file, ws, format=o.format, aliases=o.aliases,
                                            descriptions=o.descriptions)),
    "kge": BuildStep(lambda ws, o: kge_step(ws)),
    "index": BuildStep(lambda ws, o: index_step(ws)),
    "ner": BuildStep(lambda ws, o: ner_step(ws)),
    "intents": BuildStep(lambda ws, o: intents_step(ws, o.intents), applies=lambda o: o.intents is not None),
    "qa": BuildStep(lambda ws, o: qa_step(ws, list(o.questions))),
}


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
    """Run every build step (:data:`BUILD_STEPS`) into a fresh workspace; swap it in only when all succeed."""
    progress = progress or (lambda frac, msg: log.info("%3.0f%% %s", 100 * frac, msg))
    steps = [(name, step) for name, step in BUILD_STEPS.items() if step.applies(options)]
    summary: dict[str, Any] = {}
    target = writable_dir(options.workspace)
    with atomic_dir(target) as tmp:
        # keep the user's config (kgagent.toml) when rebuilding in place
        old_config = Workspace(target).config_path
        if old_config.exists():
            shutil.copy2(old_config, Workspace(tmp).config_path)
        for i, (name, step) in enumerate(steps):
            progress(i / len(steps), f"{name}…")
            t0 = time.perf_counter()
            summary[name] = step.run(tmp, options)
            summary[f"{name}_seconds"] = round(time.perf_counter() - t0, 2)
        progress(1.0, "done")
    return summary
