"""The scale envelope: synthetic KGs of a realistic shape at growing sizes, each built with the defaults.

    .venv/bin/python bench/scale.py --sizes 100000 300000 1000000 --budget 10m --work /tmp/scale \\
        --json bench/results/scale.json --plot bench/results/scale.png

The graphs (``synthetic_kg``): 10 entity types and 30 relations between them, in mixed naming styles
(snake_case, camelCase); each relation's heads and tails are drawn with Zipf weights over their type's entities,
so degrees follow a power law (a few hubs, a long tail); names are one to three words from a vocabulary of
syllable words (tens of thousands of distinct words), people with first and last names, years as numbers.

Per size, one run: ``kgagent build FILE --workspace WS --budget B`` in a subprocess (wall seconds, peak RSS from
``/usr/bin/time -v``, each step's seconds from the manifest, the load step being the KG's load time), the
workspace's size on disk, then in this process: the workspace's load time, entity-linking latency on the
questions' text, the whole agent's turn latency p50/p99 (template replies) and Hits@1, and the QA model's Hits@1
with the topic given, on 1-hop questions generated from the graph's own triples in ``training.grammar``'s words
(a sanity figure: the build trained on questions of the same grammar, another seed).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("PYSTOW_HOME", str(ROOT / ".cache" / "pystow"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# (entity type, share of the graph's entities)
TYPES = {"person": 0.30, "organization": 0.08, "place": 0.06, "work": 0.25, "product": 0.12, "event": 0.05,
         "topic": 0.02, "award": 0.01, "language": 0.002, "year": 0.0}  # years: numbers, not drawn
# (relation, head type, tail type, share of the triples)
RELATIONS = [
    ("born_in", "person", "place", 0.04), ("worksFor", "person", "organization", 0.05),
    ("nationality", "person", "place", 0.03), ("knows", "person", "person", 0.05),
    ("memberOf", "person", "organization", 0.02), ("award_received", "person", "award", 0.01),
    ("birthYear", "person", "year", 0.03), ("author", "work", "person", 0.06),
    ("published_by", "work", "organization", 0.03), ("about", "work", "topic", 0.06),
    ("publicationYear", "work", "year", 0.04), ("genre", "work", "topic", 0.04), ("cites", "work", "work", 0.05),
    ("in_language", "work", "language", 0.03), ("located_in", "organization", "place", 0.02),
    ("foundingYear", "organization", "year", 0.01), ("parentOrganization", "organization", "organization", 0.01),
    ("industry", "organization", "topic", 0.01), ("manufacturer", "product", "organization", 0.04),
    ("category", "product", "topic", 0.03), ("compatible_with", "product", "product", 0.04),
    ("releaseYear", "product", "year", 0.02), ("successor_of", "product", "product", 0.02),
    ("part_of", "place", "place", 0.02), ("held_in", "event", "place", 0.02), ("eventYear", "event", "year", 0.01),
    ("winner", "event", "person", 0.02), ("organizer", "event", "organization", 0.01),
    ("subject_of", "topic", "topic", 0.01), ("presented_by", "award", "organization", 0.01),
]
ONSETS = ("b", "br", "c", "d", "dr", "f", "g", "gr", "h", "j", "k", "l", "m", "n", "p", "pr", "r", "s", "st", "t",
          "tr", "v", "w", "z", "sh", "th", "ch", "kl", "pl", "fl")
VOWELS = ("a", "e", "i", "o", "u", "ai", "ea", "ou", "io", "ia")
CODAS = ("", "n", "r", "l", "s", "t", "m", "k", "nd", "rt", "st", "x")


def vocabulary(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct pronounceable words of two or three syllables."""
    words: dict[str, None] = {}
    while len(words) < n:
        k = int(rng.integers(2, 4))
        w = "".join(ONSETS[rng.integers(len(ONSETS))] + VOWELS[rng.integers(len(VOWELS))] for _ in range(k))
        words[w + CODAS[rng.integers(len(CODAS))]] = None
    return list(words)


def entity_names(kind: str, n: int, words: list[str], rng: np.random.Generator) -> list[str]:
    """``n`` distinct names of entities of ``kind`` (a number suffix where the words run out)."""
    if kind == "year":
        return [str(y) for y in range(1800, 1800 + n)]
    k = {"person": 2, "place": 1, "topic": 1, "language": 1, "award": 2}.get(kind, 3)
    out: dict[str, None] = {}
    while len(out) < n:
        size = k if kind in ("person", "place", "topic", "language") else int(rng.integers(1, k + 1))
        name = " ".join(words[int(i)].capitalize() for i in rng.integers(len(words), size=size))
        if kind == "award":
            name += " Prize"
        while name in out:
            name += f" {int(rng.integers(2, 99))}"
        out[name] = None
    return list(out)


def zipf_choice(rng: np.random.Generator, n: int, size: int, a: float = 1.0) -> np.ndarray:
    """``size`` draws from ``range(n)`` with weight 1 / (rank + 1) ** a, ranks shuffled (hubs anywhere)."""
    w = 1.0 / np.arange(1, n + 1) ** a
    return rng.permutation(n)[rng.choice(n, size=size, p=w / w.sum())]


def synthetic_kg(n_triples: int, seed: int = 0) -> list[tuple[str, str, str]]:
    """About ``n_triples`` distinct triples of the shape in the module docstring."""
    rng = np.random.default_rng(seed)
    n_entities = max(1000, n_triples // 3)
    words = vocabulary(rng, max(2000, min(60000, n_entities // 4)))
    names = {t: entity_names(t, max(50, int(share * n_entities)), words, rng) for t, share in TYPES.items()
             if t != "year"}
    names["year"] = entity_names("year", 226, words, rng)
    taken: set[str] = set()
    for t, group in names.items():  # one entity per name across types
        names[t] = [n for n in group if n not in taken]
        taken.update(names[t])
    out: dict[tuple[str, str, str], None] = {}
    total = sum(share for *_, share in RELATIONS)
    for rel, head, tail, share in RELATIONS:
        m = int(n_triples * share / total)
        hs = zipf_choice(rng, len(names[head]), m, 0.6)  # heads: mildly skewed (most things have a few facts)
        ts = zipf_choice(rng, len(names[tail]), m, 1.0)  # tails: hubs (popular places, topics, people)
        for h, t in zip(hs.tolist(), ts.tolist(), strict=True):
            if head != tail or h != t:
                out[(names[head][h], rel, names[tail][t])] = None
    return list(out)


def write_tsv(triples: list[tuple[str, str, str]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in triples), encoding="utf-8")


def build(file: Path, ws: Path, budget: str) -> dict[str, Any]:
    """``kgagent build`` in a subprocess: wall seconds, peak RSS, the manifest's step seconds."""
    shutil.rmtree(ws, ignore_errors=True)
    cmd = ["/usr/bin/time", "-v", str(ROOT / ".venv" / "bin" / "kgagent"), "build", str(file), "--workspace",
           str(ws), "--budget", budget]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"build of {file} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))  # type: ignore
    manifest = json.loads((ws / "manifest.json").read_text())
    timing = manifest["steps"]["build"]["metrics"]
    index = manifest["steps"]["index"]["metrics"]
    return {"build_seconds": round(wall, 1), "peak_rss_gib": round(rss_kb / 2**20, 3),
            "step_seconds": timing["step_seconds"], "shares": timing["shares"],
            "load_seconds": timing["step_seconds"].get("kg"),
            "passages_indexed": index.get("passages"), "passages_total": index.get("passages_total")}


def disk_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)


def measure(ws: Path, n_questions: int, seed: int) -> dict[str, Any]:
    """Workspace load, linking latency, agent turns, QA Hits@1 on generated 1-hop questions."""
    import torch
    from update import hits, new_fact_questions

    from kgagent.agent import build_agent, open_workspace
    from kgagent.agent.evaluate import evaluate_agent
    from kgagent.kg import KnowledgeGraph

    torch.set_num_threads(1)  # a serving turn's setting (`[agent] torch_threads`)
    kg = KnowledgeGraph.load(ws / "kg")
    rng = np.random.default_rng(seed)
    sample = kg.triples[rng.choice(kg.num_triples, min(4 * n_questions, kg.num_triples), replace=False)]
    examples = new_fact_questions(kg, [(kg.entities[h], kg.relations[r], kg.entities[t]) for h, r, t in sample],
                                  0, seed)[:n_questions]
    t0 = time.perf_counter()
    agent_ws = open_workspace(ws)
    build_agent(agent_ws, checkpointer="memory")
    load_s = time.perf_counter() - t0
    linker = agent_ws.retriever.linker
    lat = []
    for ex in examples:
        t = time.perf_counter()
        linker.link(ex.question)
        lat.append(1000 * (time.perf_counter() - t))
    agent = evaluate_agent(agent_ws, examples, progress=False)
    return {"workspace_load_seconds": round(load_s, 2), "questions": len(examples),
            "linking_ms_p50": round(float(np.percentile(lat, 50)), 3),
            "linking_ms_p99": round(float(np.percentile(lat, 99)), 3),
            "turn_ms_p50": agent.latency_ms_p50, "turn_ms_p99": agent.latency_ms_p99,
            "agent_hits_at_1": round(agent.hits_at_1, 4), "qa_hits_at_1_topic_given": hits(ws, examples)["hits_at_1"]}


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    x = [r["triples"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.loglog(x, [r["build_seconds"] for r in rows], "o-", label="build (wall)")
    for step in ("kg", "kge", "index", "qa"):
        a.loglog(x, [max(r["step_seconds"].get(step, 0), 0.1) for r in rows], ".--", label=step)
    a.set(xlabel="triples", ylabel="seconds", title="build time (default budget)")
    a.legend(fontsize=8)
    b.loglog(x, [r["peak_rss_gib"] for r in rows], "o-", label="peak RSS of the build (GiB)")
    b.loglog(x, [r["disk_mb"] / 1024 for r in rows], "s-", label="workspace on disk (GiB)")
    b.set(xlabel="triples", ylabel="GiB", title="memory and disk")
    b.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> None:
    from kgagent.kg.io import atomic_write_json

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="+", default=[100_000, 300_000, 1_000_000])
    p.add_argument("--budget", default="10m")
    p.add_argument("--work", type=Path, default=ROOT / ".cache" / "scale")
    p.add_argument("--questions", type=int, default=200)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reuse", action="store_true", help="keep a size's finished build (WORK/build_SIZE.json)")
    p.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "scale.json")
    p.add_argument("--plot", type=Path, default=ROOT / "bench" / "results" / "scale.png")
    args = p.parse_args(argv)

    kept = json.loads(args.json.read_text()) if args.json.is_file() else {}  # other keys (earlier_rows) stay
    rows = kept.get("rows", [])
    for size in args.sizes:
        file, ws = args.work / f"kg_{size}.tsv", args.work / f"ws_{size}"
        triples = synthetic_kg(size, args.seed)
        write_tsv(triples, file)
        row: dict[str, Any] = {"size": size, "triples": len(triples), "budget": args.budget}
        done = args.work / f"build_{size}.json"  # a finished build, kept so a later failure does not cost it
        if not (args.reuse and done.is_file() and (ws / "manifest.json").is_file()):
            print(f"{size}: {len(triples)} triples, building", flush=True)
            done.write_text(json.dumps(build(file, ws, args.budget)), encoding="utf-8")
        row.update(json.loads(done.read_text(encoding="utf-8")))
        row["disk_mb"] = disk_mb(ws)
        row.update(measure(ws, args.questions, args.seed))
        row["load_avg"] = list(os.getloadavg())
        print(json.dumps(row), flush=True)
        rows = [r for r in rows if r["size"] != size] + [row]
        rows.sort(key=lambda r: r["size"])
        atomic_write_json(args.json, {**kept, "rows": rows, "budget": args.budget})
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
