"""kgagent: bring a domain knowledge graph, get a grounded chat agent.

>>> import kgagent
>>> kgagent.__version__  # doctest: +SKIP
'0.1.0'
>>> kg, report = kgagent.load_kg("kb.tsv")  # doctest: +SKIP
>>> graph = kgagent.build_agent("ws/")  # doctest: +SKIP

The layers are subpackages, bottom to top: ``kgagent.kg`` → ``kgagent.retrieval`` → ``kgagent.training`` →
``kgagent.agent`` → ``kgagent.ui``. Heavy parts (torch, PyKEEN, LangGraph, Gradio) load on first use, so
``import kgagent`` stays fast.
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from kgagent.kg import KgAgentError, KnowledgeGraph, load_kg

try:
    __version__ = version("kgagent")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0.0.0"

_LAZY = {
    "train_embeddings": "kgagent.kg.embeddings",
    "build_index": "kgagent.retrieval",
    "open_retriever": "kgagent.retrieval",
    "build_agent": "kgagent.agent",
    "create_app": "kgagent.ui",
    "launch": "kgagent.ui",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kgagent' has no attribute {name!r}")


__all__ = ["KgAgentError", "KnowledgeGraph", "__version__", "build_agent", "build_index", "create_app", "launch",
           "load_kg", "open_retriever", "train_embeddings"]
