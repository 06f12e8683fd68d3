"""The loader registry: every format round-trips the same triples; every registered loader has its tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgagent.kg import LOADERS, InputError, KnowledgeGraph, load_kg
from kgagent.kg.loaders import EXTENSIONS, ParsedKG, resolve_format

HERE = Path(__file__).parent
# registered name -> the test module that covers it (aliases of one loader share a module)
TEST_MODULES = {"tsv": "tsv", "csv": "csv", "pipe": "pipe", "jsonl": "jsonl", "nt": "nt", "ttl": "ttl",
                "rdf": "rdf", "xml": "rdf"}


def test_every_loader_has_a_test_module():
    assert set(LOADERS) == set(TEST_MODULES)
    for name in LOADERS:
        assert (HERE / f"test_loader_{TEST_MODULES[name]}.py").is_file(), name


def test_every_extension_maps_to_a_loader():
    assert set(EXTENSIONS.values()) <= set(LOADERS)


@pytest.mark.parametrize("fmt", sorted(LOADERS))
def test_every_format_round_trips_the_same_triples(fmt, write_kg, tiny_triples, named_triples):
    triples = [*tiny_triples, ("Amélie", "in_language", "French")]
    kg, report = load_kg(write_kg(fmt, triples))
    assert report.format == fmt
    assert named_triples(kg) == set(triples)
    assert (report.triples, report.entities, report.relations) == (11, 14, 4)


@pytest.mark.parametrize(("name", "fmt", "expected"), [
    ("kb.TSV", None, "tsv"), ("kb.ttl", None, "ttl"), ("kb.turtle", None, "ttl"),
    ("kb.ndjson", None, "jsonl"),
    ("kb.owl", None, "rdf"), ("kb.tsv", "csv", "csv"), ("kb.tsv", "PIPE", "pipe"), ("kb.x", ".nt", "nt"),
])
def test_resolve_format(name, fmt, expected):
    assert resolve_format(name, fmt) == expected


def test_a_new_format_is_one_registry_entry(monkeypatch, write_file):
    def load_arrows(path: Path, **options) -> ParsedKG:
        out = ParsedKG()
        for line in path.read_text(encoding="utf-8").splitlines():
            h, r, t = (part.strip() for part in line.split("->"))
            out.triples.append((h, r, t))
        return out

    monkeypatch.setitem(LOADERS, "arrows", load_arrows)
    monkeypatch.setitem(EXTENSIONS, ".arrows", "arrows")
    kg, report = load_kg(write_file("kb.arrows", "a -> r -> b\na -> r -> b\n"))
    assert isinstance(kg, KnowledgeGraph) and report.format == "arrows"
    assert (report.triples, report.duplicates) == (1, 1)
    with pytest.raises(InputError, match="unknown format 'arrows'"):
        monkeypatch.delitem(LOADERS, "arrows")
        load_kg(write_file("kb2.tsv", "a\tr\tb\n"), format="arrows")
