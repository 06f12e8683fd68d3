"""Matplotlib figures for the knowledge and training tabs (object-oriented API: no global pyplot state, so
several sessions can draw at once).

>>> fig = loss_curves({"kge": [1.0, 0.6, 0.4]})
>>> fig.axes[0].get_ylabel()
'loss'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

INK, ACCENT = "#334155", "#4338ca"


def _figure(width: float = 6.0, height: float = 3.2) -> Figure:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    return fig


def _style(ax) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(colors=INK, labelsize=8)
    ax.grid(axis="y", alpha=0.25)


def degree_histogram(triples: np.ndarray, num_entities: int) -> Figure:
    """Entities per degree (in + out edges) on log-spaced bins; ``triples`` is the ``(n, 3)`` id array.

    Isolated entities (degree 0) cannot sit on a log axis; the stats report counts them."""
    deg = np.bincount(triples[:, [0, 2]].ravel(), minlength=num_entities) if len(triples) else np.zeros(0, int)
    deg = deg[deg > 0]
    fig = _figure()
    ax = fig.add_subplot()
    if len(deg):
        # integer bin edges, log-spaced: one bin per degree at the low end, wider bins in the tail
        edges = np.unique(np.round(np.logspace(0, np.log10(deg.max() + 1), 24)).astype(int))
        edges = np.append(edges, edges[-1] + 1) if len(edges) == 1 else edges
        ax.hist(deg, bins=edges, color=ACCENT, alpha=0.85, edgecolor="white")
        ax.set_xscale("log")
        ax.set_yscale("log")
    ax.set_xlabel("degree (edges per entity)", color=INK)
    ax.set_ylabel("entities", color=INK)
    ax.set_title("Degree distribution", color=INK, fontsize=10)
    _style(ax)
    return fig


def relation_bars(frequencies: Mapping[str, int], top: int = 15) -> Figure:
    """The ``top`` most frequent relations as horizontal bars."""
    items = list(frequencies.items())[:top][::-1]
    fig = _figure(height=max(2.0, 0.28 * len(items) + 0.8))
    ax = fig.add_subplot()
    ax.barh([k for k, _ in items], [v for _, v in items], color=ACCENT, alpha=0.85)
    ax.set_xlabel("triples", color=INK)
    ax.set_title("Relation frequencies", color=INK, fontsize=10)
    _style(ax)
    ax.grid(axis="x", alpha=0.25)
    return fig


def loss_curves(curves: Mapping[str, Sequence[float]]) -> Figure:
    """Training loss per epoch (KGE) or per step (the heads), one line per model or training phase."""
    fig = _figure()
    ax = fig.add_subplot()
    for name, ys in curves.items():
        if len(ys):
            ax.plot(range(1, len(ys) + 1), ys, marker="o" if len(ys) < 30 else None, markersize=3, label=name)
    if not any(len(ys) for ys in curves.values()):
        ax.text(0.5, 0.5, "no loss history yet", ha="center", va="center", color=INK, transform=ax.transAxes)
    ax.set_xlabel("epoch (KGE) or step", color=INK)  # PyKEEN reports per epoch, train_loop per step
    ax.set_ylabel("loss", color=INK)
    ax.set_title("Training loss", color=INK, fontsize=10)
    if len(curves) > 1:
        ax.legend(frameon=False, fontsize=8)
    _style(ax)
    return fig
