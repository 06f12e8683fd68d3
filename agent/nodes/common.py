"""Small helpers the nodes share: the current message, entity records, pronouns, the memory of a thread."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from langchain_core.messages import AnyMessage, HumanMessage

from kgagent.agent.state import EntityRef

PRONOUN = re.compile(r"\b(it|its|that|this|those|these|they|them|their|he|him|his|she|her|hers)\b", re.I)


def message_text(message: AnyMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    # multimodal content blocks: keep the text parts
    return " ".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)


def last_user_text(messages: Sequence[AnyMessage]) -> str:
    """The text of the latest user message ("" when there is none)."""
    for m in reversed(messages):
        if isinstance(m, HumanMessage) or getattr(m, "type", "") == "human":
            return message_text(m).strip()
    return ""


def history(messages: Sequence[AnyMessage], turns: int) -> list[tuple[str, str]]:
    """Up to ``turns`` earlier (user, assistant) exchanges before the latest user message, as (role, text)."""
    out: list[tuple[str, str]] = []
    msgs = list(messages)
    if msgs and getattr(msgs[-1], "type", "") == "human":
        msgs.pop()  # the question being answered now is given separately
    for m in msgs:
        role = {"human": "user", "ai": "assistant"}.get(getattr(m, "type", ""))
        if role:
            out.append((role, message_text(m)))
    return out[-2 * turns:] if turns else []


def entity_ref(id: int, label: str, score: float = 1.0, mention: str = "", source: str = "linked") -> EntityRef:
    return EntityRef(id=int(id), label=label, score=round(float(score), 4), mention=mention, source=source)  # type: ignore[typeddict-item]


def push_focus(focus: Iterable[EntityRef], new: Iterable[EntityRef], size: int) -> list[EntityRef]:
    """``new`` in front of ``focus``, without repeats, at most ``size`` entries (most recent first)."""
    out: list[EntityRef] = []
    seen: set[int] = set()
    for e in [*new, *focus]:
        if e["id"] not in seen:
            seen.add(e["id"])
            out.append(e)
    return out[:size]


def has_pronoun(text: str) -> bool:
    return PRONOUN.search(text) is not None


def replace_pronoun(text: str, label: str) -> str:
    """``"who directed it?"`` -> ``"who directed Alien?"`` (first pronoun only; possessives keep their 's)."""
    def sub(m: re.Match[str]) -> str:
        return f"{label}'s" if m.group(1).lower() in ("its", "his", "their", "hers") else label
    return PRONOUN.sub(sub, text, count=1)
