"""The training tab's steps: the same ``agent.build`` steps as ``kgagent train ...``, by display name, plus the
loss history each run leaves (from its result, its metrics files, or the trainers' per-evaluation log lines).
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kgagent.kg import Workspace
from kgagent.kg.errors import InputError


@dataclass
class TrainInputs:
    """What the tab offers: a KGE model name, epochs, and optional data uploads (None: as the workspace was built)."""

    model: str | None = None
    epochs: int | None = None
    intents: Path | None = None
    questions: list[Path] = field(default_factory=list)


def _kge(ws: Path, given: TrainInputs) -> dict[str, Any]:
    from kgagent.agent.build import kge_step

    return kge_step(ws, model=given.model, epochs=given.epochs)


def _intents(ws: Path, given: TrainInputs) -> dict[str, Any]:
    from kgagent.agent.build import intents_step

    data = given.intents or _recorded(ws, "intents", "source")
    if data is None:
        raise InputError("upload intent examples (JSON lines, CSV or CLINC JSON): this workspace was built without",
                         field="intent data")
    return intents_step(ws, data, **({"epochs": given.epochs} if given.epochs else {}))


def _qa(ws: Path, given: TrainInputs) -> dict[str, Any]:
    from kgagent.agent.build import qa_step

    questions = given.questions or [Path(p) for p in _recorded(ws, "qa", "question_files") or [] if Path(p).is_file()]
    return qa_step(ws, questions, **({"epochs": given.epochs} if given.epochs else {}))


def _recorded(ws: Path, step: str, key: str) -> Any:
    """What the manifest recorded for ``step`` under ``key`` (top level or in its metrics)."""
    entry = Workspace(ws).manifest().get("steps", {}).get(step, {})
    value = entry.get(key, entry.get("metrics", {}).get(key))
    if isinstance(value, str):
        return Path(value) if Path(value).is_file() else None
    return value


TRAINING: dict[str, Callable[[Path, TrainInputs], dict[str, Any]]] = {
    "KG embeddings": _kge,
    "Intents": _intents,
    "Question answering": _qa,
}
METRICS_FILES = {"KG embeddings": ("kge/metrics.json",), "Intents": ("models/intents/metrics.json",),
                 "Question answering": ("models/qa/metrics.json",)}
LOSS_KEYS = ("losses", "loss_history", "train_losses", "epoch_losses", "history")
_LOG_LINE = re.compile(r"train loss ([-+0-9.eE]+|nan|inf)")


def find_losses(obj: Any) -> list[float]:
    """A loss history inside ``obj``: a list of numbers under a loss key, or ``history`` rows with a loss."""
    if isinstance(obj, dict):
        for key in LOSS_KEYS:
            value = obj.get(key)
            if isinstance(value, list) and value:
                if all(isinstance(x, int | float) for x in value):
                    return [float(x) for x in value]
                rows = [r.get("train_loss", r.get("loss")) for r in value if isinstance(r, dict)]
                if rows and all(isinstance(x, int | float) for x in rows):
                    return [float(x) for x in rows]
        for value in obj.values():
            if isinstance(value, dict) and (found := find_losses(value)):
                return found
    return []


def losses_of(name: str, result: Any, workspace: Path, logged: list[float]) -> list[float]:
    """The loss history of one run: its result, then its metrics file, then what its trainer logged."""
    sources: list[Any] = [result]
    for rel in METRICS_FILES.get(name, ()):
        path = workspace / rel
        if path.is_file():
            with contextlib.suppress(json.JSONDecodeError, OSError):
                sources.append(json.loads(path.read_text(encoding="utf-8")))
    for src in sources:
        if found := find_losses(src):
            return found
    return list(logged)


class _LossLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.values: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        m = _LOG_LINE.search(record.getMessage())
        if m:
            self.values.append(float(m.group(1)))


_CAPTURE_LOCK = threading.Lock()


@contextlib.contextmanager
def logged_losses(logger: str = "kgagent.training") -> Iterator[list[float]]:
    """Collect the ``train loss X`` values the trainers log (one per evaluation) while the block runs."""
    handler = _LossLines()
    log = logging.getLogger(logger)
    with _CAPTURE_LOCK:
        old = log.level
        log.addHandler(handler)
        if log.getEffectiveLevel() > logging.INFO:
            log.setLevel(logging.INFO)
        try:
            yield handler.values
        finally:
            log.removeHandler(handler)
            log.setLevel(old)


def run_training(name: str, workspace: str | Path, given: TrainInputs) -> tuple[dict[str, Any], list[float]]:
    """Run the training step ``name`` on ``workspace``; returns its result and its loss history."""
    ws = Path(workspace)
    with logged_losses() as logged:
        result = TRAINING[name](ws, given)
    return result, losses_of(name, result, ws, logged)
