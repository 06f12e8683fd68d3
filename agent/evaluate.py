"""``kgagent eval agent``: MetaQA-format questions through the whole graph, each as a fresh thread.

The brackets are removed, so the agent links the entity itself; Hits@1 counts the agent's top answer (the
first of ``state["answers"]``), and ``hits_at_1_asserted`` only those it also stated with confidence.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass
class AgentEvalResult:
    """Accuracy and per-turn latency of the agent; ``acts`` counts how turns were routed."""

    hits_at_1: float
    n: int
    latency_ms_p50: float
    latency_ms_p99: float
    latency_ms_mean: float
    hits_at_1_asserted: float
    unsure_rate: float
    clarify_rate: float
    acts: dict[str, int] = field(default_factory=dict)
    generator: str = "template"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def evaluate_agent(workspace: str | Path, data: str | Path | Sequence[Any], *, limit: int | None = None,
                   context: Any = None, progress: bool = True, warmup: int = 5) -> AgentEvalResult:
    """Run every question of ``data`` (a MetaQA-format file or ``training.qa_data.QAExample`` records) through
    a graph over ``workspace`` with an in-memory checkpointer, one fresh thread per question."""
    from tqdm.auto import tqdm

    from kgagent.agent import build_agent
    from kgagent.agent.session import ask
    from kgagent.agent.workspace import open_workspace

    ws = open_workspace(workspace)
    graph = build_agent(ws, context=context, checkpointer="memory")
    if isinstance(data, str | Path):
        from kgagent.training.qa_data import read_qa_file

        examples = read_qa_file(data, ws.kg)
    else:
        examples = list(data)
    examples = examples[:limit] if limit is not None else examples
    for i, ex in enumerate(examples[:warmup]):  # first calls pay for lazy initialization; not timed
        ask(graph, ex.question, thread_id=f"warmup-{i}")
        graph.checkpointer.delete_thread(f"warmup-{i}")

    hits = asserted = unsure = 0
    latencies: list[float] = []
    acts: Counter[str] = Counter()
    for i, ex in enumerate(tqdm(examples, desc="agent eval", unit="q", disable=not progress, dynamic_ncols=True)):
        thread = f"eval-{i}"
        t0 = time.perf_counter()
        reply = ask(graph, ex.question, thread_id=thread)
        latencies.append(1000 * (time.perf_counter() - t0))
        graph.checkpointer.delete_thread(thread)  # keep memory flat over thousands of threads
        acts[reply.act] += 1
        top = reply.top_answer
        # as training.qa counts it: the gold id, or the gold name (the KG may not know every gold string)
        hit = top is not None and (top["id"] in ex.answers or top["label"] in ex.answer_names
                                   or ws.kg.entities[top["id"]] in ex.answer_names)
        hits += hit
        asserted += hit and not reply.unsure
        unsure += reply.unsure
    n = len(examples)
    lat = np.asarray(latencies) if latencies else np.zeros(1)
    gen = context.generator if context is not None else ws.context().generator
    return AgentEvalResult(
        hits_at_1=hits / max(n, 1), n=n,
        latency_ms_p50=round(float(np.percentile(lat, 50)), 3), latency_ms_p99=round(float(np.percentile(lat, 99)), 3),
        latency_ms_mean=round(float(lat.mean()), 3), hits_at_1_asserted=asserted / max(n, 1),
        unsure_rate=unsure / max(n, 1), clarify_rate=acts["clarify"] / max(n, 1), acts=dict(acts), generator=gen)
