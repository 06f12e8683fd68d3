"""``GraphChange``: how a graph maps onto an updated version of itself (``KnowledgeGraph.add_triples`` /
``remove_triples``), so indexes and embeddings built on the old graph can be updated instead of rebuilt.

>>> from kgagent.kg import KnowledgeGraph
>>> old = KnowledgeGraph.from_triples([("a", "r", "b"), ("b", "r", "c")])
>>> change = GraphChange.between(old, old.remove_triples(KnowledgeGraph.from_triples([("a", "r", "b")])))
>>> change.kept.tolist(), change.added.tolist()
([-1, 0], [])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kgagent.kg.errors import KgAgentError
from kgagent.kg.graph import KnowledgeGraph


@dataclass(frozen=True)
class GraphChange:
    """``old`` -> ``new`` where ``new`` keeps every entity and relation id of ``old`` (and may add more).

    ``kept``: ``(old.num_triples,)`` the new id of each old triple, -1 where it was removed;
    ``added``: the ids in ``new`` of triples ``old`` did not have, ascending.
    """

    old: KnowledgeGraph
    new: KnowledgeGraph
    kept: np.ndarray
    added: np.ndarray

    @classmethod
    def between(cls, old: KnowledgeGraph, new: KnowledgeGraph) -> GraphChange:
        if new.entities[: old.num_entities] != old.entities or new.relations[: old.num_relations] != old.relations:
            raise KgAgentError("the new graph does not keep the old graph's entity and relation ids")
        e, r = new.num_entities, new.num_relations
        old_keys = (old.triples[:, 0] * r + old.triples[:, 1]) * e + old.triples[:, 2]
        new_keys = (new.triples[:, 0] * r + new.triples[:, 1]) * e + new.triples[:, 2]
        order = np.argsort(new_keys, kind="stable")
        pos = np.searchsorted(new_keys[order], old_keys)
        pos = np.minimum(pos, max(len(order) - 1, 0))
        found = (new_keys[order][pos] == old_keys) if len(order) else np.zeros(len(old_keys), dtype=bool)
        kept = np.where(found, order[pos] if len(order) else -1, -1).astype(np.int64)
        is_old = np.zeros(new.num_triples, dtype=bool)
        is_old[kept[kept >= 0]] = True
        return cls(old, new, kept, np.flatnonzero(~is_old))

    @property
    def removed(self) -> np.ndarray:
        """Ids in ``old`` of the triples ``new`` lacks, ascending."""
        return np.flatnonzero(self.kept < 0)

    @property
    def new_entities(self) -> range:
        return range(self.old.num_entities, self.new.num_entities)

    @property
    def new_relations(self) -> list[str]:
        return self.new.relations[self.old.num_relations:]

    @property
    def orphaned(self) -> np.ndarray:
        """Entities that had triples in ``old`` and have none in ``new``."""
        before = self.old.degrees()
        after = self.new.degrees()[: self.old.num_entities]
        return np.flatnonzero((before > 0) & (after == 0))

    @property
    def changed(self) -> bool:
        """Whether ``new`` differs from ``old`` at all (triples, entities, aliases or descriptions)."""
        return bool(len(self.added) or len(self.removed) or self.new.num_entities != self.old.num_entities
                    or self.new.aliases != self.old.aliases or self.new.descriptions != self.old.descriptions)
