"""``smalltalk``: a short direct reply to a greeting, thanks or goodbye."""

from __future__ import annotations

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from kgagent.agent.context import Context
from kgagent.agent.state import State

REPLIES = {
    "greeting": "Hello! Ask me anything about {domain}.",
    "thanks": "You're welcome! Anything else?",
    "goodbye": "Goodbye! Come back any time.",
}


def domain_of(ctx: Context) -> str:
    """What the agent knows about, for canned replies."""
    if ctx.domain:
        return ctx.domain
    from kgagent.agent.workspace import open_workspace

    return open_workspace(ctx.workspace).domain


def smalltalk(state: State, runtime: Runtime[Context]) -> dict:
    ctx = runtime.context
    intent = state.get("intent", "greeting")
    template = ctx.replies.get(intent) or REPLIES.get(intent) or REPLIES["greeting"]
    text = template.format(domain=domain_of(ctx)) if "{domain}" in template else template
    return {"messages": [AIMessage(text)]}
