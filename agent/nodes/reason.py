"""``reason``: the QA model answers over the KG (exact relation paths, embedding scores) with evidence paths.

For a follow-up, each remembered candidate is tried in turn (the pronoun replaced by its name) and the first
that yields a confident answer is kept: "who directed it?" skips a remembered year and lands on the film.
An ambiguous name is settled the same way: each option is tried, and when exactly one gives a confident answer
(or the confident ones agree, or only one is written exactly as the user wrote it) it is kept; otherwise the
turn becomes a clarifying question. Below ``Context.answer_threshold`` the turn is marked ``unsure`` and the
reply says so instead of guessing.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from kgagent.agent.context import Context
from kgagent.agent.nodes.common import entity_ref, has_pronoun, push_focus, replace_pronoun
from kgagent.agent.state import AnswerRef, Clarification, EntityRef, State, TripleRef
from kgagent.agent.workspace import AgentWorkspace

if TYPE_CHECKING:
    from kgagent.training.qa.results import Answer

_ELSE = re.compile(r"\b(else|other|another)\b", re.I)
STRONG_LINK = 0.6  # a linked mention at least this good beats a pronoun's remembered referent
FOLLOWUP_MARGIN = 0.15  # an earlier reading within this confidence of the best one is kept


def reason(state: State, ctx: Context, ws: AgentWorkspace) -> dict:
    """Answers with paths, evidence triples and confidence; settles ambiguity and follow-ups; updates memory."""
    question = state.get("question", "")
    entities = list(state.get("entities") or [])
    followups = list(state.get("followups") or [])
    memo: dict[tuple[str, tuple[int, ...]], Any] = {}

    def qa(text: str, topic: list[EntityRef]) -> tuple[float, Any]:
        key = (text, tuple(e["id"] for e in topic))
        if key not in memo:
            memo[key] = ws.qa.answer(text, topic=list(key[1]))
        result = memo[key]
        return (result.confidence if result.answers else 0.0), result

    update: dict[str, Any] = {}
    if state.get("clarification"):
        chosen = _disambiguate(ws, ctx, question, state["clarification"], qa)
        if chosen is None:
            return {"act": "clarify"}
        entities = [chosen, *entities]
        update["clarification"] = None
    if not entities and not followups:
        return {"problem": "no_entity", "unsure": True}

    tried = [(*qa(text, topic), topic, text) for topic, text in _attempts(question, entities, followups)]
    top = max(conf for conf, *_ in tried)
    # the most likely reading whose answer is nearly as confident as the best one: "its price" after a battery
    # capacity refers to the phone (a confident price), not to "6000 mAh" (a weak one)
    confidence, result, topic, question = next(t for t in tried if t[0] >= top - FOLLOWUP_MARGIN)
    if confidence == 0.0 and len(tried) > 1:
        # nothing fits: talk about the most connected candidate (a product, not a value like "6000 mAh")
        confidence, result, topic, question = max(tried, key=lambda t: _degree(ws, t[2]))

    exclude = {f["id"] for f in state.get("focus") or []} if _ELSE.search(question) else set()
    exclude |= {e["id"] for e in topic}
    # the answer set: what scores near the top answer (the QA model pads its list with weak alternatives)
    floor = ctx.answer_ratio * max(0.0, max((float(a.score) for a in result.answers), default=0.0))
    found = [a for a in result.answers if int(a.entity) not in exclude and float(a.score) >= floor]
    answers = [_answer_ref(ws, a) for a in found[: ctx.max_answers]]
    evidence = _evidence(ws, answers)
    unsure = not answers or confidence < ctx.answer_threshold
    # the graph lacks what was asked for this topic: say so rather than answer another relation's question
    problem = "" if not unsure else ("missing" if result.missing else
                                     "no_answer" if not answers else "low_confidence")
    remembered = [EntityRef(id=a["id"], label=a["label"], score=a["score"], mention="", source="memory")
                  for a in answers[:1]] if not unsure else []
    return {**update, "question": question, "entities": topic, "answers": answers, "answer_count": len(found),
            "evidence": evidence,
            "relation_path": [str(r) for r in result.relation_path],
            "confidence": round(confidence, 4), "unsure": unsure, "problem": problem,
            "focus": push_focus(state.get("focus") or [], [*remembered, *topic], ctx.focus_size)}


def _disambiguate(ws: AgentWorkspace, ctx: Context, question: str, c: Clarification, qa) -> EntityRef | None:
    """The option of an ambiguous name that the question settles, or None when the user must choose."""
    others = list(c["others"])
    refs = [entity_ref(o["id"], o["label"], 1.0, c["mention"]) for o in c["options"][:4]]
    tried = [(r, *qa(question, [r, *others])) for r in refs]
    confident = [(r, res) for r, conf, res in tried if conf >= ctx.answer_threshold]
    if len(confident) == 1:
        return confident[0][0]
    if not confident:  # no option answers it: asking would not help; go on with the linker's best
        return refs[0]
    answer_sets = {frozenset(int(a.entity) for a in res.answers[:ctx.max_listed]) for _, res in confident}
    if len(answer_sets) == 1:  # the namesakes lead to the same answers: nothing to ask
        return confident[0][0]
    exact = [r for r, _ in confident if c["mention"] in ws.kg.names(r["id"])]
    return exact[0] if len(exact) == 1 else None


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


def _degree(ws: AgentWorkspace, topic: list[EntityRef]) -> int:
    return sum(len(ws.kg.edges(e["id"])) + len(ws.kg.edges(e["id"], forward=False)) for e in topic)


def _answer_ref(ws: AgentWorkspace, a: Answer) -> AnswerRef:
    paths = [[[int(s.triple), bool(s.forward)] for s in p] for p in a.paths[:3]]
    return AnswerRef(id=int(a.entity), label=a.label or ws.kg.labels[int(a.entity)], score=round(float(a.score), 4),
                     paths=paths)


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
