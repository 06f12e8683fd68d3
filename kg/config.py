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

import collections.abc
import dataclasses
import types
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

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
        hints = get_type_hints(cls)
    except (NameError, TypeError):  # annotations naming what only type checkers import: leave it to the class
        hints = {}
    for name, value in nested.items():
        if not is_dataclass(value) and not _fits(value, hints.get(name, Any)):
            raise ConfigError(f"{where} {name}: expected {_describe(hints[name])}, got {type(value).__name__} "
                              f"{value!r:.60}")
    try:
        return dataclasses.replace(base, **nested) if base is not None else cls(**nested)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{where}: {e}") from e


def _fits(value: Any, hint: Any) -> bool:
    """Whether ``value`` (as TOML or a caller gives it) fits the type ``hint`` of a config field; hints this does
    not know are accepted (the dataclass's own checks still run)."""
    origin, args = get_origin(hint), get_args(hint)
    if hint is Any:
        return True
    if origin in (Union, types.UnionType):
        return any(_fits(value, a) for a in args)
    if origin is Literal:
        return value in args
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if hint in (Path,):
        return isinstance(value, str | Path)
    container = origin or hint
    if container in (list, tuple, collections.abc.Sequence):
        if not isinstance(value, list | tuple):
            return False
        if container is tuple and args and not (len(args) == 2 and args[1] is Ellipsis):
            return len(value) == len(args) and all(_fits(v, a) for v, a in zip(value, args, strict=True))
        return not args or all(_fits(v, args[0]) for v in value)
    if container in (dict, collections.abc.Mapping):
        return isinstance(value, dict)
    return True


def _describe(hint: Any) -> str:
    origin, args = get_origin(hint), get_args(hint)
    if origin in (Union, types.UnionType):
        return " or ".join(_describe(a) for a in args)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if hint is type(None):
        return "nothing"
    names = {int: "an integer", float: "a number", str: "a string", bool: "true or false", dict: "a table",
             list: "a list", tuple: "a list"}
    return names.get(origin or hint, getattr(hint, "__name__", str(hint)))



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
