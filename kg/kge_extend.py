"""Extend trained KG embeddings to an updated graph without retraining (``kgagent kg add``).

Existing entity and relation rows are kept exactly. A new entity's row is the mean of its neighbours' rows, over
a few rounds so that an entity reached only through other new entities (a new film's new actors) is estimated
from those once they have rows; what no round reaches gets the mean of all entities. A new relation's row is
the mean of the existing relations' rows (the QA model cannot ask about it before ``kgagent train qa``).
Unit-norm representations (a model that normalizes its entities) stay unit-norm.

>>> kge2 = extend_embeddings(KGEmbeddings.load("ws/kge"), GraphChange.between(old, new))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from kgagent.kg.embeddings import KGEmbeddings, id_hash

if TYPE_CHECKING:
    import torch

    from kgagent.kg.change import GraphChange

log = logging.getLogger(__name__)


def extend_embeddings(kge: KGEmbeddings, change: GraphChange, *, rounds: int = 4) -> KGEmbeddings:
    """Embeddings for ``change.new``: old rows unchanged, new entities from their neighbours (see module doc)."""
    kge.check(change.old)
    n_old, n_new = change.old.num_entities, change.new.num_entities
    r_old, r_new = change.old.num_relations, change.new.num_relations
    reps = kge.info["representations"]
    tensors = dict(kge.tensors)
    tr = change.new.triples
    src = np.concatenate([tr[:, 0], tr[:, 2]])  # every edge both ways: (2n,)
    dst = np.concatenate([tr[:, 2], tr[:, 0]])
    names = [s["name"] for s in reps["entity"]]
    rows, stats = _neighbour_means([tensors[k] for k in names], n_new, src, dst, rounds)
    tensors.update(zip(names, rows, strict=True))
    for group in ("relation", "relation_inverse"):
        for spec in reps.get(group, []):
            tensors[spec["name"]] = _append_mean(tensors[spec["name"]], r_new - r_old)
    info = {**kge.info, "num_entities": n_new, "num_relations": r_new, "id_hash": id_hash(change.new)}
    info["extended"] = [*kge.info.get("extended", []), {
        "entities": n_new - n_old, "relations": change.new_relations, **stats}]
    log.info("KGE extended by %d entities (%d from neighbours), %d relations",
             n_new - n_old, stats["from_neighbours"], r_new - r_old)
    return KGEmbeddings(info, tensors, kge.metrics)


def _neighbour_means(tensors: list[torch.Tensor], n_new: int, src: np.ndarray, dst: np.ndarray,
                     rounds: int) -> tuple[list[torch.Tensor], dict[str, Any]]:
    """Each ``(n_old, *s)`` tensor grown to ``(n_new, *s)``: new rows the mean of their known neighbours' rows."""
    import torch

    n_old = tensors[0].shape[0]
    out = [torch.cat([x, x.new_zeros((n_new - n_old, *x.shape[1:]))]) for x in tensors]
    known = np.zeros(n_new, dtype=bool)
    known[:n_old] = True
    return out, fill_from_neighbours(out, known, src, dst, rounds)


def fill_from_neighbours(tensors: list[torch.Tensor], known: np.ndarray, src: np.ndarray, dst: np.ndarray,
                         rounds: int = 4) -> dict[str, int]:
    """In place: each ``(n, *s)`` tensor's rows not ``known`` become the mean of their known neighbours' rows
    (edges ``src -> dst``), round by round; rows no round reaches get the mean known row. Returns the counts."""
    import torch

    n = tensors[0].shape[0]
    was_known = known.copy()
    known = known.copy()
    for _ in range(rounds):
        edge = known[src] & ~known[dst]
        if not edge.any():
            break
        s, d = torch.as_tensor(src[edge]), torch.as_tensor(dst[edge])
        count = torch.bincount(d, minlength=n).clamp(min=1)  # (n,)
        reached = np.unique(dst[edge])
        for x in tensors:
            acc = torch.zeros_like(x).index_add_(0, d, x[s])  # (n, *s)
            x[reached] = acc[reached] / count[reached].reshape(-1, *[1] * (x.ndim - 1)).to(x.dtype)
        known[reached] = True
    from_neighbours = int((known & ~was_known).sum())
    lone = np.flatnonzero(~known)
    for x in tensors:
        if len(lone) and was_known.any():
            x[lone] = x[torch.as_tensor(was_known)].mean(0)
        _keep_unit_norm(x, was_known)
    return {"from_neighbours": from_neighbours, "without_neighbours": len(lone)}


def _keep_unit_norm(x: torch.Tensor, known: np.ndarray) -> None:
    """Normalize the rows of ``x`` not ``known`` in place when every known row has norm 1 (the model
    constrains them)."""
    import torch

    if not known.any() or known.all():
        return
    k, u = torch.as_tensor(known), torch.as_tensor(~known)
    norms = x[k].reshape(int(known.sum()), -1).norm(dim=1)
    if torch.allclose(norms, torch.ones_like(norms), atol=1e-3):
        new = x[u].reshape(int(u.sum()), -1)
        x[u] = (new / new.norm(dim=1, keepdim=True).clamp(min=1e-12)).reshape(x[u].shape)


def _append_mean(x: torch.Tensor, extra: int) -> torch.Tensor:
    """``(n, *s)`` -> ``(n + extra, *s)``: the extra rows are the mean row."""
    import torch

    if extra <= 0:
        return x
    return torch.cat([x, x.mean(0, keepdim=True).expand(extra, *x.shape[1:])])
