"""Turn the agent's stream events into chat messages. No Gradio here: the app only wraps what this returns.

The agent graph is streamed with ``stream_mode=["updates", "messages"]``; each event is ``(mode, chunk)``:
``("updates", {node: partial_state})`` or ``("messages", (message_chunk, metadata))``. A :class:`ChatTranslator`
folds them into a :class:`TurnView` (what the turn has produced so far) and lays that out as :class:`ChatItem`
records: a collapsible "steps" panel, the reply (with clickable choices for a clarifying question) and an
evidence panel.

>>> tr = ChatTranslator()
>>> tr.feed(("updates", {"understand": {"intent": "greeting", "intent_confidence": 0.97}}))
True
>>> tr.feed(("messages", (AIMessageChunk(content="Hello!", id="m1"), {"langgraph_node": "respond"})))
True
>>> [item.kind for item in tr.finish().items()]
['steps', 'answer']
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import AIMessageChunk, BaseMessage

Event = tuple[str, Any]  # (stream mode, chunk)
EVIDENCE = "Evidence"  # title of the evidence panel


@dataclass
class ChatItem:
    """One chat message, independent of Gradio. ``html`` (when set) is shown instead of ``text``."""

    kind: Literal["steps", "answer", "evidence", "error"]
    text: str = ""
    html: str = ""
    title: str = ""  # set: a collapsible panel with this title
    status: Literal["", "pending", "done"] = ""
    options: list[tuple[str, str]] = field(default_factory=list)  # clickable choices: (value sent, label shown)

    def as_message(self) -> dict[str, Any]:
        """A Gradio ``messages``-format dict (the caller wraps ``html`` in a component)."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.html or self.text}
        if self.title:
            msg["metadata"] = {"title": self.title, **({"status": self.status} if self.status else {})}
        if self.options:
            msg["options"] = [{"value": v, "label": lab} for v, lab in self.options]
        return msg


@dataclass
class TurnView:
    """Everything one turn has produced so far, from the state updates and the streamed reply."""

    state: dict[str, Any] = field(default_factory=dict)  # the turn's state fields, latest value per key
    steps: list[str] = field(default_factory=list)  # one line per finished node
    replies: dict[str, str] = field(default_factory=dict)  # message id -> text, in arrival order
    done: bool = False
    error: str = ""
    seconds: float = 0.0

    @property
    def reply(self) -> str:
        return "\n\n".join(t.strip() for t in self.replies.values() if t.strip())

    @property
    def evidence(self) -> list[dict]:
        return list(self.state.get("evidence") or [])

    @property
    def answers(self) -> list[dict]:
        return list(self.state.get("answers") or [])

    @property
    def clarification(self) -> dict | None:
        return self.state.get("clarification") or None

    def record(self) -> dict[str, Any]:
        """A JSON-ready summary of the turn (kept for feedback)."""
        keys = ("question", "intent", "act", "entities", "relation_path", "confidence", "problem")
        return {**{k: self.state[k] for k in keys if k in self.state}, "answer": self.reply,
                "answers": [{"id": a.get("id"), "label": a.get("label"), "score": a.get("score")}
                            for a in self.answers],
                "evidence": self.evidence}


# What the chat's Markdown would act on in a label or a reply (data anyone may have written): inline syntax
# (images, links, HTML, emphasis, code, math), block syntax at a line's start (headings, lists, quotes), and
# what GFM turns into links by itself (URLs, www., e-mail addresses). Escapes already there are kept.
_INLINE = re.compile(r"\\[!-/:-@\[-`{-~]|[\\`*_\[\]<>!$~|#@]")
_LINE_START = re.compile(r"^(\s*)([-+=>]|\d+(?=[.)]))", re.MULTILINE)
_AUTOLINK = re.compile(r"(?i)\b(https?|ftp|mailto|file|data|javascript)(:)|\b(www)(\.)")


def as_text(text: str) -> str:
    """``text`` escaped so the chat's Markdown shows it as the characters it is: no image, link, HTML, emphasis
    or heading comes out of a label, and no URL becomes a link.

    >>> print(as_text("![x](http://h/p.png) and <b>*www.h.io*</b>"))
    \\!\\[x\\](http\\://h/p.png) and \\<b\\>\\*www\\.h.io\\*\\</b\\>
    """
    text = _INLINE.sub(lambda m: m.group() if len(m.group()) == 2 else "\\" + m.group(), str(text))
    text = _AUTOLINK.sub(lambda m: f"{m.group(1)}\\:" if m.group(1) else f"{m.group(3)}\\.", text)
    return _LINE_START.sub(lambda m: f"{m.group(1)}\\{m.group(2)}" if not m.group(2).isdigit()
                           else f"{m.group(1)}{m.group(2)}\\", text)


# How each state field reads in the steps panel; a registry, so a new field is one entry. Labels and the
# user's words go through as_text; the Markdown around them is the panel's own.
STEP_LINES: dict[str, Callable[[Any, dict], str | None]] = {
    "intent": lambda v, u: f"intent **{as_text(v)}**" + (
        f" ({u['intent_confidence']:.0%})" if "intent_confidence" in u else ""),
    "entities": lambda v, u: ("entities: " + ", ".join(f"**{as_text(e['label'])}**" for e in v)) if v else None,
    "followups": lambda v, u: ("refers back to: " + ", ".join(as_text(e["label"]) for e in v)) if v else None,
    "clarification": lambda v, u: (f"“{as_text(v['mention'])}” is ambiguous: {len(v['options'])} candidates")
    if v else None,
    "subgraph": lambda v, u: f"neighbourhood: {len(v)} triples" if v else None,
    "passages": lambda v, u: f"passages: {len(v)}" if v else None,
    "relation_path": lambda v, u: ("relation path: " + " → ".join(as_text(r) for r in v)) if v else None,
    "answers": lambda v, u: (f"{len(v)} answer{'s' * (len(v) != 1)}"
                             + (f", confidence {u['confidence']:.0%}" if "confidence" in u else "")) if v else None,
    "problem": lambda v, u: {"no_entity": "no entity found in the question", "no_answer": "no answer in the graph",
                             "missing": "the graph lacks what was asked for this entity",
                             "low_confidence": "low confidence: not guessing"}.get(v),
}


class ChatTranslator:
    """Folds one turn's stream events into a :class:`TurnView` and lays it out as chat items.

    ``render_evidence(view) -> html`` draws the evidence panel once the turn is done (see ``ui.render``).
    """

    def __init__(self, render_evidence: Callable[[TurnView], str] | None = None) -> None:
        self.view = TurnView()
        self._render = render_evidence
        self._evidence_html: str | None = None
        self._t0 = time.perf_counter()

    def feed(self, event: Event) -> bool:
        """Take one ``(mode, chunk)`` event; True when what the chat shows has changed."""
        mode, chunk = event
        handler = _HANDLERS.get(mode)
        return handler(self, chunk) if handler else False

    def feed_all(self, events: Iterable[Event]) -> ChatTranslator:
        for e in events:
            self.feed(e)
        return self.finish()

    def fail(self, message: str) -> ChatTranslator:
        """The turn stopped with an error the user should see."""
        self.view.error = message
        return self.finish()

    def finish(self) -> ChatTranslator:
        self.view.done = True
        self.view.seconds = time.perf_counter() - self._t0
        return self

    # ----------------------------------------------------------------- event handlers
    def _updates(self, chunk: dict[str, Any]) -> bool:
        changed = False
        for node, update in (chunk or {}).items():
            if not isinstance(update, dict):
                continue
            for key, value in update.items():
                if key == "messages":
                    changed |= self._messages_from_update(value)
                    continue
                self.view.state[key] = value
            lines = [line for key, fmt in STEP_LINES.items() if key in update and (line := fmt(update[key], update))]
            self.view.steps.append(f"`{node}`" + (": " + "; ".join(lines) if lines else ""))
            changed = True
        return changed

    def _messages_from_update(self, messages: Any) -> bool:
        """Replies a node returned whole (no token stream came for them)."""
        changed = False
        for m in messages if isinstance(messages, list) else [messages]:
            if isinstance(m, BaseMessage) and m.type == "ai":
                key = m.id or f"update-{len(self.view.replies)}"
                text = _text(m)
                if self.view.replies.get(key) != text:
                    self.view.replies[key] = text
                    changed = True
        return changed

    def _tokens(self, chunk: tuple[Any, dict]) -> bool:
        message, _meta = chunk
        if not isinstance(message, BaseMessage) or message.type not in ("ai", "AIMessageChunk"):
            return False
        key = message.id or f"stream-{len(self.view.replies)}"
        text = _text(message)
        if isinstance(message, AIMessageChunk):
            self.view.replies[key] = self.view.replies.get(key, "") + text
        else:  # a whole message (possibly the joined, cleaned-up version of the chunks streamed before)
            self.view.replies[key] = text
        return bool(text)

    # ----------------------------------------------------------------- layout
    def items(self) -> list[ChatItem]:
        """The turn as chat items: steps panel, reply (with choices), evidence panel."""
        v = self.view
        out: list[ChatItem] = []
        if v.steps or not v.done:  # a pending panel from the start, so a slow first step shows it is working
            title = f"Steps · {v.seconds * 1000:.0f} ms" if v.done else "Working…"
            text = "\n".join(f"- {s}" for s in v.steps) or "- reading the question"
            out.append(ChatItem("steps", text=text, title=title, status="done" if v.done else "pending"))
        if v.error:
            out.append(ChatItem("error", text=f"⚠️ {as_text(v.error)}"))
            return out
        if v.reply:
            out.append(ChatItem("answer", text=as_text(v.reply), options=self._options() if v.done else []))
        if v.done and v.evidence and self._render is not None:
            if self._evidence_html is None:
                self._evidence_html = self._render(v)
            n_paths = sum(len(a.get("paths") or []) > 0 for a in v.answers)
            title = f"{EVIDENCE} · {len(v.evidence)} triple{'s' * (len(v.evidence) != 1)}"
            if n_paths:
                title += f" · {n_paths} answer path{'s' * (n_paths != 1)}"
            # no status: the panel starts open, so the paths and the picture show without a click
            out.append(ChatItem("evidence", html=self._evidence_html, title=title))
        return out

    def _options(self) -> list[tuple[str, str]]:
        c = self.view.clarification
        if not c or self.view.state.get("act") not in (None, "clarify"):
            return []
        out = []
        for i, o in enumerate(c.get("options") or [], start=1):
            hint = o.get("hint", "")
            hint = hint if len(hint) <= 48 else hint[:47].rstrip() + "…"
            label = f"{o['label']} — {hint}" if hint else o["label"]
            # "Option N" leads, so the agent resolves the choice by its number whatever the label says
            out.append((f"Option {i}: {label}", label))
        return out


_HANDLERS: dict[str, Callable[[ChatTranslator, Any], bool]] = {
    "updates": ChatTranslator._updates,
    "messages": ChatTranslator._tokens,
}


def _text(message: BaseMessage) -> str:
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") if isinstance(b, dict) else str(b) for b in content)
