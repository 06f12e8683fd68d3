"""Config dataclasses: building them from TOML tables (flat or nested) and checking their fields.

A config may nest sub-configs (``QAConfig.encoder`` is an ``EncoderConfig``), as peft's ``LoraConfig`` nests its
own. ``make_config`` fills a sub-config from its table (``[qa.encoder]``) and/or from its field names written at
the top level (``[qa] lora_r = 4``, the flat form); flat keys win, so a command-line override beats the file.

>>> from dataclasses import dataclass
>>> @dataclass
... class Opt:
...     epochs: int = 1
...     def __post_init__(self) -> None:
...         check_ints(self, "epochs")
>>> Opt(0)
Traceback (most recent call last):
...
ValueError: epochs must be a positive integer, not 0
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

from kgagent.kg.errors import ConfigError

T = TypeVar("T")


def _subconfigs(cls: type) -> dict[str, Any]:
    """``{field name: default instance}`` of the fields of ``cls`` whose default is a dataclass."""
    out = {}
    for f in fields(cls):
        if f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
            if is_dataclass(default):
                out[f.name] = default
    return out


def nest_values(cls: type, values: Mapping[str, Any], where: str = "config") -> dict[str, Any]:
    """``values`` with flat sub-config fields (and sub-config tables) folded into sub-config instances."""
    own = {f.name for f in fields(cls)}
    subs = _subconfigs(cls)
    out = {k: v for k, v in values.items() if k in own and k not in subs}
    flat_left = {k: v for k, v in values.items() if k not in own}
    for name, default in subs.items():
        given = values.get(name)
        table = dataclasses.asdict(given) if is_dataclass(given) else dict(given or {})
        sub_fields = {f.name for f in fields(default)}
        table.update({k: flat_left.pop(k) for k in list(flat_left) if k in sub_fields})
        if table or name in values:
            out[name] = make_config(type(default), table, where=f"{where} {name}", base=default)
    out.update(flat_left)  # unknown: reported by the caller
    return out


def make_config(cls: type[T], values: Mapping[str, Any], *, where: str = "config", base: Any = None) -> T:
    """Build dataclass ``cls`` from ``values`` (flat or nested, see the module docstring), naming any unknown
    field; ``base`` is an instance whose values stand for the ones not given."""
    nested = nest_values(cls, values, where)
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    known_flat = known | {n for d in _subconfigs(cls).values() for n in (f.name for f in fields(d))}
    unknown = sorted(set(nested) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known_flat))}")
    try:
        return dataclasses.replace(base, **nested) if base is not None else cls(**nested)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: {e}") from e


def check_ints(obj: Any, *names: str, minimum: int = 1, optional: bool = False, error: type = ValueError,
               prefix: str = "") -> None:
    """Each field ``names`` of ``obj`` is an integer (not a bool) >= ``minimum`` (None too with ``optional``)."""
    for name in names:
        v = getattr(obj, name)
        if optional and v is None:
            continue
        if not isinstance(v, int) or isinstance(v, bool) or v < minimum:
            kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
            raise error(f"{prefix}{name} must be {kind}{' or None' if optional else ''}, not {v!r}")


def check_range(obj: Any, *names: str, low: float = 0.0, high: float | None = None, low_open: bool = False,
                high_open: bool = False, optional: bool = False, error: type = ValueError, prefix: str = "") -> None:
    """Each field ``names`` of ``obj`` is a number in ``[low, high]`` (``(`` / ``)`` with ``*_open``);
    ``high=None``: no upper bound; None passes with ``optional``."""
    for name in names:
        v = getattr(obj, name)
        if optional and v is None:
            continue
        ok = isinstance(v, int | float) and not isinstance(v, bool)
        ok = ok and (v > low if low_open else v >= low)
        ok = ok and (high is None or (v < high if high_open else v <= high))
        if not ok:
            if high is None:
                what = f"> {low:g}" if low_open else f">= {low:g}"
            else:
                what = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
            raise error(f"{prefix}{name} must be {what}{' or None' if optional else ''}, not {v!r}")


__all__ = ["check_ints", "check_range", "make_config", "nest_values"]
