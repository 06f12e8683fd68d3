"""Kill builds and updates at random moments: afterwards the workspace answers as before or as after, never
neither. Slow (each trial runs a real ``kgagent`` process and SIGKILLs it).

    KGAGENT_FAULTS_OUT=bench/results/faults.json .venv/bin/python -m pytest tests/test_faults.py -m slow -q
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

TINY_BUILD = """
[kge]
model = "TransE"
dim = 16
epochs = 2
early_stopping = false

[qa]
synthesize = 40
epochs = 0
head_warmup_epochs = 1
answer_scorer = false
max_hops = 1

[ner]
questions = 40
variants = 0
epochs = 1
"""
UPDATE_TRIALS, BUILD_TRIALS = 20, 5
FILMS = {"small": 30, "other": 36, "big": 40000}  # big: an update that takes seconds; small/other: quick builds
KG_SIZES = {f"{name}.tsv": 1 + 2 * films for name, films in FILMS.items()}
RESULTS_ENV = "KGAGENT_FAULTS_OUT"  # where to write the figures (bench/results/faults.json); unset: nowhere


def _kg_file(path: Path, films: int) -> Path:
    """Films with directors and years; every version has Alien directed by Ridley Scott."""
    rows = [("Alien", "directed_by", "Ridley Scott")]
    rows += [(f"Film {i}", "directed_by", f"Director {i % 5}") for i in range(films)]
    rows += [(f"Film {i}", "released_in", str(1950 + i % 4)) for i in range(films)]
    path.write_text("".join("\t".join(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _kgagent(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kgagent", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def _run(*args: str) -> float:
    t0 = time.perf_counter()
    assert _kgagent(*args).wait() == 0, args
    return time.perf_counter() - t0


def _kill_at(args: tuple[str, ...], after: float) -> bool:
    """Start ``kgagent ARGS`` and SIGKILL it after ``after`` seconds; True if it had finished by then."""
    proc = _kgagent(*args)
    try:
        proc.wait(timeout=after)
        return True
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        return False


def _state(ws: Path) -> tuple[int, str]:
    """(triples in the KG, the answer to the test question), opened afresh as a new process would."""
    from kgagent.agent import build_agent
    from kgagent.agent.session import ask
    from kgagent.agent.workspace import AgentWorkspace
    from kgagent.kg import KnowledgeGraph, Workspace

    triples = KnowledgeGraph.load(Workspace(ws).require("kg")).num_triples
    reply = ask(build_agent(AgentWorkspace(ws), checkpointer="memory"), "who directed Alien?")
    return triples, reply.text


def _trials(step: str, files: dict[str, Path], ws: Path, n: int, seconds: float, rng: random.Random,
            outcomes: dict[str, int]) -> None:
    """``n`` times: run ``kgagent STEP`` toward the other of the two ``files`` and kill it at a random moment
    within ``seconds``; the workspace must then hold one of the two (its triple count) and answer."""
    sizes = {name: KG_SIZES[path.name] for name, path in files.items()}
    current = next(k for k, v in sizes.items() if v == _state(ws)[0])
    for _ in range(n):
        other = next(k for k in files if k != current)
        args = ("build", str(files[other]), "--workspace", str(ws)) if step == "build" else \
            ("kg", "load", str(files[other]), "--workspace", str(ws))
        done = _kill_at(args, rng.uniform(0.0, seconds * 1.1))
        triples, answer = _state(ws)
        seen = next((k for k, v in sizes.items() if v == triples), None)
        if seen is None or "Ridley Scott" not in answer:
            outcomes["neither"] += 1
            continue
        outcomes["after" if seen == other else "before"] += 1
        assert not done or seen == other
        current = seen


def test_killed_updates_and_builds_leave_the_old_or_the_new_workspace(tmp_path):
    rng = random.Random(14)
    files = {name: _kg_file(tmp_path / f"{name}.tsv", films) for name, films in FILMS.items()}
    ws = tmp_path / "ws"
    outcomes = {"before": 0, "after": 0, "neither": 0}
    _run("kg", "load", str(files["small"]), "--workspace", str(ws))
    update_s = _run("kg", "load", str(files["big"]), "--workspace", str(ws))
    _trials("kg load", {k: files[k] for k in ("small", "big")}, ws, UPDATE_TRIALS, update_s, rng, outcomes)

    (ws / "kgagent.toml").write_text(TINY_BUILD)
    build_s = _run("build", str(files["small"]), "--workspace", str(ws))
    assert (ws / "kge").is_dir() and (ws / "models" / "qa").is_dir()
    _trials("build", {k: files[k] for k in ("small", "other")}, ws, BUILD_TRIALS, build_s, rng, outcomes)

    def temps() -> list[str]:
        return [p.name for d in (tmp_path, ws) for p in d.iterdir() if p.name.endswith((".tmp", ".old"))]

    leftovers = temps()
    _run("build", str(files["small"]), "--workspace", str(ws))  # a later build removes what killed ones left
    after_cleanup = temps()
    result = {"trials": UPDATE_TRIALS + BUILD_TRIALS, "update_trials": UPDATE_TRIALS, "build_trials": BUILD_TRIALS,
              **outcomes, "update_seconds": round(update_s, 1), "build_seconds": round(build_s, 1),
              "temp_folders_left_by_kills": len(leftovers), "temp_folders_after_next_step": len(after_cleanup),
              "command": f"{RESULTS_ENV}=bench/results/faults.json pytest tests/test_faults.py -m slow"}
    if os.environ.get(RESULTS_ENV):
        Path(os.environ[RESULTS_ENV]).write_text(json.dumps(result, indent=2) + "\n")
    assert outcomes["neither"] == 0, result
    assert outcomes["before"] and outcomes["after"], result  # kills landed on both sides of the swap
    assert not [n for n in after_cleanup if n.startswith(".ws.")], after_cleanup
