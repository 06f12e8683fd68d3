"""Conversation memory: a LangGraph checkpointer, SQLite in the workspace by default, in-memory on request.

Each conversation is a ``thread_id``; LangGraph keeps threads apart, and the SQLite file lets a conversation
continue after a restart (a new graph over the same file and thread id sees the earlier turns).

>>> make_checkpointer("memory").__class__.__name__
'InMemorySaver'
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kgagent.kg.errors import ConfigError, WorkspaceError

if TYPE_CHECKING:
    from langgraph.checkpoint.base import BaseCheckpointSaver

CHECKPOINT_FILE = "checkpoints.sqlite"


def sqlite_checkpointer(path: str | Path) -> BaseCheckpointSaver:
    """A SQLite checkpointer on ``path`` (created if missing); safe to share between threads (it locks)."""
    from langgraph.checkpoint.sqlite import SqliteSaver

    from kgagent.kg.paths import writable_dir

    path = Path(path)
    try:
        writable_dir(path.parent, what="conversation store")
        path.parent.mkdir(parents=True, exist_ok=True)
        # check_same_thread=False: the saver serializes access with its own lock, and Gradio calls from worker
        # threads
        conn = sqlite3.connect(str(path), check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
        conn.execute("BEGIN IMMEDIATE")  # take the write lock once: a read-only file or folder fails here, not mid-turn
        conn.rollback()
    except (sqlite3.Error, OSError, WorkspaceError) as e:
        why = str(e).rsplit(": ", 1)[-1] if isinstance(e, WorkspaceError) else str(e)
        raise WorkspaceError(f"{path}: cannot keep conversations here ({why.split(';')[0]}); make the folder "
                             "writable, or keep them in memory (chat --memory; ask without --thread)") from None
    return SqliteSaver(conn)


def memory_checkpointer() -> BaseCheckpointSaver:
    """An in-memory checkpointer: threads last as long as the process (evaluation, tests)."""
    from langgraph.checkpoint.memory import InMemorySaver

    return InMemorySaver()


CHECKPOINTERS: dict[str, Callable[[Path], Any]] = {
    "sqlite": lambda ws_root: sqlite_checkpointer(Path(ws_root) / CHECKPOINT_FILE),
    "memory": lambda ws_root: memory_checkpointer(),
}


def make_checkpointer(spec: Any = None, workspace: str | Path | None = None) -> BaseCheckpointSaver:
    """Resolve ``spec`` into a checkpointer.

    ``None`` or ``"sqlite"``: ``WS/checkpoints.sqlite``; ``"memory"``: in-memory; a path ending in ``.sqlite``/``.db``:
    SQLite there; a ``BaseCheckpointSaver``: itself.
    """
    from langgraph.checkpoint.base import BaseCheckpointSaver

    if isinstance(spec, BaseCheckpointSaver):
        return spec
    if spec is None:
        spec = "sqlite"
    if isinstance(spec, str) and spec in CHECKPOINTERS:
        if spec == "sqlite" and workspace is None:
            raise ConfigError("checkpointer 'sqlite' needs a workspace folder (or pass a .sqlite path)")
        return CHECKPOINTERS[spec](Path(workspace) if workspace is not None else Path("."))
    if isinstance(spec, str | Path) and Path(spec).suffix in (".sqlite", ".db", ".sqlite3"):
        return sqlite_checkpointer(spec)
    raise ConfigError(f"checkpointer: expected one of {', '.join(CHECKPOINTERS)}, a .sqlite path or a "
                      f"BaseCheckpointSaver, got {spec!r}")
