"""One module per node of the agent graph; ``routes`` holds the pure routing functions. ``agent.graph`` wires them."""

from kgagent.agent.nodes.clarify import clarify
from kgagent.agent.nodes.handoff import handoff
from kgagent.agent.nodes.out_of_scope import out_of_scope
from kgagent.agent.nodes.reason import reason
from kgagent.agent.nodes.respond import respond
from kgagent.agent.nodes.retrieve import retrieve
from kgagent.agent.nodes.routes import route_answer, route_turn
from kgagent.agent.nodes.smalltalk import smalltalk
from kgagent.agent.nodes.understand import understand

__all__ = ["clarify", "handoff", "out_of_scope", "reason", "respond", "retrieve", "route_answer", "route_turn",
           "smalltalk", "understand"]
