"""``kgagent serve`` under load, through the official ``openai`` client, on 127.0.0.1 only.

    .venv/bin/python bench/serve.py --workspace .cache/demo-ws --clients 50 --seconds 60 \\
        --postgres postgresql://postgres@127.0.0.1:55432/postgres --out bench/results/serve.json

1. ``load``: N clients (asyncio tasks of ``AsyncOpenAI``, one conversation thread each) send the workspace's
   questions to one server for T seconds, then stop: errors, turns/s, p50/p99 latency, the server's RSS.
2. ``replicas``: the same against two servers sharing one PostgreSQL database (client i talks to server i % 2);
   needs ``--postgres``.
3. ``overhead``: p50 of ``POST /v1/answer`` (one client, one request at a time) minus p50 of an in-process
   ``graph.invoke`` on the same questions.
4. ``quantize``: fp32 and ``--quantize int8`` in separate processes: load time, RSS, per-turn latency and Hits@1
   of the whole agent on questions synthesized with a seed other than the build's (those it trained on removed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("PYSTOW_HOME", str(ROOT / ".cache" / "pystow"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
HOST = "127.0.0.1"  # the load never leaves this machine


def log(msg: str) -> None:
    print(f"[serve bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(np.asarray(values), q)), 2) if values else float("nan")


def proc_mib(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def questions(path: Path | None = None) -> list[str]:
    """The questions of a MetaQA-format file (default: the demo's), brackets removed (the agent links names)."""
    from kgagent.kg.demo import demo_questions_path

    lines = (path or demo_questions_path()).read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[0].replace("[", "").replace("]", "") for line in lines if line.strip()]


@contextmanager
def server(workspace: Path, memory: str, *extra: str) -> Iterator[tuple[str, int]]:
    """``kgagent serve`` (no UI, no keys) in its own process; yields (URL, pid) once /readyz says ready."""
    from kgagent.ui.server import serve_in_subprocess

    env = {k: v for k, v in os.environ.items() if k != "KGAGENT_API_KEYS"}
    t0 = time.perf_counter()
    with serve_in_subprocess(workspace, "--no-ui", "--memory", memory, *extra, host=HOST, port=free_port(),
                             env=env) as (url, pid):
        log(f"server on {url} ready in {time.perf_counter() - t0:.1f} s (pid {pid})")
        yield url, pid


async def _client(i: int, base_url: str, model: str, qs: list[str], deadline: float, out: dict) -> None:
    """One user: a conversation of its own, one question after another until the deadline."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=f"{base_url}/v1", api_key="unused", max_retries=0, timeout=120)
    thread = f"bench-{i}-{os.getpid()}"
    k = i
    try:
        while time.perf_counter() < deadline:
            q = qs[k % len(qs)]
            k += 7  # clients walk the questions in different orders
            t0 = time.perf_counter()
            try:
                reply = await client.chat.completions.create(model=model, user=thread,
                                                             messages=[{"role": "user", "content": q}])
                ok = bool(reply.choices and reply.choices[0].message.content)
            except Exception as e:  # counted, never retried
                ok = False
                out["error_types"][type(e).__name__] = out["error_types"].get(type(e).__name__, 0) + 1
            (out["latencies"] if ok else out["failed"]).append(1000 * (time.perf_counter() - t0))
    finally:
        await client.close()


def load_test(urls: list[str], model: str, qs: list[str], clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` concurrent users for ``seconds`` (client i on server i % len(urls)); stops by itself."""
    out: dict[str, Any] = {"latencies": [], "failed": [], "error_types": {}}

    async def main() -> float:
        t0 = time.perf_counter()
        deadline = t0 + seconds
        await asyncio.gather(*(_client(i, urls[i % len(urls)], model, qs, deadline, out) for i in range(clients)))
        return time.perf_counter() - t0

    wall = asyncio.run(main())
    lat = out["latencies"]
    return {"clients": clients, "seconds": seconds, "wall_s": round(wall, 1), "turns": len(lat),
            "errors": len(out["failed"]), "error_types": out["error_types"],
            "turns_per_s": round(len(lat) / wall, 2), "latency_ms_p50": pct(lat, 50),
            "latency_ms_p99": pct(lat, 99), "latency_ms_mean": round(float(np.mean(lat)), 2) if lat else None}


def scrape(url: str) -> dict[str, float]:
    """The server's own view: turns, errors, mean time per graph node (ms)."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    fams = {f.name: f for f in text_string_to_metric_families(httpx.get(f"{url}/metrics").text)}
    sums = {s.labels["node"]: s.value for s in fams["kgagent_node_seconds"].samples if s.name.endswith("_sum")}
    counts = {s.labels["node"]: s.value for s in fams["kgagent_node_seconds"].samples if s.name.endswith("_count")}
    errors = sum(s.value for s in fams["kgagent_errors"].samples if s.name.endswith("_total"))
    return {"errors_counted": errors, "node_ms_mean": {n: round(1000 * sums[n] / counts[n], 2)
                                                        for n in sums if counts.get(n)}}


def overhead(url: str, workspace: Path, qs: list[str], repeats: int, memory: Path) -> dict[str, Any]:
    """p50 of /v1/answer (sequential, keep-alive) minus p50 of graph.invoke in this process, same questions, both
    writing each turn once to SQLite memory. Both sides are warmed on every question first (torch pays once per
    new input shape), then each question is timed over HTTP and in process in turn, so load from other jobs
    falls on both alike."""
    import httpx

    from kgagent.agent import build_agent

    graph = build_agent(workspace, checkpointer=memory)

    def local(q: str, thread: str) -> None:
        graph.invoke({"messages": [("user", q)]}, {"configurable": {"thread_id": thread}}, durability="exit")

    http_ms: list[float] = []
    local_ms: list[float] = []
    with httpx.Client(base_url=url, timeout=60) as c:
        for i, q in enumerate(qs):
            c.post("/v1/answer", json={"question": q, "thread_id": f"warm-{i}"}).raise_for_status()
            local(q, f"warm-{i}")
        for i, q in enumerate(qs * repeats):
            t0 = time.perf_counter()
            c.post("/v1/answer", json={"question": q, "thread_id": f"overhead-{i}"}).raise_for_status()
            t1 = time.perf_counter()
            local(q, f"local-{i}")
            http_ms.append(1000 * (t1 - t0))
            local_ms.append(1000 * (time.perf_counter() - t1))
    return {"n": len(http_ms), "http_answer_ms_p50": pct(http_ms, 50), "in_process_invoke_ms_p50": pct(local_ms, 50),
            "overhead_ms_p50": round(pct(http_ms, 50) - pct(local_ms, 50), 2),
            "http_answer_ms_p99": pct(http_ms, 99), "in_process_invoke_ms_p99": pct(local_ms, 99)}



def eval_questions(workspace: Path, n: int, given: list[str]) -> list[Any]:
    """``n`` questions synthesized with seed 1234, less any the build synthesized (seed 0) or was given."""
    from kgagent.agent.workspace import open_workspace
    from kgagent.training.synthesize import SynthesisConfig, synthesize_questions

    kg = open_workspace(workspace).kg
    seen = {q.question for q in synthesize_questions(kg, 2000, config=SynthesisConfig(seed=0))}
    seen |= {q.lower() for q in given}
    fresh = [q for q in synthesize_questions(kg, 4 * n, config=SynthesisConfig(seed=1234))
             if q.question not in seen and q.question.lower() not in seen]
    return fresh[:n]


def tensor_mib(modules: list[Any]) -> float:
    """Bytes of the modules' weights and buffers (int8 packed weights count one byte each), in MiB."""
    import torch

    def size(value: Any) -> int:
        if isinstance(value, torch.Tensor):
            return value.element_size() * value.nelement()
        if isinstance(value, tuple | list):
            return sum(size(v) for v in value)
        return 0

    return round(sum(size(v) for m in modules for v in m.state_dict().values()) / 2**20, 1)


def probe_quantize(workspace: Path, mode: str, n: int, given: list[str]) -> dict[str, Any]:
    """In this process: load the agent (quantized when asked), then Hits@1 and latency over ``n`` questions, and
    each question's top answer (to count where fp32 and int8 disagree)."""
    import torch

    from kgagent.agent import build_agent
    from kgagent.agent.evaluate import evaluate_agent
    from kgagent.agent.session import ask
    from kgagent.agent.workspace import open_workspace
    from kgagent.training.quantize import find_modules
    from kgagent.ui.server import quantize_agent

    torch.set_num_threads(1)
    examples = eval_questions(workspace, n, given)
    t0 = time.perf_counter()
    ws = open_workspace(workspace)
    graph = build_agent(ws, checkpointer="memory")

    def encoders() -> list[Any]:  # the retriever's encoder loads on first use: load it in both modes
        return find_modules(ws.retriever.encoder, ws.intents, ws.qa)

    fp32_mib = tensor_mib(encoders())
    modules = quantize_agent(ws) if mode == "int8" else 0
    load_s = time.perf_counter() - t0
    result = evaluate_agent(ws, examples, progress=False)
    tops = [(ask(graph, ex.question, thread_id=f"top-{i}").top_answer or {}).get("id")
            for i, ex in enumerate(examples)]
    return {"mode": mode, "modules_quantized": modules, "load_s": round(load_s, 2), "encoders_fp32_mib": fp32_mib,
            "encoders_mib": tensor_mib(encoders()),
            "rss_mib": proc_mib(os.getpid(), "VmRSS"), "hits_at_1": round(result.hits_at_1, 4), "n": result.n,
            "latency_ms_p50": result.latency_ms_p50, "latency_ms_p99": result.latency_ms_p99, "top_answers": tops,
            "hits": [t is not None and t in ex.answers for t, ex in zip(tops, examples, strict=True)]}


def quantize_compare(workspace: Path, n: int, question_file: Path | None, rounds: int = 2) -> dict[str, Any]:
    """fp32 and int8 in fresh processes, alternating ``rounds`` times (load from other jobs falls on both)."""
    extra = ["--questions", str(question_file)] if question_file else []
    runs: dict[str, list[dict]] = {"none": [], "int8": []}
    for _ in range(rounds):
        for mode in runs:
            done = subprocess.run([sys.executable, __file__, "--workspace", str(workspace), "--probe-quantize", mode,
                                   "--eval-questions", str(n), *extra], capture_output=True, text=True, check=True)
            runs[mode].append(json.loads(done.stdout.strip().splitlines()[-1]))
            log(f"quantize={mode}: { {k: v for k, v in runs[mode][-1].items() if k not in ('top_answers', 'hits')} }")
    tops = {mode: [r.pop("top_answers") for r in rs] for mode, rs in runs.items()}
    hits = {mode: [r.pop("hits") for r in rs] for mode, rs in runs.items()}
    fp32, int8 = tops["none"][0], tops["int8"][0]
    pairs = list(zip(hits["none"][0], hits["int8"][0], strict=True))
    return {"runs": runs, "n": len(fp32), "top_answer_differs": sum(a != b for a, b in zip(fp32, int8, strict=True)),
            "hits_lost_by_int8": sum(a and not b for a, b in pairs),
            "hits_gained_by_int8": sum(b and not a for a, b in pairs),
            "repeat_runs_agree": all(t == tops[m][0] for m in tops for t in tops[m])}



def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workspace", type=Path, required=True)
    ap.add_argument("--questions", type=Path, help="MetaQA-format questions the clients ask (default: the demo's)")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--postgres", help="postgresql://... for the two-replica run (skipped without it)")
    ap.add_argument("--overhead-repeats", type=int, default=2, help="passes over the questions for the overhead")
    ap.add_argument("--eval-questions", type=int, default=300, help="questions for the quantization comparison")
    ap.add_argument("--skip", nargs="*", default=[], choices=["load", "replicas", "overhead", "quantize"])
    ap.add_argument("--probe-quantize", choices=["none", "int8"], help=argparse.SUPPRESS)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    workspace = args.workspace.resolve()
    qs = questions(args.questions)
    if args.probe_quantize:
        print(json.dumps(probe_quantize(workspace, args.probe_quantize, args.eval_questions, qs)))
        return

    model = workspace.name
    result: dict[str, Any] = {"workspace": str(args.workspace), "questions": len(qs), "cpus": os.cpu_count(),
                              "load_avg_start": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="kgagent-serve-bench-") as tmp:
        if "load" not in args.skip or "overhead" not in args.skip:
            with server(workspace, str(Path(tmp) / "memory.sqlite")) as (url, pid):
                if "load" not in args.skip:
                    log(f"load: {args.clients} clients for {args.seconds:.0f} s on one server (SQLite memory)")
                    one = load_test([url], model, qs, args.clients, args.seconds)
                    one.update(server_rss_mib=proc_mib(pid, "VmRSS"), server_peak_rss_mib=proc_mib(pid, "VmHWM"),
                               **scrape(url))
                    result["one_server"] = one
                    log(f"one server: {one}")
                if "overhead" not in args.skip:
                    local_memory = Path(tmp) / "local.sqlite"
                    result["overhead"] = overhead(url, workspace, qs, args.overhead_repeats, local_memory)
                    log(f"overhead: {result['overhead']}")
    if args.postgres and "replicas" not in args.skip:
        with server(workspace, args.postgres) as (url_a, pid_a), server(workspace, args.postgres) as (url_b, pid_b):
            log(f"replicas: {args.clients} clients for {args.seconds:.0f} s on two servers sharing PostgreSQL")
            two = load_test([url_a, url_b], model, qs, args.clients, args.seconds)
            two.update(server_rss_mib=[proc_mib(pid_a, "VmRSS"), proc_mib(pid_b, "VmRSS")],
                       server_peak_rss_mib=[proc_mib(pid_a, "VmHWM"), proc_mib(pid_b, "VmHWM")],
                       errors_counted=scrape(url_a)["errors_counted"] + scrape(url_b)["errors_counted"])
            result["two_replicas_postgres"] = two
            log(f"two replicas: {two}")
    if "quantize" not in args.skip:
        result["quantize"] = quantize_compare(workspace, args.eval_questions, args.questions)
    result["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        from kgagent.kg.io import atomic_write_text

        atomic_write_text(args.out, text + "\n")


if __name__ == "__main__":
    main()
