"""Prompts for LLM generators, shared by generation and by ``train generator`` so both see the same format."""

from __future__ import annotations

from kgagent.agent.generators.base import Fact, ResponseRequest

SYSTEM = ("You answer questions about a knowledge graph. Use only the facts given; if they do not answer the "
          "question, say you don't know. Answer in one or two sentences and name the entities exactly.")
STOPS = ("\nUser:", "\nQuestion:")


def facts_block(evidence: list[Fact], answers: list[str], passages: list[str], *, confidence: float | None = None,
                max_facts: int = 30) -> str:
    """The grounding given to the model: evidence triples, candidate answers, passages."""
    lines = ["Facts:"]
    lines += [f"- {f.head} | {f.relation} | {f.tail}" for f in evidence[:max_facts]] or ["- (none found)"]
    if answers:
        conf = f" (confidence {confidence:.2f})" if confidence is not None else ""
        lines.append(f"Answer from the knowledge graph{conf}: {', '.join(answers)}")
    if passages:
        lines.append("Passages:")
        lines += [f"- {p}" for p in passages]
    return "\n".join(lines)


def request_messages(request: ResponseRequest, *, system: str = SYSTEM, max_answers: int = 10) -> list[dict]:
    """Chat messages (OpenAI format) for ``request``: system + facts, earlier turns, the question."""
    facts = facts_block(request.evidence, [a.label for a in request.answers[:max_answers]], request.passages,
                        confidence=request.confidence)
    msgs = [{"role": "system", "content": f"{system}\n\n{facts}"}]
    msgs += [{"role": role, "content": text} for role, text in request.history]
    msgs.append({"role": "user", "content": request.question})
    return msgs


def flatten(messages: list[dict]) -> str:
    """A plain-text prompt for models without a chat template; ends where the assistant's answer begins."""
    names = {"user": "User", "assistant": "Assistant"}
    parts = []
    for m in messages:
        parts.append(m["content"] if m["role"] == "system" else f"{names.get(m['role'], m['role'])}: {m['content']}")
    return "\n\n".join(parts[:1]) + "\n\n" + "\n".join(parts[1:]) + "\nAssistant:"


def render(tokenizer, messages: list[dict]) -> str:
    """The prompt text: the tokenizer's chat template when it has one, else :func:`flatten`."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    return flatten(messages)
