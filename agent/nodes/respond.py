"""``respond``: the reply, from the generator chosen in the context (template by default).

LLM generators run as a LangChain chat model so their tokens stream through ``stream_mode="messages"``; a turn
without an answer (no entity, nothing found, low confidence) is always phrased by the template generator, so a
model never gets to guess.
"""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessage

from kgagent.agent.context import Context
from kgagent.agent.generators import AnswerView, Fact, Generator, ResponseRequest
from kgagent.agent.nodes.common import history
from kgagent.agent.state import State
from kgagent.agent.workspace import AgentWorkspace


def respond(state: State, ctx: Context, ws: AgentWorkspace) -> dict:
    """The reply message from the context's generator."""
    request = build_request(state, ws, ctx)
    generator = pick_generator(ws, ctx, request)
    if generator.streaming:
        from kgagent.agent.generators.streaming import generate_message

        return {"messages": [generate_message(generator, request)]}
    return {"messages": [AIMessage(generator.generate(request))]}


def pick_generator(ws: AgentWorkspace, ctx: Context, request: ResponseRequest) -> Generator:
    template = ws.generator("template", {"templates": ctx.templates, "max_listed": ctx.max_listed,
                                         "max_evidence": ctx.max_evidence})
    if ctx.generator == "template" or request.unsure or request.problem or not request.answers:
        return template
    from kgagent.agent.generators.faithful import FaithfulGenerator

    # a model's reply that names other entities or drops an answer is replaced by the template's
    return FaithfulGenerator(ws.generator(ctx.generator, dict(ctx.generator_kwargs)), template, ws.entity_names)


def build_request(state: State, ws: AgentWorkspace, ctx: Context) -> ResponseRequest:
    """Turn the state's ids into words for the generator."""
    kg = ws.kg

    def path_facts(path: list[Any]) -> list[Fact]:
        return [Fact(*kg.triple_text(int(t))) for t, _ in path]

    answers = [AnswerView(a["label"], a["score"], path_facts(a["paths"][0]) if a["paths"] else [])
               for a in (state.get("answers") or [])[: max(ctx.max_listed, 10)]]
    return ResponseRequest(
        question=state.get("question", ""),
        answers=answers,
        total_answers=state.get("answer_count", len(answers)),
        topic=[e["label"] for e in state.get("entities") or []],
        relation_path=list(state.get("relation_path") or []),
        evidence=[Fact(t["head"], t["relation"], t["tail"]) for t in state.get("evidence") or []],
        passages=[p["text"] for p in state.get("passages") or []],
        history=history(state.get("messages", []), ctx.history_turns),
        confidence=float(state.get("confidence", 0.0)),
        unsure=bool(state.get("unsure", False)),
        problem=state.get("problem", ""),
    )
