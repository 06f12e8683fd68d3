"""Intent data: JSON lines (``{"text", "intent"}``), CSV (``text,category``, as Banking77), or CLINC150's JSON
(``train``, ``val``, ``test``, ``oos_*``), read into :class:`IntentData`; bad data is an ``InputError`` naming
the file and line (or field).

>>> load_intent_data("intents.jsonl").train.intents[:2]  # doctest: +SKIP
['balance', 'balance']
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kgagent.kg.errors import InputError
from kgagent.kg.io import json_lines


@dataclass
class IntentSplit:
    """Parallel lists of texts and their gold intents."""

    texts: list[str] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def __add__(self, other: IntentSplit) -> IntentSplit:
        return IntentSplit(self.texts + other.texts, self.intents + other.intents)

    def subset(self, idx: Sequence[int]) -> IntentSplit:
        return IntentSplit([self.texts[i] for i in idx], [self.intents[i] for i in idx])

    def stratified_split(self, fraction: float, seed: int) -> tuple[IntentSplit, IntentSplit]:
        """``(rest, held_out)``: about ``fraction`` of each intent with 2+ examples held out, seeded."""
        rng = np.random.default_rng(seed)
        by_intent: dict[str, list[int]] = {}
        for i, intent in enumerate(self.intents):
            by_intent.setdefault(intent, []).append(i)
        held: list[int] = []
        for intent in sorted(by_intent):
            idx = by_intent[intent]
            if len(idx) < 2 or fraction <= 0:
                continue
            k = min(max(round(fraction * len(idx)), 1), len(idx) - 1)  # keep at least one for training
            held += rng.permutation(idx)[:k].tolist()
        held_set = set(held)
        return self.subset([i for i in range(len(self)) if i not in held_set]), self.subset(sorted(held))


@dataclass
class IntentData:
    """The splits of an intent file: ``train``, and ``val`` / ``test`` when the file has them (CLINC)."""

    path: Path
    train: IntentSplit
    val: IntentSplit | None = None
    test: IntentSplit | None = None

    def evaluation(self) -> IntentSplit:
        """What ``eval intents`` scores: ``test`` when present, else ``val``, else every example."""
        return self.test or self.val or self.train


def _check_example(text: Any, intent: Any, *, path: Path, line: int | None = None, field: str | None = None
                   ) -> tuple[str, str]:
    if not isinstance(text, str) or not text.strip():
        raise InputError("empty or missing text", path=path, line=line, field=field)
    if not isinstance(intent, str) or not intent.strip():
        raise InputError("empty or missing intent", path=path, line=line, field=field)
    return text.strip(), intent.strip()


def _load_jsonl(path: Path) -> IntentData:
    split = IntentSplit()
    for n, row in json_lines(path):
        if not isinstance(row, dict) or "text" not in row or "intent" not in row:
            raise InputError('each line must be an object with keys "text" and "intent"', path=path, line=n)
        text, intent = _check_example(row["text"], row["intent"], path=path, line=n)
        split.texts.append(text)
        split.intents.append(intent)
    return IntentData(path, split)


def _load_csv(path: Path) -> IntentData:
    split = IntentSplit()
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)  # quoted fields may span lines
        header = next(reader, None)
        if header is None:
            raise InputError("empty file", path=path, line=1)
        header = [h.strip().lower() for h in header]
        label_col = next((c for c in ("category", "intent", "label") if c in header), None)
        if "text" not in header or label_col is None:
            raise InputError("the header must name a text column and a category (or intent) column, got "
                             f"{header}", path=path, line=1)
        ti, li = header.index("text"), header.index(label_col)
        while True:
            line = reader.line_num + 1  # where the next record starts
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                raise InputError(f"bad CSV ({e})", path=path, line=line) from e
            if not row or not any(c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise InputError(f"expected {len(header)} fields, got {len(row)}", path=path, line=line)
            text, intent = _check_example(row[ti], row[li], path=path, line=line)
            split.texts.append(text)
            split.intents.append(intent)
    return IntentData(path, split)


def _clinc_part(obj: dict[str, Any], key: str, path: Path) -> IntentSplit:
    split = IntentSplit()
    items = obj.get(key, [])
    if not isinstance(items, list):
        raise InputError("expected a list of [text, intent] pairs", path=path, field=key)
    for i, item in enumerate(items):
        if isinstance(item, dict):
            item = [item.get("text"), item.get("intent")]
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise InputError("expected a [text, intent] pair", path=path, field=f"{key}[{i}]")
        text, intent = _check_example(*item, path=path, field=f"{key}[{i}]")
        split.texts.append(text)
        split.intents.append(intent)
    return split


def _load_json(path: Path) -> IntentData:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"not JSON ({e.msg})", path=path, line=e.lineno) from e
    if isinstance(obj, list):  # a list of {"text", "intent"} records
        return IntentData(path, _clinc_part({"records": obj}, "records", path))
    if not isinstance(obj, dict) or not {"train", "val", "test"} & set(obj):
        raise InputError('expected CLINC150 JSON (keys "train", "val", "test", "oos_*") or a list of records',
                         path=path, line=1)
    parts = {k: _clinc_part(obj, k, path) + _clinc_part(obj, f"oos_{k}", path)
             for k in ("train", "val", "test") if k in obj}
    return IntentData(path, parts.get("train", IntentSplit()), parts.get("val") or None,
                      parts.get("test") or None)


# file suffix -> loader
LOADERS: dict[str, Callable[[Path], IntentData]] = {
    ".jsonl": _load_jsonl, ".ndjson": _load_jsonl, ".csv": _load_csv, ".json": _load_json,
}


def load_intent_data(path: str | Path) -> IntentData:
    """Read an intent file (JSON lines, ``text,category`` CSV, or CLINC150 JSON); bad data: ``InputError``."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=path)
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise InputError(f"unknown intent data format {path.suffix!r}; use one of {sorted(LOADERS)}",
                         path=path)
    data = loader(path)
    if not len(data.train) and not len(data.evaluation()):
        raise InputError("no examples", path=path)
    return data
