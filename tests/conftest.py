"""Project-wide fixtures: offline settings, a ten-triple movie KG, and the shared benchmark data folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Before any test imports pykeen/transformers/gradio: no network, no writes to ~/.data.
os.environ.setdefault("PYSTOW_HOME", str(ROOT / ".cache" / "pystow"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

TINY_TRIPLES: tuple[tuple[str, str, str], ...] = (
    ("Alien", "directed_by", "Ridley Scott"),
    ("Blade Runner", "directed_by", "Ridley Scott"),
    ("Alien", "starred_actors", "Sigourney Weaver"),
    ("Aliens", "starred_actors", "Sigourney Weaver"),
    ("Aliens", "directed_by", "James Cameron"),
    ("Titanic", "directed_by", "James Cameron"),
    ("Blade Runner", "starred_actors", "Harrison Ford"),
    ("Alien", "release_year", "1979"),
    ("Blade Runner", "release_year", "1982"),
    ("Paris, Texas", "directed_by", "Wim Wenders"),
)


@pytest.fixture(scope="session")
def tiny_triples() -> tuple[tuple[str, str, str], ...]:
    """Ten movie triples (string head, relation, tail)."""
    return TINY_TRIPLES


@pytest.fixture
def tiny_kg():
    """A fresh ten-triple KnowledgeGraph: 12 entities, 3 relations, two aliases, a description."""
    from kgagent.kg import KnowledgeGraph

    return KnowledgeGraph.from_triples(
        TINY_TRIPLES,
        aliases={"Ridley Scott": ["Sir Ridley Scott"], "Alien": ["Alien (1979)"]},
        descriptions={"Alien": "A 1979 science-fiction horror film."},
    )


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The benchmark data folder (``$KGAGENT_DATA``, default ``../shared/data``); skips when absent."""
    path = Path(os.environ.get("KGAGENT_DATA", ROOT.parent / "shared" / "data"))
    if not path.is_dir():
        pytest.skip(f"benchmark data not found at {path}")
    return path


@pytest.fixture(scope="session")
def sparse_freebase_triples():
    """``bench/sparse_kg.py``'s generator of sparse Freebase-style KGs (hundreds of relations, ids as names)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("sparse_kg", ROOT / "bench" / "sparse_kg.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.sparse_freebase_triples
