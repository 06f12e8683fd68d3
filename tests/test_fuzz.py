"""Property-based: random bytes and random well-formed but odd triples into every loader and every workspace
reader. Whatever comes in, the outcome is a loaded KG or a ``KgAgentError``, never another exception, and a
failed load never leaves a half-written workspace.

A few hundred examples in the normal run; ``-m slow`` runs the same properties with many more.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kgagent.kg import KnowledgeGraph, Workspace
from kgagent.kg.errors import KgAgentError
from kgagent.kg.loaders import EXTENSIONS, LOADERS

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SUFFIX = {name: next(ext for ext, n in EXTENSIONS.items() if n == name) for name in LOADERS}

# names: any text, biased toward what breaks parsers (quotes, delimiters, escapes, controls, markup, huge numbers)
ODD = st.sampled_from(["\t", "\n", "\r", '"', "'", ",", "|", "\\", "<", ">", "&", "#", "^-1", "\x00", "\x1b[2J",
                       "\u0085", "\u202e", "\ufeff", "NaN", "inf", "1e999", "_:b0", "http://e/x", "@prefix", " "])
NAME = st.lists(st.one_of(st.text(min_size=1, max_size=6), ODD), min_size=1, max_size=4).map("".join)
TRIPLES = st.lists(st.tuples(NAME, NAME, NAME), min_size=1, max_size=8)


def _load_into_workspace(path: Path, fmt: str, root: Path) -> None:
    """``kg load`` through its front door; on failure nothing may be left, on success the saved KG reads back."""
    from kgagent.agent.build import load_step

    ws = root / "ws"
    try:
        load_step(path, ws, format=fmt)
    except KgAgentError as e:
        assert str(e) and "\n" not in str(e).strip(), str(e)
        assert not ws.exists(), "a failed load left a workspace"
        assert sorted(p.name for p in root.iterdir()) == [path.name], "a failed load left files behind"
        return
    kg = KnowledgeGraph.load(Workspace(ws).kg_dir)
    assert kg.num_triples >= 1


@contextlib.contextmanager
def _tmp() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="kgfuzz-"))
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _tests(body, **strategies):
    """Two tests of one property: a few examples in the normal run, many under ``-m slow``."""
    fast = FAST(given(**strategies)(body))
    many = pytest.mark.slow(SLOW(given(**strategies)(body)))
    return fast, many


# ----------------------------------------------------------------- random bytes into every loader
def _random_bytes(fmt: str, data: bytes) -> None:
    with _tmp() as root:
        path = root / f"kb{SUFFIX[fmt]}"
        path.write_bytes(data)
        _load_into_workspace(path, fmt, root)


BYTES = st.one_of(st.binary(max_size=400),
                  st.lists(st.sampled_from([b"a", b"\t", b"|", b",", b'"', b"\n", b"<", b">", b"{", b"}", b":",
                                            b"@prefix ", b"<http://e/", b" .", b"\xff", b"\x00", b"\\u0000",
                                            b"<!ENTITY", b"rdf:RDF", b"[", b"]", b";", b"\"\"\""]),
                           max_size=60).map(b"".join))


FORMATS = st.sampled_from(sorted(LOADERS))
test_random_bytes_load_or_fail_cleanly, test_random_bytes_load_or_fail_cleanly_many = _tests(
    _random_bytes, fmt=FORMATS, data=BYTES)


# ----------------------------------------------------------------- odd but well-formed triples, written per format
def _write(fmt: str, triples: list[tuple[str, str, str]]) -> bytes:
    if fmt in ("tsv", "pipe"):
        sep = "\t" if fmt == "tsv" else "|"
        return "".join(sep.join(t) + "\n" for t in triples).encode("utf-8", "surrogatepass")
    if fmt == "csv":
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(triples)
        return buf.getvalue().encode("utf-8", "surrogatepass")
    if fmt == "jsonl":
        return "".join(json.dumps(dict(zip(("head", "relation", "tail"), t, strict=True))) + "\n"
                       for t in triples).encode()
    import rdflib

    g = rdflib.Graph()
    for h, r, t in triples:
        g.add((rdflib.URIRef("http://e/" + _iri(h)), rdflib.URIRef("http://e/" + _iri(r)), rdflib.Literal(t)))
    return g.serialize(format={"nt": "nt", "ttl": "turtle", "rdf": "xml", "xml": "xml"}[fmt]).encode()


def _iri(text: str) -> str:
    from urllib.parse import quote

    return quote(text.encode("utf-8", "surrogatepass"), safe="") or "x"


def _odd_triples(fmt: str, triples: list[tuple[str, str, str]]) -> None:
    try:
        data = _write(fmt, triples)
    except Exception:  # the writer cannot express it (rdflib and a control character): nothing to load
        return
    with _tmp() as root:
        path = root / f"kb{SUFFIX[fmt]}"
        path.write_bytes(data)
        _load_into_workspace(path, fmt, root)


test_odd_triples_load_or_fail_cleanly, test_odd_triples_load_or_fail_cleanly_many = _tests(
    _odd_triples, fmt=FORMATS, triples=TRIPLES)


# ----------------------------------------------------------------- damaged workspace files and safetensors
HOW = st.sampled_from(["replace", "truncate", "overwrite"])


def _damage(path: Path, how: str, data: bytes) -> None:
    """Replace the file by ``data``, cut it to a length drawn from ``data``, or overwrite a stretch with it."""
    original = path.read_bytes()
    if how == "replace":
        path.write_bytes(data)
    elif how == "truncate":
        path.write_bytes(original[: len(data) % (len(original) + 1)])
    else:
        at = len(data) % max(len(original), 1)
        path.write_bytes(original[:at] + data + original[at + len(data):])


def _damaged_file(name: str, how: str, data: bytes) -> None:
    with _tmp() as root:
        kg = KnowledgeGraph.from_triples([("Alien", "directed_by", "Ridley Scott"), ("Alien", "year", "1979")],
                                         aliases={"Alien": ["Alien (1979)"]}, descriptions={"Alien": "A film."})
        kg.save(root / "kg")
        _damage(root / "kg" / name, how, data)
        try:
            KnowledgeGraph.load(root / "kg")
        except KgAgentError as e:
            assert name in str(e) and "\n" not in str(e).strip(), str(e)


test_damaged_workspace_files_read_or_fail_cleanly, test_damaged_workspace_files_read_or_fail_cleanly_many = _tests(
    _damaged_file, name=st.sampled_from(KnowledgeGraph.FILES), how=HOW, data=st.binary(max_size=200))


def _damaged_tensors(how: str, data: bytes) -> None:
    import torch
    from safetensors.torch import save_file

    from kgagent.kg.validate import read_safetensors

    with _tmp() as root:
        path = root / "heads.safetensors"
        save_file({"w": torch.arange(6.0).reshape(2, 3), "b": torch.zeros(3)}, str(path))
        _damage(path, how, data)
        try:
            read_safetensors(path)
        except KgAgentError as e:
            assert "heads.safetensors" in str(e), str(e)


test_damaged_safetensors_read_or_fail_cleanly, test_damaged_safetensors_read_or_fail_cleanly_many = _tests(
    _damaged_tensors, how=HOW, data=st.binary(max_size=120))


# ----------------------------------------------------------------- settings of any TOML type
TOML_VALUE = st.recursive(st.one_of(st.integers(), st.floats(allow_nan=True), st.booleans(), st.text(max_size=8)),
                          lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                  st.dictionaries(st.text(max_size=5), inner, max_size=3)),
                          max_leaves=6)


@FAST
@given(values=st.dictionaries(st.sampled_from(["top_k", "max_listed", "answer_threshold", "passage_search",
                                               "generator", "templates", "generator_kwargs", "smalltalk_intents",
                                               "domain", "torch_threads", "nope"]), TOML_VALUE, max_size=3))
def test_agent_settings_of_any_type_build_or_name_the_field(values):
    from kgagent.agent.context import Context
    from kgagent.kg.config import make_config
    from kgagent.kg.errors import ConfigError

    try:
        make_config(Context, values, where="[agent]")
    except ConfigError as e:
        assert "[agent" in str(e)  # [agent] FIELD, or [agent.templates]
