"""Pure routing functions over the state."""

from __future__ import annotations

from typing import Literal

from kgagent.agent.state import State

Route = Literal["retrieve", "smalltalk", "out_of_scope", "handoff", "clarify"]
_ROUTES: dict[str, Route] = {"question": "retrieve", "smalltalk": "smalltalk", "out_of_scope": "out_of_scope",
                             "handoff": "handoff", "clarify": "clarify"}


def route_answer(state: State) -> Literal["respond", "clarify"]:
    """After ``reason``: ask which entity was meant when it could not tell, else reply."""
    return "clarify" if state.get("act") == "clarify" else "respond"


def route_turn(state: State) -> Route:
    """After ``understand``: a KG question goes to ``retrieve``; the other acts get their own short reply."""
    return _ROUTES.get(state.get("act", "out_of_scope"), "out_of_scope")
