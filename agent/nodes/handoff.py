"""``handoff``: the user asked for a person; say a human will take over (the UI can act on ``act == "handoff"``)."""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from kgagent.agent.context import Context
from kgagent.agent.state import State

REPLY = ("I'll hand this conversation over to a human colleague; they can see everything we discussed "
         "and will reply here.")


def handoff(state: State, runtime: Runtime[Context]) -> dict:
    return {"messages": [AIMessage(runtime.context.replies.get("human_handoff", REPLY))]}
