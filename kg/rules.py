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
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from kgagent.kg.config import check_ints, check_range
from kgagent.kg.errors import KgAgentError
from kgagent.kg.graph import INVERSE, KnowledgeGraph
from kgagent.kg.io import atomic_write_text
from kgagent.kg.validate import damaged, parse, read_json

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

    def __post_init__(self) -> None:
        if self.max_body not in (1, 2):
            raise ValueError(f"max_body must be 1 or 2, not {self.max_body!r}")
        check_range(self, "min_confidence", high=1.0)
        check_ints(self, "min_support", "per_head", "max_pairs")


def _inverse(step: str) -> str:
    return step[: -len(INVERSE)] if step.endswith(INVERSE) else step + INVERSE


def step_matrices(kg: KnowledgeGraph) -> dict[str, object]:
    """Binary ``(n, n)`` scipy CSR adjacency of every step (each relation, its inverse, and ``same_name``)."""
    import scipy.sparse as sp

    n = kg.num_entities
    out: dict[str, object] = {}
    tr = kg.triples
    for r, name in enumerate(kg.relations):
        sel = tr[tr[:, 1] == r]
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

    def __init__(self, kg: KnowledgeGraph, rules: dict[str, list[Rule]], config: RuleConfig | None = None) -> None:
        self.kg = kg
        self.rules = rules
        self.config = config or RuleConfig()
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
        data = {"config": asdict(self.config),
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
            return cls(kg, rules, RuleConfig(**data["config"]))

        try:
            return parse(path, "rules", build)
        except KgAgentError as e:
            raise damaged(path, str(e)) from None


def mine_rules(kg: KnowledgeGraph, config: RuleConfig | None = None, *, progress: bool = False) -> RuleSet:
    """Mine closed path rules of up to ``config.max_body`` steps for every relation step of ``kg``."""
    import scipy.sparse as sp
    from tqdm.auto import tqdm

    config = config or RuleConfig()
    mats = step_matrices(kg)
    steps = list(mats)
    bodies: list[tuple[str, ...]] = [(s,) for s in steps]
    if config.max_body >= 2:
        out_deg = {s: np.diff(m.indptr) for s, m in mats.items()}  # type: ignore[attr-defined]
        in_deg = {s: np.diff(m.tocsc().indptr) for s, m in mats.items()}  # type: ignore[attr-defined]
        for s in steps:
            for t in steps:
                # x -> z and back along the same relation joins x to its own kind (films sharing a genre):
                # dense, and rarely a confident rule
                if (s == t == SAME_NAME) or t == _inverse(s):
                    continue
                if float(in_deg[s] @ out_deg[t]) <= config.max_pairs:  # pairs the join would produce, at most
                    bodies.append((s, t))
    heads = [s for s in steps if s != SAME_NAME]
    # only x that have some head edge count (PCA confidence)
    has_head = {h: sp.diags((np.diff(mats[h].indptr) > 0).astype(np.float32)) for h in heads}  # type: ignore[attr-defined]
    found: dict[str, list[Rule]] = {h: [] for h in heads}
    for body in tqdm(bodies, desc="rule bodies", disable=not progress):
        joined = _join(mats, body)  # one body's pairs in memory at a time
        for head in heads:
            if body == (head,):
                continue
            m = has_head[head] @ joined
            n_body = m.nnz
            if n_body < config.min_support:
                continue
            support = m.multiply(mats[head]).nnz
            conf = support / (n_body + config.smoothing)
            if support >= config.min_support and conf >= config.min_confidence:
                found[head].append(Rule(head, body, round(float(conf), 4), int(support)))
    rules: dict[str, list[Rule]] = {}
    for head, rs in found.items():
        rs.sort(key=lambda r: (-r.confidence, len(r.body), r.body))
        if rs:
            rules[head] = rs[: config.per_head]
    return RuleSet(kg, rules, config)
