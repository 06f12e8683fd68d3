"""Label-free QA on MetaQA: a QA model trained on questions synthesized from the graph alone (no MetaQA question),
scored on MetaQA's dev questions, with ablations.

    .venv/bin/python bench/label_free.py --data ../shared/data/metaqa --work .cache/metaqa \\
        --variants grammar,lexicon,feedback --out bench/results/label_free.json

Variants (each a QA model in WORK/label_free/<name>, on the full KB and its KGE from bench/metaqa.py):
  grammar   synthesized questions only (kg.schema + training.grammar), the count scaling with the graph's paths
  lexicon   the same plus a five-minute lexicon (LEXICON below: a few words per relation, no question text)
  feedback  grammar + a simulated stream of user feedback: FEEDBACK questions from the 80% training split are
            answered by the grammar model; a user likes the right answers (and ignores the wrong ones); the
            model is retrained with the liked ones (``read_feedback``, as ``kgagent train qa WS --feedback``)
Scored on the whole dev splits (given topic; ``--link``: also linked) and on the seeded 20% test split of
bench/metaqa.py; for the grammar model (``--robustness``) also on the test split lower-cased without punctuation,
and with one typo in a relation word. Abstention: see bench/abstain.py.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import string
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("PYSTOW_HOME", str(ROOT / ".cache" / "pystow"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from metaqa import KGE_DEFAULT, load_avg, log, prepare_kb, run_workspace, split_questions  # noqa: E402

# What a person who knows films would jot down in five minutes: words for each relation, not questions.
LEXICON: dict[str, list[str]] = {
    "directed_by": ["director", "directed by", "filmmaker"],
    "written_by": ["writer", "written by", "screenwriter", "author"],
    "starred_actors": ["actor", "star", "cast", "starring"],
    "release_year": ["released", "release date", "year"],
    "in_language": ["language", "spoken language"],
    "has_genre": ["genre", "kind of film"],
    "has_tags": ["tag", "topic", "described by", "about"],
    "has_imdb_rating": ["rating", "imdb score"],
    "has_imdb_votes": ["votes", "popularity"],
}
QA_DEFAULT: dict[str, Any] = {"max_train_questions": 6000, "epochs": 1, "eval_every": 50, "patience": 2,
                              "max_answer_questions": 10000, "answer_epochs": 6}
FEEDBACK = 300


def lower_no_punct(text: str) -> str:
    """``Who directed [Alien]?`` -> ``who directed [alien]`` (brackets kept for the topic)."""
    return re.sub(f"[{re.escape(string.punctuation.replace('[', '').replace(']', ''))}]", "", text).lower()


def typo_in_relation_word(text: str, rng: np.random.Generator) -> str:
    """One adjacent-letter swap in the longest word outside the brackets (the relation word, mostly)."""
    head, _, rest = text.partition("[")
    mention, _, tail = rest.partition("]")
    outside = [(m.start(), m.group()) for m in re.finditer(r"[A-Za-z]{4,}", head)]
    outside += [(len(head) + len(mention) + 2 + m.start(), m.group()) for m in re.finditer(r"[A-Za-z]{4,}", tail)]
    if not outside:
        return text
    start, word = max(outside, key=lambda x: len(x[1]))
    i = int(rng.integers(1, len(word) - 2))
    swapped = word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return text[:start] + swapped + text[start + len(word):]


def rewrite_file(src: Path, dst: Path, fn: Any) -> Path:
    lines = src.read_text(encoding="utf-8").splitlines()
    out = []
    for line in lines:
        q, _, a = line.partition("\t")
        out.append(f"{fn(q)}\t{a}\n")
    dst.write_text("".join(out), encoding="utf-8")
    return dst


def evaluate_files(model: Any, files: dict[str, Path], *, link: bool = False, linker: Any = None) -> dict[str, Any]:
    from kgagent.training.qa import evaluate_qa

    out: dict[str, Any] = {}
    for hop, path in files.items():
        m = evaluate_qa(model, path, link=link, linker=linker, progress=False)
        out[hop] = {"hits_at_1": round(m.hits_at_1, 4), "n": m.n, "path_accuracy": m.path_accuracy,
                    "questions_per_s": m.questions_per_s, "per_type": m.per_type}
        log(f"    {hop}: hits@1 {m.hits_at_1:.4f} (n={m.n}, path accuracy {m.path_accuracy})")
    return out


def train(root: Path, qa: dict[str, Any], *, lexicon: dict[str, list[str]] | None = None,
          feedback: Path | None = None, cache: Path) -> dict[str, Any]:
    import resource

    from kgagent.kg import KnowledgeGraph
    from kgagent.kg.config import make_config
    from kgagent.training.feedback import read_feedback
    from kgagent.training.qa import QAConfig, train_qa

    t0 = time.perf_counter()
    kg = KnowledgeGraph.load(root / "kg")
    confirmed = read_feedback(feedback, kg) if feedback is not None else []
    result = train_qa(kg, confirmed, kge=root / "kge", config=make_config(QAConfig, qa, where="--qa"),
                      out_dir=root / "models" / "qa", lexicon=lexicon, cache_dir=cache, progress=True)
    metrics = {**result.metrics, "feedback": len(confirmed)}
    return {"train_seconds": round(time.perf_counter() - t0, 1), "paths": metrics.get("paths"),
            "synthesized": metrics.get("synthesized"), "feedback": metrics.get("feedback", 0),
            "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
            "val_hits_at_1": metrics.get("val_hits_at_1")}


def simulate_feedback(model: Any, split: dict[str, dict[str, Path]], n: int, out: Path, seed: int) -> dict[str, Any]:
    """A user asks ``n`` questions (spread over the hops) and likes the answers that are right."""
    from kgagent.training.qa.results import bracketed as _bracketed
    from kgagent.training.qa.results import is_hit as _hit
    from kgagent.training.qa_data import read_qa_file

    rng = np.random.default_rng(seed)
    records, right = [], 0
    for files in split.values():
        exs = read_qa_file(files["train"], model.kg)
        for i in rng.choice(len(exs), n // len(split), replace=False):
            ex = exs[int(i)]
            r = model.answer(_bracketed(ex), ex.topics)
            ok = _hit(r, ex, model.kg)
            right += ok
            if ok:
                top = [a for a in r.answers if a.score >= 0.5 * r.answers[0].score][:10]
                records.append({"question": ex.question, "liked": True,
                                "entities": [{"id": t, "label": model.kg.labels[t]} for t in ex.topics],
                                "answers": [{"id": a.entity, "label": a.label} for a in top]})
    out.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return {"asked": n, "liked": len(records), "right": right}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--work", type=Path, default=ROOT / ".cache" / "metaqa")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "label_free.json")
    p.add_argument("--variants", default="grammar")
    p.add_argument("--qa", type=json.loads, default={})
    p.add_argument("--link", action="store_true")
    p.add_argument("--robustness", action="store_true", help="also lower-cased / one-typo versions (grammar)")
    p.add_argument("--eval-only", action="store_true")
    p.add_argument("--skip-dev", action="store_true", help="score the seeded 20%% test split only (not whole dev)")
    p.add_argument("--infer", type=json.loads, default={},
                   help="answer-time QAConfig changes for scoring, e.g. '{\"topic_prior\": false}'")
    p.add_argument("--as", dest="name_as", default=None, help="store the scores under this variant name")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from kgagent.training.qa import QAModel

    split = split_questions(args.data, args.work, args.seed)
    kb_root, _ = prepare_kb(args.data, args.work, "full", args.seed, KGE_DEFAULT)
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results["command"] = " ".join(sys.argv)
    dev = {h: args.data / h / "qa_dev.txt" for h in ("1-hop", "2-hop", "3-hop")}
    test = {h: split[h]["test"] for h in split}
    qa = {**QA_DEFAULT, **args.qa}
    for name in [v.strip() for v in args.variants.split(",") if v.strip()]:
        root = run_workspace(args.work, f"label_free_{name}", kb_root)
        entry: dict[str, Any] = {"qa_config": qa, "load_avg_before": load_avg()}
        if not args.eval_only:
            log(f"{name}: training")
            if name == "grammar":
                entry["train"] = train(root, qa, cache=args.work / "cache")
            elif name == "lexicon":
                entry["train"] = train(root, qa, lexicon=LEXICON, cache=args.work / "cache")
            elif name == "feedback":
                base = QAModel.load(args.work / "runs" / "label_free_grammar" / "models" / "qa")
                fb = root / "feedback.jsonl"
                entry["stream"] = simulate_feedback(base, split, FEEDBACK, fb, args.seed)
                entry["train"] = train(root, qa, feedback=fb, cache=args.work / "cache")
            else:
                p.error(f"unknown variant {name}")
        model = QAModel.load(root / "models" / "qa")
        if args.infer:
            model.reconfigure(**args.infer)
            entry["infer"] = args.infer
        if not args.skip_dev:
            log(f"{name}: whole dev splits")
            entry["dev"] = evaluate_files(model, dev)
        log(f"{name}: seeded 20% test split")
        entry["test"] = evaluate_files(model, test)
        if args.link:
            from kgagent.retrieval.linker import EntityLinker

            entry["test_linked"] = evaluate_files(model, test, link=True, linker=EntityLinker(model.kg))
        if args.robustness and name == "grammar":
            rng = np.random.default_rng(args.seed)
            tmp = args.work / "label_free_variants"
            tmp.mkdir(parents=True, exist_ok=True)
            low = {h: rewrite_file(f, tmp / f"{h}_lower.txt", lower_no_punct) for h, f in test.items()}
            typo = {h: rewrite_file(f, tmp / f"{h}_typo.txt", lambda q, r=rng: typo_in_relation_word(q, r))
                    for h, f in test.items()}
            log(f"{name}: lower case, no punctuation")
            entry["test_lower"] = evaluate_files(model, low)
            log(f"{name}: one typo in a relation word")
            entry["test_typo"] = evaluate_files(model, typo)
        entry["load_avg_after"] = load_avg()
        key = args.name_as or name
        if args.out.exists():  # what other runs wrote meanwhile is kept
            results = {**json.loads(args.out.read_text()), "command": results["command"]}
        results.setdefault("variants", {})[key] = {**results.get("variants", {}).get(key, {}), **entry}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
