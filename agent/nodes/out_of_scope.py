"""``out_of_scope``: a polite refusal that says what the agent can help with."""

from __future__ import annotations

from langchain_core.messages import AIMessage

from kgagent.agent.context import Context
from kgagent.agent.nodes.smalltalk import domain_of
from kgagent.agent.state import State
from kgagent.agent.workspace import AgentWorkspace

REPLY = "Sorry, I can't help with that. I answer questions about {domain}."


def out_of_scope(state: State, ctx: Context, ws: AgentWorkspace) -> dict:
    return {"messages": [AIMessage(ctx.replies.get("out_of_scope", REPLY).format(domain=domain_of(ctx, ws)))]}
