"""``smalltalk``: a short direct reply to a greeting, thanks or goodbye."""

from __future__ import annotations

from langchain_core.messages import AIMessage

from kgagent.agent.context import Context
from kgagent.agent.state import State
from kgagent.agent.workspace import AgentWorkspace

REPLIES = {
    "greeting": "Hello! Ask me anything about {domain}.",
    "thanks": "You're welcome! Anything else?",
    "goodbye": "Goodbye! Come back any time.",
}


def domain_of(ctx: Context, ws: AgentWorkspace) -> str:
    """What the agent knows about, for canned replies: ``[agent] domain``, else the KG's main relations."""
    return ctx.domain or ws.domain


def smalltalk(state: State, ctx: Context, ws: AgentWorkspace) -> dict:
    intent = state.get("intent", "greeting")
    template = ctx.replies.get(intent) or REPLIES.get(intent) or REPLIES["greeting"]
    text = template.format(domain=domain_of(ctx, ws)) if "{domain}" in template else template
    return {"messages": [AIMessage(text)]}
