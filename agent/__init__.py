"""The agent layer: a LangGraph conversation graph over a workspace (understand → retrieve → reason → respond).

>>> from kgagent.agent import build_agent
>>> graph = build_agent("ws/")  # doctest: +SKIP
>>> out = graph.invoke({"messages": [("user", "who directed Alien?")]},  # doctest: +SKIP
...                    config={"configurable": {"thread_id": "t1"}})
>>> out["messages"][-1].content  # doctest: +SKIP
'Alien was directed by Ridley Scott.\\n\\nEvidence: (Alien, directed_by, Ridley Scott).'

Heavy parts (langgraph, torch, the models) load on first use, so ``import agent`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kgagent.agent.context import Context
    from kgagent.agent.workspace import AgentWorkspace

_LAZY = {
    "Context": "kgagent.agent.context",
    "State": "kgagent.agent.state",
    "AgentWorkspace": "kgagent.agent.workspace",
    "open_workspace": "kgagent.agent.workspace",
    "make_checkpointer": "kgagent.agent.memory",
    "make_generator": "kgagent.agent.generators",
    "GENERATORS": "kgagent.agent.generators",
    "Generator": "kgagent.agent.generators",
    "ResponseRequest": "kgagent.agent.generators",
    "Reply": "kgagent.agent.session",
    "ask": "kgagent.agent.session",
}


def build_agent(workspace: str | Path | AgentWorkspace, *, context: Context | None = None,
                checkpointer: Any = None) -> Any:
    """A compiled LangGraph graph over ``workspace``.

    ``context``: default run-time settings (else ``[agent]`` of ``WS/kgagent.toml``); a run may pass its own
    through ``graph.invoke(..., context=...)``. ``checkpointer``: ``None`` (SQLite ``WS/checkpoints.sqlite``),
    ``"memory"``, a ``.sqlite`` path, or any LangGraph checkpointer.
    """
    from kgagent.agent.graph import build_graph

    return build_graph(workspace, context=context, checkpointer=checkpointer)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'agent' has no attribute {name!r}")


__all__ = ["GENERATORS", "AgentWorkspace", "Context", "Generator", "Reply", "ResponseRequest", "State", "ask",
           "build_agent", "make_checkpointer", "make_generator", "open_workspace"]
