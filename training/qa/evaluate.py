"""``evaluate_qa``: Hits@1 of a QA model on a MetaQA-format file, with per-hop and per-type tables."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kgagent.kg.errors import InputError
from kgagent.training.qa.model import QAModel
from kgagent.training.qa.results import QAMetrics, QAResult, bracketed, ece, is_hit
from kgagent.training.qa_data import QAExample, read_qa_file


def evaluate_qa(model: QAModel | str | Path, data: str | Path | Sequence[QAExample], *, link: bool = False,
                linker: Any = None, batch_size: int = 64, limit: int | None = None,
                progress: bool = True) -> QAMetrics:
    """Hits@1 of ``model`` (or the model folder) on a MetaQA-format file, with per-hop and per-type tables.

    With ``link`` the brackets are dropped and the topic comes from the entity linker (``linker``, or a
    ``retrieval.EntityLinker`` over the KG); ``linked`` is then the share of questions whose topic was found.
    ``questions_per_s`` times the answering alone (encoding, path execution, ranking), not the loading.
    """
    from tqdm.auto import tqdm

    if not isinstance(model, QAModel):
        model = QAModel.load(model)
    examples = read_qa_file(data, model.kg) if isinstance(data, str | Path) else list(data)
    examples = examples[:limit] if limit is not None else examples
    if not examples:
        raise InputError("no questions to evaluate", field="data")
    if link:
        if linker is not None:
            model.set_linker(linker)
        _ = model.linker  # built before the clock starts
        questions = [ex.question for ex in examples]
        topics: list[Any] = [None] * len(examples)
    else:
        questions = [bracketed(ex) for ex in examples]
        topics = [ex.topics for ex in examples]
    model.answer_many(questions[:4], topics[:4])  # warm-up: first calls pay for lazy initialization
    results: list[QAResult] = []
    t0 = time.perf_counter()
    for s in tqdm(range(0, len(questions), batch_size), desc="qa eval", unit="batch", disable=not progress):
        results += model.answer_many(questions[s: s + batch_size], topics[s: s + batch_size], batch_size=batch_size)
    seconds = time.perf_counter() - t0
    hits = np.array([is_hit(r, ex, model.kg) for r, ex in zip(results, examples, strict=True)], dtype=float)
    conf = np.array([r.confidence for r in results])
    gold = [set(ex.answers) for ex in examples]
    path_ok = np.array([bool(r.relation_path) and bool(gold[i]) and bool(
        np.isin(model.index.execute(r.topics, r.relation_path), list(gold[i])).any()) if r.topics else False
        for i, r in enumerate(results)], dtype=float)

    def table(keys: Sequence[str]) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for key in sorted(set(keys)):
            m = np.array([k == key for k in keys])
            out[key] = {"hits_at_1": round(float(hits[m].mean()), 4), "n": int(m.sum())}
        return out

    n = len(examples)
    return QAMetrics(
        hits_at_1=float(hits.mean()), n=n, questions_per_s=round(n / max(seconds, 1e-9), 2),
        path_accuracy=round(float(path_ok.mean()), 4),
        linked=round(float(np.mean([set(r.topics) & set(ex.topics) != set() for r, ex in zip(results, examples,
                                                                                               strict=True)])), 4)
        if link else None,
        ece=round(ece(conf, hits), 4), ms_per_question=round(1000 * seconds / n, 3),
        per_hop=table([f"{ex.hops}-hop" if ex.hops else "unknown" for ex in examples]),
        per_type=table([ex.qtype or "unknown" for ex in examples]))
