"""The workspace folder every step reads and writes: ``kg/``, ``kge/``, ``index/``, ``models/``, ``manifest.json``."""

from __future__ import annotations

import collections.abc
import hashlib
import json
import platform
import time
import tomllib
import types
from dataclasses import asdict, dataclass, fields, is_dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from kgagent.kg.errors import ConfigError, WorkspaceError
from kgagent.kg.io import atomic_write_json, recover_dir

T = TypeVar("T")
_PACKAGES = ("kgagent", "torch", "transformers", "peft", "pykeen", "faiss-cpu", "langgraph", "gradio", "networkx")


@dataclass(frozen=True)
class Workspace:
    """Paths of a workspace folder and its manifest.

    >>> ws = Workspace("ws")
    >>> ws.kge_dir.name
    'kge'
    """

    root: Path

    def __init__(self, root: str | Path) -> None:
        object.__setattr__(self, "root", Path(root))

    kg_dir = property(lambda self: self.root / "kg")
    kge_dir = property(lambda self: self.root / "kge")
    index_dir = property(lambda self: self.root / "index")
    models_dir = property(lambda self: self.root / "models")
    manifest_path = property(lambda self: self.root / "manifest.json")
    config_path = property(lambda self: self.root / "kgagent.toml")

    PARTS = ("kg", "kge", "index", "models")

    def recover(self) -> Workspace:
        """Put back folders a killed swap left aside (see :func:`kg.io.recover_dir`): the workspace and its parts."""
        recover_dir(self.root)
        for part in self.PARTS:
            recover_dir(self.root / part)
        return self

    def require(self, part: str) -> Path:
        """The folder of ``part`` ("kg", "kge", "index", ...), or a clear error naming the step to run."""
        recover_dir(self.root)
        path = self.root / part
        recover_dir(path)
        if not path.exists():
            hint = {"kg": "kgagent kg load FILE --workspace WS", "kge": "kgagent train kge WS",
                    "index": "kgagent index WS"}.get(part, "kgagent build FILE --workspace WS")
            raise WorkspaceError(f"{self.root}: no {part}/ in this workspace; run `{hint}` first")
        return path

    # ----------------------------------------------------------------- manifest
    def manifest(self) -> dict[str, Any]:
        if not self.manifest_path.exists():
            return {}
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as e:
            raise WorkspaceError(f"{self.manifest_path}:{e.lineno}: corrupt manifest ({e.msg})") from e

    def record(self, step: str, *, config: Any = None, metrics: dict | None = None,
               artifacts: list[Path] | None = None, **extra: Any) -> None:
        """Record a finished step in ``manifest.json`` (config, metrics, checksums, package versions)."""
        m = self.manifest()
        m.setdefault("created", time.strftime("%Y-%m-%dT%H:%M:%S"))
        m["versions"] = package_versions()
        entry: dict[str, Any] = {"finished": time.strftime("%Y-%m-%dT%H:%M:%S")}
        if config is not None:
            entry["config"] = asdict(config) if is_dataclass(config) else config
        if metrics is not None:
            entry["metrics"] = metrics
        if artifacts:
            entry["checksums"] = {str(p.relative_to(self.root)): sha256_file(p) for p in artifacts if p.is_file()}
        entry.update(extra)
        m.setdefault("steps", {})[step] = entry
        atomic_write_json(self.manifest_path, m)

    # ----------------------------------------------------------------- config (one TOML, one section per step)
    def settings(self) -> dict[str, Any]:
        """The whole ``kgagent.toml`` (empty when there is none)."""
        if not self.config_path.exists():
            return {}
        try:
            return tomllib.loads(self.config_path.read_text(encoding="utf-8"))
        except UnicodeDecodeError as e:
            raise ConfigError(f"{self.config_path}: not UTF-8 text (byte {e.start}); save it as UTF-8") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{self.config_path}: {e}") from None
        except OSError as e:
            raise ConfigError(f"{self.config_path}: cannot read ({e.strerror})") from None

    def config(self, section: str, cls: type[T], **overrides: Any) -> T:
        """The dataclass ``cls`` filled from ``[section]`` of ``kgagent.toml``, then ``overrides`` (None skipped)."""
        values = self.settings().get(section, {})
        if not isinstance(values, dict):
            raise ConfigError(f"{self.config_path} [{section}]: must be a table ([{section}] with key = value "
                              f"lines), not {type(values).__name__} {values!r:.40}")
        return make_config(cls, {**values, **{k: v for k, v in overrides.items() if v is not None}},
                           where=f"{self.config_path} [{section}]")


def make_config(cls: type[T], values: dict[str, Any], *, where: str = "config") -> T:
    """Build dataclass ``cls`` from ``values``, naming any unknown field."""
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    try:
        hints = get_type_hints(cls)
    except (NameError, TypeError):  # annotations naming what only type checkers import: leave it to the class
        hints = {}
    for name, value in values.items():
        if not _fits(value, hints.get(name, Any)):
            raise ConfigError(f"{where} {name}: expected {_describe(hints[name])}, got {type(value).__name__} "
                              f"{value!r:.60}")
    try:
        return cls(**values)
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


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in _PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            continue
    return out


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
