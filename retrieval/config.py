"""``IndexConfig``: every setting of the retrieval step, read from ``[index]`` of ``WS/kgagent.toml``."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from kgagent.kg.config import check_ints, check_range

PASSAGE_KINDS = ("triples", "descriptions", "documents")


@dataclass
class IndexConfig:
    """Settings of ``retrieval.build_index`` and of the indexes it writes.

    Above ``exact_threshold`` vectors the CPU uses HNSW with ``M=32, efConstruction=200, efSearch=256``:
    recall@10 against exact search 0.9925 on MetaQA's 133,582 passage vectors and 0.9956 on its 43,234 names
    (0.982 at efSearch 128, 0.962 with efConstruction 80), at 1.1 ms per single query where exact search takes
    14 ms; see BENCHMARKS.md, "Retrieval". The threshold is low (20,000) because a chat turn searches once and
    its latency budget is a few milliseconds; exact search below it costs about 1 ms. On a GPU,
    ``auto`` keeps exact search (FAISS has no GPU HNSW). IVF (``nlist = 4 * sqrt(n)`` when 0) is available
    by name; on sentence vectors it reached only 0.93-0.97 with ``nprobe=256`` (of 4 sqrt(n) lists).

    >>> IndexConfig(approximate="ivf").approximate
    'ivf'
    """

    encoder: str | None = field(
        default=None, metadata={"help": "transformers name or local path; None: the bundled all-MiniLM-L6-v2"}
    )
    batch_size: int = field(default=128, metadata={"help": "texts per encoder forward pass"})
    max_length: int = field(default=128, metadata={"help": "tokens per text (longer texts are truncated)"})
    exact_threshold: int = field(
        default=20_000,
        metadata={
            "help": "below this many vectors: exact search (IndexFlatIP); above: an approximate index"
        },
    )
    approximate: Literal["auto", "hnsw", "ivf"] = field(
        default="auto",
        metadata={
            "help": "approximate index kind; auto: HNSW on the CPU, exact search where FAISS has GPUs"
        },
    )
    hnsw_m: int = 32
    hnsw_ef_construction: int = 200
    hnsw_ef_search: int = 256
    ivf_nlist: int = field(default=0, metadata={"help": "IVF lists; 0: 4 * sqrt(n)"})
    ivf_nprobe: int = 256
    passages: list[str] = field(
        default_factory=lambda: ["triples", "descriptions", "documents"],
        metadata={"help": f"passage kinds to index, any of {PASSAGE_KINDS}"},
    )
    documents: str | None = field(default=None, metadata={"help": "folder of .txt/.md user documents"})
    chunk_words: int = field(default=120, metadata={"help": "words per document chunk"})
    chunk_overlap: int = field(default=30, metadata={"help": "words shared by consecutive chunks"})
    gpu: bool = field(default=True, metadata={"help": "move indexes to the GPU when FAISS has one"})
    max_seconds: float | None = field(default=None, metadata={
        "help": "time limit: every name is indexed, then the passages the limit allows (a seeded sample of the "
                "triples'); `kgagent index WS --resume` adds the rest. None: no limit"})

    def __post_init__(self) -> None:
        check_ints(self, "batch_size", "max_length", "exact_threshold", "hnsw_m", "hnsw_ef_construction",
                   "hnsw_ef_search", "ivf_nprobe", "chunk_words")
        check_ints(self, "ivf_nlist", minimum=0)  # 0: automatic
        check_range(self, "max_seconds", low_open=True, optional=True)
        if not 0 <= self.chunk_overlap < self.chunk_words:
            raise ValueError(
                f"chunk_overlap must be in [0, chunk_words={self.chunk_words}), not {self.chunk_overlap}"
            )
        if self.approximate not in ("auto", "hnsw", "ivf"):
            raise ValueError(f"approximate must be 'auto', 'hnsw' or 'ivf', not {self.approximate!r}")
        unknown = [p for p in self.passages if p not in PASSAGE_KINDS]
        if unknown:
            raise ValueError(f"passages: unknown kind(s) {unknown}; known: {list(PASSAGE_KINDS)}")
