"""``clarify``: ask which entity an ambiguous name means; the next user turn answers by number, name or detail."""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.messages import AIMessage

from kgagent.agent.context import Context
from kgagent.agent.state import Option, State
from kgagent.agent.workspace import AgentWorkspace
from kgagent.kg import KnowledgeGraph

_ORDINALS = {"first": 1, "1st": 1, "second": 2, "2nd": 2, "third": 3, "3rd": 3, "fourth": 4, "4th": 4,
             "fifth": 5, "5th": 5, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_NUMBER = re.compile(r"^\W*(?:(?:#|no\.?|number|option|the)\s*)?(\d+|" + "|".join(_ORDINALS) + r")\b", re.I)
_WORD = re.compile(r"[a-z0-9]+")
_QUESTION = re.compile(r"^\W*(what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|could)\b",
                       re.I)
_STOP = frozenset({"the", "a", "an", "one", "i", "mean", "meant", "it", "is", "was", "that", "this", "which", "who",
                   "with", "of", "in", "by", "from", "and", "or", "please"})


def describe(kg: KnowledgeGraph, entity: int, *, facts: int = 2) -> str:
    """A short hint telling an entity apart from namesakes: its description, else a few of its facts."""
    from kgagent.agent.generators.template import relation_words

    desc = kg.descriptions.get(entity, "").strip()
    if desc:
        first = re.split(r"(?<=[.!?])\s", desc, maxsplit=1)[0].rstrip(".")  # its first sentence
        return first if len(first) <= 80 else first[:77].rsplit(" ", 1)[0] + " ..."
    parts = []
    for step, nb, _ in kg.neighbors(entity)[: facts * 4]:
        if len(parts) >= facts:
            break
        words = relation_words(step)
        part = f"{words} {kg.labels[nb]}" if not step.endswith("^-1") else f"{kg.labels[nb]} ({words})"
        if part not in parts:
            parts.append(part)
    return "; ".join(parts) or kg.entities[entity]


def make_options(kg: KnowledgeGraph, entities: Sequence[int]) -> list[Option]:
    return [Option(id=int(e), label=kg.labels[e], hint=describe(kg, e)) for e in entities]


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def resolve_choice(text: str, options: Sequence[Option], kg: KnowledgeGraph) -> int | None:
    """Which option the reply picks: a number ("2", "the second"), a key or hint, or words only one option's
    facts contain ("the 2009 one"), at least half of the reply's words. None when the reply picks none of them,
    or is a question of its own ("what is the battery capacity of the Kite 5 Plus?")."""
    m = _NUMBER.match(text.strip())
    if m:
        tok = m.group(1).lower()
        n = int(tok) if tok.isdigit() else _ORDINALS[tok]
        if 1 <= n <= len(options):
            return options[n - 1]["id"]
    if re.search(r"\b(last|latter)\b", text, re.I):
        return options[-1]["id"]
    reply = _words(text)
    if not reply or (_QUESTION.match(text) and len(reply) >= 4):  # a question of its own: a new turn
        return None
    # overlap of the reply with each option's key, hint and neighbours' labels; a unique best wins
    scores = []
    for o in options:
        e = o["id"]
        vocab = _words(kg.entities[e]) | _words(o["hint"]) | _words(kg.descriptions.get(e, ""))
        for _, nb, _ in kg.neighbors(e)[:200]:
            vocab |= _words(kg.labels[nb])
        vocab |= _words(o["label"])
        scores.append(len(reply & vocab))
    best = max(scores)
    # a detail is mostly words of the option ("the 2009 comedy"); a new question that shares a word or two with
    # one ("which comedy did Owen Wilson star in?") is a new turn, not a pick
    if best > 0 and scores.count(best) == 1 and 2 * best >= len(reply):
        return options[scores.index(best)]["id"]
    return None


def clarify(state: State, ctx: Context, ws: AgentWorkspace) -> dict:
    """List the options of the pending clarification and ask the user to pick one."""
    c = state["clarification"]
    assert c is not None  # routed here only with a pending clarification
    lines = [f"Which {c['mention']} do you mean?"]
    lines += [f"{i}. {o['label']} ({o['hint']})" for i, o in enumerate(c["options"], start=1)]
    # a blank line first: Markdown would otherwise fold this line into the last list item
    lines += ["", "Reply with a number, or a detail that tells them apart."]
    return {"messages": [AIMessage("\n".join(lines))]}
