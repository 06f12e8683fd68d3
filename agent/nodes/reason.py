"""``reason``: the QA model answers over the KG (exact relation paths, embedding scores) with evidence paths.

For a follow-up, each remembered candidate is tried in turn (the pronoun replaced by its name) and the first
that yields a confident answer is kept: "who directed it?" skips a remembered year and lands on the film.
Below ``Context.answer_threshold`` the turn is marked ``unsure`` and the reply says so instead of guessing.
"""

from __future__ import annotations

import re
from typing import Any

from langgraph.runtime import Runtime

from agent.context import Context
from agent.nodes.common import has_pronoun, push_focus, replace_pronoun
from agent.state import AnswerRef, EntityRef, State, TripleRef
from agent.workspace import AgentWorkspace, open_workspace

_ELSE = re.compile(r"\b(else|other|another)\b", re.I)
STRONG_LINK = 0.6  # a linked mention at least this good beats a pronoun's remembered referent


def reason(state: State, runtime: Runtime[Context]) -> dict:
    ctx = runtime.context
    ws = open_workspace(ctx.workspace)
    question = state.get("question", "")
    entities = list(state.get("entities") or [])
    followups = list(state.get("followups") or [])
    if not entities and not followups:
        return {"problem": "no_entity", "unsure": True}

    best: tuple[float, list[EntityRef], str, Any] | None = None
    for topic, text in _attempts(question, entities, followups):
        result = ws.qa.answer(text, topic=[e["id"] for e in topic])
        conf = float(getattr(result, "confidence", 0.0)) if result.answers else 0.0
        if best is None or conf > best[0]:
            best = (conf, topic, text, result)
        if conf >= ctx.answer_threshold:
            break
    assert best is not None
    confidence, topic, question, result = best

    exclude = {f["id"] for f in state.get("focus") or []} if _ELSE.search(question) else set()
    exclude |= {e["id"] for e in topic}
    found = [a for a in result.answers if int(a.entity) not in exclude]
    answers = [_answer_ref(ws, a) for a in found[: ctx.max_answers]]
    evidence = _evidence(ws, answers)
    unsure = not answers or confidence < ctx.answer_threshold
    problem = "" if not unsure else ("no_answer" if not answers else "low_confidence")
    remembered = [EntityRef(id=a["id"], label=a["label"], score=a["score"], mention="", source="memory")
                  for a in answers[:1]] if not unsure else []
    return {"question": question, "entities": topic, "answers": answers, "answer_count": len(found),
            "evidence": evidence,
            "relation_path": [str(r) for r in (getattr(result, "relation_path", None) or [])],
            "confidence": round(confidence, 4), "unsure": unsure, "problem": problem,
            "focus": push_focus(state.get("focus") or [], [*remembered, *topic], ctx.focus_size)}


def _attempts(question: str, entities: list[EntityRef], followups: list[EntityRef]):
    """(topic entities, question text) to try, most likely first."""
    linked_first = entities and (not has_pronoun(question) or max(e["score"] for e in entities) >= STRONG_LINK
                                 or not followups)
    if linked_first:
        yield entities, question
    for f in followups:
        yield [f], replace_pronoun(question, f["label"]) if has_pronoun(question) else question
    if entities and not linked_first:
        yield entities, question


def _answer_ref(ws: AgentWorkspace, a: Any) -> AnswerRef:
    paths = [[[int(s.triple), bool(s.forward)] for s in p] for p in (getattr(a, "paths", None) or [])[:3]]
    label = getattr(a, "label", None) or ws.kg.labels[int(a.entity)]
    return AnswerRef(id=int(a.entity), label=str(label), score=round(float(a.score), 4), paths=paths)


def _evidence(ws: AgentWorkspace, answers: list[AnswerRef], cap: int = 60) -> list[TripleRef]:
    """The triples on the answers' paths, best answers first, without repeats, at most ``cap``."""
    seen: dict[int, TripleRef] = {}
    for a in answers:
        for path in a["paths"]:
            for t, _ in path:
                if len(seen) >= cap:
                    return list(seen.values())
                if t not in seen:
                    h, r, tl = ws.kg.triple_text(t)
                    seen[t] = TripleRef(triple=t, head=h, relation=r, tail=tl)
    return list(seen.values())
