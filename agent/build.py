"""Workspace build steps, shared by the CLI and the UI's knowledge tab.

Each step reads what the step before it wrote, through the workspace folder, so any step can be rerun alone.
``build_workspace`` runs them all in a temporary folder and swaps it into place only when every step succeeded,
so a failed build leaves the previous workspace intact.
"""

from __future__ import annotations

import logging
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from kgagent.kg import KnowledgeGraph, Workspace
from kgagent.kg.budget import Deadline, tighter
from kgagent.kg.io import atomic_dir
from kgagent.kg.paths import writable_dir

log = logging.getLogger(__name__)
T = TypeVar("T")
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
    budget: float | None = None  # seconds for the whole build (kg.budget); None: every step runs to its end


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
             dim: int | None = None, max_seconds: float | None = None) -> dict[str, Any]:
    """Train KG embeddings on ``WS/kg`` into ``WS/kge``; returns the test metrics and ``losses`` (one per epoch).
    ``max_seconds`` tightens ``[kge] max_seconds``."""
    from kgagent.kg.embeddings import KGEConfig, train_embeddings

    ws = Workspace(workspace)
    kg = KnowledgeGraph.load(ws.require("kg"))
    config = bounded(ws.config("kge", KGEConfig, model=model, epochs=epochs, dim=dim), max_seconds)
    result = train_embeddings(kg, config=config, out_dir=ws.kge_dir)
    ws.record("kge", config=result.config, metrics=result.metrics,
              artifacts=sorted(p for p in ws.kge_dir.iterdir() if p.is_file()))
    # with the loss per epoch, which the app's training tab plots (the manifest keeps the metrics only)
    return {**result.metrics, "losses": result.losses}


def intents_step(workspace: Path, data: Path, *, on_step: StepCallback | None = None,
                 max_seconds: float | None = None, **overrides: Any) -> dict[str, Any]:
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
    config = bounded(ws.config("intents", IntentConfig, **overrides), max_seconds)
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
            on_step: StepCallback | None = None, max_seconds: float | None = None,
            **overrides: Any) -> dict[str, Any]:
    """Train the QA model on ``questions`` (MetaQA format) plus ``synthesize`` questions generated from the graph
    into ``WS/models/qa``; returns its validation metrics and ``losses`` (per training phase).

    ``overrides`` (None skipped) win over ``[qa]`` of ``kgagent.toml``. ``synthesize=None`` takes ``[qa]
    synthesize``, else, when the files hold fewer than 1000 questions (none at all included), as many as the
    graph's relation paths call for, so a KG without labelled questions still gets a QA model (beside more,
    ``[qa] synthesized_share`` of the training sample, for the wordings the files lack). ``[lexicon]``
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
    config = bounded(ws.config("qa", QAConfig, **overrides), max_seconds)
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


def index_step(workspace: Path, *, encoder: str | None = None, documents: Path | None = None,
               max_seconds: float | None = None) -> dict[str, Any]:
    """Encode the names and passages of ``WS/kg`` into ``WS/index``; returns counts and timings. Under
    ``max_seconds``, the names (best connected entities first) and then the passages the time allows
    (``names_left``, ``passages_left``: the rest)."""
    from kgagent.retrieval import IndexConfig, build_index

    ws = Workspace(workspace)
    config = bounded(ws.config("index", IndexConfig, encoder=encoder,
                               documents=str(documents) if documents is not None else None), max_seconds)
    result = build_index(KnowledgeGraph.load(ws.require("kg")), config=config, out_dir=ws.index_dir)
    ws.record("index", config=config, metrics=result.metrics,
              artifacts=sorted(p for p in ws.index_dir.rglob("*") if p.is_file()))
    return result.as_dict()


def bounded(config: T, seconds: float | None) -> T:
    """``config`` with its time limit (``max_seconds``, its own or its ``train`` config's) tightened to
    ``seconds``; ``[section] max_seconds`` of ``kgagent.toml`` still wins where it is tighter."""
    if seconds is None:
        return config
    if hasattr(config, "max_seconds"):
        return replace(config, max_seconds=tighter(config.max_seconds, seconds))  # type: ignore[type-var]
    train = config.train  # type: ignore[attr-defined]
    return replace(config, train=replace(train, max_seconds=tighter(train.max_seconds, seconds)))  # type: ignore


def _without_curves(metrics: dict[str, Any]) -> dict[str, Any]:
    """Metrics without per-step curves (``losses``, ``history``) at any depth: the manifest stays small."""
    return {k: _without_curves(v) if isinstance(v, dict) else v for k, v in metrics.items()
            if k not in ("losses", "history")}


@dataclass(frozen=True)
class BuildStep:
    """One step of a full build: ``run(workspace, options, seconds)`` when ``applies(options)``.

    Under a build budget a step gets ``weight`` parts of what is left, shared among the steps still to run by
    their weights; ``seconds`` is that share (None without a budget). A step of weight 0 is not budgeted; one
    that cannot stop early still has a weight, so the steps before it leave it its time.
    """

    run: Callable[[Path, BuildOptions, float | None], dict[str, Any]]
    applies: Callable[[BuildOptions], bool] = lambda options: True
    weight: float = 0.0


# the parts of a step's share its training may take: the rest goes to loading, synthesis, evaluation, saving
TRAIN_SHARE = {"kge": 0.8, "ner": 0.6, "intents": 0.7}


def _train_limit(step: str, seconds: float | None) -> float | None:
    """The limit of a step's training loop: its part of the step's share of the budget."""
    return None if seconds is None else TRAIN_SHARE[step] * seconds


# the steps of ``kgagent build``, in order; each reads what the ones before it wrote. Weights: the demo build's
# time spent where it buys quality (the QA model's encoder first)
BUILD_STEPS: dict[str, BuildStep] = {
    "kg": BuildStep(lambda ws, o, s: load_step(o.file, ws, format=o.format, aliases=o.aliases,
                                               descriptions=o.descriptions)),
    "kge": BuildStep(lambda ws, o, s: kge_step(ws, max_seconds=_train_limit("kge", s)), weight=1.0),
    "index": BuildStep(lambda ws, o, s: index_step(ws, max_seconds=s), weight=1.0),
    "ner": BuildStep(lambda ws, o, s: ner_step(ws, max_seconds=_train_limit("ner", s)), weight=1.0),
    "intents": BuildStep(lambda ws, o, s: intents_step(ws, o.intents, max_seconds=_train_limit("intents", s)),
                         applies=lambda o: o.intents is not None, weight=0.5),
    "qa": BuildStep(lambda ws, o, s: qa_step(ws, list(o.questions), max_seconds=s), weight=4.0),
}


def ner_step(workspace: Path, *, max_seconds: float | None = None, **overrides: Any) -> dict[str, Any]:
    """Train the mention tagger on questions synthesized from ``WS/kg`` into ``WS/models/ner``; returns its
    validation metrics and ``losses``. ``overrides`` (None skipped) win over ``[ner]`` of ``kgagent.toml``."""
    from kgagent.training.ner import NERConfig, train_ner

    ws = Workspace(workspace)
    kg = KnowledgeGraph.load(ws.require("kg"))
    config = bounded(ws.config("ner", NERConfig, **overrides), max_seconds)
    out = ws.models_dir / "ner"
    result = train_ner(kg, config=config, out_dir=out)
    ws.record("ner", config=config, metrics=result.metrics,
              artifacts=sorted(p for p in out.rglob("*") if p.is_file()))
    return {**result.metrics, "losses": result.losses}


def peak_rss_mb() -> float | None:
    """This process's peak resident memory so far in MB (None where the OS does not say)."""
    try:
        import resource
    except ImportError:  # not on Windows
        return None
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux (bytes on macOS)
    return round(kb / (2**20 if sys.platform == "darwin" else 2**10), 1)


def build_workspace(options: BuildOptions, progress: Progress | None = None) -> dict[str, Any]:
    """Run every build step (:data:`BUILD_STEPS`) into a fresh workspace; swap it in only when all succeed.
    With ``options.budget``, each step gets its share of the time left (:class:`BuildStep`)."""
    progress = progress or (lambda frac, msg: log.info("%3.0f%% %s", 100 * frac, msg))
    steps = [(name, step) for name, step in BUILD_STEPS.items() if step.applies(options)]
    deadline = Deadline(options.budget)
    summary: dict[str, Any] = {}
    target = writable_dir(options.workspace)
    with atomic_dir(target) as tmp:
        # keep the user's config (kgagent.toml) when rebuilding in place
        old_config = Workspace(target).config_path
        if old_config.exists():
            shutil.copy2(old_config, Workspace(tmp).config_path)
        timing: dict[str, Any] = {"budget_seconds": options.budget, "shares": {}, "step_seconds": {},
                                  "peak_rss_mb": {}}
        for i, (name, step) in enumerate(steps):
            progress(i / len(steps), f"{name}…")
            t0 = time.perf_counter()
            weight_left = sum(st.weight for _, st in steps[i:])
            seconds = deadline.share(step.weight, weight_left) if step.weight else None
            seconds = None if seconds is None else max(seconds, 1.0)  # past the budget: each step's shortest run
            timing["shares"][name] = None if seconds is None else round(seconds, 1)
            summary[name] = step.run(tmp, options, seconds)
            summary[f"{name}_seconds"] = timing["step_seconds"][name] = round(time.perf_counter() - t0, 2)
            timing["peak_rss_mb"][name] = peak_rss_mb()  # the process's peak so far: the step that raised it
        timing["seconds"] = round(sum(timing["step_seconds"].values()), 2)
        Workspace(tmp).record("build", metrics=timing)  # where the time went, beside each step's own record
        progress(1.0, "done")
    if options.budget is not None:
        summary["budget_seconds"] = options.budget
    return summary
