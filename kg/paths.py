"""Names a user or an upload supplies, made safe to use as one path component, and folders checked before writing.

Every file or folder name that comes from outside (an uploaded file's name, a workspace name typed in a form)
goes through :func:`safe_name` and :func:`safe_child`: the result is a single component inside the given root,
never ``.``/``..``, never hidden, never with a separator, NUL, control character or an over-long name.

>>> safe_name("../../etc/passwd")
'etc-passwd'
>>> safe_name("..")
'unnamed'
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

from kgagent.kg.errors import InputError, WorkspaceError

MAX_NAME = 64  # characters kept of a supplied name; file systems allow 255 bytes, readable names need far fewer
_UNSAFE = re.compile(r"[^\w.-]+")  # \w is Unicode-aware: letters of any script stay readable


def safe_name(name: str, *, default: str = "unnamed") -> str:
    """``name`` as one harmless path component: separators, NUL, control and other odd characters become ``-``,
    leading dots are dropped (no ``.``, ``..`` or hidden names), length is capped; ``default`` if nothing is left."""
    text = unicodedata.normalize("NFKC", str(name))
    text = "".join(c for c in text if unicodedata.category(c)[0] != "C")  # controls, NUL, surrogates, format
    text = _UNSAFE.sub("-", text).strip("-. ")
    text = re.sub(r"\.{2,}", ".", text)[:MAX_NAME].rstrip("-. ")
    return text or default


def safe_child(root: str | Path, name: str, *, default: str = "unnamed") -> Path:
    """``root / safe_name(name)``, checked to lie strictly inside ``root`` (even through symlinks)."""
    root = Path(root).resolve()
    child = (root / safe_name(name, default=default)).resolve()
    if child.parent != root:
        raise InputError(f"unsafe name {name!r}", field="name")
    return child


def writable_dir(path: str | Path, *, what: str = "workspace") -> Path:
    """``path`` as a folder that can be written: it exists as a folder we may write to, or it can be created.

    Raises :class:`WorkspaceError` naming the path (a file where a folder should be, a read-only folder) before
    any work is done, instead of an ``OSError`` deep inside a step.
    """
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise WorkspaceError(f"{path}: is a file, not a {what} folder; choose a folder path")
    probe = path
    while not probe.exists():  # the nearest existing ancestor decides whether the folder can be created
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise WorkspaceError(f"{path}: {probe} is a file, so no {what} folder can be made there")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        where = "" if probe == path else f" ({probe})"
        raise WorkspaceError(f"{path}: not writable{where}; choose a {what} folder you can write to")
    return path
