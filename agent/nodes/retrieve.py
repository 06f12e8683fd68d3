"""``retrieve``: passages from the FAISS passage index and the topic entities' neighbourhood subgraph.

Passages are searched when they will be read (``Context.passage_search``: by default for LLM generators only).
"""

from __future__ import annotations

from kgagent.agent.context import Context
from kgagent.agent.state import State
from kgagent.agent.workspace import AgentWorkspace


def topic_candidates(state: State) -> list[int]:
    """Entity ids the question may be about: the linked ones, then remembered ones for a follow-up."""
    options = (state.get("clarification") or {}).get("options") or []
    ids = [e["id"] for e in state.get("entities") or []] + [o["id"] for o in options] \
        + [e["id"] for e in state.get("followups") or []]
    return list(dict.fromkeys(ids))


def retrieve(state: State, ctx: Context, ws: AgentWorkspace) -> dict:
    """``passages`` (top-k for the question) and ``subgraph`` (triple ids around the candidate topics)."""
    topic = topic_candidates(state)
    subgraph = ws.kg.subgraph(topic, hops=ctx.max_hops, max_triples=ctx.max_subgraph_triples) \
        if topic and ctx.max_hops > 0 else []
    return {"passages": ws.search_passages(state.get("question", ""), ctx.top_k) if ctx.searches_passages else [],
            "subgraph": [int(t) for t in subgraph]}
