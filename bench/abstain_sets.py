"""Abstention on the hand-written unanswerable questions of ``bench/questions/<kg>/unanswerable.txt``: questions
the graph cannot answer (the topic has no edge of the asked relation, or the schema lacks what is asked). Each
is put to a workspace's QA model with its bracketed topic; it abstains when it gives no answer.

    python bench/abstain_sets.py --set umls --workspace /tmp/zi/umls/ws --label current
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from kgagent.kg.io import atomic_write_json

HERE = Path(__file__).resolve().parent


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--set", required=True, help="folder of bench/questions (a KG name)")
    p.add_argument("--workspace", type=Path, required=True, help="a built workspace of that KG")
    p.add_argument("--label", default="current", help="name of this run in the results file")
    p.add_argument("--out", type=Path, default=HERE / "results" / "abstain_sets.json")
    args = p.parse_args()

    from kgagent.training.qa import QAModel

    questions = (HERE / "questions" / args.set / "unanswerable.txt").read_text(encoding="utf-8").splitlines()
    questions = [q.split("\t", 1)[0] for q in questions if q.strip()]
    model = QAModel.load(args.workspace / "models" / "qa")
    t0 = time.perf_counter()
    results = model.answer_many(questions)
    rows = [{"question": q, "abstained": not r.answers, "answer": r.answers[0].label if r.answers else None,
             "path": "/".join(r.relation_path)} for q, r in zip(questions, results, strict=True)]
    abstained = sum(r["abstained"] for r in rows)
    record = {"set": args.set, "workspace": str(args.workspace), "n": len(rows), "abstained": abstained,
              "abstained_share": round(abstained / max(len(rows), 1), 4),
              "seconds": round(time.perf_counter() - t0, 2), "questions": rows}
    out = json.loads(args.out.read_text(encoding="utf-8")) if args.out.is_file() else {}
    out.setdefault(args.set, {})[args.label] = record
    atomic_write_json(args.out, out)
    print(f"[{args.set}] abstained on {abstained} of {len(rows)} unanswerable questions ({args.label})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
