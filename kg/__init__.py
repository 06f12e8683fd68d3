"""The KG layer: load and validate a domain KG, query it, and train KG embeddings.

>>> from kg import KnowledgeGraph
>>> kg = KnowledgeGraph.from_triples([("Alien", "directed_by", "Ridley Scott")])
>>> kg.num_triples
1
"""

from kg.errors import ConfigError, InputError, KgAgentError, WorkspaceError
from kg.graph import INVERSE, KnowledgeGraph, Step
from kg.workspace import Workspace

__all__ = [
    "INVERSE",
    "ConfigError",
    "InputError",
    "KgAgentError",
    "KnowledgeGraph",
    "Step",
    "Workspace",
    "WorkspaceError",
]
