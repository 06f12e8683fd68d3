"""Passages: verbalized triples, descriptions and document chunks, each with its source."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgagent.kg import KnowledgeGraph
from kgagent.kg.errors import InputError
from kgagent.retrieval import PASSAGE_BUILDERS, IndexConfig, build_passages, verbalize
from kgagent.retrieval.passages import chunk_documents, chunk_text, relation_phrase


@pytest.mark.parametrize(
    ("relation", "phrase"),
    [
        ("directed_by", "directed by"),
        ("starredActors", "starred actors"),
        ("http://schema.org/dateCreated", "date created"),
        ("http://ex.org/vocab#has-genre", "has genre"),
    ],
)
def test_relation_phrase(relation: str, phrase: str) -> None:
    assert relation_phrase(relation) == phrase


def test_triples_and_descriptions_carry_their_sources(link_kg: KnowledgeGraph) -> None:
    t = int(
        next(
            i
            for i, (h, r, _) in enumerate(link_kg.triples)
            if link_kg.labels[h] == "Alien" and link_kg.relations[r] == "directed_by"
        )
    )
    assert verbalize(link_kg, t) == "Alien — directed by — Ridley Scott"
    passages = build_passages(link_kg, IndexConfig(passages=["triples", "descriptions"]))
    triples = [p for p in passages if p.source["kind"] == "triple"]
    assert len(triples) == link_kg.num_triples
    assert triples[t].source == {"kind": "triple", "triples": [t]}
    (desc,) = [p for p in passages if p.source["kind"] == "description"]
    assert desc.text.startswith("Alien: A science fiction")
    assert desc.source == {"kind": "description", "entity": link_kg.entity_id("Alien")}
    assert set(PASSAGE_BUILDERS) == {"triples", "descriptions", "documents"}


def test_chunk_text_overlaps_and_covers_everything() -> None:
    words = [f"w{i}" for i in range(25)]
    chunks = chunk_text(" ".join(words), words=10, overlap=3)
    assert [c.split()[0] for _, c in chunks] == ["w0", "w7", "w14", "w21"]
    assert chunks[-1][1].split()[-1] == "w24"
    assert chunk_text("", words=10, overlap=3) == []


def test_documents_are_chunked_with_file_chunk_and_line(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "a.txt").write_text("one two three\nfour five six seven\n", encoding="utf-8")
    (tmp_path / "sub" / "b.md").write_text("# Title\n\nalpha beta\n", encoding="utf-8")
    (tmp_path / "skip.pdf").write_bytes(b"%PDF")
    got = list(chunk_documents(tmp_path, words=4, overlap=1))
    assert [(p.source["file"], p.source["chunk"], p.source["line"]) for p in got] == [
        ("a.txt", 0, 1),
        ("a.txt", 1, 2),
        ("sub/b.md", 0, 1),
    ]
    assert got[1].text == "four five six seven"


def test_document_errors_name_the_file(tmp_path: Path, link_kg: KnowledgeGraph) -> None:
    with pytest.raises(InputError, match="documents folder not found"):
        build_passages(link_kg, IndexConfig(documents=str(tmp_path / "missing")))
    (tmp_path / "bad.txt").write_bytes(b"caf\xe9")
    with pytest.raises(InputError, match=r"bad\.txt: not UTF-8"):
        list(chunk_documents(tmp_path))


def test_index_config_checks_fields() -> None:
    with pytest.raises(ValueError, match="passages: unknown kind"):
        IndexConfig(passages=["triples", "tweets"])
    with pytest.raises(ValueError, match="chunk_overlap"):
        IndexConfig(chunk_words=10, chunk_overlap=10)
    with pytest.raises(ValueError, match="hnsw_m"):
        IndexConfig(hnsw_m=0)
    with pytest.raises(ValueError, match="approximate"):
        IndexConfig(approximate="lsh")
