"""``kgagent chat WS --cli``: a terminal chat over the agent graph, with a thread id and slash commands."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from kgagent.agent.inputs import clean_message
from kgagent.agent.session import Reply
from kgagent.kg.errors import KgAgentError

HELP = """commands:
  /evidence   the triples and passages behind the last answer
  /thread     this conversation's thread id (pass it to --thread to continue later)
  /new        start a new conversation
  /history    the messages of this thread so far
  /help       this list
  /quit       leave (Ctrl-D works too)"""


def format_evidence(reply: Reply | None) -> str:
    """The evidence of a reply, one triple or passage per line."""
    if reply is None:
        return "(no answer yet)"
    lines = []
    if reply.relation_path:
        lines.append(f"relation path: {' -> '.join(reply.relation_path)}   confidence {reply.confidence:.2f}")
    lines += [f"  ({t['head']}, {t['relation']}, {t['tail']})" for t in reply.evidence]
    if reply.passages:
        lines.append("passages:")
        lines += [f"  [{p['score']:.2f}] {p['text']}" for p in reply.passages]
    return "\n".join(lines) if lines else "(this answer rests on no evidence)"


def stream_turn(graph: Any, text: str, thread_id: str, write: Callable[[str], None], *,
                on_node: Callable[[str, float], None] | None = None) -> Reply:
    """Send one message; write the reply as it streams (token by token for LLM generators, else whole).

    ``on_node(name, seconds)``: called as each node of the graph finishes, with the time it took.
    """
    from langchain_core.messages import AIMessageChunk

    config = {"configurable": {"thread_id": thread_id}}
    text = clean_message(text)
    modes = ["messages", "values", *(["updates"] if on_node else [])]
    t0 = last = time.perf_counter()
    streamed = False
    state: dict[str, Any] = {}
    for mode, chunk in graph.stream({"messages": [("user", text)]}, config, stream_mode=modes, durability="exit"):
        if mode == "messages":
            msg, _meta = chunk
            if isinstance(msg, AIMessageChunk) and msg.content:
                write(str(msg.content))
                streamed = True
        elif mode == "values":
            state = chunk
        elif on_node is not None:  # "updates": {node: update}, once each node has finished (nodes run in turn)
            now = time.perf_counter()
            for node in chunk:
                on_node(node, now - last)
            last = now
    reply = Reply.from_state(state, thread_id=thread_id, latency_ms=1000 * (time.perf_counter() - t0))
    if not streamed:
        write(reply.text)
    return reply


def _print(text: str, end: str = "\n") -> None:
    print(text, end=end, flush=True)


def run_chat(graph: Any, thread_id: str | None = None, *, read: Callable[[str], str] = input,
             write: Callable[..., None] = _print, show_latency: bool = True) -> str:
    """The chat loop; returns the thread id in use at the end. ``read``/``write`` (print-like: ``end=``) make
    it testable; replies are written piece by piece as they stream."""
    thread = thread_id or uuid.uuid4().hex[:8]
    earlier = graph.get_state({"configurable": {"thread_id": thread}}).values.get("messages") or []
    write(f"thread {thread}" + (f" (continuing: {len(earlier)} earlier messages)" if earlier else "")
          + " - /help for commands")
    last: Reply | None = None
    while True:
        try:
            text = read("you> ").strip()
        except (EOFError, KeyboardInterrupt):
            write("")
            return thread
        except UnicodeDecodeError:  # the terminal sent bytes that are not UTF-8: ask again, keep the session
            write("(that line was not valid UTF-8; please type it again)")
            continue
        if not text:
            continue
        cmd = text.lower()
        if cmd in ("/quit", "/exit", "/q"):
            return thread
        if cmd == "/help":
            write(HELP)
        elif cmd == "/evidence":
            write(format_evidence(last))
        elif cmd == "/thread":
            write(thread)
        elif cmd == "/new":
            thread, last = uuid.uuid4().hex[:8], None
            write(f"new thread {thread}")
        elif cmd == "/history":
            msgs = graph.get_state({"configurable": {"thread_id": thread}}).values.get("messages") or []
            write("\n".join(f"{m.type}: {m.content}" for m in msgs) or "(empty)")
        elif cmd.startswith("/"):
            write(f"unknown command {text}; /help lists them")
        else:
            write("agent> ", end="")
            try:
                last = stream_turn(graph, text, thread, lambda piece: write(piece, end=""))
            except KgAgentError as e:  # one bad turn (a setting, a damaged file) ends the turn, not the chat
                write(f"\nerror: {e}")
                continue
            write(f"   [{last.latency_ms:.0f} ms]" if show_latency else "")
