"""The KG layer: load and validate a domain KG, query it, and train KG embeddings.

>>> from kgagent.kg import KnowledgeGraph
>>> kg = KnowledgeGraph.from_triples([("Alien", "directed_by", "Ridley Scott")])
>>> kg.num_triples
1
"""

from kgagent.kg.change import GraphChange
from kgagent.kg.errors import ConfigError, InputError, KgAgentError, WorkspaceError
from kgagent.kg.graph import INVERSE, KnowledgeGraph, Step
from kgagent.kg.loaders import LOADERS, LoadReport, load_kg
from kgagent.kg.workspace import Workspace

__all__ = [
    "INVERSE",
    "LOADERS",
    "ConfigError",
    "GraphChange",
    "InputError",
    "KgAgentError",
    "KnowledgeGraph",
    "LoadReport",
    "Step",
    "Workspace",
    "WorkspaceError",
    "load_kg",
]
