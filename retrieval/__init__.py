"""The retrieval layer: text encoder, FAISS vector indexes, passages, and entity linking.

>>> from kgagent.retrieval import build_index, open_retriever
>>> build_index(kg, out_dir="ws/index")  # doctest: +SKIP
>>> r = open_retriever("ws/")  # doctest: +SKIP
>>> m = r.link("who directed alien")[0]  # doctest: +SKIP
>>> m.text, r.kg.labels[m.entity], m.ambiguous  # doctest: +SKIP
('alien', 'Alien', False)
>>> [(h.text, h.cite()) for h in r.search("films by Ridley Scott", k=2)]  # doctest: +SKIP
"""

from kgagent.retrieval.config import IndexConfig
from kgagent.retrieval.encoder import TextEncoder
from kgagent.retrieval.evaluate import LinkingResult, evaluate_linking
from kgagent.retrieval.index import INDEX_KINDS, Hit, VectorIndex
from kgagent.retrieval.linker import Candidate, EntityLinker, LinkerConfig, Mention
from kgagent.retrieval.passages import PASSAGE_BUILDERS, Passage, build_passages, verbalize
from kgagent.retrieval.store import IndexResult, Retriever, SearchHit, build_index, open_linker, open_retriever
from kgagent.retrieval.text import normalize

__all__ = [
    "INDEX_KINDS",
    "PASSAGE_BUILDERS",
    "Candidate",
    "EntityLinker",
    "Hit",
    "IndexConfig",
    "IndexResult",
    "LinkerConfig",
    "LinkingResult",
    "Mention",
    "Passage",
    "Retriever",
    "SearchHit",
    "TextEncoder",
    "VectorIndex",
    "build_index",
    "build_passages",
    "evaluate_linking",
    "normalize",
    "open_linker",
    "open_retriever",
    "verbalize",
]
