"""Retrieval benchmarks: entity linking on MetaQA, encoder throughput, and FAISS index recall/speed.

    python bench/retrieval.py linking --metaqa ../shared/data/metaqa    # -> results/retrieval_linking.json
    python bench/retrieval.py encoder --metaqa ../shared/data/metaqa    # -> results/retrieval_encoder.json
    python bench/retrieval.py index --metaqa ../shared/data/metaqa      # -> results/retrieval_index.json
    python bench/retrieval.py synthetic --n 1000000                     # -> results/retrieval_synthetic.json

``index``: the MetaQA KB's entity names and verbalized triples encoded with the default encoder (cached in
``.cache/bench/``), queried with MetaQA dev questions. ``synthetic``: clustered 384-d vectors (1,000 clusters,
each spread along its own 8-d subspace plus isotropic noise: low intrinsic dimension, as sentence embeddings
have; pure Gaussian noise makes any approximate index look bad). Both compare the approximate kinds, with the
``IndexConfig`` defaults, against exact search (IndexFlatIP) in the same run: recall@10, queries/s, build time
and resident memory. Every result records ``os.getloadavg()`` (the machine has 2 shared cores).
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from kgagent.kg import KnowledgeGraph
from kgagent.kg.io import atomic_save_npy, atomic_write_json
from kgagent.retrieval import IndexConfig, TextEncoder, VectorIndex, evaluate_linking
from kgagent.retrieval.evaluate import read_metaqa
from kgagent.retrieval.index import choose_kind
from kgagent.retrieval.linker import EntityLinker
from kgagent.retrieval.passages import verbalize

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
CACHE = ROOT / ".cache" / "bench"


def machine() -> dict[str, Any]:
    import faiss
    import torch

    return {
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "faiss_threads": faiss.omp_get_max_threads(),
        "python": platform.python_version(),
        "faiss": faiss.__version__,
        "torch": torch.__version__,
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


def finish(name: str, result: dict[str, Any], out: Path | None) -> None:
    result["machine"]["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    result["command"] = "python " + " ".join(shlex.quote(a) for a in sys.argv)
    path = out or RESULTS / f"retrieval_{name}.json"
    atomic_write_json(path, result)
    print(f"wrote {path}")


def load_metaqa_kg(metaqa: Path) -> KnowledgeGraph:
    with open(metaqa / "kb.txt", encoding="utf-8") as f:
        return KnowledgeGraph.from_triples(tuple(line.rstrip("\n").split("|")) for line in f if line.strip())


def rss_mb() -> float:
    """Current resident memory of this process in MiB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


# ----------------------------------------------------------------- linking
def bench_linking(args: argparse.Namespace) -> None:
    result: dict[str, Any] = {"machine": machine()}
    t0 = time.perf_counter()
    kg = load_metaqa_kg(args.metaqa)
    t1 = time.perf_counter()
    linker = EntityLinker(kg)
    result["kg_seconds"] = round(t1 - t0, 2)
    result["linker_build_seconds"] = round(time.perf_counter() - t1, 2)
    result["entities"] = kg.num_entities
    for hop in ("1-hop", "2-hop", "3-hop"):
        path = args.metaqa / hop / "qa_dev.txt"
        for typos in (False, True):
            r = evaluate_linking(linker, path, typos=typos, seed=args.seed, limit=args.limit, progress=True)
            key = f"{hop}{'_typo' if typos else ''}"
            result[key] = {k: round(v, 5) if isinstance(v, float) else v for k, v in r.as_dict().items()}
            print(
                f"{key:10s} accuracy {r.accuracy:.4f}  n {r.n}  {r.ms_per_question:.3f} ms/question "
                f"(CPU {r.cpu_ms_per_question:.3f} ms)  "
                f"ambiguous {r.ambiguous_rate:.3f}"
            )
    finish("linking", result, args.out)


# ----------------------------------------------------------------- encoder
def bench_encoder(args: argparse.Namespace) -> None:
    result: dict[str, Any] = {"machine": machine()}
    texts = [x.text for x in read_metaqa(args.metaqa / "1-hop" / "qa_dev.txt", limit=args.n)]
    t0 = time.perf_counter()
    enc = TextEncoder()
    result["load_seconds"] = round(time.perf_counter() - t0, 2)
    enc.encode(texts[:32])  # warm-up: first-call allocations are not throughput
    runs, cpu = [], []
    for _ in range(args.repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        enc.encode(texts)
        runs.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    result.update(
        {
            "n": len(texts),
            "batch_size": enc.batch_size,
            "device": str(enc.device),
            "seconds": [round(s, 3) for s in runs],
            "best_seconds": round(min(runs), 3),
            "texts_per_s": round(len(texts) / min(runs), 1),
            # CPU seconds over all threads: a busy machine inflates wall time, not this
            "cpu_seconds": [round(s, 3) for s in cpu],
        }
    )
    print(f"{len(texts)} texts: best {min(runs):.2f} s ({len(texts) / min(runs):.0f}/s), runs {runs}, "
          f"CPU seconds {cpu}")
    finish("encoder", result, args.out)


# ----------------------------------------------------------------- index comparisons
def compare(
    vectors: np.ndarray,
    queries: np.ndarray,
    *,
    k: int = 10,
    label: str,
    kinds: tuple[str, ...] = ("hnsw", "ivf"),
) -> dict[str, Any]:
    """Exact and approximate indexes over ``vectors``: recall@k against exact, q/s, build time, memory."""
    config = IndexConfig()
    out: dict[str, Any] = {
        "n": len(vectors),
        "dim": int(vectors.shape[1]),
        "queries": len(queries),
        "k": k,
        "default_kind": choose_kind(len(vectors), config)[0],
    }
    exact_ids = None
    for kind in ("flat", *kinds):
        params = (
            {} if kind == "flat" else choose_kind(config.exact_threshold, IndexConfig(approximate=kind))[1]
        )
        mem0 = rss_mb()
        t0 = time.perf_counter()
        ix = VectorIndex(int(vectors.shape[1]), kind=kind, params=params, expected_size=len(vectors))
        ix.add(vectors, [{} for _ in range(len(vectors))], progress=True, desc=f"{label}: {kind}")
        build = time.perf_counter() - t0
        mem = rss_mb() - mem0
        ix.search(queries[:10], k)  # warm-up
        t0 = time.perf_counter()
        hits = ix.search(queries, k)  # one batch: FAISS parallelizes over queries
        batch_s = time.perf_counter() - t0
        single = queries[: min(200 if len(vectors) < 500_000 else 50, len(queries))]
        t0 = time.perf_counter()
        for q in single:
            ix.search(q, k)
        single_ms = 1000 * (time.perf_counter() - t0) / len(single)
        ids = [[h.id for h in row] for row in hits]
        if kind == "flat":
            exact_ids = ids
        recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(ids, exact_ids, strict=True)]))
        out[kind] = {
            "params": params,
            "build_seconds": round(build, 2),
            "memory_mb": round(mem, 1),
            "recall_at_10": round(recall, 4),
            "queries_per_s_batch": round(len(queries) / batch_s, 1),
            "ms_per_single_query": round(single_ms, 3),
        }
        print(
            f"{label:9s} {kind:5s} n={len(vectors)} build {build:7.1f} s  mem {mem:7.0f} MiB  recall@10 "
            f"{recall:.4f}  {len(queries) / batch_s:8.1f} q/s (batch)  {single_ms:7.2f} ms/query (single)",
            flush=True,
        )
        del ix
    return out


def encode_cached(name: str, texts: list[str], enc: TextEncoder | None) -> np.ndarray:
    """Encode once; later runs read ``.cache/bench/<name>.npy`` (the texts' count and hash must match)."""
    import hashlib

    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = CACHE / f"{name}-{len(texts)}-{digest}.npy"
    if path.exists():
        return np.load(path)
    enc = enc or TextEncoder()
    t0 = time.perf_counter()
    vecs = enc.encode(texts, progress=True, desc=f"encoding {name}")
    print(f"encoded {len(texts)} {name} in {time.perf_counter() - t0:.0f} s")
    atomic_save_npy(path, vecs)
    return vecs


def bench_index(args: argparse.Namespace) -> None:
    result: dict[str, Any] = {"machine": machine()}
    kg = load_metaqa_kg(args.metaqa)
    enc = TextEncoder()
    names = [n for e in range(kg.num_entities) for n in kg.names(e)]
    triples = list(range(kg.num_triples))
    if args.max_passages and args.max_passages < len(triples):
        triples = sorted(
            np.random.default_rng(0).choice(len(triples), args.max_passages, replace=False).tolist()
        )
    passages = [verbalize(kg, t) for t in triples]
    questions = [x.text for x in read_metaqa(args.metaqa / "1-hop" / "qa_dev.txt", limit=args.queries)]
    t0 = time.perf_counter()
    q = encode_cached("questions", questions, enc)
    name_vecs = encode_cached("names", names, enc)
    passage_vecs = encode_cached("passages", passages, enc)
    result["encode_seconds_incl_cache"] = round(time.perf_counter() - t0, 1)
    result["passages_sampled"] = len(passages) < kg.num_triples
    result["entity_names"] = compare(name_vecs, q, label="names")
    result["passages"] = compare(passage_vecs, q, label="passages")
    finish("index", result, args.out)


def clustered(
    n: int,
    *,
    dim: int = 384,
    clusters: int = 1000,
    local_dim: int = 8,
    spread: float = 0.5,
    noise: float = 0.05,
    seed: int = 0,
) -> np.ndarray:
    """Unit vectors around ``clusters`` random centres, each spread along its own ``local_dim`` subspace."""
    rng = np.random.default_rng(seed)
    shape_rng = np.random.default_rng(12345)  # the same clusters for data and queries
    centres = shape_rng.normal(size=(clusters, dim)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    bases = (shape_rng.normal(size=(clusters, local_dim, dim)) / np.sqrt(dim)).astype(np.float32)
    labels = rng.integers(clusters, size=n)
    x = np.empty((n, dim), dtype=np.float32)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(clusters + 1))
    for c in range(clusters):
        rows = order[bounds[c] : bounds[c + 1]]
        z = rng.normal(size=(len(rows), local_dim)).astype(np.float32)
        x[rows] = (
            centres[c]
            + spread * (z @ bases[c])
            + noise * rng.normal(size=(len(rows), dim)).astype(np.float32)
        )
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def bench_synthetic(args: argparse.Namespace) -> None:
    result: dict[str, Any] = {"machine": machine()}
    t0 = time.perf_counter()
    x = clustered(args.n, seed=0)
    q = clustered(args.queries, seed=1)
    result["generate_seconds"] = round(time.perf_counter() - t0, 1)
    result["data"] = {"clusters": 1000, "local_dim": 8, "spread": 0.5, "noise": 0.05}
    result["synthetic"] = compare(x, q, label="synthetic", kinds=tuple(args.kinds))
    finish("synthetic", result, args.out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="what", required=True)
    s = sub.add_parser(
        "linking", help="entity linking accuracy and speed on MetaQA dev (clean and with typos)"
    )
    s.add_argument("--metaqa", type=Path, required=True, help="folder with kb.txt and {1,2,3}-hop/qa_dev.txt")
    s.add_argument("--seed", type=int, default=0, help="seed of the typo edits")
    s.add_argument("--limit", type=int, default=None, help="only the first N questions per file")
    s.set_defaults(run=bench_linking)
    s = sub.add_parser("encoder", help="default encoder throughput on short texts")
    s.add_argument("--metaqa", type=Path, required=True)
    s.add_argument("--n", type=int, default=1000)
    s.add_argument("--repeats", type=int, default=3)
    s.set_defaults(run=bench_encoder)
    s = sub.add_parser("index", help="exact vs approximate indexes on the MetaQA KB's real vectors")
    s.add_argument("--metaqa", type=Path, required=True)
    s.add_argument("--max-passages", type=int, default=None, help="a seeded sample of the triples")
    s.add_argument("--queries", type=int, default=1000)
    s.set_defaults(run=bench_index)
    s = sub.add_parser("synthetic", help="exact vs approximate indexes on clustered synthetic vectors")
    s.add_argument("--n", type=int, default=1_000_000)
    s.add_argument("--queries", type=int, default=1000)
    s.add_argument("--kinds", nargs="+", default=["hnsw", "ivf"], choices=["hnsw", "ivf"])
    s.set_defaults(run=bench_synthetic)
    for s in sub.choices.values():
        s.add_argument(
            "--out", type=Path, default=None, help="result JSON (default bench/results/retrieval_*.json)"
        )
    args = p.parse_args()
    args.run(args)


if __name__ == "__main__":
    main()
