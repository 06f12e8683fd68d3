"""Passages to retrieve: verbalized triples, entity descriptions and chunks of user documents.

Every passage carries its source, so every hit can be cited:

- ``{"kind": "triple", "triples": [7]}``
- ``{"kind": "description", "entity": 3}``
- ``{"kind": "document", "file": "notes/a.md", "chunk": 0, "line": 1}``
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kgagent.kg import KnowledgeGraph
from kgagent.kg.errors import InputError
from kgagent.retrieval.config import IndexConfig

log = logging.getLogger(__name__)
DOCUMENT_SUFFIXES = (".txt", ".md")
SEP = " — "  # between the parts of a verbalized triple: "Alien — directed by — Ridley Scott"


@dataclass(frozen=True)
class Passage:
    """A retrievable text and where it comes from."""

    text: str
    source: dict[str, Any] = field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        return asdict(self)


def relation_phrase(relation: str) -> str:
    """``"directed_by"``: ``"directed by"``; ``"starredActors"`` -> ``"starred actors"``; IRI: local name."""
    name = re.split(r"[/#]", relation.rstrip("/#"))[-1] or relation
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name)
    return re.sub(r"[_\-\s]+", " ", name).strip().lower() or relation


def verbalize(kg: KnowledgeGraph, triple: int) -> str:
    """One triple as a sentence-like passage: ``"Alien — directed by — Ridley Scott"``."""
    h, r, t = kg.triple_text(triple)
    return f"{h}{SEP}{relation_phrase(r)}{SEP}{t}"


def triple_passages(kg: KnowledgeGraph, config: IndexConfig) -> Iterator[Passage]:
    """One passage per triple."""
    for t in range(kg.num_triples):
        yield Passage(verbalize(kg, t), {"kind": "triple", "triples": [t]})


def description_passages(kg: KnowledgeGraph, config: IndexConfig) -> Iterator[Passage]:
    """One passage per described entity: ``"Alien: a 1979 film ..."``."""
    for e, text in sorted(kg.descriptions.items()):
        if text.strip():
            yield Passage(f"{kg.labels[e]}: {text.strip()}", {"kind": "description", "entity": int(e)})


def document_passages(kg: KnowledgeGraph, config: IndexConfig) -> Iterator[Passage]:
    """Chunks of the ``.txt``/``.md`` files under ``config.documents`` (none when it is not set)."""
    if config.documents is None:
        return
    yield from chunk_documents(config.documents, words=config.chunk_words, overlap=config.chunk_overlap)


PASSAGE_BUILDERS: dict[str, Callable[[KnowledgeGraph, IndexConfig], Iterable[Passage]]] = {
    "triples": triple_passages,
    "descriptions": description_passages,
    "documents": document_passages,
}


def build_passages(kg: KnowledgeGraph, config: IndexConfig | None = None) -> list[Passage]:
    """Every passage of the kinds in ``config.passages``, in a stable order."""
    config = config or IndexConfig()
    return [p for kind in config.passages for p in PASSAGE_BUILDERS[kind](kg, config)]


# ----------------------------------------------------------------- documents
def chunk_documents(folder: str | Path, *, words: int = 120, overlap: int = 30) -> Iterator[Passage]:
    """Chunk each ``.txt``/``.md`` file under ``folder`` (recursive, sorted) into overlapping word windows."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError(
            "documents folder not found (set [index] documents to a folder of .txt/.md files)", path=root
        )
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES)
    if not files:
        log.warning("%s: no .txt or .md files to index", root)
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError as e:
            raise InputError(f"not UTF-8 text (byte {e.start}); convert it or remove it", path=path) from e
        rel = path.relative_to(root).as_posix()
        for i, (start, chunk) in enumerate(chunk_text(text, words=words, overlap=overlap)):
            line = text.count("\n", 0, start) + 1
            yield Passage(chunk, {"kind": "document", "file": rel, "chunk": i, "line": line})


def chunk_text(text: str, *, words: int = 120, overlap: int = 30) -> list[tuple[int, str]]:
    """``(start offset, chunk)`` windows of ``words`` words, consecutive windows sharing ``overlap`` words.

    >>> [c for _, c in chunk_text("a b c d e", words=3, overlap=1)]
    ['a b c', 'c d e']
    """
    if words <= 0 or not 0 <= overlap < words:
        raise ValueError(f"need words > 0 and 0 <= overlap < words, got words={words}, overlap={overlap}")
    spans = [m.span() for m in re.finditer(r"\S+", text)]
    out: list[tuple[int, str]] = []
    step = words - overlap
    for s in range(0, len(spans), step):
        window = spans[s : s + words]
        out.append((window[0][0], " ".join(text[a:b] for a, b in window)))
        if s + words >= len(spans):
            break
    return out
