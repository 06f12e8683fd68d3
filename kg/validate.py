"""Reading workspace files: each reader checks what it reads and names the file when it is damaged.

A workspace file can be truncated by a full disk, garbled by a copy, or edited by hand. Every loader of a
workspace artifact reads through these functions, so damage surfaces as one :class:`WorkspaceError` line
(``ws/kg/triples.npy: truncated or not a .npy array; rebuild the workspace``) rather than a traceback from numpy,
safetensors or json.

>>> read_json("ws/models/qa/qa_config.json")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from kgagent.kg.errors import WorkspaceError

T = TypeVar("T")
REBUILD = "rebuild the workspace (kgagent build FILE --workspace WS)"


def damaged(path: str | Path, what: str) -> WorkspaceError:
    """The one-line error for a damaged workspace file."""
    return WorkspaceError(f"{path}: {what}; {REBUILD}")


def read_text(path: str | Path) -> str:
    """A UTF-8 text file of a workspace."""
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise damaged(path, f"not UTF-8 text (byte {e.start})") from None
    except FileNotFoundError:
        raise damaged(path, "missing") from None


def read_json(path: str | Path, *, kind: type = dict) -> Any:
    """A JSON file whose top level is ``kind`` (dict or list)."""
    text = read_text(path)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise damaged(path, f"invalid JSON at line {e.lineno} ({e.msg})") from None
    except RecursionError:
        raise damaged(path, "invalid JSON (nested too deeply)") from None
    if not isinstance(obj, kind):
        raise damaged(path, f"expected a JSON {kind.__name__}, found {type(obj).__name__}")
    return obj


def parse(path: str | Path, what: str, fn: Callable[[], T]) -> T:
    """``fn()``, with the usual shapes of a malformed record (missing key, wrong type, bad value) reported as
    damage to ``path`` (``what`` says what was being read)."""
    try:
        return fn()
    except (KeyError, IndexError, TypeError, ValueError, AttributeError, RuntimeError) as e:
        raise damaged(path, f"malformed {what} ({type(e).__name__}: {str(e)[:120]})") from None


def read_npy(path: str | Path, *, ndim: int | None = None, kind: str | None = None) -> np.ndarray:
    """A ``.npy`` array (never a pickle), with ``ndim`` dimensions and dtype kind ``kind`` ("i", "f", "b")."""
    try:
        arr = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise damaged(path, "missing") from None
    except Exception as e:  # numpy's header parser fails in many ways (ValueError, EOFError,
        # SyntaxError, tokenize errors...) on damaged bytes: each means the same thing here
        raise damaged(path, f"truncated or not a .npy array ({type(e).__name__})") from None
    if ndim is not None and arr.ndim != ndim:
        raise damaged(path, f"expected a {ndim}-d array, found shape {arr.shape}")
    if kind is not None and arr.dtype.kind not in kind:
        raise damaged(path, f"expected an array of kind {kind!r}, found dtype {arr.dtype}")
    return arr


def check_safetensors(path: str | Path) -> dict[str, Any]:
    """The header of a safetensors file, checked against the file's size (so truncation is caught without
    loading the tensors): ``{name: {"dtype", "shape", "data_offsets"}}``."""
    path = Path(path)
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
            if len(head) < 8:
                raise damaged(path, "truncated (no safetensors header)")
            (n,) = struct.unpack("<Q", head)
            if n > min(size - 8, 100 << 20):
                raise damaged(path, "truncated or not a safetensors file (header larger than the file)")
            header = json.loads(f.read(n))
    except FileNotFoundError:
        raise damaged(path, "missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise damaged(path, "not a safetensors file (garbled header)") from None
    if not isinstance(header, dict):
        raise damaged(path, "not a safetensors file (garbled header)")
    end = 0
    for name, info in header.items():
        if name == "__metadata__":
            continue
        offsets = info.get("data_offsets") if isinstance(info, dict) else None
        if not (isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets)):
            raise damaged(path, f"not a safetensors file (tensor {name!r} has no data offsets)")
        end = max(end, offsets[1])
    if 8 + n + end != size:
        raise damaged(path, f"truncated or padded: the header describes {8 + n + end} bytes, the file has {size}")
    return header


def read_safetensors(path: str | Path) -> dict[str, Any]:
    """The tensors of a safetensors file (torch), after :func:`check_safetensors`."""
    from safetensors.torch import load_file

    check_safetensors(path)
    try:
        return load_file(str(path))
    except Exception as e:  # as read_npy: any failure of the parser on damaged bytes
        raise damaged(path, f"unreadable tensors ({type(e).__name__}: {str(e)[:100]})") from None


def check_ids(path: str | Path, triples: np.ndarray, num_entities: int, num_relations: int) -> None:
    """Raise naming ``path`` when an ``(n, 3)`` id array points past the entity or relation tables."""
    if triples.ndim != 2 or triples.shape[1] != 3:
        raise damaged(path, f"expected an (n, 3) array of ids, found shape {triples.shape}")
    if not len(triples):
        return
    if triples.min() < 0 or triples[:, [0, 2]].max() >= num_entities or triples[:, 1].max() >= num_relations:
        raise damaged(path, f"triple ids out of range: {num_entities} entities (entities.tsv), {num_relations} "
                            "relations (relations.txt)")
