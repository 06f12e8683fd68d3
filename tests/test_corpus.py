"""The bad-input corpus: every file under ``tests/corpus`` through the real ``kgagent`` command line.

``tests/corpus/manifest.json`` lists each case with its expected outcome: the exit code and the words the one-line
message must contain (or, for hostile chat text, a reply that renders no Markdown image, link or HTML). Kinds:

- ``kg``: ``kgagent kg load FILE --workspace NEW``; on failure nothing may be left at NEW.
- ``workspace``: a tiny workspace (built once per session) with one file replaced by a corpus file or damaged by
  an ``op`` (``truncate:N`` keeps N bytes, or drops -N; ``garble`` overwrites the first bytes), then ``args``.
- ``settings``: the tiny workspace with ``kgagent.toml`` replaced, then a question.
- ``question``: the file's bytes as the question (decoded as argv is), ``kgagent ask WS TEXT --json``.
- ``chat-cli``: the file's lines typed into ``kgagent chat WS --cli``.
- ``cli``: ``args`` as given.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from pathlib import Path

import pytest

CORPUS = Path(__file__).parent / "corpus"
CASES = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
NEVER_IN_ANSWERS = ("![", "<img", "<script", "](javascript")


def ring_triples(n: int = 12) -> list[tuple[str, str, str]]:
    return [row for i in range(n) for row in ((f"p{i}", "next", f"p{(i + 1) % n}"),
                                              (f"p{i}", "in_class", f"class{i % 2}"))]


@pytest.fixture(scope="session")
def corpus_bases(tmp_path_factory: pytest.TempPathFactory, tiny_triples) -> dict[str, Path]:
    """The tiny workspaces the cases start from: ``kg`` (KG only), ``kge`` (a trained PyKEEN model), ``qa`` (a QA
    model folder: settings, heads and rules, enough for every file to be read), ``hostile`` (labels that are
    Markdown and HTML)."""
    import torch
    from safetensors.torch import save_file

    from kgagent.kg import KnowledgeGraph, Workspace
    from kgagent.kg.embeddings import KGEConfig, train_embeddings
    from kgagent.kg.io import atomic_write_json

    root = tmp_path_factory.mktemp("corpus-bases")
    kg = KnowledgeGraph.from_triples(tiny_triples)
    kg.save(Workspace(root / "kg").kg_dir)

    ring = KnowledgeGraph.from_triples(ring_triples())
    ring.save(Workspace(root / "kge").kg_dir)
    train_embeddings(ring, config=KGEConfig(model="TransE", dim=8, epochs=2, batch_size=32, eval_batch_size=16,
                                            early_stopping=False), out_dir=Workspace(root / "kge").kge_dir,
                     progress=False)

    qa = Workspace(root / "qa")
    kg.save(qa.kg_dir)
    folder = qa.models_dir / "qa"
    folder.mkdir(parents=True)
    atomic_write_json(folder / "qa_config.json", {"config": {}, "num_entities": kg.num_entities,
                                                  "relations": kg.relations, "paths": [["directed_by"]]})
    save_file({"w": torch.zeros(2)}, str(folder / "heads.safetensors"))
    atomic_write_json(folder / "rules.json", {"rules": [], "config": {}})

    KnowledgeGraph.from_triples([("Hostile Film", "directed_by", "![x](http://evil.example/p.png)"),
                                 ("Hostile Film", "starred_actors", "<img src=x onerror=alert(1)>"),
                                 ("Link Film", "directed_by", "[click](http://evil.example)")]
                                ).save(Workspace(root / "hostile").kg_dir)
    return {p.name: p for p in root.iterdir()}


def _damage(path: Path, op: str) -> None:
    data = path.read_bytes()
    if op.startswith("truncate:"):
        n = int(op.split(":")[1])
        path.write_bytes(data[:n])  # n < 0 drops the last -n bytes
    elif op == "garble":
        path.write_bytes(bytes(b ^ 0x5A for b in data[:64]) + data[64:])
    else:
        raise ValueError(f"unknown op {op!r}")


class _LineStdin(io.RawIOBase):
    """stdin as a terminal gives it: one line per read, so one undecodable line does not spoil the others."""

    def __init__(self, data: bytes) -> None:
        self.lines = data.splitlines(keepends=True)

    def readable(self) -> bool:
        return True

    def readinto(self, buf) -> int:
        if not self.lines:
            return 0
        line = self.lines.pop(0)
        buf[: len(line)] = line
        return len(line)


def _run(argv: list[str], capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch,
         stdin: bytes | None = None) -> tuple[int, str, str]:
    from kgagent.agent.cli import main

    if stdin is not None:
        stream = io.TextIOWrapper(io.BufferedReader(_LineStdin(stdin), buffer_size=1 << 16), encoding="utf-8")
        monkeypatch.setattr(sys, "stdin", stream)
    capsys.readouterr()
    rc = main(argv)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_corpus(case: dict, corpus_bases: dict[str, Path], tmp_path: Path, capsys, monkeypatch) -> None:
    kind = case["kind"]
    out = tmp_path / "out"
    out.mkdir()
    file = CORPUS / case["file"] if "file" in case else None
    ws = None
    base = case.get("base", "kg" if kind in ("settings", "question", "chat-cli") else None)
    if base is not None:
        ws = tmp_path / "ws"
        shutil.copytree(corpus_bases[base], ws)
    if kind == "workspace":
        target = ws / case["target"]
        if "replace" in case:
            shutil.copyfile(CORPUS / case["replace"], target)
        else:
            _damage(target, case["op"])
    if kind == "settings":
        shutil.copyfile(file, ws / "kgagent.toml")

    fill = {"{corpus}": str(CORPUS), "{out}": str(out), "{ws}": str(ws), "{file}": str(file)}
    args = [_fill(a, fill) for a in case.get("args", [])]
    stdin = None
    if kind == "kg":
        args = ["kg", "load", str(file), "--workspace", str(out / "ws"), *args]
    elif kind == "settings":
        args = ["ask", str(ws), "who directed Alien?"]
    elif kind == "question":
        args = ["ask", str(ws), os.fsdecode(file.read_bytes()), "--json"]  # bytes as argv decodes them
    elif kind == "chat-cli":
        args, stdin = ["chat", str(ws), "--cli", "--memory"], file.read_bytes()

    rc, stdout, stderr = _run(args, capsys, monkeypatch, stdin)
    assert rc == case["exit"], f"exit {rc}\nstdout: {stdout[-2000:]}\nstderr: {stderr[-2000:]}"
    if rc == 2:
        lines = stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), stderr  # one line, no traceback
    text = stderr if rc else stdout
    for word in case["says"]:
        assert word in text, f"{word!r} not in {text[-2000:]!r}"
    if kind == "kg" and rc:
        assert not (out / "ws").exists(), "a failed load left a workspace behind"
    if kind == "question":
        answer = json.loads(stdout)["answer"]
        assert isinstance(answer, str) and answer
        for bad in (*NEVER_IN_ANSWERS, *case.get("never", ())):
            assert bad not in answer, answer


def _fill(arg: str, values: dict[str, str]) -> str:
    for k, v in values.items():
        arg = arg.replace(k, v)
    return arg


def test_the_corpus_is_large_and_covers_every_kind_and_format() -> None:
    from kgagent.kg.loaders import LOADERS

    assert len(CASES) >= 80 and len({c["id"] for c in CASES}) == len(CASES)
    assert {c["kind"] for c in CASES} >= {"kg", "workspace", "settings", "question", "chat-cli", "cli"}
    formats = {Path(c["file"]).suffix for c in CASES if c["kind"] == "kg"}
    assert formats >= {".tsv", ".csv", ".txt", ".jsonl", ".nt", ".ttl", ".rdf"}, formats
    assert {"tsv", "csv", "pipe", "jsonl", "nt", "ttl", "rdf"} <= set(LOADERS)
