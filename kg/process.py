"""Scoped process settings: library code changes torch threads, determinism, environment variables and logger
output only for a block, and puts back what was there. Entry points (the ``kgagent`` commands) set them for good,
and the allocator's (:func:`fixed_mmap_threshold`) only there.

>>> import torch
>>> before = torch.get_num_threads()
>>> with torch_threads(1):
...     torch.get_num_threads()
1
>>> torch.get_num_threads() == before
True
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` torch intra-op threads (0: leave them), then restore the previous number."""
    if n <= 0:
        yield
        return
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def deterministic_algorithms(enabled: bool = True) -> Iterator[None]:
    """Ask torch for deterministic kernels (a warning where none exist) in the block, then restore the setting."""
    import torch

    before = torch.are_deterministic_algorithms_enabled()
    warn_before = torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(enabled, warn_only=True)
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before, warn_only=warn_before)


@contextmanager
def env_default(name: str, value: str) -> Iterator[None]:
    """``os.environ.setdefault(name, value)`` for the block only (e.g. while a package reads it at import)."""
    had = name in os.environ
    os.environ.setdefault(name, value)
    try:
        yield
    finally:
        if not had:
            os.environ.pop(name, None)


@contextmanager
def gc_frozen() -> Iterator[None]:
    """Leave the objects alive when the block starts out of garbage collections until it ends (``gc.freeze``),
    unless something froze them already. PyKEEN collects garbage after every epoch: each full collection walked
    every object of the process (its own modules' among them), 0.16 s an epoch, 5 s of the demo graph's KGE step."""
    import gc

    if gc.get_freeze_count():  # frozen by the caller (e.g. before forking workers): theirs to unfreeze
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


class _ThreadQuiet(logging.Filter):
    """Drops a logger's records below a level, in the threads that asked for it only."""

    def __init__(self) -> None:
        super().__init__()
        self.local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= getattr(self.local, "level", logging.NOTSET)


_QUIET: dict[str, _ThreadQuiet] = {}
_QUIET_LOCK = threading.Lock()


@contextmanager
def quiet_logger(name: str, level: int = logging.ERROR) -> Iterator[None]:
    """Drop records of logger ``name`` below ``level`` raised in this thread during the block; the logger's own
    level, and what other threads log, are untouched (a filter, attached once, that is inert outside blocks)."""
    with _QUIET_LOCK:
        quiet = _QUIET.get(name)
        if quiet is None:
            quiet = _QUIET[name] = _ThreadQuiet()
            logging.getLogger(name).addFilter(quiet)
    before = getattr(quiet.local, "level", logging.NOTSET)
    quiet.local.level = level
    try:
        yield
    finally:
        quiet.local.level = before


# glibc's mallopt parameter for the size from which blocks are mapped on their own (returned to the system when freed)
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 4 << 20


def fixed_mmap_threshold(nbytes: int = MMAP_THRESHOLD) -> bool:
    """Map blocks of ``nbytes`` or more on their own for good (glibc only; an entry point's call, never a
    library's); True when set. glibc raises that threshold to the largest block freed so far (up to 32 MiB), after
    which blocks like the KGE evaluation's score and filter tensors (11 and 17 MiB a batch on MetaQA) come from the
    heap and fragment it: the KGE step's RSS grew by 2.3 GB over MetaQA's 2,000 test triples (peak 3.0 GB), and
    stayed within 0.6-0.7 GB there with the threshold fixed at 4 MiB (peak 1.1 GB). ``MALLOC_MMAP_THRESHOLD_`` in
    the environment, glibc's own setting, wins."""
    import ctypes
    import platform

    if os.environ.get("MALLOC_MMAP_THRESHOLD_") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        return bool(ctypes.CDLL("libc.so.6").mallopt(_M_MMAP_THRESHOLD, int(nbytes)))
    except (OSError, AttributeError):
        return False
