"""The mention tagger: span F1, and entity linking with and without it, in the same run.

    .venv/bin/kgagent kg load ../shared/data/metaqa/kb.txt --workspace .cache/metaqa-ws --format pipe
    printf '[index]\\npassages = []\\n' >> .cache/metaqa-ws/kgagent.toml && .venv/bin/kgagent index .cache/metaqa-ws
    .venv/bin/kgagent train ner .cache/metaqa-ws          # questions synthesized from the KB only
    (the same three commands for the demo KG into .cache/demo-ner-ws, with its aliases file)
    .venv/bin/python bench/ner.py --workspace .cache/metaqa-ws --data ../shared/data/metaqa \\
        --demo-workspace .cache/demo-ner-ws --per-condition 1000 --out bench/results/ner.json

A seeded sample of ``--per-condition`` MetaQA dev questions (a third from each hop file, brackets removed) is
linked under four conditions, each by today's linker (dictionary, fuzzy, dense) and by the same linker with the
tagger: (a) as is; (b) one random edit in the mention; (c) the mention lower-cased with one word of a multi-word
name dropped (questions whose gold name has one word, or whose shortened name is itself a name, are skipped);
(d) the demo's authored questions with one word of a multi-word product name dropped (same filter). Accuracy:
the top linked entity carries the gold name. Latency: mean wall and thread-CPU milliseconds per question.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def sample_questions(data: Path, n: int, seed: int) -> list[Any]:
    from kgagent.retrieval.evaluate import read_metaqa

    rng = random.Random(seed)
    out = []
    for hop in (1, 2, 3):
        rows = list(read_metaqa(data / f"{hop}-hop" / "qa_dev.txt"))
        out += rng.sample(rows, min(len(rows), n // 3 + (hop <= n % 3)))
    return out


def perturbed(examples: list[Any], kind: str, names: set[str], seed: int) -> list[Any]:
    """Each example changed by ``kind``; dropped ones where it does not apply or makes another entity's name."""
    from kgagent.retrieval.evaluate import perturb_example
    from kgagent.retrieval.text import normalize

    rng = random.Random(seed)
    out = []
    for x in examples:
        y = perturb_example(x, kind, rng)
        if y is not None and (kind == "typo" or normalize(y.text[y.start:y.end]) not in names):
            out.append(y)
    return out


def compare(linker: Any, tagger: Any, examples: list[Any]) -> dict[str, Any]:
    from kgagent.retrieval import evaluate_linking

    row: dict[str, Any] = {"n": len(examples)}
    for name, t in (("baseline", None), ("tagger", tagger)):
        linker.tagger = t
        r = evaluate_linking(linker, examples, progress=True)
        row[name] = {"accuracy": round(r.accuracy, 4), "ms_per_question": round(r.ms_per_question, 3),
                     "cpu_ms_per_question": round(r.cpu_ms_per_question, 3), "no_mention": r.no_mention}
    linker.tagger = None
    row["gain_points"] = round(100 * (row["tagger"]["accuracy"] - row["baseline"]["accuracy"]), 2)
    return row


def tagged_share(linker: Any, tagger: Any, examples: list[Any]) -> float:
    """Share of questions on which the linker asked the tagger (the dictionary was not confident)."""
    calls = [0]

    class Counting:
        def tag(self, texts: list[str]) -> Any:
            calls[0] += 1
            return tagger.tag(texts)

    linker.tagger = Counting()
    for x in examples:
        linker.link(x.text, always=True)
    linker.tagger = None
    return round(calls[0] / max(len(examples), 1), 4)


def span_f1(tagger: Any, kg: Any, examples: list[Any]) -> dict[str, Any]:
    from kgagent.training.ner import UNTYPED, entity_tags, span_scores
    from kgagent.training.qa_data import NameIndex

    tags, index = entity_tags(kg, tagger.config.typed), NameIndex(kg)
    gold = []
    for x in examples:
        ids = index.lookup(x.gold)
        gold.append(((x.start, x.end, tags[ids[0]] if ids else UNTYPED),))
    pred = [tuple((s.start, s.end, s.label) for s in spans) for spans in tagger.tag([x.text for x in examples])]
    return {t: {k: round(v, 4) if isinstance(v, float) else v for k, v in s.items()}
            for t, s in span_scores(gold, pred).items()}


def run_domain(workspace: Path, examples: list[Any], conditions: dict[str, str], seed: int, *,
               int8: bool = False) -> dict[str, Any]:
    import torch

    from kgagent.retrieval import open_retriever
    from kgagent.retrieval.text import normalize
    from kgagent.training.ner import NERModel

    retriever = open_retriever(workspace, require_index=False)
    linker, kg = retriever.linker, retriever.kg
    if not (workspace / "models" / "ner").is_dir():
        sys.exit(f"{workspace}: no mention tagger; run `kgagent train ner {workspace}` first")
    tagger = NERModel.load(workspace / "models" / "ner", int8=int8)
    names = {normalize(n) for e in range(kg.num_entities) for n in kg.names(e)}
    retriever.encoder  # noqa: B018  (load the dense encoder before timing)
    out: dict[str, Any] = {"workspace": str(workspace), "torch_threads": torch.get_num_threads()}
    t0 = time.perf_counter()
    out["span_f1"] = span_f1(tagger, kg, examples)
    out["tag_ms_per_question_batched"] = round(1000 * (time.perf_counter() - t0) / len(examples), 3)
    for label, kind in conditions.items():
        data = examples if kind == "none" else perturbed(examples, kind, names, seed)
        row = compare(linker, tagger, data)
        row["tagger_asked_share"] = tagged_share(linker, tagger, data)
        out[label] = row
        print(label, json.dumps(row), flush=True)
    return out


def main(argv: list[str] | None = None) -> None:
    import torch

    from kgagent.kg.demo import demo_questions_path
    from kgagent.kg.io import atomic_write_json
    from kgagent.retrieval.evaluate import read_metaqa

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--workspace", type=Path, required=True, help="MetaQA workspace with kg, index, models/ner")
    p.add_argument("--data", type=Path, required=True, help="folder with {1,2,3}-hop/qa_dev.txt")
    p.add_argument("--demo-workspace", type=Path, help="demo workspace with kg, index, models/ner")
    p.add_argument("--per-condition", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1, help="torch threads (the agent serves with 1 per turn)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--int8", action="store_true",
                   help="also measure MetaQA and the demo with the tagger quantized to int8 (what the agent runs "
                        "on a CPU); the other rows run it in float32")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "ner.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    result: dict[str, Any] = {"per_condition": args.per_condition, "seed": args.seed, "threads": args.threads}
    sample = sample_questions(args.data, args.per_condition, args.seed)
    result["metaqa"] = run_domain(args.workspace, sample, {"a_as_is": "none", "b_typo": "typo",
                                                           "c_lower_partial": "lower_partial"}, args.seed)
    if args.int8:
        result["metaqa_int8"] = run_domain(args.workspace, sample, {"a_as_is": "none", "b_typo": "typo",
                                                                    "c_lower_partial": "lower_partial"},
                                           args.seed, int8=True)
    if args.demo_workspace is not None:
        demo = list(read_metaqa(demo_questions_path()))
        result["demo"] = run_domain(args.demo_workspace, demo, {"d_partial": "partial", "as_is": "none"},
                                    args.seed)
        if args.int8:
            result["demo_int8"] = run_domain(args.demo_workspace, demo, {"d_partial": "partial", "as_is": "none"},
                                             args.seed, int8=True)
    atomic_write_json(args.out, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
