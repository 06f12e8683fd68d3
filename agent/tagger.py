"""The workspace's mention tagger (``WS/models/ner``, written by ``kgagent train ner``), for its entity linker.

The linker (``retrieval``) takes any object with ``tag(texts)``; the agent layer, which may import training,
loads the trained one and hands it over, so retrieval never imports training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kgagent.kg import Workspace


def workspace_tagger(workspace: str | Path | Workspace) -> Any | None:
    """The trained ``NERModel`` of ``workspace``, or None when it has none."""
    ws = workspace if isinstance(workspace, Workspace) else Workspace(workspace)
    folder = ws.models_dir / "ner"
    if not (folder / "ner_config.json").is_file():
        return None
    from kgagent.training.ner import NERModel

    return NERModel.load(folder)


def open_tagged_linker(workspace: str | Path, *, tagger: bool = True) -> Any:
    """The workspace's entity linker (dense candidates when it has a name index), with its tagger when it has one
    and ``tagger`` is True."""
    from kgagent.retrieval import open_retriever

    linker = open_retriever(workspace, require_index=False).linker
    if tagger:
        linker.tagger = workspace_tagger(workspace)
    return linker
