"""Knowing when it does not know: abstention on questions the graph cannot answer, beside Hits@1 on those it can.

    .venv/bin/python bench/abstain.py --data ../shared/data/metaqa --work .cache/metaqa \\
        --model .cache/metaqa/runs/label_free_grammar/models/qa --out bench/results/abstain.json

From each hop's seeded 20% test split (bench/metaqa.py), ``--per-hop`` questions are drawn and split in two
halves. For the first half the asked edges are removed from the graph: every edge of the first relation of the
question's gold path (labelled from its gold answers) that leaves its topic, so the question has no answer in
the modified graph. The second half keeps its edges. The same model, bound to the modified graph, answers both:
reported are the share of unanswerable questions it abstains on (no answer), and Hits@1 on the answerable ones
(an abstention counts as a miss).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from metaqa import log, split_questions  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    from kgagent.kg import KnowledgeGraph
    from kgagent.training.qa import QAModel
    from kgagent.training.qa.results import bracketed as _bracketed
    from kgagent.training.qa.results import is_hit as _hit
    from kgagent.training.qa_data import read_qa_file
    from kgagent.training.qa_paths import label_paths

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--work", type=Path, default=ROOT / ".cache" / "metaqa")
    p.add_argument("--model", type=Path, required=True, help="a QA model folder (WS/models/qa)")
    p.add_argument("--per-hop", type=int, default=400)
    p.add_argument("--infer", type=json.loads, default={},
                   help="answer-time QAConfig changes, e.g. '{\"abstain_ratio\": 0.2}'")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "abstain.json")
    args = p.parse_args(argv)

    split = split_questions(args.data, args.work, args.seed)
    full = QAModel.load(args.model)
    kg = full.kg
    rng = np.random.default_rng(args.seed)
    unanswerable, answerable, drop = [], [], set()
    for hop in split:
        exs = read_qa_file(split[hop]["test"], kg)
        pick = [exs[int(i)] for i in rng.choice(len(exs), min(args.per_hop, len(exs)), replace=False)]
        labels = label_paths(kg, [(ex.topics, ex.answers) for ex in pick], max_hops=3)
        for j, (ex, lab) in enumerate(zip(pick, labels, strict=True)):
            if lab.path is None:
                continue
            if j % 2 == 0:
                first = lab.path[0]
                rel = kg.relation_id(first.removesuffix("^-1"))
                forward = not first.endswith("^-1")
                col = 0 if forward else 2
                hits = np.flatnonzero((kg.triples[:, 1] == rel) & np.isin(kg.triples[:, col], ex.topics))
                drop.update(hits.tolist())
                unanswerable.append((hop, ex))
            else:
                answerable.append((hop, ex, lab.path))
    keep = np.setdiff1d(np.arange(kg.num_triples), np.fromiter(drop, dtype=np.int64))
    cut = KnowledgeGraph(entities=kg.entities, relations=kg.relations, triples=kg.triples[keep], labels=kg.labels,
                         literal=kg.literal, aliases=kg.aliases, descriptions=kg.descriptions)
    log(f"removed {len(drop)} edges for {len(unanswerable)} questions; {len(answerable)} answerable kept")
    model = QAModel.load(args.model, kg=cut)
    if args.infer:
        model.reconfigure(**args.infer)
    # an answerable question whose own edges were removed for another question is no longer answerable
    answerable = [(h, ex) for h, ex, path in answerable
                  if set(cut.follow(ex.topics, list(path))) & set(ex.answers)]
    out: dict[str, Any] = {"command": " ".join(sys.argv), "infer": args.infer, "removed_edges": len(drop),
                           "per_hop": {}}
    for hop in split:
        un = [ex for h, ex in unanswerable if h == hop]
        an = [ex for h, ex in answerable if h == hop]
        r_un = model.answer_many([_bracketed(ex) for ex in un], [ex.topics for ex in un])
        r_an = model.answer_many([_bracketed(ex) for ex in an], [ex.topics for ex in an])
        abstained = float(np.mean([not r.answers for r in r_un])) if un else 0.0
        hits = float(np.mean([_hit(r, ex, cut) for r, ex in zip(r_an, an, strict=True)])) if an else 0.0
        out["per_hop"][hop] = {"unanswerable": len(un), "abstained": round(abstained, 4), "answerable": len(an),
                               "hits_at_1": round(hits, 4)}
        log(f"{hop}: abstained on {abstained:.3f} of {len(un)} unanswerable; hits@1 {hits:.3f} on {len(an)}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
