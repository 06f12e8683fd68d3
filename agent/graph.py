"""The agent graph: wiring only. Nodes live in ``agent.nodes``, one module each.

    understand ─┬─▶ retrieve ─▶ reason ─┬─▶ respond ─▶ END
                │                       └─▶ clarify ─▶ END      (an ambiguous name the question cannot settle)
                └─▶ smalltalk / out_of_scope / handoff ─▶ END
"""

from __future__ import annotations

import dataclasses
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

Node = Callable[[State, Runtime[Context]], dict]


def _with_defaults(node: Node, default: Context) -> Node:
    """Run ``node`` with the graph's default context when a run passes none (or one without a workspace)."""

    def run(state: State, runtime: Runtime[Context]) -> dict:
        ctx = runtime.context
        if ctx is None:
            ctx = default
        elif ctx.workspace is None:
            ctx = dataclasses.replace(ctx, workspace=default.workspace)
        return node(state, runtime.override(context=ctx) if ctx is not runtime.context else runtime)

    run.__name__ = node.__name__
    run.__doc__ = node.__doc__
    return run


def build_graph(workspace: str | Path | AgentWorkspace, *, context: Context | None = None,
                checkpointer: Any = None) -> Any:
    """Open ``workspace`` (once per process), wire the nodes and compile with a checkpointer."""
    ws = open_workspace(workspace, refresh=True)
    default = ws.context() if context is None else dataclasses.replace(context, workspace=str(ws.root))
    ws.prepare(default)

    builder = StateGraph(State, context_schema=Context, input_schema=InputState)
    nodes: dict[str, Node] = {"understand": understand, "retrieve": retrieve, "reason": reason, "respond": respond,
                              "clarify": clarify, "smalltalk": smalltalk, "out_of_scope": out_of_scope,
                              "handoff": handoff}
    for name, fn in nodes.items():
        builder.add_node(name, _with_defaults(fn, default))

    builder.add_edge(START, "understand")
    builder.add_conditional_edges("understand", route_turn,
                                  ["retrieve", "clarify", "smalltalk", "out_of_scope", "handoff"])
    builder.add_edge("retrieve", "reason")
    builder.add_conditional_edges("reason", route_answer, ["respond", "clarify"])
    for last in ("respond", "clarify", "smalltalk", "out_of_scope", "handoff"):
        builder.add_edge(last, END)
    return builder.compile(checkpointer=make_checkpointer(checkpointer, ws.root), name="kgagent")
