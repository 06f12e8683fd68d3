"""The workspace folder every step reads and writes: ``kg/``, ``kge/``, ``index/``, ``models/``, ``manifest.json``."""

from __future__ import annotations

import hashlib
import json
import platform
import time
import tomllib
from dataclasses import asdict, dataclass, is_dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from kgagent.kg.config import make_config
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

    def section(self, section: str) -> dict[str, Any]:
        """The table ``[section]`` of ``kgagent.toml`` as it is written (empty when absent)."""
        values = self.settings().get(section, {})
        if not isinstance(values, dict):
            raise ConfigError(f"{self.config_path} [{section}]: must be a table ([{section}] with key = value "
                              f"lines), not {type(values).__name__} {values!r:.40}")
        return values

    def lexicon(self) -> dict[str, list[str]]:
        """``[lexicon]``: a few phrasings per relation (``directed_by = ["director", "filmmaker"]``)."""
        out: dict[str, list[str]] = {}
        for relation, phrases in self.section("lexicon").items():
            phrases = [phrases] if isinstance(phrases, str) else phrases
            if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
                raise ConfigError(f"{self.config_path} [lexicon]: {relation} must be a list of phrases")
            out[relation] = [p.strip() for p in phrases]
        return out

    def config(self, section: str, cls: type[T], **overrides: Any) -> T:
        """The dataclass ``cls`` filled from ``[section]`` of ``kgagent.toml``, then ``overrides`` (None skipped)."""
        values = self.section(section)
        return make_config(cls, {**values, **{k: v for k, v in overrides.items() if v is not None}},
                           where=f"{self.config_path} [{section}]")


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
