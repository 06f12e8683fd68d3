"""``VectorIndex``: FAISS inner-product search over unit vectors, with stable ids and a record store.

Layout of a saved index folder (written atomically: all files or none)::

    index.faiss     the FAISS index in CPU form (IndexIDMap2 over flat/HNSW; IVF keeps ids itself)
    records.jsonl   one ``[id, record]`` per line, ids ascending
    index.json      kind, dim, parameters, next id, tombstones, count, sha256 of index.faiss
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kgagent.kg.errors import InputError, KgAgentError, WorkspaceError
from kgagent.kg.io import atomic_dir
from kgagent.kg.workspace import sha256_file
from kgagent.retrieval.config import IndexConfig

log = logging.getLogger(__name__)
FORMAT = 1
_ADD_CHUNK = 50_000  # vectors per faiss add call: bounds temporary memory and drives the progress bar


@dataclass(frozen=True)
class Hit:
    """One search result: the stable vector id, its inner product with the query, and its record."""

    id: int
    score: float
    record: dict[str, Any]


# ----------------------------------------------------------------- index kinds (registry)
@dataclass(frozen=True)
class IndexKind:
    """How to make one kind of FAISS index and how to search it.

    ``removable``: FAISS can delete from it (else removed ids become tombstones filtered at search time);
    ``gpu``: FAISS has a GPU implementation of it.
    """

    create: Callable[[int, int, dict[str, Any]], Any]  # (dim, expected n, params) -> faiss.Index
    search_params: Callable[
        [dict[str, Any], Any], Any
    ]  # (params, selector or None) -> faiss.SearchParameters
    removable: bool
    gpu: bool
    needs_training: bool = False
    native_ids: bool = (
        False  # takes ids itself; else wrapped in IndexIDMap2 (IDMap2 over IVF mis-maps removals)
    )


def _flat(dim: int, n: int, params: dict[str, Any]) -> Any:
    import faiss

    return faiss.IndexFlatIP(dim)


def _hnsw(dim: int, n: int, params: dict[str, Any]) -> Any:
    import faiss

    index = faiss.IndexHNSWFlat(dim, int(params["m"]), faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = int(params["ef_construction"])
    index.hnsw.efSearch = int(params["ef_search"])
    return index


def _ivf_nlist(n: int, params: dict[str, Any]) -> int:
    # 4 * sqrt(n) lists, each trained on >= 39 points (FAISS's own lower bound for k-means).
    nlist = int(params.get("nlist") or 4 * math.sqrt(max(n, 1)))
    return max(1, min(nlist, max(1, n // 39)))


def _ivf(dim: int, n: int, params: dict[str, Any]) -> Any:
    import faiss

    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, _ivf_nlist(n, params), faiss.METRIC_INNER_PRODUCT)
    index.nprobe = int(params["nprobe"])
    index.set_direct_map_type(faiss.DirectMap.Hashtable)  # reconstruct by id, removals allowed
    return index  # faiss's Python wrapper keeps ``quantizer`` alive as long as ``index``


def _flat_params(params: dict[str, Any], sel: Any) -> Any:
    import faiss

    return faiss.SearchParameters(sel=sel) if sel is not None else None


def _hnsw_params(params: dict[str, Any], sel: Any) -> Any:
    import faiss

    p = faiss.SearchParametersHNSW(efSearch=int(params["ef_search"]))
    if sel is not None:
        p.sel = sel
    return p


def _ivf_params(params: dict[str, Any], sel: Any) -> Any:
    import faiss

    p = faiss.SearchParametersIVF(nprobe=int(params["nprobe"]))
    if sel is not None:
        p.sel = sel
    return p


INDEX_KINDS: dict[str, IndexKind] = {
    "flat": IndexKind(_flat, _flat_params, removable=True, gpu=True),
    "hnsw": IndexKind(_hnsw, _hnsw_params, removable=False, gpu=False),
    "ivf": IndexKind(_ivf, _ivf_params, removable=True, gpu=True, needs_training=True, native_ids=True),
}


def faiss_gpus() -> int:
    """Number of GPUs FAISS can use (0 with faiss-cpu, which lacks ``StandardGpuResources``)."""
    import faiss

    if not hasattr(faiss, "StandardGpuResources"):
        return 0
    return int(faiss.get_num_gpus())


@contextlib.contextmanager
def _omp_threads(n_queries: int) -> Iterator[None]:
    """Cap FAISS's OpenMP threads (of the calling thread) at ``n_queries`` for one call."""
    import faiss

    before = faiss.omp_get_max_threads()
    if n_queries >= before:
        yield
        return
    faiss.omp_set_num_threads(max(1, n_queries))
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def choose_kind(n: int, config: IndexConfig) -> tuple[str, dict[str, Any]]:
    """Exact search below ``config.exact_threshold`` vectors, else the configured approximate kind."""
    if n < config.exact_threshold:
        return "flat", {}
    kind = config.approximate
    if kind == "auto":
        # FAISS has no GPU HNSW. On a GPU, brute force stays exact and fast into the millions, while IVF on
        # sentence vectors needed a third of its lists probed for recall@10 0.97 (BENCHMARKS.md): stay flat.
        kind = "flat" if config.gpu and faiss_gpus() > 0 else "hnsw"
    if kind == "flat":
        return kind, {}
    if kind == "hnsw":
        return kind, {
            "m": config.hnsw_m,
            "ef_construction": config.hnsw_ef_construction,
            "ef_search": config.hnsw_ef_search,
        }
    return kind, {"nlist": config.ivf_nlist, "nprobe": config.ivf_nprobe}


# ----------------------------------------------------------------- the index
@dataclass
class VectorIndex:
    """Vectors with stable int ids and a record per id; inner-product search on unit vectors.

    Vectors are L2-normalized on the way in, so scores are cosine similarities.

    >>> import numpy as np
    >>> ix = VectorIndex(dim=2)
    >>> ids = ix.add(np.array([[1, 0], [0, 1]], dtype="float32"), [{"name": "a"}, {"name": "b"}])
    >>> [h.record["name"] for h in ix.search(np.array([[0.9, 0.1]], dtype="float32"), k=1)[0]]
    ['a']
    """

    dim: int
    kind: str = "flat"
    params: dict[str, Any] = field(default_factory=dict)
    expected_size: int = 0  # sizes IVF's list count when it is trained on the first add
    gpu: bool = True

    def __post_init__(self) -> None:
        import faiss

        if self.kind not in INDEX_KINDS:
            raise KgAgentError(f"unknown index kind {self.kind!r}; known: {', '.join(INDEX_KINDS)}")
        if not isinstance(self.dim, int) or self.dim <= 0:
            raise InputError(f"dimension must be a positive integer, not {self.dim!r}", field="dim")
        self._spec = INDEX_KINDS[self.kind]
        base = self._spec.create(self.dim, self.expected_size, self.params)
        self._cpu = base if self._spec.native_ids else faiss.IndexIDMap2(base)
        self._records: dict[int, dict[str, Any]] = {}
        self._deleted: set[int] = set()  # tombstones of kinds FAISS cannot delete from
        self._selector: Any = None
        self._next_id = 0
        self._gpu_index: Any = None
        self._gpu_stale = True
        self.device = "cpu"

    # ------------------------------------------------------------- building
    @classmethod
    def build(
        cls,
        vectors: np.ndarray,
        records: Sequence[dict[str, Any]],
        *,
        config: IndexConfig | None = None,
        progress: bool = False,
        desc: str = "indexing",
        expected: int = 0,
    ) -> VectorIndex:
        """Index ``vectors`` (``(n, d)``) with one record each; the kind follows the collection size, or
        ``expected`` where more vectors will be added later (a time-limited build)."""
        config = config or IndexConfig()
        vectors = np.asarray(vectors)
        if vectors.ndim != 2 or len(vectors) == 0:
            raise InputError(
                f"cannot build an index from an empty collection (got shape {vectors.shape})", field="vectors"
            )
        size = max(len(vectors), expected)
        kind, params = choose_kind(size, config)
        index = cls(dim=int(vectors.shape[1]), kind=kind, params=params, expected_size=size, gpu=config.gpu)
        index.add(vectors, records, progress=progress, desc=desc)
        index._log_placement()
        return index

    def add(
        self,
        vectors: np.ndarray,
        records: Sequence[dict[str, Any]] | None = None,
        *,
        progress: bool = False,
        desc: str = "indexing",
    ) -> np.ndarray:
        """Add vectors (``(n, d)``) and their records without rebuilding; returns their new ids ``(n,)``."""
        from tqdm.auto import tqdm

        x = self._check(vectors, "vectors")
        records = [{} for _ in range(len(x))] if records is None else list(records)
        if len(records) != len(x):
            raise InputError(f"{len(x)} vectors but {len(records)} records", field="records")
        if not all(isinstance(r, dict) for r in records):
            raise InputError("every record must be a dict", field="records")
        if len(x) == 0:
            return np.empty(0, dtype=np.int64)
        if self._spec.needs_training and not self._cpu.is_trained:
            self._train(x)
        ids = np.arange(self._next_id, self._next_id + len(x), dtype=np.int64)
        with tqdm(total=len(x), desc=desc, unit="vec", disable=not progress, leave=False) as bar:
            for s in range(0, len(x), _ADD_CHUNK):
                self._cpu.add_with_ids(x[s : s + _ADD_CHUNK], ids[s : s + _ADD_CHUNK])
                if self._gpu_index is not None and not self._gpu_stale:
                    self._gpu_index.add_with_ids(x[s : s + _ADD_CHUNK], ids[s : s + _ADD_CHUNK])
                bar.update(min(_ADD_CHUNK, len(x) - s))
        self._next_id += len(x)
        self._records.update(zip(ids.tolist(), records, strict=True))
        return ids

    def _train(self, x: np.ndarray) -> None:
        # IVF: k-means on a sample; 64 points per list is plenty for the coarse quantizer.
        import faiss

        ivf = self._cpu if self._spec.native_ids else faiss.downcast_index(self._cpu.index)
        n_train = min(len(x), 64 * ivf.nlist)
        sample = x[np.random.default_rng(0).choice(len(x), n_train, replace=False)] if n_train < len(x) else x
        log.info("training IVF (%d lists) on %d vectors", ivf.nlist, len(sample))
        ivf.train(sample)

    def remove(self, ids: Iterable[int]) -> int:
        """Remove vectors and their records by id; unknown ids are ignored. Returns how many were removed."""
        import faiss

        ids = np.fromiter((int(i) for i in ids), dtype=np.int64)
        ids = np.array([i for i in np.unique(ids) if int(i) in self._records], dtype=np.int64)
        if len(ids) == 0:
            return 0
        if self._spec.removable:
            # IVF's hashtable direct map takes only an array selector; a batch (hash set) is faster elsewhere
            sel = faiss.IDSelectorArray(ids) if self._spec.native_ids else faiss.IDSelectorBatch(ids)
            self._cpu.remove_ids(sel)
        else:
            self._deleted.update(ids.tolist())
            self._selector = None
        for i in ids.tolist():
            del self._records[i]
        self._gpu_stale = True  # GPU replicas are re-copied from the CPU index at the next search
        return len(ids)

    # ------------------------------------------------------------- search
    def search(self, queries: np.ndarray, k: int = 10) -> list[list[Hit]]:
        """The ``k`` nearest vectors of each query (``(q, d)`` or ``(d,)``), best first."""
        q = self._check(queries, "queries")
        if len(self) == 0:
            raise InputError("the index is empty: add vectors before searching", field="index")
        if k <= 0:
            raise InputError(f"k must be positive, not {k}", field="k")
        k = min(k, len(self))
        params = self._spec.search_params(self.params, self._tombstones())
        # FAISS parallelizes over queries: for one query, other OpenMP threads only spin, which on a busy
        # machine made a flat search 7x slower (BENCHMARKS.md). Use at most one thread per query.
        with _omp_threads(len(q)):
            scores, ids = self._searcher().search(q, k, params=params)  # (q, k), (q, k); -1 pads missing hits
        out: list[list[Hit]] = []
        for row_s, row_i in zip(scores, ids, strict=True):
            out.append(
                [
                    Hit(int(i), float(s), self._records[int(i)])
                    for s, i in zip(row_s, row_i, strict=True)
                    if i >= 0 and int(i) in self._records
                ]
            )
        return out

    def _tombstones(self) -> Any:
        import faiss

        if not self._deleted:
            return None
        if self._selector is None:
            batch = faiss.IDSelectorBatch(np.fromiter(self._deleted, dtype=np.int64))
            self._selector = faiss.IDSelectorNot(batch)
            self._selector_parts = batch  # the Not selector does not own its argument
        return self._selector

    def placement(self) -> tuple[str, str]:
        """Where searches run and why: ``("cuda:0", ...)`` or ``("cpu", reason)``."""
        if not self.gpu:
            return "cpu", "GPU use is switched off ([index] gpu = false)"
        if faiss_gpus() == 0:
            return "cpu", "FAISS sees no GPU (faiss-cpu, or no CUDA device)"
        if not self._spec.gpu:
            return "cpu", f"FAISS has no GPU implementation of {self.kind}"
        return "cuda:0", "FAISS GPU resources on device 0"

    def _searcher(self) -> Any:
        device, _ = self.placement()
        if device == "cpu":
            return self._cpu
        if self._gpu_stale or self._gpu_index is None:
            import faiss

            # The CPU index stays the reference copy (add/remove/save); the GPU copy serves searches and is
            # re-copied after a removal.
            self._gpu_res = getattr(self, "_gpu_res", None) or faiss.StandardGpuResources()
            self._gpu_index = faiss.index_cpu_to_gpu(self._gpu_res, 0, self._cpu)
            self._gpu_stale = False
            self.device = device
            log.info("FAISS %s index copied to GPU 0 (%d vectors)", self.kind, len(self))
        return self._gpu_index

    def _log_placement(self) -> None:
        device, why = self.placement()
        log.info("FAISS %s index of %d vectors searches on %s: %s", self.kind, len(self), device, why)

    # ------------------------------------------------------------- records and sizes
    def __len__(self) -> int:
        return len(self._records)

    def record(self, id: int) -> dict[str, Any]:
        """The record stored with vector ``id``."""
        try:
            return self._records[int(id)]
        except KeyError:
            raise KgAgentError(f"no vector with id {id} in this index") from None

    def ids(self) -> np.ndarray:
        """The ids of the live vectors, ascending."""
        return np.array(sorted(self._records), dtype=np.int64)

    def items(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(id, record)`` of every live vector, ascending ids."""
        for i in sorted(self._records):
            yield i, self._records[i]

    def set_records(self, records: dict[int, dict[str, Any]]) -> None:
        """Replace the records of live vectors (e.g. renumbered sources), keeping the vectors."""
        unknown = [i for i in records if int(i) not in self._records]
        if unknown:
            raise KgAgentError(f"no vectors with ids {unknown[:5]} in this index")
        self._records.update({int(i): r for i, r in records.items()})

    def reconstruct(self, id: int) -> np.ndarray:
        """The stored (normalized) vector of ``id``, ``(d,)``."""
        self.record(id)
        return self._cpu.reconstruct(int(id))

    # ------------------------------------------------------------- persistence
    FILES = ("index.faiss", "records.jsonl", "index.json")

    def save(self, directory: str | Path) -> None:
        """Write the index, its records and its settings to ``directory``, atomically."""
        import faiss

        with atomic_dir(directory) as tmp:
            faiss.write_index(self._cpu, str(tmp / "index.faiss"))
            with open(tmp / "records.jsonl", "w", encoding="utf-8") as f:
                for i in sorted(self._records):
                    f.write(json.dumps([i, self._records[i]], ensure_ascii=False) + "\n")
            meta = {
                "format": FORMAT,
                "kind": self.kind,
                "dim": self.dim,
                "params": self.params,
                "next_id": self._next_id,
                "count": len(self),
                "deleted": sorted(self._deleted),
                "sha256": sha256_file(tmp / "index.faiss"),
            }
            (tmp / "index.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path, *, gpu: bool = True) -> VectorIndex:
        """Read an index written by :meth:`save`; missing or corrupt files raise a ``KgAgentError``."""
        import faiss

        d = Path(directory)
        missing = [f for f in cls.FILES if not (d / f).is_file()]
        if missing:
            raise WorkspaceError(
                f"{d}: not a saved index (missing {', '.join(missing)}); run `kgagent index WS`"
            )
        try:
            meta = json.loads((d / "index.json").read_text(encoding="utf-8"))
            kind, dim = meta["kind"], int(meta["dim"])
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as e:
            raise InputError(f"corrupt index settings ({e})", path=d / "index.json") from e
        if meta.get("format") != FORMAT or kind not in INDEX_KINDS:
            raise InputError(
                f"unsupported index format {meta.get('format')!r} / kind {kind!r}", path=d / "index.json"
            )
        if meta.get("sha256") != sha256_file(d / "index.faiss"):
            raise InputError(
                "checksum mismatch: the file is corrupt or was changed; rebuild with `kgagent index WS`",
                path=d / "index.faiss",
            )
        try:
            cpu = faiss.read_index(str(d / "index.faiss"))
        except RuntimeError as e:
            raise InputError(
                f"corrupt FAISS index ({str(e).splitlines()[-1]})", path=d / "index.faiss"
            ) from e
        self = cls(dim=dim, kind=kind, params=dict(meta.get("params", {})), gpu=gpu)
        expected = faiss.IndexIVFFlat if self._spec.native_ids else faiss.IndexIDMap2
        if not isinstance(cpu, expected) or cpu.d != dim:
            raise InputError(
                f"index does not match its settings (expected a {dim}-d {kind} index)", path=d / "index.faiss"
            )
        self._cpu = cpu
        self._next_id = int(meta.get("next_id", 0))
        self._deleted = {int(i) for i in meta.get("deleted", [])}
        with open(d / "records.jsonl", encoding="utf-8") as f:
            for n, line in enumerate(f, start=1):
                try:
                    i, rec = json.loads(line)
                    self._records[int(i)] = rec
                except (json.JSONDecodeError, ValueError, TypeError) as e:
                    raise InputError(f"corrupt record ({e})", path=d / "records.jsonl", line=n) from e
        if len(self._records) != int(meta.get("count", -1)) or cpu.ntotal - len(self._deleted) != len(self):
            raise InputError(
                f"{len(self)} records for {cpu.ntotal - len(self._deleted)} vectors "
                f"(settings say {meta.get('count')})",
                path=d / "records.jsonl",
            )
        self._log_placement()
        return self

    # ------------------------------------------------------------- checks
    def _check(self, vectors: Any, what: str) -> np.ndarray:
        """A C-contiguous float32 ``(n, dim)`` copy, L2-normalized; bad shapes/values raise ``InputError``."""
        import faiss

        try:
            x = np.array(vectors, dtype=np.float32, copy=True)
        except (TypeError, ValueError) as e:
            raise InputError(f"{what} must be numeric arrays ({e})", field=what) from e
        if x.ndim == 1:
            x = x[None, :]
        if x.ndim != 2 or (x.size and x.shape[1] != self.dim):
            raise InputError(
                f"{what} have shape {tuple(np.shape(vectors))}; this index holds {self.dim}-d vectors",
                field=what,
            )
        if x.size == 0:
            return x.reshape(0, self.dim)
        bad = ~np.isfinite(x).all(axis=1)
        if bad.any():
            raise InputError(
                f"{what} row {int(np.argmax(bad))} has NaN or infinite values ({int(bad.sum())} such rows)",
                field=what,
            )
        norms = np.linalg.norm(x, axis=1)
        if (norms == 0).any():
            raise InputError(
                f"{what} row {int(np.argmax(norms == 0))} is all zeros (no direction to compare)", field=what
            )
        x = np.ascontiguousarray(x)
        faiss.normalize_L2(x)
        return x

    def __repr__(self) -> str:
        return f"VectorIndex(kind={self.kind!r}, dim={self.dim}, size={len(self)}, device={self.device!r})"
