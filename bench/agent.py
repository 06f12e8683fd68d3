"""The whole agent on MetaQA: Hits@1 through the graph (brackets removed), turn latency, memory, load time.

Uses the held-out 20% of each hop's dev questions (``bench/metaqa.py``'s seeded split) and the QA model that
benchmark trained. The agent workspace (WORK/ws) links ``kg/``, ``kge/`` and ``models/`` of that run and adds
its own ``index/`` (names and passages), built once:

    .venv/bin/python bench/agent.py --data /work/shared/data/metaqa --qa-workspace .cache/metaqa/runs/full \\
        --work .cache/agent-bench --per-hop 1000 --out bench/results/agent.json

Reported: ``hits_at_1`` of the agent and, on the same questions, of the QA model alone (topic given, and
topic linked); per-turn latency p50/p99 with the template generator, one encoder forward pass on the same
questions and their ratio; per-component times; RSS of the serving process; workspace load time; load average.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("PYSTOW_HOME", str(ROOT / ".cache" / "pystow"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def log(msg: str) -> None:
    print(f"[agent bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def rss_mb(field: str = "VmRSS") -> float:
    """Resident memory of this process (``VmHWM``: its peak) in MiB, from /proc."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values), q)), 3) if values else float("nan")


def prepare_workspace(work: Path, qa_ws: Path, *, index: bool, index_dir: Path | None = None) -> Path:
    """WORK/ws linking the QA run's kg/, kge/ and models/ (read-only use), with an index/ of its own (built once,
    or ``index_dir``: an index already built for the same KG)."""
    root = work / "ws"
    root.mkdir(parents=True, exist_ok=True)
    links = {"kg": qa_ws / "kg", "kge": qa_ws / "kge", "models": qa_ws / "models"}
    if index and index_dir is not None:
        links["index"] = index_dir
    for part, src in links.items():
        link = root / part
        if src.exists() and not link.exists():
            link.symlink_to(src.resolve(), target_is_directory=True)
    if index and not (root / "index" / "config.json").exists():
        from kgagent.agent.build import index_step

        log("building the name and passage indexes (once)")
        t0 = time.perf_counter()
        report = index_step(root)
        log(f"index built in {time.perf_counter() - t0:.0f} s: {report}")
    return root


def sample_split(data: Path, work: Path, per_hop: int | None, seed: int) -> dict[str, Path]:
    """The held-out 20% of each hop (bench/metaqa.py's split), optionally a seeded sample of it."""
    from metaqa import split_questions

    split = split_questions(data, work, seed)
    out: dict[str, Path] = {}
    for hop, files in split.items():
        lines = files["test"].read_text(encoding="utf-8").splitlines()
        types = files["test"].with_name("test_qtype.txt").read_text(encoding="utf-8").splitlines()
        if per_hop and per_hop < len(lines):
            keep = np.sort(np.random.default_rng([seed, 7]).choice(len(lines), per_hop, replace=False))
            lines, types = [lines[i] for i in keep], [types[i] for i in keep]
        path = work / "sample" / hop / "test.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(x + "\n" for x in lines), encoding="utf-8")
        path.with_name("test_qtype.txt").write_text("".join(x + "\n" for x in types), encoding="utf-8")
        out[hop] = path
    return out


def qa_alone(ws: Any, examples: list[Any]) -> dict[str, Any]:
    """The QA model by itself on the same questions: topic given (brackets) and topic linked."""
    from kgagent.training.qa import bracketed, is_hit

    out: dict[str, Any] = {}
    for mode in ("gold_topic", "linked"):
        qs = [bracketed(ex) if mode == "gold_topic" else ex.question for ex in examples]
        tops = [ex.topics if mode == "gold_topic" else None for ex in examples]
        res = ws.qa.answer_many(qs, tops, batch_size=64)
        out[f"hits_at_1_{mode}"] = round(float(np.mean([is_hit(r, ex, ws.kg) for r, ex in zip(res, examples,
                                                                                          strict=True)])), 4)
    return out


def component_times(ws: Any, examples: list[Any], n: int) -> dict[str, float]:
    """p50 ms of each part of a turn on ``n`` questions, and of one encoder forward pass (QA encoder)."""
    import torch

    times: dict[str, list[float]] = {k: [] for k in ("link", "intent", "qa", "passages", "subgraph",
                                                     "encoder_forward")}
    enc = ws.qa.net.encoder
    for ex in examples[:n]:
        q = ex.question
        t0 = time.perf_counter()
        mentions = ws.linker.link(q)
        t1 = time.perf_counter()
        ws.intents.predict([q])
        t2 = time.perf_counter()
        topic = [mentions[0].candidates[0].entity] if mentions else list(ex.topics)
        ws.qa.answer(q, topic=topic)
        t3 = time.perf_counter()
        ws.search_passages(q, 3)
        t4 = time.perf_counter()
        ws.kg.subgraph(topic, hops=1, max_triples=60)
        t5 = time.perf_counter()
        with torch.inference_mode():
            batch = {k: v.to(enc.device) for k, v in enc.tokenize([q]).items()}
            ws.qa.net.features(**batch)  # (1, hidden): tokenization + one forward of the QA encoder
        t6 = time.perf_counter()
        for k, a, b in (("link", t0, t1), ("intent", t1, t2), ("qa", t2, t3), ("passages", t3, t4),
                        ("subgraph", t4, t5), ("encoder_forward", t5, t6)):
            times[k].append(1000 * (b - a))
    return {f"{k}_ms_p50": pct(v, 50) for k, v in times.items()}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="the metaqa folder (kb.txt, 1-hop/, 2-hop/, 3-hop/)")
    p.add_argument("--qa-workspace", type=Path, required=True, help="the bench/metaqa.py run with models/qa")
    p.add_argument("--work", type=Path, default=ROOT / ".cache" / "agent-bench")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "agent.json")
    p.add_argument("--per-hop", type=int, default=1000, help="held-out questions per hop (0: all)")
    p.add_argument("--seed", type=int, default=0, help="the split seed of bench/metaqa.py")
    p.add_argument("--no-index", action="store_true", help="no name/passage index in the workspace")
    p.add_argument("--index", type=Path, default=None, help="an index/ folder already built for the same KG")
    args = p.parse_args(argv)

    result: dict[str, Any] = {"command": " ".join(sys.argv), "load_avg_start": load_avg(),
                              "cpu_count": os.cpu_count()}
    root = prepare_workspace(args.work, args.qa_workspace, index=not args.no_index, index_dir=args.index)
    files = sample_split(args.data, args.work, args.per_hop or None, args.seed)

    # ---- serving process: load the workspace once (what `kgagent chat` does)
    t0 = time.perf_counter()
    import langgraph.graph  # noqa: F401
    import peft  # noqa: F401  (the libraries a serving process imports once, timed apart from the workspace)
    import torch
    import transformers  # noqa: F401

    import kgagent.training.qa  # noqa: F401
    from kgagent import retrieval  # noqa: F401
    from kgagent.agent import build_agent, open_workspace
    from kgagent.agent.evaluate import evaluate_agent

    result["import_seconds"] = round(time.perf_counter() - t0, 2)
    result["rss_mb_before_load"] = rss_mb()
    ws = open_workspace(root)
    # a serving process's setting, as `kgagent chat` / `ask` apply it (build_agent leaves the process alone)
    if ws.context().torch_threads > 0:
        torch.set_num_threads(ws.context().torch_threads)
    t0 = time.perf_counter()
    build_agent(ws, checkpointer="memory")  # loads every part: KG, linker, indexes, models
    result["workspace_load_seconds"] = round(time.perf_counter() - t0, 2)  # libraries already imported
    result["process_ready_seconds"] = round(result["import_seconds"] + result["workspace_load_seconds"], 2)
    result["rss_mb_after_load"] = rss_mb()
    result["has_intent_model"] = ws.has_intent_model
    result["has_passage_index"] = ws.passages is not None
    log(f"workspace loaded in {result['workspace_load_seconds']} s, RSS {result['rss_mb_after_load']} MiB")

    from kgagent.training.qa_data import read_qa_file

    per_hop: dict[str, Any] = {}
    all_lat: list[float] = []
    hits = n = 0
    # latency first, over every question of every hop in one shuffled pass, as a serving process would see them;
    # its RSS after this pass is the serving figure (the accuracy passes below also run QA-only batches)
    examples = [ex for path in files.values() for ex in read_qa_file(path, ws.kg)]
    random.Random(0).shuffle(examples)
    graph = build_agent(ws, checkpointer="memory")
    from kgagent.agent.session import ask

    for i, ex in enumerate(examples):
        t0 = time.perf_counter()
        ask(graph, ex.question, thread_id=f"lat-{i}")
        all_lat.append(1000 * (time.perf_counter() - t0))
        graph.checkpointer.delete_thread(f"lat-{i}")
    result["rss_mb_serving"] = rss_mb()
    result["rss_mb_serving_peak"] = rss_mb("VmHWM")
    log(f"{len(examples)} turns: p50 {pct(all_lat, 50)} ms, RSS {result['rss_mb_serving']} MiB "
        f"(peak {result['rss_mb_serving_peak']})")
    for hop, path in files.items():
        examples = read_qa_file(path, ws.kg)
        r = evaluate_agent(ws, examples, progress=True)
        lat = r.latency_ms_p50
        per_hop[hop] = {**r.as_dict(), **qa_alone(ws, examples)}
        hits += r.hits_at_1 * r.n
        n += r.n
        log(f"{hop}: agent hits@1 {r.hits_at_1:.4f} | QA alone (gold topic) {per_hop[hop]['hits_at_1_gold_topic']}"
            f" (linked) {per_hop[hop]['hits_at_1_linked']} | p50 {lat} ms | acts {r.acts}")
    comps = component_times(ws, examples, min(300, len(examples)))
    qa_gold = sum(per_hop[h]["hits_at_1_gold_topic"] * per_hop[h]["n"] for h in per_hop) / max(n, 1)
    qa_linked = sum(per_hop[h]["hits_at_1_linked"] * per_hop[h]["n"] for h in per_hop) / max(n, 1)
    result.update({
        "hits_at_1": round(hits / max(n, 1), 4), "n": n,
        "qa_hits_at_1_gold_topic": round(qa_gold, 4), "qa_hits_at_1_linked": round(qa_linked, 4),
        "gap_points_vs_qa_linked": round(100 * (hits / max(n, 1) - qa_linked), 2),
        "latency_ms_p50": pct(all_lat, 50), "latency_ms_p99": pct(all_lat, 99),
        "latency_ms_mean": round(float(np.mean(all_lat)), 3) if all_lat else float("nan"),
        **comps,
        "p50_over_encoder_forward": round(pct(all_lat, 50) / comps["encoder_forward_ms_p50"], 2),
        "rss_mb_end": rss_mb(), "rss_mb_peak": rss_mb("VmHWM"),
        "per_hop": per_hop, "load_avg_end": load_avg(),
        "torch_threads": __import__("torch").get_num_threads(),
    })
    from kgagent.kg.io import atomic_write_json

    atomic_write_json(args.out, result)
    log(f"hits@1 {result['hits_at_1']} (QA alone, linked: {result['qa_hits_at_1_linked']}), "
        f"p50 {result['latency_ms_p50']} ms, p99 {result['latency_ms_p99']} ms, "
        f"ratio {result['p50_over_encoder_forward']}, RSS peak {result['rss_mb_peak']} MiB -> {args.out}")


if __name__ == "__main__":
    main()
