"""Load test: simulated users chat with the app through ``gradio_client`` for a fixed time.

Starts ``kgagent chat WS`` on a free 127.0.0.1 port in its own process (the served app, as a user runs it),
then each simulated user (a thread with its own ``gradio_client.Client``, so its own session and thread id) holds
short conversations: a question from the workspace's question file, a follow-up, then small talk, an ambiguous
name or an out-of-scope request; then it starts a new conversation. A turn is timed from sending it to its final
message, and counts as an error when the call raises or the reply is missing or is an error message. Every turn
is also checked for cross-session leaks: the history that comes back holds exactly this user's messages, and a
follow-up resolves only to entities this conversation mentioned.

    python bench/load.py --workspace .cache/demo-ws --users 20 --duration 60 --out bench/results/load.json

``--build-demo`` builds the demo workspace first when it is missing (as ``kgagent demo`` does).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from kgagent.kg.io import atomic_write_json

FOLLOW_UPS = ["And what is its price?", "What about its warranty?", "Which series does it belong to?",
              "When was it released?"]
OTHERS = ["What is the price of the Nova?", "What's the weather like tomorrow?", "thanks!", "hello",
          "Can I talk to a real person?"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def questions_of(path: Path) -> list[str]:
    """Questions of a MetaQA-format file, brackets removed (the agent links the entity itself)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [re.sub(r"\[([^\]]+)\]", r"\1", line.split("\t", 1)[0]).strip() for line in lines if line.strip()]


def start_server(workspace: Path, port: int, log: Path) -> subprocess.Popen:
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    cmd = [sys.executable, "-m", "kgagent", "chat", str(workspace), "--host", "127.0.0.1", "--port", str(port)]
    proc = subprocess.Popen(cmd, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env,  # noqa: SIM115
                            cwd=Path(__file__).resolve().parents[1])
    deadline = time.time() + 300
    while time.time() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2):
                return proc
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise SystemExit(f"server did not start within 300 s; see {log}")


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class User(threading.Thread):
    """One simulated user: conversations of three turns, then a new conversation."""

    def __init__(self, url: str, questions: list[str], stop_at: float, seed: int, results: list, lock) -> None:
        super().__init__(daemon=True)
        self.url, self.questions, self.stop_at = url, questions, stop_at
        self.rng = random.Random(seed)
        self.results, self.lock = results, lock

    def run(self) -> None:
        from gradio_client import Client

        client = Client(self.url, verbose=False)
        while time.time() < self.stop_at:
            history: list = []
            script = [self.rng.choice(self.questions), self.rng.choice(FOLLOW_UPS), self.rng.choice(OTHERS)]
            sent: list[str] = []
            for text in script:
                if time.time() >= self.stop_at:
                    break
                sent.append(text)
                history = self.turn(client, text, history, sent)
            if time.time() < self.stop_at:
                try:
                    client.predict(api_name="/new_conversation")
                except Exception as e:  # counted like a failed turn
                    with self.lock:
                        self.results.append({"ms": 0.0, "error": f"new conversation: {e}", "text": "",
                                             "end": time.time()})

    def turn(self, client: Any, text: str, history: list, sent: list[str]) -> list:
        t0 = time.perf_counter()
        error = leak = ""
        try:
            _, history = client.predict(text, history, api_name="/chat")
            replies = [m for m in history[_last_user(history):] if m["role"] == "assistant"]
            texts = [c.get("text", "") for m in replies for c in m["content"] if isinstance(c, dict)]
            if not replies:
                error = "no reply"
            elif any(t.startswith("⚠️") for t in texts):
                error = next(t for t in texts if t.startswith("⚠️"))
            leak = cross_session_leak(history, sent)
        except Exception as e:  # a failed call is what the benchmark counts
            error = f"{type(e).__name__}: {e}"
            history = []
        ms = 1000 * (time.perf_counter() - t0)
        with self.lock:
            self.results.append({"ms": ms, "error": error, "leak": leak, "text": text, "end": time.time()})
        return history


def _texts(message: dict) -> list[str]:
    content = message.get("content")
    items = content if isinstance(content, list) else [content]
    return [c.get("text", "") if isinstance(c, dict) else str(c) for c in items]


def cross_session_leak(history: list, sent: list[str]) -> str:
    """What in ``history`` came from another session ("" when nothing): a user message this user never sent,
    or a follow-up resolved to an entity ("refers back to: X") this conversation never mentioned."""
    own = [" ".join(_texts(m)) for m in history if m["role"] == "user"]
    if own != sent[-len(own):] or len(own) != len(sent):
        return f"user messages {own!r} are not this session's {sent!r}"
    last = _last_user(history)
    before = " ".join(t for m in history[:last] for t in _texts(m)).replace("\\", "").lower()
    for m in history[last:]:
        for t in _texts(m):
            for refs in re.findall(r"refers back to: ([^\n;]+)", t):
                for name in refs.replace("\\", "").split(", "):
                    if name.strip().lower() not in before:
                        return f"follow-up resolved to {name!r}, never mentioned in this conversation"
    return ""


def _last_user(history: list) -> int:
    return max((i for i, m in enumerate(history) if m["role"] == "user"), default=0)


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workspace", type=Path, default=Path(".cache/demo-ws"))
    ap.add_argument("--questions", type=Path, default=None, help="MetaQA-format questions (default: the demo's).")
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--duration", type=float, default=60.0, help="Seconds of load (after every user connected).")
    ap.add_argument("--out", type=Path, default=Path("bench/results/load.json"))
    ap.add_argument("--build-demo", action="store_true", help="Build the demo workspace first if it is missing.")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    from tqdm import tqdm

    if args.build_demo:
        from kgagent.ui.demo import ensure_demo_workspace

        ensure_demo_workspace(args.workspace)
    if not (args.workspace / "kg").is_dir():
        raise SystemExit(f"{args.workspace}: not a workspace (run `kgagent demo` or pass --build-demo)")
    if args.questions is None:
        from kgagent.kg.demo import demo_questions_path

        args.questions = demo_questions_path()
    questions = questions_of(args.questions)

    load_before = os.getloadavg()
    port = free_port()
    log = args.out.parent / "tmp" / (args.out.stem + ".server.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    server = start_server(args.workspace, port, log)
    startup_s = time.perf_counter() - t0
    url = f"http://127.0.0.1:{port}/"
    results: list[dict] = []
    lock = threading.Lock()
    try:
        # connect every user before the clock starts, so the window measures chatting, not connecting
        start = time.time() + 5 + 0.25 * args.users
        stop_at = start + args.duration
        users = [User(url, questions, stop_at, args.seed + i, results, lock) for i in range(args.users)]
        for u in users:
            u.start()
        with tqdm(total=round(stop_at - time.time()), unit="s", desc=f"{args.users} users") as bar:
            while any(u.is_alive() for u in users):
                time.sleep(1)
                bar.n = min(bar.total, round(bar.total - max(0.0, stop_at - time.time())))
                errors = sum(1 for r in results if r["error"])
                bar.set_postfix(turns=len(results), errors=errors)
                bar.refresh()
        for u in users:
            u.join()
        server_rss = rss_mb(server.pid)
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    load_after = os.getloadavg()

    window = [r for r in results if r["end"] >= start]  # turns finished inside the measured window
    ms = [r["ms"] for r in window]
    errors = [r for r in results if r["error"]]
    leaks = [r for r in results if r.get("leak")]
    span = max(r["end"] for r in results) - start if window else float("nan")
    out: dict[str, Any] = {
        "users": args.users,
        "duration_s": args.duration,
        "turns": len(window),
        "errors": len(errors),
        "error_examples": [f"{r['text']!r}: {r['error']}" for r in errors[:5]],
        "cross_session_leaks": len(leaks),
        "leak_examples": [f"{r['text']!r}: {r['leak']}" for r in leaks[:5]],
        "throughput_turns_per_s": round(len(window) / span, 2) if window else 0.0,
        "latency_ms_p50": round(percentile(ms, 50), 1),
        "latency_ms_p90": round(percentile(ms, 90), 1),
        "latency_ms_p99": round(percentile(ms, 99), 1),
        "latency_ms_max": round(max(ms), 1) if ms else None,
        "server_startup_s": round(startup_s, 1),
        "server_rss_mb": round(server_rss, 1) if server_rss else None,
        "workspace": str(args.workspace),
        "workspace_parts": sorted(p.name for p in args.workspace.iterdir() if p.is_dir()),
        "questions": str(args.questions),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "cpu_count": os.cpu_count(),
        "command": "python bench/load.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    atomic_write_json(args.out, out)
    for k in ("users", "turns", "errors", "cross_session_leaks", "throughput_turns_per_s", "latency_ms_p50",
              "latency_ms_p99", "server_rss_mb", "loadavg_before"):
        print(f"  {k:<24} {out[k]}")
    print(f"wrote {args.out}")
    return 0 if not errors and not leaks else 1


if __name__ == "__main__":
    sys.exit(main())
