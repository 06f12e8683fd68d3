"""The workspace's ``index/`` folder: ``build_index`` writes it, ``open_retriever`` opens it for the agent.

Layout::

    WS/index/entities/   one vector per entity name or alias; records {"entity": id, "name": str}
    WS/index/passages/   verbalized triples, descriptions, document chunks; records {"text", "source"}
    WS/index/config.json the IndexConfig used, the encoder's dimension, counts
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from kgagent.kg import KnowledgeGraph, Workspace
from kgagent.kg.budget import Deadline
from kgagent.kg.config import make_config
from kgagent.kg.errors import InputError, WorkspaceError
from kgagent.kg.io import atomic_dir
from kgagent.retrieval.config import IndexConfig
from kgagent.retrieval.encoder import TextEncoder, default_encoder_path
from kgagent.retrieval.index import Hit, VectorIndex
from kgagent.retrieval.linker import EntityLinker, LinkerConfig, Mention
from kgagent.retrieval.passages import Passage, build_passages

log = logging.getLogger(__name__)


@dataclass
class IndexResult:
    """What ``build_index`` wrote: counts, index kinds and timings (``metrics``), and the config it used."""

    metrics: dict[str, Any]
    config: IndexConfig

    def as_dict(self) -> dict[str, Any]:
        return dict(self.metrics)


def build_index(
    kg: KnowledgeGraph,
    *,
    out_dir: str | Path,
    config: IndexConfig | None = None,
    encoder: TextEncoder | None = None,
    progress: bool = True,
) -> IndexResult:
    """Encode the names and passages of ``kg`` into ``out_dir`` (a workspace's ``index/``, written atomically).

    ``encoder`` defaults to ``TextEncoder(config.encoder)``. Under ``config.max_seconds`` the names come first,
    best connected entities first, as many as the time allows, then the passages (``names_left`` and
    ``passages_left`` count the rest; ``retrieval.update.complete_index`` adds them). A name left out is still
    linked by its spelling (the linker's dictionary); only the dense fallback for misspellings lacks it. Reading
    ``[index]`` of ``kgagent.toml`` and recording the step in the manifest is the build layer's business
    (``agent.build.index_step``).

    >>> build_index(kg, out_dir="ws/index").metrics  # doctest: +SKIP
    {'entity_names': 52013, 'passages': 133582, 'entities_kind': 'flat', 'passages_kind': 'flat', ...}
    """
    out_dir = Path(out_dir)
    config = config or IndexConfig()
    deadline = Deadline(config.max_seconds)
    t0 = time.perf_counter()
    encoder = encoder or TextEncoder(
        config.encoder, batch_size=config.batch_size, max_length=config.max_length
    )

    names = name_records(kg)
    if not names:
        raise InputError("the KG has no entities to index", field="kg")
    passages = build_passages(kg, config)
    parts: dict[str, float] = {}  # where the time goes: encoding vs building each index

    def timed(part: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t = time.perf_counter()
        out = fn(*args, **kwargs)
        parts[part] = time.perf_counter() - t
        return out

    t_encode = time.perf_counter()
    if deadline.seconds is not None:  # a cut keeps the names of the best connected entities
        degree = kg.degrees()
        names.sort(key=lambda r: -degree[r["entity"]])
    first_guess = _ClockCosts(encode=0.0, index=_insert_cost(len(names), config))
    name_vecs, n_names = timed("encode_names", _encode_within, encoder, [r["name"] for r in names], deadline,
                               first_guess, progress, "encoding names")
    entities = timed("index_names", VectorIndex.build, name_vecs, names[:n_names], config=config,
                     progress=progress, desc="indexing names", expected=len(names))
    passage_index = None
    chosen = passages
    if passages:
        cost = _ClockCosts.of(parts, n_names, entities.kind, len(passages), config)
        chosen = _passage_order(passages) if deadline.seconds is not None else passages
        vecs, n_chosen = timed("encode_passages", _encode_within, encoder, [p.text for p in chosen], deadline,
                               cost, progress, "encoding passages", first=0)
        chosen = chosen[:n_chosen]
        if chosen:
            passage_index = timed("index_passages", VectorIndex.build, vecs, [p.as_record() for p in chosen],
                                  config=config, progress=progress, desc="indexing passages",
                                  expected=len(passages))
    encode_s = time.perf_counter() - t_encode

    report: dict[str, Any] = {
        "entity_names": len(entities),
        "names_total": len(names),
        "names_left": len(names) - len(entities),
        "passages": len(chosen),
        "passages_total": len(passages),
        "passages_left": len(passages) - len(chosen),
        "dim": encoder.dim,
        "entities_kind": entities.kind,
        "passages_kind": passage_index.kind if passage_index else None,
        "passage_kinds": {
            k: sum(p.source["kind"] == k.rstrip("s") for p in chosen) for k in config.passages
        },
    }
    # None: the bundled default, found again on whichever machine opens the workspace
    name = None if Path(encoder.name) == default_encoder_path() else encoder.name
    save_index(out_dir, entities, passage_index, {"config": asdict(config), "encoder": name, **report})
    report["encode_index_seconds"] = round(encode_s, 2)
    report["part_seconds"] = {k: round(v, 2) for k, v in parts.items()}
    report["seconds"] = round(time.perf_counter() - t0, 2)
    log.info("index in %s: %d names, %d passages in %.1f s", out_dir, len(entities), len(chosen),
             report["seconds"])
    if report["names_left"]:
        log.warning("index: %d of %d entity names left out by the time limit (linking still finds them by "
                    "spelling); `kgagent index WS --resume` adds them", report["names_left"], len(names))
    if report["passages_left"]:
        log.warning("index: %d of %d passages left out by the time limit; `kgagent index WS --resume` adds them",
                    report["passages_left"], len(passages))
    return IndexResult(report, config)


TEXT_CHUNK = 2048  # texts encoded between two looks at the clock under a time limit
HNSW_SECONDS_PER_VECTOR = 4e-4  # insertion cost where no HNSW was built yet (0.24-0.36 ms measured, 2 cores)


def _insert_cost(n: int, config: IndexConfig) -> float:
    """Seconds to index one of ``n`` vectors before any was timed: HNSW inserts; flat and IVF adds are cheap next
    to encoding."""
    from kgagent.retrieval.index import choose_kind

    return HNSW_SECONDS_PER_VECTOR if choose_kind(n, config)[0] == "hnsw" else 0.0


@dataclass(frozen=True)
class _ClockCosts:
    """Seconds per text to encode (0: not known yet) and to index (HNSW inserts)."""

    encode: float
    index: float

    @classmethod
    def of(cls, parts: dict[str, float], n_names: int, names_kind: str, n_passages: int,
           config: IndexConfig) -> _ClockCosts:
        """Passages' first guess: a name's encoding; inserts as the names' took, or the default cost."""
        index = _insert_cost(n_passages, config)
        if index and names_kind == "hnsw":
            index = 1.5 * parts["index_names"] / n_names  # a larger graph costs more per insert
        return cls(parts["encode_names"] / n_names, index)


def _passage_order(passages: list[Passage]) -> list[Passage]:
    """Descriptions and documents first, then the triples in a seeded random order, so that a cut leaves a sample
    of the whole graph."""
    import numpy as np

    triples = [p for p in passages if p.source.get("kind") == "triple"]
    order = [p for p in passages if p.source.get("kind") != "triple"]
    return order + [triples[i] for i in np.random.default_rng(0).permutation(len(triples))]


def _encode_within(encoder: TextEncoder, texts: list[str], deadline: Deadline, cost: _ClockCosts,
                   progress: bool, desc: str, first: int | None = None) -> tuple[Any, int]:
    """``(vectors, n)``: the first ``n`` of ``texts`` encoded, all of them without a deadline; under one, chunk by
    chunk while the next chunk, and indexing everything encoded, still fit (the first ``first`` always: an
    index is never empty)."""
    import numpy as np
    from tqdm.auto import tqdm

    if deadline.seconds is None:
        return encoder.encode(texts, progress=progress, desc=desc), len(texts)
    first = TEXT_CHUNK if first is None else first
    vecs: list[Any] = []
    done, per_text = 0, cost.encode
    with tqdm(total=len(texts), desc=desc, unit="text", disable=not progress, leave=False) as bar:
        while done < len(texts):
            chunk = texts[done: done + TEXT_CHUNK]
            if done >= first:
                left = deadline.left() or 0.0
                if left <= 0.0 or per_text * len(chunk) + cost.index * (done + len(chunk)) > left:
                    break
            t = time.perf_counter()
            vecs.append(encoder.encode(chunk))
            per_text = (time.perf_counter() - t) / len(chunk)
            done += len(chunk)
            bar.update(len(chunk))
    out = np.concatenate(vecs) if vecs else np.empty((0, encoder.dim), dtype=np.float32)
    return out, done


def name_records(kg: KnowledgeGraph) -> list[dict[str, Any]]:
    """``{"entity", "name"}`` for every name and alias of every entity that has triples (an entity that lost
    all its triples to ``kgagent kg remove`` keeps its id but is no longer found)."""
    live = kg.degrees() > 0
    return [{"entity": e, "name": n} for e in range(kg.num_entities) if live[e] for n in kg.names(e)]


def save_index(out_dir: str | Path, entities: VectorIndex, passages: VectorIndex | None,
               meta: dict[str, Any]) -> None:
    """Write an index folder (``WS/index``) atomically: both indexes and ``config.json`` (``meta``: config,
    encoder, counts)."""
    with atomic_dir(out_dir) as tmp:
        entities.save(tmp / "entities")
        if passages is not None:
            passages.save(tmp / "passages")
        (tmp / "config.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def index_meta(ws: Workspace) -> tuple[IndexConfig, dict[str, Any]]:
    """The ``IndexConfig`` and the whole ``config.json`` (encoder, counts) of ``WS/index``."""
    meta_path = ws.require("index") / "config.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return make_config(IndexConfig, meta["config"], where=str(meta_path)), meta
    except FileNotFoundError:
        raise WorkspaceError(f"{meta_path}: missing; run `kgagent index WS`") from None
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise InputError(f"corrupt index settings ({e}); run `kgagent index WS`", path=meta_path) from e


@dataclass(frozen=True)
class SearchHit:
    """A passage or entity-name hit with a readable citation of its source."""

    score: float
    text: str
    source: dict[str, Any]

    def cite(self) -> str:
        return describe_source(self.source)


def describe_source(source: dict[str, Any]) -> str:
    """``{"kind": "triple", "triples": [7]}`` -> ``"triple 7"``; a document: ``"a.md chunk 2 (line 40)"``."""
    kind = source.get("kind")
    if kind == "triple":
        return "triple " + ", ".join(str(t) for t in source.get("triples", []))
    if kind == "description":
        return f"description of entity {source.get('entity')}"
    if kind == "document":
        return f"{source.get('file')} chunk {source.get('chunk')} (line {source.get('line')})"
    if kind == "entity":
        return f"entity {source.get('entity')}"
    return json.dumps(source, ensure_ascii=False)


class Retriever:
    """The workspace's KG, indexes and linker, loaded once; the encoder loads on the first text query.

    >>> r = open_retriever("ws/")  # doctest: +SKIP
    >>> r.link("who directed alien")[0].entity  # doctest: +SKIP
    >>> [h.cite() for h in r.search("films by Ridley Scott", k=3)]  # doctest: +SKIP
    """

    def __init__(
        self,
        kg: KnowledgeGraph,
        *,
        entities: VectorIndex | None = None,
        passages: VectorIndex | None = None,
        config: IndexConfig | None = None,
        encoder_name: str | None = None,
        linker_config: LinkerConfig | None = None,
    ) -> None:
        self.kg = kg
        self.entities = entities
        self.passages = passages
        self.config = config or IndexConfig()
        self.encoder_name = encoder_name
        self.linker = EntityLinker(kg, config=linker_config, dense=self._dense_names if entities else None)

    @cached_property
    def encoder(self) -> TextEncoder:
        return TextEncoder(
            self.encoder_name, batch_size=self.config.batch_size, max_length=self.config.max_length
        )

    def link(self, text: str, context: Any = ()) -> list[Mention]:
        """Entity mentions in ``text`` (see ``EntityLinker.link``)."""
        return self.linker.link(text, context)

    def search(self, text: str, k: int = 5) -> list[SearchHit]:
        """The ``k`` passages closest to ``text``, each with its source."""
        if self.passages is None:
            raise WorkspaceError(
                "this workspace has no passage index (no passages were indexed); "
                "set [index] passages and run `kgagent index WS`"
            )
        hits = self.passages.search(self.encoder.encode([text]), k)[0]
        return [SearchHit(h.score, h.record["text"], h.record["source"]) for h in hits]

    def search_entities(self, text: str, k: int = 5) -> list[SearchHit]:
        """The ``k`` entity names or aliases closest to ``text``."""
        hits = self._entity_hits(text, k)
        return [
            SearchHit(h.score, h.record["name"], {"kind": "entity", "entity": h.record["entity"]})
            for h in hits
        ]

    def _entity_hits(self, text: str, k: int) -> list[Hit]:
        if self.entities is None:
            raise WorkspaceError("this workspace has no entity index; run `kgagent index WS`")
        return self.entities.search(self.encoder.encode([text]), k)[0]

    def _dense_names(self, text: str, k: int) -> list[tuple[int, str, float]]:
        return [(int(h.record["entity"]), h.record["name"], h.score) for h in self._entity_hits(text, k)]


def open_retriever(
    workspace: str | Path | Workspace,
    *,
    require_index: bool = True,
    linker_config: LinkerConfig | None = None,
    kg: KnowledgeGraph | None = None,
) -> Retriever:
    """Load ``WS/kg`` (unless ``kg`` is given) and ``WS/index`` once. Without ``require_index``, a workspace
    with no index still gives a linker (exact and fuzzy matching, no dense candidates). ``linker_config``
    defaults to ``[linker]`` of ``WS/kgagent.toml``."""
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    kg = kg if kg is not None else KnowledgeGraph.load(ws.require("kg"))
    linker_config = linker_config or ws.config("linker", LinkerConfig)
    if not ws.index_dir.exists() and not require_index:
        return Retriever(kg, linker_config=linker_config)
    index_dir = ws.require("index")
    config, meta = index_meta(ws)
    entities = VectorIndex.load(index_dir / "entities", gpu=config.gpu)
    passages = None
    if (index_dir / "passages").exists():
        passages = VectorIndex.load(index_dir / "passages", gpu=config.gpu)
    return Retriever(
        kg,
        entities=entities,
        passages=passages,
        config=config,
        encoder_name=meta.get("encoder"),
        linker_config=linker_config,
    )


def open_linker(workspace: str | Path | Workspace, *, kg: KnowledgeGraph | None = None,
                config: LinkerConfig | None = None) -> EntityLinker:
    """The workspace's entity linker, with dense candidates from its name index when it has one."""
    return open_retriever(workspace, require_index=False, linker_config=config, kg=kg).linker
