"""Conversation memory: a LangGraph checkpointer, SQLite in the workspace by default, in-memory on request, or
PostgreSQL (``postgres://...``) shared by several server replicas.

Each conversation is a ``thread_id``; LangGraph keeps threads apart, and the SQLite file (or the database) lets a
conversation continue after a restart, or on another replica (a new graph over the same store and thread id sees
the earlier turns).

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


def postgres_checkpointer(uri: str, *, pool_size: int = 8) -> BaseCheckpointSaver:
    """A PostgreSQL checkpointer on ``uri`` (``postgres://user@host:port/db``), its tables created if missing.

    Connections come from a pool of up to ``pool_size`` (close it with ``saver.conn.close()``). Replicas starting
    together create the tables one at a time (an advisory lock), so none sees a half-made schema.
    """
    try:
        import psycopg
        from langgraph.checkpoint.postgres import PostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import ConnectionPool
    except ImportError as e:
        raise ConfigError(f"memory {_redact(uri)}: PostgreSQL needs langgraph-checkpoint-postgres and psycopg ({e})"
                          ) from e
    try:
        with psycopg.connect(uri, autocommit=True, row_factory=dict_row) as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (_SETUP_LOCK,))
            PostgresSaver(conn).setup()  # the lock is released when this connection closes
    except psycopg.Error as e:
        raise ConfigError(f"memory {_redact(uri)}: cannot use the database ({str(e).strip().splitlines()[0]})") from e
    # timeout: a turn (or a readiness probe) waits at most this long for a connection, then fails clearly
    pool = ConnectionPool(uri, min_size=1, max_size=pool_size, open=True, timeout=10,
                          kwargs={"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row})
    return PostgresSaver(pool)


_SETUP_LOCK = 0x6B6761  # any fixed 64-bit key: the replicas of one database agree on it
POSTGRES_SCHEMES = ("postgres://", "postgresql://")


def _redact(uri: str) -> str:
    """``uri`` without its password, for messages."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


CHECKPOINTERS: dict[str, Callable[[Path], Any]] = {
    "sqlite": lambda ws_root: sqlite_checkpointer(Path(ws_root) / CHECKPOINT_FILE),
    "memory": lambda ws_root: memory_checkpointer(),
}


def make_checkpointer(spec: Any = None, workspace: str | Path | None = None) -> BaseCheckpointSaver:
    """Resolve ``spec`` into a checkpointer.

    ``None`` or ``"sqlite"``: ``WS/checkpoints.sqlite``; ``"memory"``: in-memory; a path ending in ``.sqlite``/``.db``:
    SQLite there; ``postgres://...``: that PostgreSQL database; a ``BaseCheckpointSaver``: itself.
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
    if isinstance(spec, str) and spec.startswith(POSTGRES_SCHEMES):
        return postgres_checkpointer(spec)
    if isinstance(spec, str | Path) and Path(spec).suffix in (".sqlite", ".db", ".sqlite3"):
        return sqlite_checkpointer(spec)
    raise ConfigError(f"checkpointer: expected one of {', '.join(CHECKPOINTERS)}, a .sqlite path, postgres://... or a "
                      f"BaseCheckpointSaver, got {spec!r}")
