"""The conversation state: small, plain and serializable, so any checkpointer can store it.

Entities, evidence and answers are plain dicts of ids, labels and scores (``TypedDict`` records), never model
objects; the models and indexes live in the workspace (``agent.workspace``).
"""

from __future__ import annotations

from typing import Annotated, Literal, TypedDict

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages

Act = Literal["question", "smalltalk", "out_of_scope", "handoff", "clarify"]


class EntityRef(TypedDict):
    """An entity the turn is about. ``source``: linked in this message, remembered, or chosen in a clarification."""

    id: int
    label: str
    score: float
    mention: str
    source: Literal["linked", "memory", "clarified"]


class Option(TypedDict):
    """One choice offered in a clarifying question."""

    id: int
    label: str
    hint: str


class Clarification(TypedDict):
    """A pending clarifying question: the user's question waits until they pick an option."""

    question: str
    mention: str
    intent: str
    options: list[Option]
    others: list[EntityRef]  # entities of the same question that were not ambiguous


class TripleRef(TypedDict):
    """An evidence triple: its id and its labels."""

    triple: int
    head: str
    relation: str
    tail: str


class PassageRef(TypedDict):
    text: str
    score: float
    source: str


class AnswerRef(TypedDict):
    """An answer entity; ``paths`` are evidence paths as ``[[triple_id, forward], ...]``."""

    id: int
    label: str
    score: float
    paths: list[list[list]]


class InputState(TypedDict):
    """What a caller sends: new messages."""

    messages: Annotated[list[AnyMessage], add_messages]


class State(InputState, total=False):
    """The full state of one thread. Per-turn fields are reset by ``understand``; ``focus`` is the memory."""

    turn: int
    question: str  # this turn's question, resolved (a clarified question, or a follow-up rewritten)
    intent: str
    intent_confidence: float
    act: Act
    entities: list[EntityRef]  # topic entities of this turn
    followups: list[EntityRef]  # remembered entities a pronoun may refer to, most likely first
    clarification: Clarification | None
    subgraph: list[int]  # triple ids of the topic entities' neighbourhood
    passages: list[PassageRef]
    answers: list[AnswerRef]  # best first, at most Context.max_answers
    answer_count: int  # answers found in all
    evidence: list[TripleRef]  # the triples on the answers' paths
    relation_path: list[str]
    confidence: float
    unsure: bool
    problem: str  # why there is no answer: "", "no_entity", "no_answer", "missing" (the graph lacks the asked
    # relation for this topic), "low_confidence"
    focus: list[EntityRef]  # salient entities of earlier turns, most recent first


def turn_reset() -> dict:
    """The per-turn fields at the start of a turn, so nothing of the previous turn leaks into this one."""
    return {"entities": [], "followups": [], "subgraph": [], "passages": [], "answers": [], "answer_count": 0,
            "evidence": [], "relation_path": [], "confidence": 0.0, "unsure": False, "problem": "",
            "clarification": None}
