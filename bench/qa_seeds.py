"""How far QA answers move with the training seed: the QA model of a built workspace trained again under several
seeds (a copy per seed, ``[qa] seed = N`` plus optional settings), each asked a question file with its topics
given; questions right per seed.

A change to the QA training that moves a hand-written set by a few questions is judged against this spread: on the
demo graph, four seeds of the same code were 50-59 of 80 right.

    python bench/qa_seeds.py --workspace WS --questions kg/demo/data/questions.txt --seeds 0 1 2 \\
        [--settings 'prototype_questions = 8'] --label NAME --out bench/results/qa_seeds.json

Run it where the workspace's KG, KGE and indexes are already built (``kgagent build``); only the QA model is
trained again.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from kgagent.agent.build import qa_step
from kgagent.kg import KnowledgeGraph
from kgagent.kg.io import atomic_write_json
from kgagent.training.qa.model import QAModel
from kgagent.training.qa.results import bracketed, is_hit
from kgagent.training.qa_data import read_qa_file


def one_seed(workspace: Path, questions: Path, seed: int, settings: str, work: Path) -> dict:
    ws = work / f"seed{seed}"
    shutil.copytree(workspace, ws)
    (ws / "kgagent.toml").write_text(f"[qa]\nseed = {seed}\n{settings}\n", encoding="utf-8")
    t0 = time.perf_counter()
    qa_step(ws, [])
    seconds = time.perf_counter() - t0
    kg = KnowledgeGraph.load(ws / "kg")
    model = QAModel.load(ws / "models" / "qa", kg=kg, kge=ws / "kge")
    examples = read_qa_file(questions, kg)
    results = model.answer_many([bracketed(ex) for ex in examples], [ex.topics for ex in examples])
    metrics = json.loads((ws / "manifest.json").read_text(encoding="utf-8"))["steps"]["qa"]["metrics"]
    return {"right": sum(is_hit(r, ex, kg) for r, ex in zip(results, examples, strict=True)), "n": len(examples),
            "qa_seconds": round(seconds, 1), "selected": metrics["fallback"],
            "best_encoder_step": (metrics.get("path_head") or {}).get("best_step")}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workspace", type=Path, required=True)
    p.add_argument("--questions", type=Path, required=True)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--settings", default="", help="more lines for the [qa] section, e.g. 'prototype_questions = 8'")
    p.add_argument("--label", required=True)
    p.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "qa_seeds.json")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="qa-seeds-") as tmp:
        per_seed = {}
        for seed in args.seeds:
            per_seed[str(seed)] = one_seed(args.workspace, args.questions, seed, args.settings, Path(tmp))
            print(seed, per_seed[str(seed)], flush=True)
    results = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {"runs": {}}
    results["runs"][args.label] = {"workspace": str(args.workspace), "questions": str(args.questions),
                                   "settings": args.settings, "date": time.strftime("%Y-%m-%d"),
                                   "seeds": per_seed, "right": sum(r["right"] for r in per_seed.values())}
    atomic_write_json(args.out, results)
    print(f"wrote {args.out}: {results['runs'][args.label]['right']} right over {len(args.seeds)} seeds")


if __name__ == "__main__":
    main()
