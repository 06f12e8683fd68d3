"""Relation paths at the level of entity sets: fast execution and weak path labels for QA training.

A path is a tuple of step names, ``("directed_by", "directed_by^-1")``; an inverse step walks tail -> head.
Sets, not individual paths, are propagated (one vectorized CSR gather per hop), so enumerating every path of
up to three hops from a topic stays fast on a KB of tens of thousands of entities.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from kgagent.kg.graph import INVERSE, KnowledgeGraph

RelPath = tuple[str, ...]


class PathIndex:
    """Per-step CSR adjacency (``2 * n_relations`` steps: each relation forward, then inverse).

    >>> kg = KnowledgeGraph.from_triples([("a", "r", "b"), ("c", "r", "b")])
    >>> pi = PathIndex(kg)
    >>> sorted(pi.execute([kg.entity_id("a")], ("r", "r^-1")).tolist()) == [kg.entity_id("c")]
    True
    """

    def __init__(self, kg: KnowledgeGraph) -> None:
        self.kg = kg
        r = kg.num_relations
        self.step_names: list[str] = list(kg.relations) + [f"{n}{INVERSE}" for n in kg.relations]
        self.step_ids: dict[str, int] = {n: i for i, n in enumerate(self.step_names)}
        tr = kg.triples
        src = np.concatenate([tr[:, 0], tr[:, 2]])
        dst = np.concatenate([tr[:, 2], tr[:, 0]])
        step = np.concatenate([tr[:, 1], tr[:, 1] + r])
        # CSR over the source entity, edges sorted by (source, step): memory O(triples) for any relation count
        n = kg.num_entities
        order = np.lexsort((dst, step, src))
        self._step, self._nbr = step[order], dst[order]
        self._ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(src, minlength=n), out=self._ptr[1:])
        self._n = n

    @property
    def num_steps(self) -> int:
        return len(self.step_names)

    def expand(self, frontier: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(steps, neighbours, sources)`` of every edge leaving ``frontier`` in either direction; ``sources``
        are positions in ``frontier``."""
        starts, ends = self._ptr[frontier], self._ptr[frontier + 1]
        counts = ends - starts
        total = int(counts.sum())
        if total == 0:
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        # gather the concatenated slices without a Python loop: slice i starts at starts[i]
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
        return self._step[offsets], self._nbr[offsets], np.repeat(np.arange(len(frontier)), counts)

    def edges(self, entity: int) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, neighbours)`` of the edges leaving one entity, sorted by step, then neighbour."""
        start, end = self._ptr[entity], self._ptr[entity + 1]
        return self._step[start:end], self._nbr[start:end]

    def step(self, frontier: np.ndarray, step: int) -> np.ndarray:
        """Sorted unique entities one ``step`` away from any entity of ``frontier``."""
        frontier = np.asarray(frontier, dtype=np.int64)
        if len(frontier) == 1:  # the usual first hop: one entity's edges are sorted by step, then neighbour
            steps, nbrs = self.edges(int(frontier[0]))
            lo, hi = np.searchsorted(steps, (step, step + 1))
            out = nbrs[lo:hi]
            return out if len(out) < 2 or bool((out[1:] > out[:-1]).all()) else np.unique(out)  # repeated triples
        steps, nbrs, _ = self.expand(frontier)
        return np.unique(nbrs[steps == step])

    def successors(self, frontier: np.ndarray) -> Iterator[tuple[int, np.ndarray]]:
        """``(step, sorted unique reached entities)`` for every step with an edge leaving ``frontier``."""
        steps, nbrs, _ = self.expand(np.asarray(frontier, dtype=np.int64))
        if not len(steps):
            return
        keys = np.unique(steps * self._n + nbrs)  # sorted by step, then entity
        st = keys // self._n
        bounds = np.flatnonzero(np.diff(st)) + 1
        for chunk in np.split(keys, bounds):
            yield int(chunk[0] // self._n), chunk % self._n

    def execute(self, topics: Sequence[int], path: Sequence[str]) -> np.ndarray:
        """Entities reached from ``topics`` along ``path``; the topics themselves are never revisited."""
        frontier = np.unique(np.asarray(topics, dtype=np.int64))
        topic = frontier.copy()
        for name in path:
            if name not in self.step_ids:
                return np.empty(0, dtype=np.int64)
            reached = self.step(frontier, self.step_ids[name])
            # (one topic, the usual case: a comparison costs less than a set difference)
            frontier = reached[reached != topic[0]] if len(topic) == 1 else np.setdiff1d(reached, topic,
                                                                                         assume_unique=True)
            if not len(frontier):
                break
        return frontier

    @cached_property
    def range_of(self) -> dict[str, np.ndarray]:
        """Step name -> bool mask of entities that some edge of that step reaches (the step's answer type)."""
        out: dict[str, np.ndarray] = {}
        tr = self.kg.triples
        for i, name in enumerate(self.step_names):
            r, forward = i % self.kg.num_relations, i < self.kg.num_relations
            mask = np.zeros(self._n, dtype=bool)
            mask[tr[tr[:, 1] == r, 2 if forward else 0]] = True
            out[name] = mask
        return out

    def enumerate(self, topics: Sequence[int], max_hops: int = 3, max_frontier: int = 200_000,
                  budget: int | None = None) -> Iterator[tuple[RelPath, np.ndarray]]:
        """Every non-empty path of 1..``max_hops`` steps from ``topics`` with its reached set, shortest first
        (breadth first), at most ``budget`` of them: on a dense graph the 3-step paths from one entity run into
        the hundreds of thousands (55 relations: 93 one-step, 8,630 two-step paths), and the short ones are
        the likelier readings."""
        topic = np.unique(np.asarray(topics, dtype=np.int64))
        level: list[tuple[RelPath, np.ndarray]] = [((), topic)]
        count = 0
        for hop in range(max_hops):
            deeper: list[tuple[RelPath, np.ndarray]] = []
            for path, frontier in level:
                for s, reached in self.successors(frontier):
                    # (one topic, the usual case: a comparison costs less than a set difference)
                    nxt = reached[reached != topic[0]] if len(topic) == 1 else np.setdiff1d(reached, topic,
                                                                                            assume_unique=True)
                    if not len(nxt):
                        continue
                    p = (*path, self.step_names[s])
                    yield p, nxt
                    count += 1
                    if budget is not None and count >= budget:
                        return
                    if hop + 1 < max_hops and len(nxt) <= max_frontier:
                        deeper.append((p, nxt))
            level = deeper


@dataclass(frozen=True)
class PathLabel:
    """The relation paths whose reached set best matches a question's gold answers (ties kept, best first)."""

    paths: tuple[RelPath, ...]
    f1: float

    @property
    def path(self) -> RelPath | None:
        return self.paths[0] if self.paths else None


def label_paths(kg: KnowledgeGraph, questions: Sequence[tuple[Sequence[int], Sequence[int]]], *,
                max_hops: int = 3, max_ties: int = 8, index: PathIndex | None = None, budget: int | None = 20_000,
                progress: bool = False) -> list[PathLabel]:
    """Weak path labels for ``(topic ids, gold answer ids)`` pairs.

    For each topic every path of up to ``max_hops`` steps is executed once at the set level (questions that share
    a topic share the work); a path's score is the F1 of its reached set against the gold set. All paths within
    1e-9 of the best F1 are kept, shortest first (up to ``max_ties``), so the classifier can be trained on the
    marginal likelihood of the tied paths instead of an arbitrary pick. Gold-less questions get no label.
    ``budget`` bounds the paths tried per topic (shortest first; see :meth:`PathIndex.enumerate`).
    """
    from tqdm.auto import tqdm

    index = index or PathIndex(kg)
    by_topic: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for i, (topics, gold) in enumerate(questions):
        if len(topics) and len(gold):
            by_topic[tuple(sorted(set(int(t) for t in topics)))].append(i)
    labels = [PathLabel((), 0.0)] * len(questions)
    hit_mask = np.zeros(kg.num_entities, dtype=bool)  # the entities a path reached, set and cleared per path
    for topics, members in tqdm(by_topic.items(), desc="labelling paths", unit="topic", disable=not progress):
        golds = [np.unique(np.asarray(questions[i][1], dtype=np.int64)) for i in members]
        # every member's gold set at once: one gather per path instead of one intersection per question
        gold_ids = np.concatenate(golds)
        owner = np.repeat(np.arange(len(members)), [len(g) for g in golds])
        gold_len = np.array([len(g) for g in golds], dtype=np.float64)
        best: list[list[tuple[int, RelPath]]] = [[] for _ in members]
        best_f1 = np.zeros(len(members))
        for path, reached in index.enumerate(topics, max_hops=max_hops, budget=budget):
            hit_mask[reached] = True
            hits = np.bincount(owner, weights=hit_mask[gold_ids], minlength=len(members))
            hit_mask[reached] = False
            f1 = 2 * hits / (len(reached) + gold_len)
            for j in np.flatnonzero((hits > 0) & (f1 > best_f1 - 1e-9)).tolist():
                if f1[j] > best_f1[j] + 1e-9:
                    best_f1[j], best[j] = f1[j], [(len(path), path)]
                else:
                    best[j].append((len(path), path))
        for j, i in enumerate(members):
            ranked = tuple(p for _, p in sorted(best[j])[:max_ties])
            labels[i] = PathLabel(ranked, round(float(best_f1[j]), 6))
    return labels
