"""`kgagent kg load` / `kg stats` through `agent.cli.main`: outputs, exit codes, nothing half-written."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kgagent.agent.cli import main
from kgagent.kg import KnowledgeGraph

KB = "".join(f"{h}\t{r}\t{t}\n" for h, r, t in (
    ("Alien", "directed_by", "Ridley Scott"), ("Blade Runner", "directed_by", "Ridley Scott"),
    ("Alien", "starred_actors", "Sigourney Weaver"), ("Alien", "directed_by", "Ridley Scott")))


@pytest.fixture
def kb(tmp_path: Path) -> Path:
    path = tmp_path / "kb.tsv"
    path.write_text(KB, encoding="utf-8")
    return path


def test_load_then_stats_json(tmp_path, kb, capsys):
    ws, out, stats = tmp_path / "ws", tmp_path / "load.json", tmp_path / "stats.json"
    assert main(["kg", "load", str(kb), "--workspace", str(ws), "--json", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert (report["triples"], report["entities"], report["relations"], report["duplicates"]) == (3, 4, 2, 1)
    assert report["format"] == "tsv" and "triples" in capsys.readouterr().out
    assert sorted(p.name for p in (ws / "kg").iterdir()) == sorted(KnowledgeGraph.FILES)
    manifest = json.loads((ws / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["steps"]["kg"]["metrics"]["triples"] == 3

    assert main(["kg", "stats", str(ws), "--json", str(stats)]) == 0
    result = json.loads(stats.read_text(encoding="utf-8"))
    assert {k: result[k] for k in ("triples", "entities", "relations")} == {"triples": 3, "entities": 4,
                                                                          "relations": 2}
    assert result["relation_frequencies"] == {"directed_by": 2, "starred_actors": 1}
    assert "relation_frequencies" in capsys.readouterr().out


def test_format_delimiter_columns_and_header_options(tmp_path):
    path = tmp_path / "edges.dat"
    path.write_text("id;s;p;o\n1;Alien;directed_by;Ridley Scott\n", encoding="utf-8")
    ws = tmp_path / "ws"
    assert main(["kg", "load", str(path), "-w", str(ws), "--format", "csv", "--delimiter", ";",
                 "--columns", "1,2,3", "--no-header"]) == 0
    kg = KnowledgeGraph.load(ws / "kg")
    assert kg.triple_text(0) == ("s", "p", "o") and kg.num_triples == 2
    assert main(["kg", "load", str(path), "-w", str(ws), "--format", "csv", "--delimiter", ";",
                 "--columns", "s,p,o"]) == 0
    assert KnowledgeGraph.load(ws / "kg").triple_text(0) == ("Alien", "directed_by", "Ridley Scott")


def test_aliases_and_descriptions_options(tmp_path, kb):
    (tmp_path / "aliases.tsv").write_text("Ridley Scott\tSir Ridley Scott\n", encoding="utf-8")
    (tmp_path / "desc.tsv").write_text("Alien\tA 1979 film.\n", encoding="utf-8")
    ws = tmp_path / "ws"
    assert main(["kg", "load", str(kb), "-w", str(ws), "--aliases", str(tmp_path / "aliases.tsv"),
                 "--descriptions", str(tmp_path / "desc.tsv")]) == 0
    kg = KnowledgeGraph.load(ws / "kg")
    assert kg.names(kg.entity_id("Ridley Scott")) == ["Ridley Scott", "Sir Ridley Scott"]
    assert kg.descriptions == {kg.entity_id("Alien"): "A 1979 film."}


BAD = [
    ("wrong columns", "kb.tsv", b"a\tr\tb\nc\tr\n", [], "kb.tsv:2: wrong column count"),
    ("invalid utf-8", "kb.txt", b"a|r|b\n\xff|r|b\n", [], "kb.txt:2: invalid UTF-8"),
    ("bad turtle", "kb.ttl", b"@prefix ex: <http://e/> .\nex:a ex:r .\n", [], "kb.ttl:2: invalid turtle"),
    ("missing file", "kb.tsv", None, [], "kb.tsv: KG file not found"),
    ("unknown extension", "kb.parquet", b"a\tr\tb\n", [], "pass --format"),
    ("unknown format", "kb.tsv", b"a\tr\tb\n", ["--format", "parquet"], "unknown format 'parquet'"),
    ("bad columns option", "kb.tsv", b"a\tr\tb\n", ["--columns", "0,1"], "columns: need 3 distinct"),
    ("missing aliases file", "kb.tsv", b"a\tr\tb\n", ["--aliases", "nope.tsv"],
     "nope.tsv: aliases file not found"),
]


@pytest.mark.parametrize(("name", "content", "extra", "expected"), [b[1:] for b in BAD],
                         ids=[b[0] for b in BAD])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(tmp_path, capsys, name, content, extra, expected):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    ws = tmp_path / "ws"
    assert main(["kg", "load", str(path), "--workspace", str(ws), *extra]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err, err
    assert "Traceback" not in err
    assert not ws.exists()  # no half-built workspace


def test_failed_load_keeps_the_previous_workspace(tmp_path, kb):
    ws = tmp_path / "ws"
    assert main(["kg", "load", str(kb), "-w", str(ws)]) == 0
    before = {p.name: p.read_bytes() for p in (ws / "kg").iterdir()}
    manifest = (ws / "manifest.json").read_bytes()
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tr\n", encoding="utf-8")
    assert main(["kg", "load", str(bad), "-w", str(ws)]) == 2
    assert {p.name: p.read_bytes() for p in (ws / "kg").iterdir()} == before
    assert (ws / "manifest.json").read_bytes() == manifest


def test_reloading_a_changed_kg_names_the_stale_parts(tmp_path, kb):
    ws = tmp_path / "ws"
    assert main(["kg", "load", str(kb), "-w", str(ws), "--json", str(tmp_path / "1.json")]) == 0
    (ws / "kge").mkdir()  # as if embeddings had been trained on the first KG
    assert main(["kg", "load", str(kb), "-w", str(ws), "--json", str(tmp_path / "2.json")]) == 0
    assert "stale" not in json.loads((tmp_path / "2.json").read_text())  # the same KG again: nothing changed
    other = tmp_path / "other.tsv"
    other.write_text("x\tr\ty\n", encoding="utf-8")
    assert main(["kg", "load", str(other), "-w", str(ws), "--json", str(tmp_path / "3.json")]) == 0
    report = json.loads((tmp_path / "3.json").read_text())
    assert report["stale"] == ["kge"] and "kgagent build" in report["hint"]


@pytest.mark.parametrize(("argv", "code", "text"), [
    (["--help"], 0, "kg"),
    (["kg", "load", "--help"], 0, "--format"),
    ([], 2, "Usage"),
    (["kg"], 2, "Usage"),
    (["bogus"], 2, "No such command"),
    (["kg", "stats"], 2, "Missing argument"),
    (["kg", "load", "kb.tsv"], 2, "Missing option"),
    (["kg", "load", "kb.tsv", "-w", "ws", "--header", "--bogus"], 2, "No such option"),
])
def test_help_and_usage_errors(capsys, argv, code, text):
    assert main(argv) == code
    captured = capsys.readouterr()
    assert text in captured.out + captured.err
    assert "Traceback" not in captured.out + captured.err


def test_stats_of_a_missing_workspace(tmp_path, capsys):
    assert main(["kg", "stats", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "kgagent kg load" in err


def test_process_exit_code_and_stderr(tmp_path):
    """The real process: exit status 2 and a single stderr line, as a shell script would see it."""
    bad = tmp_path / "kb.tsv"
    bad.write_text("a\tr\tb\nc\n", encoding="utf-8")
    argv = [sys.executable, "-m", "kgagent.agent.cli", "kg", "load", str(bad), "-w", str(tmp_path / "ws")]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [f"error: {bad}:2: wrong column count: expected 3, got 1"]
