"""One turn through a compiled agent graph, as a typed ``Reply`` (what the CLI, the evaluation and the UI read)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Reply:
    """The outcome of one turn: the reply text, what it rests on, and how long it took."""

    text: str
    thread_id: str
    act: str = ""
    intent: str = ""
    question: str = ""
    entities: list[dict] = field(default_factory=list)
    answers: list[dict] = field(default_factory=list)
    answer_count: int = 0
    evidence: list[dict] = field(default_factory=list)
    passages: list[dict] = field(default_factory=list)
    subgraph: list[int] = field(default_factory=list)
    relation_path: list[str] = field(default_factory=list)
    confidence: float = 0.0
    unsure: bool = False
    options: list[dict] = field(default_factory=list)  # a clarifying question's choices: {"id", "label", "hint"}
    latency_ms: float = 0.0

    @classmethod
    def from_state(cls, state: dict[str, Any], *, thread_id: str, latency_ms: float = 0.0) -> Reply:
        msgs = state.get("messages") or []
        text = msgs[-1].content if msgs and getattr(msgs[-1], "type", "") == "ai" else ""
        return cls(text=str(text), thread_id=thread_id, act=state.get("act", ""), intent=state.get("intent", ""),
                   question=state.get("question", ""), entities=list(state.get("entities") or []),
                   answers=list(state.get("answers") or []),
                   answer_count=int(state.get("answer_count", 0)), evidence=list(state.get("evidence") or []),
                   passages=list(state.get("passages") or []), subgraph=list(state.get("subgraph") or []),
                   relation_path=list(state.get("relation_path") or []),
                   confidence=float(state.get("confidence", 0.0)), unsure=bool(state.get("unsure", False)),
                   options=list((state.get("clarification") or {}).get("options") or []),
                   latency_ms=round(latency_ms, 3))

    @property
    def top_answer(self) -> dict | None:
        return self.answers[0] if self.answers else None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def ask(graph: Any, text: str, *, thread_id: str = "default", context: Any = None,
        durability: str = "exit") -> Reply:
    """Send ``text`` to ``graph`` in thread ``thread_id`` and return the reply with its latency.

    ``durability="exit"`` writes the thread's checkpoint once per turn (at the end), which is all a chat needs.
    """
    from kgagent.agent.inputs import clean_message

    config = {"configurable": {"thread_id": thread_id}}
    t0 = time.perf_counter()
    state = graph.invoke({"messages": [("user", clean_message(text))]}, config, context=context, durability=durability)
    return Reply.from_state(state, thread_id=thread_id, latency_ms=1000 * (time.perf_counter() - t0))
