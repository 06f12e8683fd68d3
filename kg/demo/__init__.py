"""The bundled demo domain: customer support for Lumora, an invented consumer-electronics company.

Products, accessories and what they fit, warranties, return policies, service plans, stores and
troubleshooting procedures (all facts fictional), plus intent examples and multi-hop questions. The files are
written by ``python -m kg.demo.generate`` and shipped as package data.

>>> from kgagent.kg.demo import demo_kg_path, load_demo_kg
>>> demo_kg_path().name
'lumora.tsv'
>>> kg = load_demo_kg()
>>> sorted(kg.entities[i] for i in range(kg.num_entities) if "Nova" in kg.aliases.get(i, ()))
['Nova phone', 'Nova speaker']
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from kgagent.kg.errors import InputError, WorkspaceError
from kgagent.kg.graph import KnowledgeGraph

KG_FILE = "lumora.tsv"
ALIASES_FILE = "aliases.tsv"
DESCRIPTIONS_FILE = "descriptions.tsv"
INTENTS_FILE = "intents.jsonl"
QUESTIONS_FILE = "questions.txt"
QTYPE_FILE = "questions_qtype.txt"

__all__ = [
    "demo_aliases_path",
    "demo_descriptions_path",
    "demo_dir",
    "demo_intents_path",
    "demo_kg_path",
    "demo_qtype_path",
    "demo_questions_path",
    "load_demo_kg",
]


def demo_dir() -> Path:
    """The folder holding the demo files (inside the installed package)."""
    root = resources.files(__name__).joinpath("data")
    if not isinstance(root, Path):  # a zipped install has no real folder to hand out
        raise WorkspaceError(f"kg.demo data is not on the file system ({root}); install kgagent unzipped")
    return root


def _file(name: str) -> Path:
    path = demo_dir() / name
    if not path.is_file():
        raise WorkspaceError(f"{path}: demo file missing; run `python -m kg.demo.generate`")
    return path


def demo_kg_path() -> Path:
    """``lumora.tsv``: ``head<TAB>relation<TAB>tail`` with a header row."""
    return _file(KG_FILE)


def demo_aliases_path() -> Path:
    """``aliases.tsv``: ``entity<TAB>alias[<TAB>alias...]``, no header."""
    return _file(ALIASES_FILE)


def demo_descriptions_path() -> Path:
    """``descriptions.tsv``: ``entity<TAB>description``, no header."""
    return _file(DESCRIPTIONS_FILE)


def demo_intents_path() -> Path:
    """``intents.jsonl``: one ``{"text", "intent"}`` object per line."""
    return _file(INTENTS_FILE)


def demo_questions_path() -> Path:
    """``questions.txt``: MetaQA format, ``question with [topic]<TAB>answer1|answer2``."""
    return _file(QUESTIONS_FILE)


def demo_qtype_path() -> Path:
    """``questions_qtype.txt``: the relation path of each question (``r1|r2^-1``), line-aligned."""
    return _file(QTYPE_FILE)


def _rows(path: Path, min_cols: int, header: bool = False) -> list[list[str]]:
    rows = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if header and n == 1:
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) < min_cols or not all(parts):
                raise InputError(f"expected at least {min_cols} non-empty tab-separated fields",
                                 path=path, line=n)
            rows.append(parts)
    return rows


def load_demo_kg() -> KnowledgeGraph:
    """The demo KG with its aliases and descriptions (keys double as labels)."""
    triples = [(h, r, t) for h, r, t in _rows(demo_kg_path(), 3, header=True)]
    aliases = {row[0]: row[1:] for row in _rows(demo_aliases_path(), 2)}
    descriptions = {row[0]: row[1] for row in _rows(demo_descriptions_path(), 2)}
    return KnowledgeGraph.from_triples(triples, aliases=aliases, descriptions=descriptions)
