"""The agent graph: wiring only. Nodes live in ``agent.nodes``, one module each.

    understand ─┬─▶ retrieve ─▶ reason ─┬─▶ respond ─▶ END
                │                       └─▶ clarify ─▶ END      (an ambiguous name the question cannot settle)
                └─▶ smalltalk / out_of_scope / handoff ─▶ END
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from kgagent.agent.context import Context
from kgagent.agent.memory import make_checkpointer
from kgagent.agent.nodes import (
    clarify,
    handoff,
    out_of_scope,
    reason,
    respond,
    retrieve,
    route_answer,
    route_turn,
    smalltalk,
    understand,
)
from kgagent.agent.state import InputState, State
from kgagent.agent.workspace import AgentWorkspace, open_workspace

# a node: the state, the run's settings and the opened workspace in, a partial state update out
Node = Callable[[State, Context, AgentWorkspace], dict]


def _bind(node: Node, ws: AgentWorkspace, default: Context) -> Callable[[State, Runtime[Context]], dict]:
    """``node`` as LangGraph calls it, bound to the workspace opened when the graph was built; a run that passes
    no context gets the graph's default settings."""

    def run(state: State, runtime: Runtime[Context]) -> dict:
        return node(state, runtime.context or default, ws)

    run.__name__ = node.__name__
    run.__doc__ = node.__doc__
    return run


def build_graph(workspace: str | Path | AgentWorkspace, *, context: Context | None = None,
                checkpointer: Any = None) -> Any:
    """Open ``workspace`` (or take the opened one), load what turns under ``context`` use, wire the nodes to it
    and compile with a checkpointer. The compiled graph carries it as ``graph.workspace``: after a rebuild or a
    retraining, ``graph.workspace.reload()`` makes the next turn load what is on disk now."""
    ws = workspace if isinstance(workspace, AgentWorkspace) else open_workspace(workspace)
    default = ws.context() if context is None else context
    ws.prepare(default)

    builder = StateGraph(State, context_schema=Context, input_schema=InputState)
    nodes: dict[str, Node] = {"understand": understand, "retrieve": retrieve, "reason": reason, "respond": respond,
                              "clarify": clarify, "smalltalk": smalltalk, "out_of_scope": out_of_scope,
                              "handoff": handoff}
    for name, fn in nodes.items():
        builder.add_node(name, _bind(fn, ws, default))

    builder.add_edge(START, "understand")
    builder.add_conditional_edges("understand", route_turn,
                                  ["retrieve", "clarify", "smalltalk", "out_of_scope", "handoff"])
    builder.add_edge("retrieve", "reason")
    builder.add_conditional_edges("reason", route_answer, ["respond", "clarify"])
    for last in ("respond", "clarify", "smalltalk", "out_of_scope", "handoff"):
        builder.add_edge(last, END)
    graph = builder.compile(checkpointer=make_checkpointer(checkpointer, ws.root), name="kgagent")
    graph.workspace = ws
    return graph
