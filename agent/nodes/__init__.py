"""One module per node of the agent graph; ``routes`` holds the pure routing functions. ``agent.graph`` wires them."""

from agent.nodes.clarify import clarify
from agent.nodes.handoff import handoff
from agent.nodes.out_of_scope import out_of_scope
from agent.nodes.reason import reason
from agent.nodes.respond import respond
from agent.nodes.retrieve import retrieve
from agent.nodes.routes import route_answer, route_turn
from agent.nodes.smalltalk import smalltalk
from agent.nodes.understand import understand

__all__ = ["clarify", "handoff", "out_of_scope", "reason", "respond", "retrieve", "route_answer", "route_turn",
           "smalltalk", "understand"]
