"""`kgagent index`, `search` and `eval linking` through agent.cli.main."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgagent.agent.cli import main
from kgagent.kg import KnowledgeGraph, Workspace


@pytest.fixture
def ws(tmp_path: Path, link_kg: KnowledgeGraph) -> Path:
    root = tmp_path / "ws"
    link_kg.save(Workspace(root).kg_dir)
    return root


def test_index_then_search(ws: Path, tiny_encoder_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["index", str(ws), "--encoder", str(tiny_encoder_dir)]) == 0
    assert (ws / "index" / "passages" / "index.faiss").is_file()
    capsys.readouterr()
    assert main(["search", str(ws), "Blade Runner — directed by — Ridley Scott", "-k", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2 and "Blade Runner — directed by — Ridley Scott  [triple " in lines[0]
    assert main(["search", str(ws), "Sir Ridley Scott", "--entities", "-k", "1"]) == 0
    assert "Sir Ridley Scott  [entity " in capsys.readouterr().out


def test_a_time_limited_index_resumes(ws: Path, tiny_encoder_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (ws / "kgagent.toml").write_text("[index]\nmax_seconds = 0.000001\n", encoding="utf-8")
    assert main(["index", str(ws), "--encoder", str(tiny_encoder_dir)]) == 0
    assert not (ws / "index" / "passages").exists()  # the time went to the names
    assert main(["search", str(ws), "Sir Ridley Scott", "--entities", "-k", "1"]) == 0
    capsys.readouterr()
    assert main(["index", str(ws), "--resume"]) == 0
    assert "passages_added" in capsys.readouterr().out
    assert main(["search", str(ws), "Blade Runner — directed by — Ridley Scott", "-k", "1"]) == 0
    assert "Blade Runner — directed by — Ridley Scott  [triple " in capsys.readouterr().out


def test_eval_linking_writes_the_contract_keys(ws: Path, tmp_path: Path, capsys) -> None:
    qa = tmp_path / "qa.txt"
    qa.write_text(
        "who directed [Blade Runner]\tRidley Scott\nwhat films did [Sigourney Weaver] act in\tAlien\n"
        "who directed [Amélie]\tJean-Pierre Jeunet\nwhen was [Alien] released\t1979\n",
        encoding="utf-8",
    )
    out = tmp_path / "linking.json"
    assert main(["eval", "linking", str(ws), "--data", str(qa), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert {"accuracy", "n", "ms_per_question"} <= set(result)
    assert result["n"] == 4 and result["accuracy"] == 1.0 and result["ms_per_question"] > 0
    assert "accuracy" in capsys.readouterr().out
    assert main(["eval", "linking", str(ws), "--data", str(qa), "--typos", "--json", str(out)]) == 0
    assert json.loads(out.read_text())["typos"] is True


def test_bad_input_exits_2_with_one_line(ws: Path, tmp_path: Path, capsys) -> None:
    qa = tmp_path / "qa.txt"
    qa.write_text("who directed [Alien]\tRidley Scott\nno brackets here\tx\n", encoding="utf-8")
    assert main(["eval", "linking", str(ws), "--data", str(qa)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and f"{qa}:2: no [bracketed] topic entity" in err
    assert main(["search", str(ws), "Alien"]) == 2  # no index yet
    assert "kgagent index WS" in capsys.readouterr().err
    assert main(["index", str(ws), "--documents", str(tmp_path / "missing")]) == 2
    assert "documents folder not found" in capsys.readouterr().err
