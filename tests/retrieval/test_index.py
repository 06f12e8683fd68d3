"""VectorIndex over real FAISS: exact results, every kind's add/remove/persistence, and every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import faiss
import numpy as np
import pytest

from kgagent.kg.errors import InputError, KgAgentError, WorkspaceError
from kgagent.retrieval import INDEX_KINDS, IndexConfig, VectorIndex
from kgagent.retrieval.index import choose_kind, faiss_gpus

DIM = 16
PARAMS = {
    "flat": {},
    "hnsw": {"m": 16, "ef_construction": 64, "ef_search": 64},
    "ivf": {"nlist": 8, "nprobe": 8},
}


def clustered(n: int, dim: int, *, clusters: int = 20, seed: int = 0) -> np.ndarray:
    """``(n, dim)`` float32 points around random centres: neighbours mean something, unlike pure noise."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    x = centres[rng.integers(clusters, size=n)] + 0.3 * rng.normal(size=(n, dim))
    return x.astype(np.float32)


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def make(kind: str, n: int = 600, seed: int = 0) -> tuple[VectorIndex, np.ndarray]:
    x = clustered(n, DIM, seed=seed)
    ix = VectorIndex(DIM, kind=kind, params=PARAMS[kind], expected_size=n)
    ix.add(x, [{"row": i} for i in range(n)])
    return ix, x


def top_ids(ix: VectorIndex, q: np.ndarray, k: int = 5) -> list[list[int]]:
    return [[h.id for h in row] for row in ix.search(q, k)]


def test_every_registered_kind_is_tested() -> None:
    assert set(INDEX_KINDS) == set(PARAMS)


def test_flat_search_equals_brute_force_cosine() -> None:
    threads = faiss.omp_get_max_threads()
    ix, x = make("flat")
    q = clustered(7, DIM, seed=1)
    expected = np.argsort(-(unit(q) @ unit(x).T), axis=1)[:, :5]
    assert top_ids(ix, q) == expected.tolist()
    hits = ix.search(q[0], 3)[0]
    assert hits[0].record == {"row": int(expected[0, 0])}
    assert hits[0].score == pytest.approx(float((unit(q[:1]) @ unit(x[expected[0, :1]]).T)[0, 0]), abs=1e-5)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert faiss.omp_get_max_threads() == threads  # the one-query thread cap was undone


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_approximate_kinds_find_the_exact_neighbours(kind: str) -> None:
    ix, _x = make(kind, n=2000)
    exact, _ = make("flat", n=2000)
    q = clustered(50, DIM, seed=3)
    recall = np.mean(
        [len(set(a) & set(b)) / 10 for a, b in zip(top_ids(ix, q, 10), top_ids(exact, q, 10), strict=True)]
    )
    assert recall >= 0.95


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_add_without_rebuild_then_remove(kind: str) -> None:
    ix, x = make(kind)
    faiss_object = ix._cpu
    new = clustered(3, DIM, seed=9) * 5
    ids = ix.add(new, [{"row": "new0"}, {"row": "new1"}, {"row": "new2"}])
    assert ids.tolist() == [600, 601, 602]
    assert ix._cpu is faiss_object  # the same FAISS index grew; nothing was rebuilt
    assert len(ix) == 603
    assert ix.search(new[1], 1)[0][0].record == {"row": "new1"}

    target = top_ids(ix, x[:1], 1)[0][0]
    assert ix.remove([target, 601, 10**9]) == 2  # an unknown id is ignored
    assert len(ix) == 601
    assert target not in top_ids(ix, x[:1], 20)[0]
    assert all(h.record != {"row": "new1"} for h in ix.search(new[1], 10)[0])
    with pytest.raises(KgAgentError, match="no vector with id"):
        ix.record(601)
    assert ix.add(new[:1]).tolist() == [603]  # ids are never reused


@pytest.mark.parametrize("kind", sorted(PARAMS))
def test_save_load_round_trip(kind: str, tmp_path: Path) -> None:
    ix, x = make(kind)
    ix.remove([3, 4])
    q = clustered(5, DIM, seed=4)
    before = ix.search(q, 5)
    ix.save(tmp_path / "ix")
    back = VectorIndex.load(tmp_path / "ix")
    assert (back.kind, back.dim, len(back)) == (kind, DIM, 598)
    assert back.search(q, 5) == before
    assert back.add(x[:1]).tolist() == [600]  # the id counter survives
    assert 3 not in top_ids(back, x[3:4], 10)[0]
    np.testing.assert_allclose(back.reconstruct(7), unit(x[7:8])[0], atol=1e-6)


def test_build_picks_exact_below_the_threshold_and_approximate_above() -> None:
    x = clustered(300, DIM)
    recs = [{"i": i} for i in range(300)]
    assert VectorIndex.build(x, recs, config=IndexConfig(exact_threshold=1000)).kind == "flat"
    assert VectorIndex.build(x, recs, config=IndexConfig(exact_threshold=100)).kind == "hnsw"
    ivf = VectorIndex.build(x, recs, config=IndexConfig(exact_threshold=100, approximate="ivf"))
    assert ivf.kind == "ivf" and ivf.params["nprobe"] == 256


def test_cpu_path_without_faiss_gpus(caplog: pytest.LogCaptureFixture) -> None:
    # faiss-cpu has no StandardGpuResources: no GPUs, auto picks HNSW, and the index stays on the CPU
    assert faiss_gpus() == 0
    assert choose_kind(10**6, IndexConfig())[0] == "hnsw"
    with caplog.at_level("INFO", logger="kgagent.retrieval.index"):
        ix = VectorIndex.build(clustered(50, DIM), [{}] * 50)
    assert "searches on cpu: FAISS sees no GPU" in caplog.text
    ix.search(clustered(1, DIM), 1)
    assert ix.device == "cpu"
    assert VectorIndex(DIM, gpu=False).placement() == ("cpu", "GPU use is switched off ([index] gpu = false)")


# ----------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("vectors", "message"),
    [
        (np.ones((2, DIM + 1)), "16-d"),
        (np.ones((2, 3, DIM)), "16-d"),
        (np.array([[np.nan] * DIM, [1.0] * DIM]), "row 0 has NaN"),
        (np.array([[1.0] * DIM, [np.inf] * DIM]), "row 1 has NaN or infinite"),
        (np.zeros((1, DIM)), "all zeros"),
        ([["a"] * DIM], "numeric"),
    ],
)
def test_bad_vectors_are_input_errors(vectors, message: str) -> None:
    ix, _ = make("flat", n=20)
    with pytest.raises(InputError, match=message):
        ix.add(vectors, [{}] * len(vectors))
    with pytest.raises(InputError, match=message):
        ix.search(vectors, 1)
    assert len(ix) == 20


def test_records_must_match_vectors() -> None:
    ix = VectorIndex(DIM)
    with pytest.raises(InputError, match="3 vectors but 2 records"):
        ix.add(clustered(3, DIM), [{}, {}])
    with pytest.raises(InputError, match="dict"):
        ix.add(clustered(1, DIM), ["not a dict"])


def test_empty_collection_and_empty_index() -> None:
    with pytest.raises(InputError, match="empty collection"):
        VectorIndex.build(np.zeros((0, DIM), dtype=np.float32), [])
    with pytest.raises(InputError, match="empty"):
        VectorIndex(DIM).search(clustered(1, DIM), 3)
    with pytest.raises(KgAgentError, match="unknown index kind"):
        VectorIndex(DIM, kind="annoy")


def test_missing_index_folder_and_file(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="not a saved index"):
        VectorIndex.load(tmp_path / "nothing")
    ix, _ = make("flat", n=20)
    ix.save(tmp_path / "ix")
    (tmp_path / "ix" / "records.jsonl").unlink()
    with pytest.raises(WorkspaceError, match=r"missing records\.jsonl"):
        VectorIndex.load(tmp_path / "ix")


def test_corrupt_files_are_input_errors(tmp_path: Path) -> None:
    ix, _ = make("hnsw", n=50)
    ix.save(tmp_path / "ix")
    d = tmp_path / "ix"
    faiss_bytes = (d / "index.faiss").read_bytes()

    (d / "index.faiss").write_bytes(faiss_bytes[:100])
    with pytest.raises(InputError, match=r"index\.faiss.*checksum mismatch"):
        VectorIndex.load(d)

    # a damaged file whose checksum was also updated: FAISS itself refuses it
    from kgagent.kg.workspace import sha256_file

    (d / "index.faiss").write_bytes(b"garbage" * 10)
    meta = json.loads((d / "index.json").read_text())
    meta["sha256"] = sha256_file(d / "index.faiss")
    (d / "index.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="corrupt FAISS index"):
        VectorIndex.load(d)

    (d / "index.faiss").write_bytes(faiss_bytes)
    meta["sha256"] = sha256_file(d / "index.faiss")
    (d / "index.json").write_text(json.dumps(meta))
    lines = (d / "records.jsonl").read_text().splitlines()
    (d / "records.jsonl").write_text("\n".join([*lines[:5], "{not json", *lines[6:]]) + "\n")
    with pytest.raises(InputError, match=r"records\.jsonl:6: corrupt record"):
        VectorIndex.load(d)
    (d / "records.jsonl").write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(InputError, match="49 records for 50 vectors"):
        VectorIndex.load(d)

    (d / "index.json").write_text("{")
    with pytest.raises(InputError, match=r"index\.json: corrupt index settings"):
        VectorIndex.load(d)


def test_a_failed_save_leaves_the_previous_index(tmp_path: Path) -> None:
    ix, _x = make("flat", n=20)
    ix.save(tmp_path / "ix")
    ix._records[0] = {"bad": object()}  # not JSON-serializable: the save fails half-way
    with pytest.raises(TypeError):
        ix.save(tmp_path / "ix")
    assert len(VectorIndex.load(tmp_path / "ix")) == 20
