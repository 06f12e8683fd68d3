"""The Gradio app over a compiled agent graph: chat with evidence, a knowledge tab and a training tab.

Gradio is imported only when an app is built, so ``import ui`` stays light.

>>> from kgagent import ui  # doctest: +SKIP
>>> from kgagent.agent import build_agent  # doctest: +SKIP
>>> app = ui.create_app(build_agent("ws/"), "ws/")  # doctest: +SKIP
>>> ui.launch(app, port=7860)  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from kgagent.ui.config import UIConfig
from kgagent.ui.launch import launch, parse_auth
from kgagent.ui.translate import ChatItem, ChatTranslator, TurnView

_LAZY = {"create_app": "kgagent.ui.app", "CSS": "kgagent.ui.app"}  # these import gradio


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'ui' has no attribute {name!r}")


__all__ = [
    "ChatItem",
    "ChatTranslator",
    "TurnView",
    "UIConfig",
    "create_app",
    "launch",
    "parse_auth",
]
