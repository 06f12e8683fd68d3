"""The training tab's steps: the same ``agent.build`` steps as ``kgagent train ...``, by display name, and the
loss curves their results carry (``losses``); ``on_step`` reports each training step's loss as it comes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgagent.kg import Workspace
from kgagent.kg.errors import InputError

StepCallback = Callable[[str, int, float], None]  # (phase, step, loss), as training.trainer.train_loop reports


@dataclass
class TrainInputs:
    """What the tab offers: a KGE model name, epochs, and optional data uploads (None: as the workspace was built)."""

    model: str | None = None
    epochs: int | None = None
    intents: Path | None = None
    questions: list[Path] = field(default_factory=list)


def _kge(ws: Path, given: TrainInputs, on_step: StepCallback | None) -> dict[str, Any]:
    from kgagent.agent.build import kge_step

    return kge_step(ws, model=given.model, epochs=given.epochs)  # PyKEEN's loop: one loss per epoch, at the end


def _intents(ws: Path, given: TrainInputs, on_step: StepCallback | None) -> dict[str, Any]:
    from kgagent.agent.build import intents_step

    data = given.intents or _recorded(ws, "intents", "source")
    if data is None:
        raise InputError("upload intent examples (JSON lines, CSV or CLINC JSON): this workspace was built without",
                         field="intent data")
    return intents_step(ws, data, on_step=on_step, **({"epochs": given.epochs} if given.epochs else {}))


def _qa(ws: Path, given: TrainInputs, on_step: StepCallback | None) -> dict[str, Any]:
    from kgagent.agent.build import qa_step

    questions = given.questions or [Path(p) for p in _recorded(ws, "qa", "question_files") or [] if Path(p).is_file()]
    return qa_step(ws, questions, on_step=on_step, **({"epochs": given.epochs} if given.epochs else {}))


def _recorded(ws: Path, step: str, key: str) -> Any:
    """What the manifest recorded for ``step`` under ``key`` (top level or in its metrics)."""
    entry = Workspace(ws).manifest().get("steps", {}).get(step, {})
    value = entry.get(key, entry.get("metrics", {}).get(key))
    if isinstance(value, str):
        return Path(value) if Path(value).is_file() else None
    return value


TRAINING: dict[str, Callable[[Path, TrainInputs, StepCallback | None], dict[str, Any]]] = {
    "KG embeddings": _kge,
    "Intents": _intents,
    "Question answering": _qa,
}


def loss_curves_of(name: str, result: dict[str, Any]) -> dict[str, list[float]]:
    """The loss curves of a step's result: ``losses`` is one curve (KGE: per epoch; intents: per step) or one
    per training phase (QA), named ``name`` or ``name: phase``."""
    losses = result.get("losses")
    if isinstance(losses, dict):
        return {f"{name}: {phase}": [float(x) for x in ys] for phase, ys in losses.items() if ys}
    return {name: [float(x) for x in losses]} if losses else {}


def run_training(name: str, workspace: str | Path, given: TrainInputs, on_step: StepCallback | None = None
                 ) -> tuple[dict[str, Any], dict[str, list[float]]]:
    """Run the training step ``name`` on ``workspace``; returns its result and its loss curves."""
    result = TRAINING[name](Path(workspace), given, on_step)
    return result, loss_curves_of(name, result)
