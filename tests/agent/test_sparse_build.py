"""A sparse Freebase-style KG (hundreds of rare relations in the full-size benchmark; here 30, with fewer
triples than entities, machine ids as names and explicit inverse twins) builds end to end with `kgagent build`
and answers a question."""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path

import pytest

from kgagent.agent.cli import main

# Only what makes the test quick: a short KGE (the split and the rule miner run with their defaults), a short QA
# fit and a few tagger steps. The slow test below uses no settings at all.
QUICK = """
[kge]
dim = 32
epochs = 10

[qa]
synthesize = 100
epochs = 0
head_warmup_epochs = 20
answer_scorer = false
max_hops = 2

[ner]
questions = 40
variants = 0
epochs = 1
"""


def write_sparse_kg(folder: Path, triples: list[tuple[str, str, str]]) -> Path:
    path = folder / "sparse.tsv"
    path.write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in triples), encoding="utf-8")
    return path


def question(triples: list[tuple[str, str, str]]) -> tuple[str, str, set[str]]:
    """A question about the most frequent relation, asked of a head with one such edge: (text, topic, answers)."""
    rel = Counter(r for _, r, _ in triples).most_common(1)[0][0]
    heads = Counter(h for h, r, _ in triples if r == rel)
    topic = next(h for h, c in heads.items() if c == 1)
    prop = rel.replace(".", "/").replace("__", "/").strip("/").split("/")[-1].replace("_", " ")
    return f"what is the {prop} of {topic}?", topic, {t for h, r, t in triples if h == topic and r == rel}


def build_and_ask(tmp_path: Path, triples: list[tuple[str, str, str]], toml: str, capsys, *extra: str) -> dict:
    kb = write_sparse_kg(tmp_path, triples)
    ws = tmp_path / "ws"
    if toml:
        ws.mkdir()
        (ws / "kgagent.toml").write_text(toml, encoding="utf-8")
    t0 = time.perf_counter()
    assert main(["build", str(kb), "--workspace", str(ws), *extra]) == 0
    seconds = time.perf_counter() - t0
    capsys.readouterr()
    manifest = json.loads((ws / "manifest.json").read_text())
    kg, kge = manifest["steps"]["kg"]["metrics"], manifest["steps"]["kge"]["metrics"]
    assert kg["entities"] > kg["triples"]
    assert "cannot cover every entity" in kge["split_note"]
    assert (ws / "models" / "qa" / "rules.json").is_file()
    text, topic, answers = question(triples)
    assert main(["ask", str(ws), text, "--json"]) == 0
    reply = json.loads(capsys.readouterr().out)
    return {"reply": reply, "topic": topic, "answers": answers, "seconds": seconds, "manifest": manifest}


def test_sparse_freebase_kg_builds_and_answers(tmp_path, sparse_freebase_triples, capsys) -> None:
    triples = sparse_freebase_triples(30, 260, seed=3)
    out = build_and_ask(tmp_path, triples, QUICK, capsys)
    assert out["reply"]["answers"][0]["label"] in out["answers"], (out["reply"]["answer"], out["answers"])


def test_a_build_budget_that_is_not_a_duration_is_refused(tmp_path, sparse_freebase_triples, capsys) -> None:
    kb = write_sparse_kg(tmp_path, sparse_freebase_triples(5, 20, seed=1))
    assert main(["build", str(kb), "--workspace", str(tmp_path / "ws"), "--budget", "ten minutes"]) == 2
    assert "--budget: not a duration: 'ten minutes'" in capsys.readouterr().err
    assert not (tmp_path / "ws").exists()


@pytest.mark.slow
def test_a_build_with_no_settings_keeps_to_its_budget(tmp_path, sparse_freebase_triples, capsys) -> None:
    """The graph above, bigger, with no settings (no kgagent.toml), in a minute: training steps stop early within
    their shares, and what cannot stop (loading, the index, synthesis) is small here. (The default budget, 10
    minutes, is the same code with more time: a build of this graph with it took 197 s of the suite.)"""
    triples = sparse_freebase_triples(60, 600, seed=4)
    budget = 60
    out = build_and_ask(tmp_path, triples, "", capsys, "--budget", f"{budget}s")
    steps = out["manifest"]["steps"]
    build = steps["build"]["metrics"]  # where the time went: each step's share and seconds
    assert build["budget_seconds"] == budget and set(build["shares"]) == {"kg", "kge", "index", "ner", "qa"}
    assert out["seconds"] < budget + 30, out["seconds"]
    before_qa = sum(v for k, v in build["step_seconds"].items() if k != "qa")
    assert build["shares"]["kg"] is None and build["shares"]["qa"] <= budget - before_qa + 1  # the last: what is left
    peaks = [build["peak_rss_mb"][k] for k in ("kg", "kge", "index", "ner", "qa")]  # the peak so far, step by step
    assert 0 < peaks[0] <= peaks[1] and peaks == sorted(peaks)
    assert steps["qa"]["metrics"]["budget"]["seconds"] < build["shares"]["qa"]  # synthesis took its part
    assert out["reply"]["answers"][0]["label"] in out["answers"], (out["reply"]["answer"], out["answers"])
