"""Tagger settings against training time: span F1 on fresh questions synthesized with another seed.

    .venv/bin/python bench/ner_defaults.py kg/demo/data/lumora.tsv \\
        --configs '{"default": {}, "two_epochs": {"questions": 3000, "train": {"epochs": 2, "lr": 1e-4}}}' \\
        --out bench/results/ner_defaults.json

Each configuration trains the real tagger (``training.ner``) on the graph's synthesized questions; all are scored
on the same 600 questions (with two changed copies each) synthesized with seed 99, which no configuration trains on.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def main() -> None:
    from kgagent.kg import load_kg
    from kgagent.kg.io import atomic_write_text
    from kgagent.training.ner import NERConfig, span_scores, synthesize_ner_examples, train_ner
    from kgagent.training.trainer import TrainConfig

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kg")
    ap.add_argument("--configs", required=True, help="JSON: name -> NERConfig fields (train: TrainConfig fields)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    kg = load_kg(args.kg)[0]
    train, val = synthesize_ner_examples(kg, NERConfig(questions=600, variants=2, train=TrainConfig(seed=99)))
    fresh = train + val
    results = {}
    for name, fields in json.loads(args.configs).items():
        default = NERConfig().train
        train_fields = {"epochs": default.epochs, "lr": default.lr, "patience": default.patience,
                        **fields.pop("train", {})}
        config = NERConfig(**fields, train=TrainConfig(**train_fields))
        t0 = time.perf_counter()
        result = train_ner(kg, config=config, progress=False)
        seconds = time.perf_counter() - t0
        pred = [[(s.start, s.end, s.label) for s in row] for row in result.model.tag([e.text for e in fresh])]
        scores = span_scores([e.spans for e in fresh], pred)["overall"]
        results[name] = {"settings": {**fields, "train": train_fields}, "train_examples": result.metrics[
            "train_examples"], "seconds": round(seconds, 1), **{k: round(v, 4) for k, v in scores.items()
                                                                 if k != "n"}, "n": scores["n"]}
        print(name, json.dumps(results[name]), flush=True)
    if args.out:
        atomic_write_text(args.out, json.dumps({"kg": args.kg, "fresh_questions": 600, "load_average":
                                                [round(x, 1) for x in os.getloadavg()], "runs": results},
                                               indent=1) + "\n")


if __name__ == "__main__":
    main()
