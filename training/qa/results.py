"""What the QA model returns and what its evaluation measures, with the scoring helpers both use."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from kgagent.kg.graph import KnowledgeGraph, Path_
from kgagent.training.qa_data import QAExample


@dataclass
class Answer:
    """One answer entity: its score (higher is better), the graph paths it rests on, and where it came from."""

    entity: int
    label: str
    score: float
    paths: list[Path_] = field(default_factory=list)
    source: str = "graph"  # "graph": an exact relation path; "kge": inferred links (path rules, KGE) or the scorer


@dataclass
class QAResult:
    """Answers best first, the relation path asked for, and a calibrated probability that the top one is right."""

    answers: list[Answer]
    relation_path: tuple[str, ...]
    confidence: float
    topics: tuple[int, ...] = ()
    path_probability: float = 0.0
    features: list[float] = field(default_factory=list, repr=False)  # what the confidence is computed from
    # the question asks for ``relation_path``, which the graph cannot walk from these topics: no answer is given
    # rather than another relation's (see ``Ranker.choose``)
    missing: bool = False


@dataclass
class QAMetrics:
    """What ``evaluate_qa`` measures (``kgagent eval qa``)."""

    hits_at_1: float
    n: int
    questions_per_s: float
    path_accuracy: float | None = None  # share of questions whose top path reaches a gold answer exactly
    linked: float | None = None  # with linking: share of questions whose topic was linked correctly
    ece: float | None = None  # expected calibration error of ``confidence`` (10 bins)
    ms_per_question: float = 0.0
    per_hop: dict[str, dict[str, float]] = field(default_factory=dict)
    per_type: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


def is_hit(result: QAResult, ex: QAExample, kg: KnowledgeGraph) -> bool:
    """The top answer is a gold answer (by id, or by name: the KG may not know every gold string)."""
    if not result.answers:
        return False
    top = result.answers[0].entity
    return top in ex.answers or kg.entities[top] in ex.answer_names or kg.labels[top] in ex.answer_names


def bracketed(ex: QAExample) -> str:
    """The question with its topic mention in brackets, as MetaQA writes it."""
    if ex.mention is None:
        return ex.question
    s, e = ex.mention
    return f"{ex.question[:s]}[{ex.question[s:e]}]{ex.question[e:]}"


def ece(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |accuracy - confidence| averaged over equal-width confidence bins."""
    if not len(conf):
        return 0.0
    edges = np.minimum((conf * bins).astype(int), bins - 1)
    return float(sum(abs(correct[edges == b].mean() - conf[edges == b].mean()) * (edges == b).mean()
                     for b in range(bins) if (edges == b).any()))
