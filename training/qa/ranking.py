"""Ranking answers: exact relation paths on the graph, soft traversal (path rules, KGE links) where edges are
missing, and the KGE-space answer scorer, combined under a fallback mode; the confidence is calibrated."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from kgagent.kg.graph import INVERSE, KnowledgeGraph, Path_
from kgagent.training.qa.config import Fallback, QAConfig
from kgagent.training.qa.results import Answer, QAResult
from kgagent.training.qa_paths import PathIndex, RelPath

if TYPE_CHECKING:
    from kgagent.kg.rules import RuleSet
    from kgagent.training.qa_kge import KGEScorer


@dataclass
class Encoded:
    """Per-question model outputs, computed once and ranked under any fallback setting."""

    topics: tuple[int, ...]
    path_probs: np.ndarray  # (n_paths + n_extra,)
    rel: Any  # (d_r,) native relation vector (torch), or None without a scorer
    extra: tuple[RelPath, ...] = ()  # paths composed for this question beyond the model's (their probabilities last)
    # soft traversals and scorer probabilities already computed: ranking under several fallback settings
    # (model selection, calibration) reuses them instead of scoring every entity again
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def memo(self, key: Any, compute: Callable[[], Any]) -> Any:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


_WALK_CANDIDATES = 20  # most likely paths tried for a walk from the topic before the question counts as unanswerable


def _undirected(path: Sequence[str]) -> tuple[str, ...]:
    return tuple(s.removesuffix(INVERSE) for s in path)


class Ranker:
    """Ranks the answers of encoded questions over ``kg`` with the KGE ``scorer`` and path ``rules`` (either may
    be None); ``calibration`` (a logistic fit, see ``qa.fit``) turns ranking features into a confidence."""

    def __init__(self, kg: KnowledgeGraph, paths: Sequence[RelPath], config: QAConfig, *,
                 scorer: KGEScorer | None = None, rules: RuleSet | None = None,
                 calibration: dict[str, Any] | None = None) -> None:
        self.kg = kg
        self.paths: list[RelPath] = [tuple(p) for p in paths]
        self.config = config
        self.scorer = scorer
        self.rules = rules
        self.calibration = calibration or {}
        self.index = PathIndex(kg)
        self.abstain_ratio = 0.0  # chosen on the held-out split at training (``config.abstain_ratio`` wins)
        self.prior_weight = 1.0  # the exponent the model's path probabilities were tempered by (QAModel sets it)

    def scorer_probs(self, enc: Encoded, last_step: str) -> np.ndarray:
        """EmbedKGQA-style: softmax of ``f(topic, r_q, e)`` over entities of the answer type ``(n_e,)``."""
        import torch

        assert self.scorer is not None and enc.rel is not None
        with torch.inference_mode():
            h = self.scorer.entity[list(enc.topics)]  # (k, d)
            s = self.scorer.tails(h, enc.rel[None].expand(len(enc.topics), -1))  # (k, n_e)
            s = s[0] if len(enc.topics) == 1 else s.max(0).values  # (n_e,)
        s = s.float().cpu().numpy()
        allowed = self.index.range_of.get(last_step)
        if allowed is not None:
            s = np.where(allowed, s, -np.inf)
        s[list(enc.topics)] = -np.inf
        if not np.isfinite(s).any():
            return np.zeros_like(s)
        s = np.exp(s - s[np.isfinite(s)].max())
        return s / s.sum()

    def soft(self, topics: Sequence[int], path: RelPath) -> tuple[np.ndarray, np.ndarray]:
        """Soft traversal: graph edges carry weight 1; an entity lacking a hop's edges gets the KGE's top-k
        predicted neighbours (of that hop's answer type) with their softmax probabilities.
        Returns reached entity ids and weights in (0, 1]."""
        import torch

        topic = np.unique(np.asarray(topics, dtype=np.int64))
        ents, w = topic, np.ones(len(topic))
        k = self.config.soft_top_k
        for step in path:
            sid = self.index.step_ids.get(step)
            if sid is None:
                return np.empty(0, dtype=np.int64), np.empty(0)
            steps, nbrs, src = self.index.expand(ents)
            hit = steps == sid
            ids, ws = [nbrs[hit]], [w[src[hit]]]
            has = np.zeros(len(ents), dtype=bool)
            has[src[hit]] = True
            lacking = np.flatnonzero(~has)
            lacking = lacking[np.argsort(-w[lacking], kind="stable")[:32]]  # the most probable ones
            allowed_np = self.index.range_of[step]
            if len(lacking) and self.rules is not None:  # rules first: their inferences can be explained
                row, r_ids, rule = self.rules.predict_many(ents[lacking], step)
                ok = allowed_np[r_ids] & ~np.isin(r_ids, topic)
                row, r_ids, rule = row[ok], r_ids[ok], rule[ok]
                # the k best per entity: rows come sorted, best rule first within a row
                rank = np.arange(len(row)) - np.searchsorted(row, row)
                top = rank < k
                conf = np.array([r.confidence for r in self.rules.rules.get(step, [])])
                ids.append(r_ids[top])
                ws.append(conf[rule[top]] * w[lacking[row[top]]])
                lacking = np.delete(lacking, np.unique(row))
            if len(lacking) and self.scorer is not None:
                rid = sid % self.kg.num_relations
                forward = sid < self.kg.num_relations
                with torch.inference_mode():
                    s = self.scorer.step(torch.as_tensor(ents[lacking]), rid, forward).float()  # (m, n_e)
                    allowed = torch.as_tensor(allowed_np)
                    s = s.masked_fill(~allowed, float("-inf"))
                    s[:, torch.as_tensor(topic)] = float("-inf")
                    p, top = s.softmax(-1).topk(k, dim=-1)  # (m, k)
                ids.append(top.numpy().ravel())
                ws.append((p.numpy() * w[lacking][:, None]).ravel())
            cat_ids, cat_w = np.concatenate(ids), np.concatenate(ws)
            keep = ~np.isin(cat_ids, topic) & (cat_w > 1e-4)
            cat_ids, cat_w = cat_ids[keep], cat_w[keep]
            if not len(cat_ids):
                return np.empty(0, dtype=np.int64), np.empty(0)
            order = np.lexsort((-cat_w, cat_ids))  # per entity, the largest weight first
            cat_ids, cat_w = cat_ids[order], cat_w[order]
            first = np.r_[True, cat_ids[1:] != cat_ids[:-1]]
            ents, w = cat_ids[first], cat_w[first]
            if len(ents) > 20_000:  # a soft frontier this wide carries no signal; keep the strongest
                top = np.argsort(-w, kind="stable")[:20_000]
                ents, w = ents[top], w[top]
        return ents, w

    def follow(self, topics: Sequence[int], relation_path: Sequence[str], *, soft: bool = True) -> list[Answer]:
        """Execute ``relation_path`` from ``topics``: exact graph answers (score 1, with evidence paths) first;
        with ``soft``, then entities reached through links the KGE predicts where an entity lacks a hop's edges
        (score: the product of the predicted links' probabilities)."""
        path = tuple(relation_path)
        reached = self.kg.follow(topics, list(path))
        out = [Answer(int(e), self.kg.labels[int(e)], 1.0, list(ps), "graph") for e, ps in reached.items()]
        if soft and (self.scorer is not None or self.rules is not None):
            ids, w = self.soft(topics, path)
            order = np.argsort(-w, kind="stable")
            out += [Answer(int(ids[i]), self.kg.labels[int(ids[i])], float(min(w[i], 0.999)), [], "kge")
                    for i in order if int(ids[i]) not in reached][: self.config.top_answers]
        return out

    def choose(self, enc: Encoded, fallback: Fallback, *, ratio: float | None = None,
               blocked: str | None = None) -> tuple[list[tuple[RelPath, float]], RelPath | None]:
        """The relation paths to execute with their probabilities, most likely first; and the asked path when the
        graph lacks it (nothing is chosen then).

        With a fallback (the graph may miss edges) the most likely paths are taken as they are. Without one, the
        graph is the truth. Paths are grouped by their relations read in any direction (``directed_by`` and
        ``directed_by^-1`` ask about the same relation; wordings often leave the direction unclear), and only
        paths the graph can walk from the topic are executed, so "what was X the director of" becomes
        ``directed_by^-1`` for a director. When the most likely relations cannot be walked in any direction and
        no walkable group reaches ``ratio`` (default ``config.abstain_ratio``, else the one chosen on the
        held-out split) of their probability, the question asks for something this topic lacks. ``blocked``:
        a relation treated as absent from the topic (how abstention is measured on the held-out split)."""
        probs, cfg = enc.path_probs, self.config
        paths = self.paths + list(enc.extra) if enc.extra else self.paths
        order = np.argsort(-probs, kind="stable")
        chosen: list[tuple[RelPath, float]] = []
        if fallback.soft or fallback.scorer or not cfg.walk_prior:
            mass = 0.0
            for i in order[: cfg.max_paths]:
                chosen.append((paths[i], float(probs[i])))
                mass += float(probs[i])
                if mass >= 0.99:
                    break
            return chosen, None
        groups = self.group_ids(enc.extra)
        group_p = np.bincount(groups, weights=probs, minlength=int(groups.max()) + 1)  # (n_groups,)
        walkable: list[tuple[float, float, int]] = []
        for i in order[: _WALK_CANDIDATES]:
            path = paths[i]
            if blocked is not None and path[0].removesuffix(INVERSE) == blocked:
                continue
            if enc.memo(("walks", int(i)), lambda path=path: bool(len(self.index.execute(enc.topics, path)))):
                walkable.append((float(group_p[groups[i]]), float(probs[i]), int(i)))
        top_group = float(group_p.max())
        ratio = ratio if ratio is not None else (cfg.abstain_ratio if cfg.abstain_ratio is not None
                                                 else self.abstain_ratio)
        # the ratio is in the model's own terms: its probabilities were tempered by prior_model_weight
        if not walkable or max(w[0] for w in walkable) < ratio ** self.prior_weight * top_group:
            return [], paths[order[0]]
        walkable.sort(key=lambda w: (-w[0], -w[1]))  # the most likely group first, its likeliest direction first
        top = walkable[: cfg.max_paths]
        # a group's probability goes to its walkable directions by their own: when both directions can be walked
        # ("the successor of X": X has a successor and a predecessor), the likelier one's answers rank first
        own = np.bincount([groups[i] for _, _, i in top], weights=[p for _, p, _ in top], minlength=len(group_p))
        return [(paths[i], gp * p / own[groups[i]] if own[groups[i]] > 0 else gp) for gp, p, i in top], None

    @cached_property
    def _group_keys(self) -> dict[tuple[str, ...], int]:
        keys: dict[tuple[str, ...], int] = {}
        for p in self.paths:
            keys.setdefault(_undirected(p), len(keys))
        return keys

    @cached_property
    def groups(self) -> np.ndarray:
        """``(n_paths,)`` group id of each path: the same relations in the same order, directions ignored."""
        return np.array([self._group_keys[_undirected(p)] for p in self.paths])

    def group_ids(self, extra: Sequence[RelPath] = ()) -> np.ndarray:
        """:attr:`groups`, then the group of each ``extra`` path (a new one where no path has its relations)."""
        if not extra:
            return self.groups
        keys, more = self._group_keys, {}
        ids = [keys[k] if k in keys else more.setdefault(k, len(keys) + len(more))
               for k in (_undirected(p) for p in extra)]
        return np.concatenate([self.groups, np.array(ids, dtype=self.groups.dtype)])

    def rank(self, enc: Encoded, fallback: Fallback | str, scorer_weight: float, *, ratio: float | None = None,
             blocked: str | None = None) -> QAResult:
        """Combine exact paths, soft traversal and the scorer into ranked answers (uncalibrated confidence)."""
        fallback = Fallback(fallback)
        n = self.kg.num_entities
        if not enc.topics:
            return QAResult([], (), 0.0)
        chosen, missing = self.choose(enc, fallback, ratio=ratio, blocked=blocked)
        if missing is not None:
            p = float(enc.path_probs.max())
            return QAResult([], missing, 0.0, tuple(enc.topics), p, [0.0, 0.0, 0.0, p], missing=True)
        score = np.zeros(n)
        exact = np.zeros(n)
        evidence: dict[int, list[Path_]] = {}
        for path, p in chosen:
            reached = enc.memo(("follow", path), lambda path=path: self.kg.follow(enc.topics, list(path)))
            if reached:
                ids = np.fromiter(reached, dtype=np.int64, count=len(reached))
                exact[ids] += p
                for e, ps in reached.items():
                    evidence.setdefault(e, ps)
            if fallback.soft and (self.scorer is not None or self.rules is not None):
                ids, w = enc.memo(("soft", path), lambda path=path: self.soft(enc.topics, path))
                score[ids] += p * np.minimum(w, 0.999)  # graph-only entities come from follow() below
        score = np.maximum(score, exact)
        tie = np.zeros(n)
        if self.scorer is not None and enc.rel is not None:
            tie = enc.memo(("scorer", chosen[0][0][-1]), lambda: self.scorer_probs(enc, chosen[0][0][-1]))
        weight = scorer_weight if fallback.scorer else 0.0
        # scorer ties break exact answers even without the fallback (1e-3: never lifts a non-answer over them)
        final = score + weight * tie + 1e-3 * tie * (score > 0)
        if weight == 0:
            final[score <= 0] = 0.0
        final[list(enc.topics)] = 0.0
        k = min(self.config.top_answers, n)
        top = np.argpartition(-final, k - 1)[:k] if k < n else np.arange(n)
        top = top[np.argsort(-final[top], kind="stable")]
        answers = [Answer(int(e), self.kg.labels[int(e)], float(final[e]), list(evidence.get(int(e), [])),
                          "graph" if exact[e] > 0 else "kge") for e in top if final[e] > 0]
        best = answers[0] if answers else None
        # calibration features of the top answer: exact-path mass, path/soft score, scorer probability, top path prob
        feats = [float(exact[best.entity]) if best else 0.0, float(score[best.entity]) if best else 0.0,
                 float(tie[best.entity]) if best else 0.0, chosen[0][1]]
        return QAResult(answers, chosen[0][0], self.confidence(feats), tuple(enc.topics), chosen[0][1], feats)

    def confidence(self, feats: Sequence[float]) -> float:
        """Probability that the top answer is right: a logistic fit on the held-out split, else the raw score."""
        cal = self.calibration
        if not cal:
            return float(min(1.0, max(0.0, feats[1] or feats[2])))
        z = float(np.dot(cal["coef"], feats) + cal["intercept"])
        return float(1 / (1 + math.exp(-z)))
