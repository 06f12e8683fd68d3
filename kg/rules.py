"""Path rules mined from the graph, to infer edges it lacks (AnyBURL-style, closed path rules).

A rule says that a relation step tends to hold where a path of steps does: ``directed_by(x, y) <=
written_by(x, y)`` (confidence 0.39 on MetaQA: directors often write), or ``directed_by(x, y) <= has_tags(x, t),
same_name(t, y)`` (a film tagged "ridley scott" is likely directed by Ridley Scott). ``same_name`` links entities
whose labels are equal but for case, so tag-like literals reach the entities they name. Confidence is the PCA
confidence of the rule on the graph: of the body's ``(x, y)`` pairs whose ``x`` has some edge of the head
relation, the share where the head edge holds. A prediction's score is its best rule's confidence.

>>> kg = KnowledgeGraph.from_triples([(f"f{i}", "written_by", f"p{i}") for i in range(9)]
...                                  + [(f"f{i}", "directed_by", f"p{i}") for i in range(8)])
>>> rules = mine_rules(kg, RuleConfig(min_support=2))
>>> rules.predict(kg.entity_id("f8"), "directed_by")[0][:1].tolist() == [kg.entity_id("p8")]
True
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kgagent.kg.config import check_ints, check_range
from kgagent.kg.errors import KgAgentError
from kgagent.kg.graph import INVERSE, KnowledgeGraph, inverse_step
from kgagent.kg.io import atomic_write_text
from kgagent.kg.validate import damaged, parse, read_json

log = logging.getLogger(__name__)
SAME_NAME = "same_name"  # body step between distinct entities whose labels are equal but for case


@dataclass(frozen=True)
class Rule:
    """``head(x, y) <= body[0](x, z1), ..., body[-1](zk, y)`` with its confidence and support on the graph."""

    head: str
    body: tuple[str, ...]
    confidence: float
    support: int


@dataclass
class RuleConfig:
    """How rules are mined."""

    max_body: int = field(default=2, metadata={"help": "longest rule body (steps); 1 or 2"})
    min_support: int = field(default=5, metadata={"help": "fewest (x, y) pairs where body and head both hold"})
    min_confidence: float = 0.05
    per_head: int = field(default=20, metadata={"help": "rules kept per head step, best first"})
    max_pairs: int = field(default=5_000_000, metadata={
        "help": "skip two-step bodies that would join more pairs than this (dense, and never confident)"})
    smoothing: int = field(default=5, metadata={"help": "added to the body count: rare bodies earn less trust"})
    max_bodies: int = field(default=50_000, metadata={
        "help": "bodies evaluated at most, those with the most paths first (hundreds of relations give ~10^5)"})
    max_seconds: float = field(default=120.0, metadata={"help": "time budget of mining; bodies left are skipped"})

    def __post_init__(self) -> None:
        if self.max_body not in (1, 2):
            raise ValueError(f"max_body must be 1 or 2, not {self.max_body!r}")
        check_range(self, "min_confidence", high=1.0)
        check_ints(self, "min_support", "per_head", "max_pairs", "max_bodies")
        check_range(self, "max_seconds", low_open=True)



def step_matrices(kg: KnowledgeGraph) -> dict[str, object]:
    """Binary ``(n, n)`` scipy CSR adjacency of every step (each relation, its inverse, and ``same_name``)."""
    import scipy.sparse as sp

    n = kg.num_entities
    out: dict[str, object] = {}
    tr = kg.triples[np.argsort(kg.triples[:, 1], kind="stable")]  # grouped by relation: one pass, not one per relation
    bounds = np.searchsorted(tr[:, 1], np.arange(kg.num_relations + 1))
    for r, name in enumerate(kg.relations):
        sel = tr[bounds[r]: bounds[r + 1]]
        m = sp.csr_matrix((np.ones(len(sel), np.float32), (sel[:, 0], sel[:, 2])), shape=(n, n))
        m.data[:] = 1.0  # parallel edges count once
        out[name] = m
        out[name + INVERSE] = m.T.tocsr()
    # same_name: group entities by casefolded label; pair every two of a group
    keys = np.array([label.casefold() for label in kg.labels], dtype=object)
    order = np.argsort(keys, kind="stable")
    rows: list[int] = []
    cols: list[int] = []
    start = 0
    for i in range(1, n + 1):
        if i == n or keys[order[i]] != keys[order[start]]:
            group = order[start:i]
            if 1 < len(group) <= 50:  # a label shared by many entities names none of them
                for a in group:
                    rows += [int(a)] * (len(group) - 1)
                    cols += [int(b) for b in group if b != a]
            start = i
    out[SAME_NAME] = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(n, n))
    return out


def _join(mats: dict[str, object], body: tuple[str, ...]) -> object:
    """Binary CSR matrix of the ``(x, y)`` pairs, ``x != y``, that ``body``'s steps join."""
    import scipy.sparse as sp

    m = mats[body[0]]
    for step in body[1:]:
        m = m @ mats[step]  # type: ignore[operator]
    m = sp.csr_matrix(m)
    m.setdiag(0)  # a rule never predicts x itself
    m.eliminate_zeros()
    m.data[:] = 1.0
    return m


class RuleSet:
    """Mined rules per head step, and predictions from them."""

    def __init__(self, kg: KnowledgeGraph, rules: dict[str, list[Rule]], config: RuleConfig | None = None,
                 *, stats: dict[str, float] | None = None) -> None:
        self.kg = kg
        self.rules = rules
        self.config = config or RuleConfig()
        self.stats = stats or {}  # how mining went: candidate/mined/skipped bodies, seconds
        self._mats: dict[str, object] | None = None
        self._bodies: dict[tuple[str, ...], object] = {}

    @property
    def matrices(self) -> dict[str, object]:
        if self._mats is None:
            self._mats = step_matrices(self.kg)
        return self._mats

    def __len__(self) -> int:
        return sum(len(v) for v in self.rules.values())

    def _body(self, body: tuple[str, ...]) -> object:
        """The ``(n, n)`` CSR matrix of pairs a body joins, built on first use and kept (a row read per query)."""
        m = self._bodies.get(body)
        if m is None:
            m = _join(self.matrices, body)
            self._bodies[body] = m
        return m

    def predict(self, entity: int, head: str) -> tuple[np.ndarray, np.ndarray, list[Rule]]:
        """Entities ``y`` the rules of ``head`` infer for ``head(entity, y)``, best first: ``(ids, scores, rules)``
        where ``scores`` is each one's best rule confidence and ``rules`` that rule."""
        _, ids, which = self.predict_many(np.array([entity]), head)
        rules = self.rules.get(head, [])
        conf = np.array([r.confidence for r in rules])[which] if len(which) else np.empty(0)
        return ids, conf, [rules[j] for j in which]

    def predict_many(self, entities: np.ndarray, head: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every ``head(entities[row], y)`` the rules infer, as flat arrays ``(row, y, rule index)`` sorted by row,
        then best rule first (rules are sorted by confidence); each ``(row, y)`` once, with its best rule."""
        entities = np.asarray(entities, dtype=np.int64)
        rows, ids, which = [], [], []
        for i, rule in enumerate(self.rules.get(head, [])):
            m = self._body(rule.body)
            starts, ends = m.indptr[entities], m.indptr[entities + 1]  # type: ignore[attr-defined]
            counts = ends - starts
            total = int(counts.sum())
            # the rows' column slices gathered without a Python loop (slice j starts at starts[j])
            offsets = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(total)
            rows.append(np.repeat(np.arange(len(entities)), counts))
            ids.append(m.indices[offsets])  # type: ignore[attr-defined]
            which.append(np.full(total, i))
        if not rows or not sum(len(r) for r in rows):
            empty = np.empty(0, dtype=np.int64)
            return empty, empty, empty
        r, y, w = (np.concatenate(x).astype(np.int64) for x in (rows, ids, which))
        order = np.lexsort((y, w, r))  # by row, then rule, then entity
        r, y, w = r[order], y[order], w[order]
        key = r * (int(y.max()) + 1) + y
        _, first = np.unique(key, return_index=True)  # each (row, y) at its best rule
        keep = np.sort(first)
        return r[keep], y[keep], w[keep]

    def save(self, path: str | Path) -> None:
        """Write the rules and the mining config as JSON (atomically)."""
        data = {"config": asdict(self.config), "stats": self.stats,
                "rules": [asdict(r) for rs in self.rules.values() for r in rs]}
        atomic_write_text(path, json.dumps(data, indent=1) + "\n")

    @classmethod
    def load(cls, path: str | Path, kg: KnowledgeGraph) -> RuleSet:
        data = read_json(path)

        def build() -> RuleSet:
            rules: dict[str, list[Rule]] = {}
            for r in data["rules"]:
                for step in (r["head"], *r["body"]):
                    if step != SAME_NAME:
                        kg.parse_step(step)  # a rule over a relation this KG lacks: the file is not this KG's
                rules.setdefault(r["head"], []).append(Rule(r["head"], tuple(r["body"]), float(r["confidence"]),
                                                            int(r["support"])))
            return cls(kg, rules, RuleConfig(**data["config"]), stats=data.get("stats"))

        try:
            return parse(path, "rules", build)
        except KgAgentError as e:
            raise damaged(path, str(e)) from None


def _candidate_bodies(mats: dict[str, object], config: RuleConfig) -> list[tuple[tuple[str, ...], float]]:
    """Bodies that could reach ``min_support``, each with its path count (an upper bound of its pairs), most
    first. A two-step body ``(s, t)`` is a candidate only where ``s``'s tails meet ``t``'s heads in at least
    ``min_support`` paths: the counts for every step pair come from one sparse product, so the work grows with
    the pairs of steps that share entities, not with the square of the number of relations."""
    import scipy.sparse as sp

    steps = list(mats)
    edges = np.array([m.nnz for m in mats.values()], dtype=np.float64)  # type: ignore[attr-defined]
    out = [((s,), float(e)) for s, e in zip(steps, edges, strict=True) if e >= config.min_support]
    if config.max_body >= 2:
        # (n, steps) degree matrices: in_deg[:, s] = edges of step s entering each entity, out_deg likewise
        in_deg = sp.hstack([sp.csr_matrix(np.asarray(m.sum(axis=0)).T) for m in mats.values()]).tocsr()  # type: ignore[attr-defined]
        out_deg = sp.hstack([sp.csr_matrix(np.asarray(m.sum(axis=1))) for m in mats.values()]).tocsr()  # type: ignore[attr-defined]
        paths = (in_deg.T @ out_deg).tocoo()  # (steps, steps): paths x -s-> z -t-> y
        for i, j, count in zip(paths.row, paths.col, paths.data, strict=True):
            s, t = steps[i], steps[j]
            # x -> z and back along the same relation joins x to its own kind (films sharing a genre):
            # dense, and rarely a confident rule
            if (s == t == SAME_NAME) or t == inverse_step(s):
                continue
            if config.min_support <= count <= config.max_pairs:
                out.append(((s, t), float(count)))
    out.sort(key=lambda bc: (-bc[1], len(bc[0]), bc[0]))
    return out


class _HeadIndex:
    """Every head step's edges as sorted pair keys ``x * n + y``, to count a body's pairs per head at once."""

    def __init__(self, mats: dict[str, object], heads: list[str], n: int) -> None:
        import scipy.sparse as sp

        self.n = n
        keys, which = [], []
        for k, h in enumerate(heads):
            m = sp.coo_matrix(mats[h])
            keys.append(m.row.astype(np.int64) * n + m.col)
            which.append(np.full(m.nnz, k))
        key, step = np.concatenate(keys), np.concatenate(which)
        order = np.argsort(key, kind="stable")
        self.key, self.step = key[order], step[order]
        # (n, heads) indicator: entity x has some edge of head k (PCA confidence counts only such x)
        has = [np.flatnonzero(np.diff(mats[h].indptr)) for h in heads]  # type: ignore[attr-defined]
        self.has_head = sp.csr_matrix(
            (np.ones(sum(len(x) for x in has), np.float32),
             (np.concatenate(has), np.repeat(np.arange(len(heads)), [len(x) for x in has]))), shape=(n, len(heads)))

    def counts(self, joined: object) -> tuple[np.ndarray, np.ndarray]:
        """``(n_body, support)`` per head: the body's pairs whose ``x`` has a head edge, and those where the
        head edge holds."""
        indptr, cols = joined.indptr, joined.indices  # type: ignore[attr-defined]
        n_body = np.asarray(self.has_head.T @ np.diff(indptr).astype(np.float64)).ravel()
        rows = np.repeat(np.arange(self.n, dtype=np.int64), np.diff(indptr))
        keys = rows * self.n + cols
        lo, hi = np.searchsorted(self.key, keys, "left"), np.searchsorted(self.key, keys, "right")
        hits = hi - lo
        total = int(hits.sum())
        at = np.repeat(lo - np.cumsum(hits) + hits, hits) + np.arange(total)  # every matching edge of every pair
        support = np.bincount(self.step[at], minlength=self.has_head.shape[1])
        return n_body, support


def mine_rules(kg: KnowledgeGraph, config: RuleConfig | None = None, *, progress: bool = False) -> RuleSet:
    """Mine closed path rules of up to ``config.max_body`` steps for every relation step of ``kg``.

    Bodies are pruned by support before any join (:func:`_candidate_bodies`) and evaluated most paths first
    within ``max_bodies`` and ``max_seconds``; ``RuleSet.stats`` says how many were mined and skipped.
    """
    from tqdm.auto import tqdm

    config = config or RuleConfig()
    t0 = time.perf_counter()
    mats = step_matrices(kg)
    heads = [s for s in mats if s != SAME_NAME]
    candidates = _candidate_bodies(mats, config)
    index = _HeadIndex(mats, heads, kg.num_entities)
    found: dict[str, list[Rule]] = {h: [] for h in heads}
    done = 0
    for body, _ in tqdm(candidates[: config.max_bodies], desc="rule bodies", disable=not progress):
        if time.perf_counter() - t0 > config.max_seconds:
            break
        done += 1
        joined = _join(mats, body)  # one body's pairs in memory at a time
        n_body, support = index.counts(joined)
        for k in np.flatnonzero(support >= config.min_support):
            head = heads[k]
            if body == (head,):
                continue
            conf = support[k] / (n_body[k] + config.smoothing)
            if conf >= config.min_confidence:
                found[head].append(Rule(head, body, round(float(conf), 4), int(support[k])))
    rules: dict[str, list[Rule]] = {}
    for head, rs in found.items():
        rs.sort(key=lambda r: (-r.confidence, len(r.body), r.body))
        if rs:
            rules[head] = rs[: config.per_head]
    stats = {"candidate_bodies": len(candidates), "mined_bodies": done, "skipped_bodies": len(candidates) - done,
             "seconds": round(time.perf_counter() - t0, 2)}
    if done < len(candidates):
        log.warning("rule mining: %d of %d candidate bodies left out by the budget (max_bodies %d, max_seconds %g)",
                    len(candidates) - done, len(candidates), config.max_bodies, config.max_seconds)
    return RuleSet(kg, rules, config, stats=stats)
