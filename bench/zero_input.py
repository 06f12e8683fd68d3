"""Zero-input QA: build a workspace from a KG alone (default settings, no questions), then ask it questions
written by hand, as a new user would.

For each KG (``bench_kgs.WRITERS``: the PyKEEN Nations/UMLS files, the demo domain) this runs, one after the
other, ``kgagent build KG --workspace WS`` under ``/usr/bin/time`` (wall time and peak RSS), then ``kgagent eval
qa WS --data QUESTIONS --json ...`` with the topic given and with ``--link``; it reports Hits@1 overall and per
hop (the hops of each question's relation path in its ``qa_qtype.txt``), path accuracy, and the build figures.

    python bench/zero_input.py --kgs nations umls demo --work .cache/zero-input --out bench/results/zero_input.json

``--settings FILE`` puts a ``kgagent.toml`` in every workspace before the build, or before the QA model is trained
again with ``--reuse`` (recorded with the results).

Question sets: ``bench/questions/<kg>/qa.txt`` (see each README); the demo's are its shipped
``kgagent/kg/demo/data/questions.txt``. Builds are CPU-heavy: they run sequentially.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench_kgs import WRITERS

from kgagent.kg.io import atomic_write_json

HERE = Path(__file__).resolve().parent


def question_file(name: str) -> Path:
    if name == "demo":
        from kgagent.kg.demo import demo_questions_path

        return demo_questions_path()
    return HERE / "questions" / name / "qa.txt"


def kgagent(*args: str) -> list[str]:
    return [sys.executable, "-m", "kgagent", *args]


def timed(cmd: list[str], log: Path) -> dict[str, Any]:
    """Run ``cmd`` (output to ``log``); wall seconds and peak RSS (GNU time's %M, else this process's children)."""
    stats = log.with_suffix(".time")
    gnu_time = Path("/usr/bin/time").exists()
    full = ["/usr/bin/time", "-f", "%e %M", "-o", str(stats), *cmd] if gnu_time else cmd
    t0 = time.perf_counter()
    with log.open("w", encoding="utf-8") as out:
        rc = subprocess.run(full, stdout=out, stderr=subprocess.STDOUT, check=False).returncode
    wall = time.perf_counter() - t0
    rss_mb = None
    if gnu_time and stats.is_file():
        rss_mb = round(int(stats.read_text().split()[-1]) / 1024, 1)
    if rc != 0:
        tail = log.read_text(encoding="utf-8", errors="replace")[-2000:]
        raise RuntimeError(f"{' '.join(cmd)} exited {rc}:\n{tail}")
    return {"seconds": round(wall, 1), "peak_rss_mb": rss_mb}


def hops(qtype: str) -> int:
    """Steps of a relation path (``a/b^-1`` here, ``a|b`` in the demo's files)."""
    return len(re.split(r"[/|]", qtype)) if qtype and qtype != "unknown" else 0


def per_hop(per_type: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per-type Hits@1 regrouped by the number of hops of each type's path."""
    out: dict[str, dict[str, float]] = {}
    for qtype, m in per_type.items():
        h = out.setdefault(f"{hops(qtype)}-hop", {"hits": 0.0, "n": 0})
        h["hits"] += m["hits_at_1"] * m["n"]
        h["n"] += m["n"]
    return {k: {"hits_at_1": round(v["hits"] / v["n"], 4), "n": int(v["n"])} for k, v in sorted(out.items())}


def evaluate(ws: Path, questions: Path, link: bool, folder: Path) -> dict[str, Any]:
    out = folder / f"qa{'_link' if link else ''}.json"
    run = timed(kgagent("eval", "qa", str(ws), "--data", str(questions), "--json", str(out),
                        *(["--link"] if link else [])), folder / f"eval{'_link' if link else ''}.log")
    m = json.loads(out.read_text(encoding="utf-8"))
    keep = ("hits_at_1", "n", "path_accuracy", "linked", "ece", "questions_per_s")
    return {**{k: m.get(k) for k in keep}, "per_hop": per_hop(m["per_type"]), "eval_seconds": run["seconds"]}


def run_kg(name: str, work: Path, settings: Path | None = None, reuse: Path | None = None,
           budget: str | None = None) -> dict[str, Any]:
    folder = work / name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    kg = WRITERS[name](folder)
    ws = folder / "ws"
    if reuse is not None:  # an earlier build's workspace (KG, KGE, indexes): only the QA model is trained again
        shutil.copytree(reuse / name if (reuse / name / "manifest.json").is_file() else reuse / name / "ws", ws)
        if settings is not None:
            shutil.copy2(settings, ws / "kgagent.toml")
        print(f"[{name}] training QA again in a copy of {reuse / name} ...", flush=True)
        build = timed(kgagent("train", "qa", str(ws)), folder / "train_qa.log")
        build["qa_only"] = True
    else:
        if settings is not None:  # the build keeps a workspace's kgagent.toml
            ws.mkdir()
            shutil.copy2(settings, ws / "kgagent.toml")
        print(f"[{name}] building {kg.file} ...", flush=True)
        extra = ["--budget", budget] if budget else []
        build = timed(kgagent("build", str(kg.file), "--workspace", str(ws), *kg.build_args, *extra),
                      folder / "build.log")
    manifest = json.loads((ws / "manifest.json").read_text(encoding="utf-8"))
    kg_metrics = manifest["steps"]["kg"]["metrics"]
    questions = question_file(name)
    result = {
        "kg": {"source": kg.source, **{k: kg_metrics.get(k) for k in ("triples", "entities", "relations")}},
        "questions": str(questions.relative_to(HERE.parent) if questions.is_relative_to(HERE.parent) else questions),
        "build": build,
        "kge": {k: manifest["steps"].get("kge", {}).get("metrics", {}).get(k) for k in (
            "mrr", "hits_at_10", "split_note", "training_loop", "epochs", "stopped_by_budget")},
        "build_steps": manifest["steps"].get("build", {}).get("metrics"),
        "qa_fit": {k: manifest["steps"].get("qa", {}).get("metrics", {}).get(k) for k in (
            "budget", "phase_seconds", "val_hits_at_1", "fit_seconds")},
        "given": evaluate(ws, questions, False, folder),
        "linked": evaluate(ws, questions, True, folder),
    }
    g = result["given"]
    by_hop = ", ".join(f"{h} {m['hits_at_1']:.3f}" for h, m in g["per_hop"].items())
    print(f"[{name}] built in {build['seconds']} s (peak {build['peak_rss_mb']} MB); Hits@1 given "
          f"{g['hits_at_1']:.3f} ({by_hop}), linked {result['linked']['hits_at_1']:.3f}", flush=True)
    return result


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kgs", nargs="+", default=["nations", "umls", "demo"], choices=sorted(WRITERS))
    p.add_argument("--work", type=Path, default=None, help="folder for workspaces and logs (default: a temp dir)")
    p.add_argument("--label", default="baseline", help="name of this run in the results file")
    p.add_argument("--settings", type=Path, default=None,
                   help="a kgagent.toml for every workspace (default: none, every step's defaults)")
    p.add_argument("--out", type=Path, default=HERE / "results" / "zero_input.json")
    p.add_argument("--budget", default=None, help="kgagent build --budget (default: the build's own, 10m)")
    p.add_argument("--reuse", type=Path, default=None,
                   help="a --work folder of an earlier run: copy each KG's workspace and train only QA again")
    args = p.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    runs: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="zero-input-") as tmp:
        work = args.work or Path(tmp)
        for name in args.kgs:  # saved after each KG: a long run stopped half way keeps what it measured
            runs[name] = run_kg(name, work, args.settings, args.reuse, args.budget)
            results = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
            results.setdefault("runs", {})[args.label] = {
                "command": " ".join(["python", "bench/zero_input.py", *sys.argv[1:]]),
                "settings": args.settings.read_text(encoding="utf-8") if args.settings else None,
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "load_average": [round(x, 1) for x in os.getloadavg()]},
                "date": time.strftime("%Y-%m-%d"),
                "kgs": runs,
            }
            atomic_write_json(args.out, results)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
