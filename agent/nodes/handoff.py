"""``handoff``: the user asked for a person; say a human will take over (the UI can act on ``act == "handoff"``)."""

from __future__ import annotations

from langchain_core.messages import AIMessage

from kgagent.agent.context import Context
from kgagent.agent.state import State
from kgagent.agent.workspace import AgentWorkspace

REPLY = ("I'll hand this conversation over to a human colleague; they can see everything we discussed "
         "and will reply here.")


def handoff(state: State, ctx: Context, ws: AgentWorkspace) -> dict:
    return {"messages": [AIMessage(ctx.replies.get("human_handoff", REPLY))]}
