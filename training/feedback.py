"""Questions confirmed in use: ``WS/feedback.jsonl`` records become labelled QA examples.

The chat app appends one JSON object per rated turn (see ``ui.session.FeedbackLog``): the question, the linked
``entities`` and the ``answers`` given, and ``liked``. A liked turn confirms its answers for its question; a
record may instead carry the right answers in ``correct`` (ids or names), which wins over what was given, so a
disliked turn with a correction teaches too. Disliked turns without a correction are skipped: they say what is
wrong, not what is right.

>>> examples = read_feedback("ws/feedback.jsonl", kg)  # doctest: +SKIP
>>> examples[0].source  # doctest: +SKIP
'feedback:3'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kgagent.kg.errors import InputError
from kgagent.kg.graph import KnowledgeGraph
from kgagent.training.qa_data import NameIndex, QAExample


def read_feedback(path: str | Path, kg: KnowledgeGraph) -> list[QAExample]:
    """Labelled questions from a feedback log (empty when the file does not exist). The newest record of a
    question wins. A malformed line stops with its file and line."""
    path = Path(path)
    if not path.is_file():
        return []
    names = NameIndex(kg)
    latest: dict[str, QAExample] = {}
    for lineno, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as e:
            raise InputError(f"not a JSON object ({e.msg})", path=path, line=lineno) from None
        if not isinstance(record, dict):
            raise InputError("not a JSON object", path=path, line=lineno)
        example = _example(record, kg, names, f"feedback:{lineno}")
        if example is not None:
            latest[example.question.casefold()] = example
    return list(latest.values())


def _ids(values: Iterable[Any], kg: KnowledgeGraph, names: NameIndex) -> tuple[int, ...]:
    out: list[int] = []
    for v in values:
        if isinstance(v, dict):
            v = v.get("id", v.get("label"))
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < kg.num_entities:
            out.append(v)
        elif isinstance(v, str):
            out += names.lookup(v)[:1]
    return tuple(dict.fromkeys(out))


def _example(record: dict[str, Any], kg: KnowledgeGraph, names: NameIndex, source: str) -> QAExample | None:
    question = record.get("question")
    if not isinstance(question, str) or not question.strip():
        return None
    correct = record.get("correct")
    if correct is not None:
        answers = _ids(correct if isinstance(correct, list) else [correct], kg, names)
    elif record.get("liked") is True:
        answers = _ids(record.get("answers") or [], kg, names)
    else:
        return None
    topics = _ids(record.get("entities") or [], kg, names)
    if not answers or not topics:
        return None
    question = question.strip()
    mention = None
    for n in sorted(kg.names(topics[0]), key=len, reverse=True):
        m = re.search(rf"(?<!\w){re.escape(n.casefold())}(?!\w)", question.casefold())
        if m:
            mention = (m.start(), m.end())
            break
    return QAExample(question=question, topics=topics[:1], answers=answers, mention=mention,
                     answer_names=tuple(kg.labels[a] for a in answers), source=source, qtype="feedback")
