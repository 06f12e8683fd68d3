"""The in-memory knowledge graph: stable integer ids, an (n, 3) triple array, and fast adjacency."""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import networkx as nx
import numpy as np

from kgagent.kg.errors import InputError, KgAgentError, WorkspaceError
from kgagent.kg.io import atomic_dir
from kgagent.kg.validate import check_ids, damaged, parse, read_json, read_npy, read_text

INVERSE = "^-1"  # suffix of an inverse relation step: "directed_by^-1" walks tail -> head


def inverse_step(step: str) -> str:
    """The step walking ``step``'s edges the other way: ``r`` <-> ``r^-1``."""
    return step.removesuffix(INVERSE) if step.endswith(INVERSE) else step + INVERSE


def inverse_message(relation: str) -> str:
    """Why a relation name may not end in the inverse suffix (a step with it walks the reverse direction)."""
    return (f"relation {relation!r} ends with {INVERSE!r}, the suffix that marks an inverse step, so it could never "
            f"be walked; rename it (e.g. {relation[: -len(INVERSE)] + '_inverse'!r})")


@dataclass(frozen=True)
class Step:
    """One edge walked along a path: the triple id and whether it was walked head -> tail."""

    triple: int
    forward: bool = True


Path_ = tuple[Step, ...]  # a path: consecutive steps from a start entity


@dataclass
class KnowledgeGraph:
    """A KG with stable ids. Entity ``i`` has key ``entities[i]`` (unique) and label ``labels[i]``.

    ``triples`` is an ``(n, 3)`` int64 array of ``[head, relation, tail]`` ids, without duplicates.

    >>> kg = KnowledgeGraph.from_triples([("Alien", "directed_by", "Ridley Scott")])
    >>> kg.follow([kg.entity_id("Alien")], ["directed_by"]).keys() == {kg.entity_id("Ridley Scott")}
    True
    """

    entities: list[str]
    relations: list[str]
    triples: np.ndarray
    labels: list[str] = field(default_factory=list)
    aliases: dict[int, list[str]] = field(default_factory=dict)
    descriptions: dict[int, str] = field(default_factory=dict)
    literal: np.ndarray | None = None  # (n_entities,) bool: the entity is an RDF literal value

    def __post_init__(self) -> None:
        self.triples = np.asarray(self.triples, dtype=np.int64).reshape(-1, 3)
        if not self.labels:
            self.labels = list(self.entities)
        if self.literal is None:
            self.literal = np.zeros(len(self.entities), dtype=bool)
        if len(self.labels) != len(self.entities) or len(self.literal) != len(self.entities):
            raise KgAgentError("labels/literal must have one entry per entity")
        if len(self.triples) and (
            self.triples.min() < 0
            or self.triples[:, [0, 2]].max() >= len(self.entities)
            or self.triples[:, 1].max() >= len(self.relations)
        ):
            raise KgAgentError("triple ids out of range")

    # ----------------------------------------------------------------- construction
    @classmethod
    def from_triples(
        cls,
        triples: Iterable[tuple[str, str, str]],
        *,
        labels: dict[str, str] | None = None,
        aliases: dict[str, Sequence[str]] | None = None,
        descriptions: dict[str, str] | None = None,
        literals: Iterable[str] = (),
    ) -> KnowledgeGraph:
        """Build from string triples (entity keys and relation names); duplicates are dropped.

        Ids are assigned in first-seen order, so the same input always gives the same ids.
        """
        ent: dict[str, int] = {}
        rel: dict[str, int] = {}
        rows: list[tuple[int, int, int]] = []
        for h, r, t in triples:
            hi = ent.setdefault(h, len(ent))
            ri = rel.setdefault(r, len(rel))
            ti = ent.setdefault(t, len(ent))
            rows.append((hi, ri, ti))
        inverse = next((r for r in rel if r.endswith(INVERSE)), None)
        if inverse is not None:
            raise InputError(inverse_message(inverse), field="relation")
        arr = np.array(rows, dtype=np.int64).reshape(-1, 3)
        if len(arr):
            _, first = np.unique(arr, axis=0, return_index=True)
            arr = arr[np.sort(first)]
        names = list(ent)
        lab = [labels.get(k, k) if labels else k for k in names]
        lit = np.zeros(len(names), dtype=bool)
        for key in literals:
            if key in ent:
                lit[ent[key]] = True
        return cls(
            entities=names,
            relations=list(rel),
            triples=arr,
            labels=lab,
            aliases={ent[k]: list(v) for k, v in (aliases or {}).items() if k in ent and v},
            descriptions={ent[k]: v for k, v in (descriptions or {}).items() if k in ent and v},
            literal=lit,
        )

    # ----------------------------------------------------------------- changes (new graphs, stable ids)
    def add_triples(self, other: KnowledgeGraph) -> KnowledgeGraph:
        """A new graph with ``other``'s triples (matched by entity key and relation name) added.

        Every existing entity, relation and triple keeps its id; new entities and relations get the next ids and
        new triples are appended, all in ``other``'s order. Triples already present are skipped. New entities take
        ``other``'s label, literal flag and description; existing ones gain its aliases (and a description where
        they had none).

        >>> kg = KnowledgeGraph.from_triples([("Alien", "directed_by", "Ridley Scott")])
        >>> kg2 = kg.add_triples(KnowledgeGraph.from_triples([("Gladiator", "directed_by", "Ridley Scott")]))
        >>> kg2.entity_id("Ridley Scott") == kg.entity_id("Ridley Scott"), kg2.entity_id("Gladiator")
        (True, 2)
        """
        entities, labels, literal = list(self.entities), list(self.labels), list(self.literal)
        ent = dict(self._entity_ids)
        for i, key in enumerate(other.entities):
            if key not in ent:
                ent[key] = len(entities)
                entities.append(key)
                labels.append(other.labels[i])
                literal.append(bool(other.literal[i]))
        rel = dict(self._relation_ids)
        relations = list(self.relations)
        for name in other.relations:
            if name not in rel:
                rel[name] = len(relations)
                relations.append(name)
        emap = np.array([ent[k] for k in other.entities], dtype=np.int64)
        rmap = np.array([rel[r] for r in other.relations], dtype=np.int64)
        incoming = np.stack([emap[other.triples[:, 0]], rmap[other.triples[:, 1]], emap[other.triples[:, 2]]],
                            axis=1) if other.num_triples else np.empty((0, 3), dtype=np.int64)
        fresh = incoming[~_rows_in(incoming, self.triples, len(entities), len(relations))]
        aliases = {k: list(v) for k, v in self.aliases.items()}
        for i, names in other.aliases.items():
            bucket = aliases.setdefault(int(emap[i]), [])
            bucket.extend(n for n in names if n not in bucket)
        descriptions = dict(self.descriptions)
        for i, text in other.descriptions.items():
            descriptions.setdefault(int(emap[i]), text)
        return KnowledgeGraph(entities=entities, relations=relations, triples=np.concatenate([self.triples, fresh]),
                              labels=labels, aliases=aliases, descriptions=descriptions,
                              literal=np.array(literal, dtype=bool))

    def find_triples(self, other: KnowledgeGraph) -> np.ndarray:
        """Ids of this graph's triples that ``other`` also holds (by entity key and relation name), ascending."""
        ent = [self._entity_ids.get(k, -1) for k in other.entities]
        rel = [self._relation_ids.get(r, -1) for r in other.relations]
        rows = np.stack([np.asarray(ent, dtype=np.int64)[other.triples[:, 0]],
                         np.asarray(rel, dtype=np.int64)[other.triples[:, 1]],
                         np.asarray(ent, dtype=np.int64)[other.triples[:, 2]]], axis=1) \
            if other.num_triples else np.empty((0, 3), dtype=np.int64)
        rows = rows[(rows >= 0).all(axis=1)]
        return np.flatnonzero(_rows_in(self.triples, rows, self.num_entities, self.num_relations))

    def remove_triples(self, other: KnowledgeGraph) -> KnowledgeGraph:
        """A new graph without ``other``'s triples (matched by entity key and relation name; absent ones ignored).

        Entities and relations keep their ids, also those left without triples (the linker skips such entities);
        the remaining triples keep their order, so their ids shift down past each removed one.
        """
        keep = np.ones(self.num_triples, dtype=bool)
        keep[self.find_triples(other)] = False
        return KnowledgeGraph(entities=list(self.entities), relations=list(self.relations),
                              triples=self.triples[keep], labels=list(self.labels),
                              aliases={k: list(v) for k, v in self.aliases.items()},
                              descriptions=dict(self.descriptions), literal=self.literal.copy())

    def degrees(self) -> np.ndarray:
        """``(n_entities,)`` int64: triples touching each entity (0: the entity lost all its triples)."""
        if not self.num_triples:
            return np.zeros(self.num_entities, dtype=np.int64)
        return np.bincount(self.triples[:, [0, 2]].ravel(), minlength=self.num_entities)

    # ----------------------------------------------------------------- ids
    @cached_property
    def _entity_ids(self) -> dict[str, int]:
        return {e: i for i, e in enumerate(self.entities)}

    @cached_property
    def _relation_ids(self) -> dict[str, int]:
        return {r: i for i, r in enumerate(self.relations)}

    @property
    def num_entities(self) -> int:
        return len(self.entities)

    @property
    def num_relations(self) -> int:
        return len(self.relations)

    @property
    def num_triples(self) -> int:
        return len(self.triples)

    def entity_id(self, key: str) -> int:
        """The id of an entity key; raises ``KeyError`` when absent."""
        return self._entity_ids[key]

    def relation_id(self, name: str) -> int:
        return self._relation_ids[name]

    def has_entity(self, key: str) -> bool:
        return key in self._entity_ids

    def names(self, entity: int) -> list[str]:
        """Label first, then the key (if different) and the aliases: every surface form of an entity."""
        out = [self.labels[entity]]
        for n in (self.entities[entity], *self.aliases.get(entity, ())):
            if n not in out:
                out.append(n)
        return out

    def triple_text(self, triple: int) -> tuple[str, str, str]:
        h, r, t = self.triples[triple]
        return self.labels[h], self.relations[r], self.labels[t]

    # ----------------------------------------------------------------- adjacency (CSR over triple ids)
    @cached_property
    def _out(self) -> tuple[np.ndarray, np.ndarray]:
        return _csr(self.triples[:, 0], self.num_entities)

    @cached_property
    def _in(self) -> tuple[np.ndarray, np.ndarray]:
        return _csr(self.triples[:, 2], self.num_entities)

    def edges(self, entity: int, relation: int | None = None, *, forward: bool = True) -> np.ndarray:
        """Triple ids leaving ``entity`` (``forward``) or entering it (not ``forward``), optionally of one relation."""
        ptr, idx = self._out if forward else self._in
        ids = idx[ptr[entity]: ptr[entity + 1]]
        if relation is not None:
            ids = ids[self.triples[ids, 1] == relation]
        return ids

    def parse_step(self, step: str) -> tuple[int, bool]:
        """``"directed_by"`` -> (id, forward); ``"directed_by^-1"`` -> (id, backward)."""
        forward = not step.endswith(INVERSE)
        name = step[: -len(INVERSE)] if not forward else step
        if name not in self._relation_ids:
            raise KgAgentError(f"unknown relation {name!r}; known: {', '.join(self.relations[:20])}")
        return self._relation_ids[name], forward

    def neighbors(
        self, entity: int, relation: str | None = None, direction: str = "both"
    ) -> list[tuple[str, int, int]]:
        """Neighbours as ``(step, neighbour_id, triple_id)``; ``step`` carries ``^-1`` for incoming edges.

        ``direction`` is ``"out"``, ``"in"`` or ``"both"``.
        """
        if direction not in ("out", "in", "both"):
            raise KgAgentError(f"direction must be 'out', 'in' or 'both', not {direction!r}")
        if relation is not None and relation not in self._relation_ids:
            raise KgAgentError(f"unknown relation {relation!r}; known: {', '.join(self.relations[:20])}")
        rid = self.relation_id(relation) if relation is not None else None
        out: list[tuple[str, int, int]] = []
        if direction in ("out", "both"):
            for t in self.edges(entity, rid, forward=True):
                out.append((self.relations[self.triples[t, 1]], int(self.triples[t, 2]), int(t)))
        if direction in ("in", "both"):
            for t in self.edges(entity, rid, forward=False):
                out.append((self.relations[self.triples[t, 1]] + INVERSE, int(self.triples[t, 0]), int(t)))
        return out

    # ----------------------------------------------------------------- queries
    def follow(
        self, entities: Iterable[int], relation_path: Sequence[str], *, max_paths_per_entity: int = 3
    ) -> dict[int, list[Path_]]:
        """Walk ``relation_path`` from ``entities``; return reached entity -> up to a few evidence paths.

        Walks never return to a start entity (so "co-actor" walks do not answer the start itself) but may pass
        an intermediate entity twice: "the director of films by Alien's director" is Ridley Scott again. This is
        the semantics of multi-hop QA benchmarks such as MetaQA, and of ``training.qa_paths.PathIndex.execute``.
        """
        start = {int(e) for e in entities}
        frontier: dict[int, list[Path_]] = {e: [()] for e in start}
        for step in relation_path:
            rid, forward = self.parse_step(step)
            nxt: dict[int, list[Path_]] = {}
            col = 2 if forward else 0
            for ent, paths in frontier.items():
                for t in self.edges(ent, rid, forward=forward):
                    target = int(self.triples[t, col])
                    if target in start:
                        continue
                    bucket = nxt.setdefault(target, [])
                    room = max_paths_per_entity - len(bucket)
                    bucket.extend((*p, Step(int(t), forward)) for p in paths[:room])
            frontier = nxt
        return frontier

    def paths(self, a: int, b: int, max_hops: int = 3, *, limit: int = 20) -> list[Path_]:
        """Simple paths from ``a`` to ``b`` of at most ``max_hops`` edges, either direction, shortest first."""
        found: list[Path_] = []
        if max_hops < 1 or a == b:
            return found
        # Hop distance to b (ignoring direction), so the walk from a never enters a branch that cannot reach b
        # in the hops left: without it a hub-to-leaf query on a 40k-entity KG enumerates millions of paths.
        dist = self._hop_distances(b, max_hops - 1)  # (n_entities,) int64, -1 = farther than max_hops - 1
        queue: deque[tuple[int, Path_, frozenset[int]]] = deque([(a, (), frozenset({a}))])
        while queue and len(found) < limit:
            node, path, seen = queue.popleft()
            left = max_hops - len(path) - 1  # hops left after the next step
            for forward in (True, False):
                col = 2 if forward else 0
                for t in self.edges(node, forward=forward):
                    nb = int(self.triples[t, col])
                    if nb in seen:
                        continue
                    p = (*path, Step(int(t), forward))
                    if nb == b:
                        found.append(p)
                        if len(found) >= limit:
                            return found
                    elif 0 < dist[nb] <= left:
                        queue.append((nb, p, seen | {nb}))
        return found

    def _hop_distances(self, source: int, radius: int) -> np.ndarray:
        """Undirected hop distance from ``source`` for entities within ``radius`` hops, else -1."""
        dist = np.full(self.num_entities, -1, dtype=np.int64)
        dist[source] = 0
        frontier = np.array([source], dtype=np.int64)
        for d in range(1, radius + 1):
            if not len(frontier):
                break
            nbrs = np.concatenate([np.concatenate((self.triples[self.edges(int(n), forward=True), 2],
                                                   self.triples[self.edges(int(n), forward=False), 0]))
                                   for n in frontier])
            nbrs = np.unique(nbrs)
            frontier = nbrs[dist[nbrs] < 0]
            dist[frontier] = d
        return dist

    def subgraph(self, entities: Iterable[int], hops: int = 1, *, max_triples: int = 200) -> np.ndarray:
        """Triple ids of the ``hops``-neighbourhood of ``entities`` (both directions), at most ``max_triples``."""
        seen = {int(e) for e in entities}
        frontier = set(seen)
        chosen: list[int] = []
        chosen_set: set[int] = set()
        for _ in range(hops):
            nxt: set[int] = set()
            for e in sorted(frontier):
                for forward in (True, False):
                    for t in self.edges(e, forward=forward):
                        t = int(t)
                        if t in chosen_set:
                            continue
                        if len(chosen) >= max_triples:
                            return np.array(chosen, dtype=np.int64)
                        chosen.append(t)
                        chosen_set.add(t)
                        h, _, tl = self.triples[t]
                        for n in (int(h), int(tl)):
                            if n not in seen:
                                seen.add(n)
                                nxt.add(n)
            frontier = nxt
        return np.array(chosen, dtype=np.int64)

    def to_networkx(self, triple_ids: Iterable[int] | None = None) -> nx.MultiDiGraph:
        """A MultiDiGraph over entity ids (node attr ``label``; edge key and attr ``relation``, attr ``triple``)."""
        g = nx.MultiDiGraph()
        ids = range(self.num_triples) if triple_ids is None else triple_ids
        for t in ids:
            h, r, tl = (int(x) for x in self.triples[t])
            for n in (h, tl):
                if n not in g:
                    g.add_node(n, label=self.labels[n])
            g.add_edge(h, tl, key=self.relations[r], relation=self.relations[r], triple=int(t))
        return g

    @cached_property
    def graph(self) -> nx.MultiDiGraph:
        """The whole KG as a networkx MultiDiGraph (built on first use)."""
        return self.to_networkx()

    # ----------------------------------------------------------------- persistence
    FILES = ("entities.tsv", "relations.txt", "triples.npy", "aliases.json", "descriptions.json")

    def save(self, directory: str | Path) -> None:
        """Write the KG to ``directory`` in plain formats, atomically (all files or none)."""
        with atomic_dir(directory) as tmp:
            with open(tmp / "entities.tsv", "w", encoding="utf-8") as f:
                f.write("id\tkey\tlabel\tliteral\n")
                for i, (k, lab) in enumerate(zip(self.entities, self.labels, strict=True)):
                    f.write(f"{i}\t{_esc(k)}\t{_esc(lab)}\t{int(self.literal[i])}\n")
            (tmp / "relations.txt").write_text("".join(f"{_esc(r)}\n" for r in self.relations), encoding="utf-8")
            np.save(tmp / "triples.npy", self.triples, allow_pickle=False)
            (tmp / "aliases.json").write_text(json.dumps({str(k): v for k, v in self.aliases.items()},
                                                         ensure_ascii=False), encoding="utf-8")
            (tmp / "descriptions.json").write_text(
                json.dumps({str(k): v for k, v in self.descriptions.items()}, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path) -> KnowledgeGraph:
        """Read a KG written by :meth:`save`."""
        d = Path(directory)
        missing = [f for f in cls.FILES if not (d / f).is_file()]
        if missing:
            raise WorkspaceError(f"{d}: not a saved KG (missing {', '.join(missing)}); run `kgagent kg load` first")
        keys: list[str] = []
        labels: list[str] = []
        lit: list[bool] = []
        lines = read_text(d / "entities.tsv").split("\n")
        for n, line in enumerate(lines[1:], start=2):
            if not line and n == len(lines):
                break
            parts = line.split("\t")
            if len(parts) != 4:
                raise damaged(f"{d / 'entities.tsv'}:{n}", "corrupt entity row")
            keys.append(_unesc(parts[1]))
            labels.append(_unesc(parts[2]))
            lit.append(parts[3] == "1")
        rels = [_unesc(x) for x in read_text(d / "relations.txt").split("\n")[:-1]]
        triples = read_npy(d / "triples.npy", ndim=2, kind="iu")
        check_ids(d / "triples.npy", triples, len(keys), len(rels))
        aliases = parse(d / "aliases.json", "aliases", lambda: {
            int(k): _strings(v) for k, v in read_json(d / "aliases.json").items()})
        desc = parse(d / "descriptions.json", "descriptions", lambda: {
            int(k): _strings([v])[0] for k, v in read_json(d / "descriptions.json").items()})
        for name, table in (("aliases.json", aliases), ("descriptions.json", desc)):
            if any(not 0 <= k < len(keys) for k in table):
                raise damaged(d / name, f"entity ids out of range ({len(keys)} entities in entities.tsv)")
        return cls(entities=keys, relations=rels, triples=triples, labels=labels, aliases=aliases,
                   descriptions=desc, literal=np.array(lit, dtype=bool))

    def stats(self) -> dict:
        """Counts, relation frequencies and degree statistics (the ``kg stats`` report)."""
        deg = self.degrees()
        freq = np.bincount(self.triples[:, 1], minlength=self.num_relations) if self.num_triples \
            else np.zeros(self.num_relations, dtype=np.int64)
        order = np.argsort(-freq, kind="stable")
        return {
            "triples": self.num_triples,
            "entities": self.num_entities,
            "relations": self.num_relations,
            "literals": int(self.literal.sum()),
            "relation_frequencies": {self.relations[i]: int(freq[i]) for i in order},
            "degree": {
                "mean": float(deg.mean()) if len(deg) else 0.0,
                "median": float(np.median(deg)) if len(deg) else 0.0,
                "max": int(deg.max()) if len(deg) else 0,
                "isolated": int((deg == 0).sum()),
            },
        }


def _strings(values: object) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise TypeError(f"expected a list of strings, found {values!r:.60}")
    return values


def _rows_in(rows: np.ndarray, table: np.ndarray, n_entities: int, n_relations: int) -> np.ndarray:
    """``(len(rows),)`` bool: each ``[h, r, t]`` row of ``rows`` occurs in ``table`` (ids below the given counts)."""
    def key(x: np.ndarray) -> np.ndarray:  # one int64 per triple: ((h * R) + r) * E + t
        return (x[:, 0] * n_relations + x[:, 1]) * n_entities + x[:, 2]

    if not len(rows) or not len(table):
        return np.zeros(len(rows), dtype=bool)
    return np.isin(key(rows), key(table))


def _csr(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Group triple ids by ``keys``: ids of key ``k`` are ``idx[ptr[k]:ptr[k+1]]``."""
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return ptr, order


def _esc(s: str) -> str:
    # \r too: text-mode reading turns a bare \r into a line break
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


_UNESC = re.compile(r"\\(.)", re.DOTALL)
_UNESC_MAP = {"t": "\t", "n": "\n", "r": "\r"}


def _unesc(s: str) -> str:
    if "\\" not in s:  # the common case: nothing escaped
        return s
    return _UNESC.sub(lambda m: _UNESC_MAP.get(m.group(1), m.group(1)), s)
