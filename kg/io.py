"""Atomic writes: an artifact is either complete or absent, never half-written; and reading JSON lines."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from kgagent.kg.errors import InputError


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, fsync, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def atomic_save_npy(path: str | Path, array: np.ndarray) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.save(f, array, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Build a directory in a temp sibling and swap it into place only if the block succeeds.

    The previous contents of ``path`` stay intact when the block raises, and a process killed at any moment
    leaves ``path`` holding the old folder or the new one: the swap is one atomic exchange where the OS has it
    (Linux ``renameat2``), else two renames whose window :func:`recover_dir` closes. Parent folders this call
    created are removed again when the block fails; temp folders of killed builds are removed by the next one.

    >>> with atomic_dir("ws/kg") as tmp:  # doctest: +SKIP
    ...     (tmp / "entities.tsv").write_text("...")
    """
    path = Path(path)
    recover_dir(path)
    made = _missing_parents(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_temps(path)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        for d in made:  # deepest first; only folders still empty
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    if path.exists() and _exchange(tmp, path):
        shutil.rmtree(tmp, ignore_errors=True)  # tmp now holds the previous folder
        return
    old = _old(path)
    shutil.rmtree(old, ignore_errors=True)
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)  # a kill between the two renames leaves only `old`: recover_dir puts it back
    shutil.rmtree(old, ignore_errors=True)


def json_lines(path: str | Path) -> Iterator[tuple[int, Any]]:
    """``(line number, value)`` of each non-blank line of a JSON-lines file; a line that is not JSON raises
    ``InputError`` naming it."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield n, json.loads(line)
            except json.JSONDecodeError as e:
                raise InputError(f"not JSON ({e.msg})", path=path, line=n) from e
def recover_dir(path: str | Path) -> bool:
    """Put back the previous folder when a swap of :func:`atomic_dir` was cut off between its two renames.

    Returns True when something was restored. Cheap (a stat or two); called whenever a workspace is opened.
    """
    path = Path(path)
    old = _old(path)
    if path.exists() or not old.is_dir():
        return False
    try:
        os.replace(old, path)
    except OSError:  # a read-only place: leave it; the caller reports what is missing
        return False
    return True


def clean_stale_temps(path: str | Path) -> list[Path]:
    """Remove temp siblings of ``path`` left by :func:`atomic_dir` in processes that are gone (killed builds).

    Only folders named ``.NAME.PID.*.tmp`` whose PID is no longer running are removed: a build still running in
    another process keeps its folder.
    """
    path = Path(path)
    removed = []
    if not path.parent.is_dir():
        return removed
    for tmp in path.parent.glob(f".{glob_escape(path.name)}.*.tmp"):
        pid = tmp.name[len(path.name) + 2:].split(".", 1)[0]
        if tmp.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(tmp, ignore_errors=True)
            removed.append(tmp)
    return removed


def glob_escape(name: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in name)


def _old(path: Path) -> Path:
    return path.with_name(f".{path.name}.old")


def _missing_parents(path: Path) -> list[Path]:
    """Ancestors of ``path`` that do not exist yet, deepest first."""
    out = []
    p = path.parent
    while not p.exists() and p.parent != p:
        out.append(p)
        p = p.parent
    return out


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two existing paths (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    return rc == 0  # EINVAL/ENOSYS (a file system or kernel without it): fall back to two renames
