"""Time budgets: ``parse_duration`` reads "90s", "10m", "1h30m"; ``Deadline`` says how much of one is left.

A build given ``--budget`` shares what is left among the steps still to run (``agent.build``); each step hands
its share to the training loops that can stop early (PyKEEN's, ``training.trainer.train_loop``), which keep the
best weights they validated. Steps that cannot stop early (loading, encoding the index) still run to the end.

>>> parse_duration("1h30m"), parse_duration("90s"), parse_duration("2.5m"), parse_duration(45)
(5400.0, 90.0, 150.0, 45.0)
>>> Deadline(None).left() is None
True
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

MIN_SHARE = 0.001  # seconds: what a part of a spent budget gets
_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(h|min|m|sec|s)?", re.IGNORECASE)


def parse_duration(text: str | float | int) -> float:
    """Seconds in ``text``: a number (seconds) or parts such as ``90s``, ``10m``, ``1h30m``; ``ValueError``
    names what it could not read."""
    if isinstance(text, int | float) and not isinstance(text, bool):
        seconds = float(text)
    else:
        s = str(text).strip().lower().replace(" ", "")
        pos, seconds = 0, 0.0
        for m in _PART.finditer(s):
            if m.start() != pos:
                break
            seconds += float(m.group(1)) * _UNITS[m.group(2) or "s"]
            pos = m.end()
        if not s or pos != len(s):
            raise ValueError(f"not a duration: {text!r} (write e.g. 90s, 10m or 1h30m)")
    if not seconds > 0:
        raise ValueError(f"a duration must be positive, not {text!r}")
    return seconds


@dataclass
class Deadline:
    """``seconds`` from when it is made; ``None``: no budget (every question about it answers ``None``)."""

    seconds: float | None
    start: float = field(default_factory=time.perf_counter)

    def left(self) -> float | None:
        """Seconds left (0 once passed), or None without a budget."""
        if self.seconds is None:
            return None
        return max(0.0, self.seconds - (time.perf_counter() - self.start))

    def share(self, weight: float, of: float) -> float | None:
        """``weight / of`` of what is left: a step's part when steps of total weight ``of`` remain. Never 0 (a
        limit of 0 is no limit to a config): past the deadline each part is a millisecond, its shortest run."""
        left = self.left()
        return None if left is None else max(left * weight / max(of, 1e-9), MIN_SHARE)


def tighter(a: float | None, b: float | None) -> float | None:
    """The smaller of two optional limits (None: no limit).

    >>> tighter(None, 5.0), tighter(3.0, 5.0), tighter(None, None)
    (5.0, 3.0, None)
    """
    return b if a is None else a if b is None else min(a, b)
