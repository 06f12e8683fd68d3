"""Grounded dialogues written from a graph: a question, its evidence, and a good reply (the template generator's
answer sentences), for ``kgagent train generator`` and for measuring a model's faithfulness.

A question's evidence is the path from its topic to each answer: the synthesized question's own relation path, or
the shortest graph path for a question read from a file.

>>> from kgagent.kg.demo import load_demo_kg
>>> rows = dialogue_rows(load_demo_kg(), 3)  # doctest: +SKIP
>>> sorted(rows[0])  # doctest: +SKIP
['answer', 'answers', 'evidence', 'question']
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kgagent.agent.generators.base import AnswerView, Fact, ResponseRequest
from kgagent.agent.generators.template import TemplateGenerator
from kgagent.kg.graph import KnowledgeGraph


def request_for(kg: KnowledgeGraph, example: Any, *, max_answers: int = 10) -> ResponseRequest:
    """The ``ResponseRequest`` a generator would get for ``example`` (a ``training.QAExample``) answered right."""
    topic = example.topics[0]
    walked = kg.follow([topic], example.qtype.split("/")) if example.source == "synthesized" else {}
    answers, evidence = [], []
    for a in example.answers[:max_answers]:
        paths = walked.get(a) or kg.paths(topic, a, max_hops=example.hops or 3, limit=1)
        facts = [Fact(*kg.triple_text(int(step.triple))) for step in paths[0]] if paths else []
        answers.append(AnswerView(kg.labels[a], 1.0, facts))
        evidence += [f for f in facts if f not in evidence]
    return ResponseRequest(example.question, answers=answers, total_answers=len(example.answers),
                           topic=[kg.labels[topic]], evidence=evidence, confidence=1.0)


def good_reply(request: ResponseRequest, template: TemplateGenerator | None = None) -> str:
    """The reply a model should learn: the template's answer sentences along the evidence (without the
    citation line, which the app shows apart)."""
    return (template or TemplateGenerator()).answer_sentences(request)


def dialogue_rows(kg: KnowledgeGraph, n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` dialogues (JSON-ready, the format ``train generator`` reads) from questions synthesized from ``kg``."""
    from kgagent.training.synthesize import SynthesisConfig, synthesize_questions

    template = TemplateGenerator()
    rows = []
    for ex in synthesize_questions(kg, n, config=SynthesisConfig(seed=seed, max_answers=5)):
        req = request_for(kg, ex)
        rows.append({"question": req.question, "evidence": [[f.head, f.relation, f.tail] for f in req.evidence],
                     "answers": [a.label for a in req.answers], "answer": good_reply(req, template)})
    return rows


def write_dialogues(kg: KnowledgeGraph, n: int, path: str | Path, *, seed: int = 0) -> int:
    """Write ``dialogue_rows`` as JSON lines, atomically; returns how many."""
    import json

    from kgagent.kg.io import atomic_write_text

    rows = dialogue_rows(kg, n, seed=seed)
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return len(rows)
