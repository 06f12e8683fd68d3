"""Out-of-scope detection for intents: ``IntentPrediction`` (an intent and its out-of-scope verdict), the
in-scope scores a threshold applies to (``OOS_SCORES``) and the threshold's calibration on validation examples.

>>> probs = np.array([[0.9, 0.1], [0.6, 0.4]])  # an in-scope text, then an out-of-scope one
>>> t = calibrate_threshold(probs, ["a", "oos"], ["a", "b"])
>>> 0.6 < t <= 0.9  # just above the out-of-scope text's top probability
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class IntentPrediction:
    """One prediction. ``confidence`` is the top class's probability; for an out-of-scope prediction made by
    the threshold it is one minus the best in-scope probability."""

    intent: str
    confidence: float
    out_of_scope: bool


OOS_NAMES = ("oos", "out_of_scope")  # an intent with one of these names is the out-of-scope class


def is_oos(label: str) -> bool:
    """``label`` names the out-of-scope class (``oos``, ``out_of_scope``, any case)."""
    return label.lower() in OOS_NAMES


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(n, k)`` logits."""
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _energy(logits: np.ndarray, oos_index: int | None) -> np.ndarray:
    """log-sum-exp of the in-scope logits ``(n,)``: high where some intent fits (Liu et al., 2020)."""
    z = logits if oos_index is None else np.delete(logits, oos_index, axis=1)
    top = z.max(1)
    return top + np.log(np.exp(z - top[:, None]).sum(1))


def _top_probability(logits: np.ndarray, oos_index: int | None) -> np.ndarray:
    """The top softmax probability ``(n,)`` over all classes."""
    return softmax(logits).max(1)


# How sure the model is that a text is in scope; out-of-scope below the calibrated threshold.
OOS_SCORES: dict[str, Callable[[np.ndarray, int | None], np.ndarray]] = {
    "energy": _energy, "softmax": _top_probability}


def calibrate_threshold(probs: np.ndarray, gold: Sequence[str], labels: Sequence[str],
                        oos_weight: float | None = None, scores: np.ndarray | None = None) -> float | None:
    """The threshold on ``scores`` (default: the top probability of ``probs``) maximizing ``(1 - w) * in-scope
    accuracy + w * OOS recall``; ``oos_weight=None`` takes the OOS share of ``gold`` for ``w`` (accuracy over
    all queries). None when ``gold`` has no out-of-scope example (or only those): nothing to calibrate on."""
    label_index = {lab: i for i, lab in enumerate(labels)}
    oos = np.array([is_oos(x) for x in gold], dtype=bool)
    if not oos.any() or oos.all():
        return None
    oos_index = next((i for i, lab in enumerate(labels) if is_oos(lab)), -1)
    top = probs.argmax(1)
    conf = probs[np.arange(len(top)), top] if scores is None else np.asarray(scores, dtype=np.float64)
    gold_idx = np.array([label_index.get(x, -2) for x in gold])
    right_in = (~oos) & (top == gold_idx) & (top != oos_index)  # in-scope and correct before thresholding
    oos_by_class = oos & (top == oos_index)
    # A threshold t keeps in-scope hits with conf >= t and adds OOS examples whose top (in-scope) conf < t.
    candidates = np.unique(np.concatenate([[conf.min()], conf, np.nextafter(conf, np.inf)]))
    best_t, best_v = float(conf.min()), -1.0
    n_in, n_oos = (~oos).sum(), oos.sum()
    if oos_weight is None:
        oos_weight = float(n_oos / len(gold))
    for t in candidates:
        acc = (right_in & (conf >= t)).sum() / n_in
        rec = (oos_by_class | (oos & (top != oos_index) & (conf < t))).sum() / n_oos
        v = (1 - oos_weight) * acc + oos_weight * rec
        if v > best_v + 1e-12:
            best_t, best_v = float(t), float(v)
    return best_t
