"""MetaQA multi-hop QA benchmark: Hits@1 per hop, full KB and half KB, with the topic given and linked.

Train on a seeded 80% of each hop's dev questions, evaluate on the other 20%:

    .venv/bin/python bench/metaqa.py --data /work/shared/data/metaqa --work .cache/metaqa \\
        --runs full,half,synth,fusion_none,fusion_both --out bench/results/metaqa.json

Runs (each a workspace under WORK/runs/<name>, sharing the KG and KGE folders of its KB):
  full         full KB, MetaQA questions, fusion "tokens"
  half         a seeded 50% of the KB's triples removed (same entity ids), KGE trained on that half
  half_norules / full_norules: the same without path rules (kg.rules) inferring missing edges
  synth        full KB, synthesized questions only (no MetaQA question is used for training)
  fusion_none  / fusion_both: the fusion ablation on the full KB
  ablation_none / ablation_tokens / ablation_both: the same ablation, cheaper (path head only, 2,000 questions)
Results are merged into the JSON file run by run, so runs can be added later.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("PYSTOW_HOME", str(ROOT / ".cache" / "pystow"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# sLCWA: on 43k entities one 1-N (LCWA) epoch scores every entity for every (h, r) pair, far too slow on 2 cores.
# A 96/2/2 split: the QA model needs the KGE to know as much of the graph as possible.
KGE_DEFAULT: dict[str, Any] = {"model": "ComplEx", "dim": 100, "training_loop": "slcwa", "loss": "softplus",
                               "negatives": 8, "epochs": 12, "batch_size": 4096, "lr": 0.01,
                               "split": [0.96, 0.02, 0.02], "max_eval_triples": 500, "max_test_triples": 2000,
                               "frequency": 4, "patience": 1}
RUNS: dict[str, dict[str, Any]] = {
    "full": {"kb": "full", "data": "metaqa", "qa": {}},
    "half": {"kb": "half", "data": "metaqa", "qa": {}},
    "synth": {"kb": "full", "data": "synth", "qa": {}},
    "half_norules": {"kb": "half", "data": "metaqa", "qa": {"rules": False}},
    "full_norules": {"kb": "full", "data": "metaqa", "qa": {"rules": False}},
    "fusion_none": {"kb": "full", "data": "metaqa", "qa": {"fusion": "none"}},
    "fusion_both": {"kb": "full", "data": "metaqa", "qa": {"fusion": "both"}},
}
# The fusion ablation at a smaller cost: the path head alone (no answer scorer) on 2,000 training questions,
# so the three settings differ only in how the KGE vectors enter the encoder.
for _fusion in ("none", "tokens", "both"):
    RUNS[f"ablation_{_fusion}"] = {"kb": "full", "data": "metaqa",
                                   "qa": {"fusion": _fusion, "max_train_questions": 2000, "answer_scorer": False}}


def log(msg: str) -> None:
    print(f"[metaqa {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def load_avg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# ----------------------------------------------------------------- data
def split_questions(data: Path, work: Path, seed: int, fraction: float = 0.8) -> dict[str, dict[str, Path]]:
    """Seeded 80/20 split of each hop's dev file (with its qtype file) into WORK/split/<h>-hop/."""
    out: dict[str, dict[str, Path]] = {}
    for hop in ("1-hop", "2-hop", "3-hop"):
        lines = (data / hop / "qa_dev.txt").read_text(encoding="utf-8").splitlines()
        types = (data / hop / "qa_dev_qtype.txt").read_text(encoding="utf-8").splitlines()
        order = np.random.default_rng([seed, int(hop[0])]).permutation(len(lines))
        cut = round(fraction * len(lines))
        folder = work / "split" / hop
        folder.mkdir(parents=True, exist_ok=True)
        out[hop] = {}
        for part, idx in (("train", np.sort(order[:cut])), ("test", np.sort(order[cut:]))):
            (folder / f"{part}.txt").write_text("".join(lines[i] + "\n" for i in idx), encoding="utf-8")
            (folder / f"{part}_qtype.txt").write_text("".join(types[i] + "\n" for i in idx), encoding="utf-8")
            out[hop][part] = folder / f"{part}.txt"
    return out


def prepare_kb(data: Path, work: Path, kb: str, seed: int, kge: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """WORK/kb_<kb>/ with kg/ and a trained kge/ (reused when present); returns it and what it cost."""
    from kgagent.kg import KnowledgeGraph, Workspace
    from kgagent.kg.embeddings import KGEConfig, train_embeddings
    from kgagent.kg.loaders import load_kg

    ws = Workspace(work / f"kb_{kb}")
    info: dict[str, Any] = {}
    if not (ws.kg_dir / "triples.npy").exists():
        full, _ = load_kg(data / "kb.txt")
        if kb == "half":
            keep = np.sort(np.random.default_rng(seed).permutation(full.num_triples)[: full.num_triples // 2])
            # same entity list and ids as the full KB: questions and answers resolve identically
            full = KnowledgeGraph(entities=full.entities, relations=full.relations, triples=full.triples[keep],
                                  labels=full.labels, literal=full.literal)
        full.save(ws.kg_dir)
    kg = KnowledgeGraph.load(ws.kg_dir)
    info["triples"] = kg.num_triples
    if not (ws.kge_dir / "config.json").exists():
        log(f"training KGE on the {kb} KB ({kg.num_triples} triples): {kge}")
        t0 = time.perf_counter()
        result = train_embeddings(kg, config=KGEConfig(**kge), out_dir=ws.kge_dir)
        info["kge_train_seconds"] = round(time.perf_counter() - t0, 1)
        info["kge_load_avg"] = load_avg()
        ws.record("kge", config=kge, metrics=result.metrics)
    info["kge_metrics"] = json.loads((ws.kge_dir / "metrics.json").read_text()) \
        if (ws.kge_dir / "metrics.json").exists() else None
    return ws.root, info


def run_workspace(work: Path, name: str, kb_root: Path) -> Path:
    """WORK/runs/<name>/ whose kg/ and kge/ link to the KB's folders (models are per run)."""
    root = work / "runs" / name
    root.mkdir(parents=True, exist_ok=True)
    for part in ("kg", "kge"):
        link = root / part
        if link.is_symlink() or link.exists():
            if link.is_symlink():
                link.unlink()
            else:
                shutil.rmtree(link)
        link.symlink_to((kb_root / part).resolve(), target_is_directory=True)
    return root


# ----------------------------------------------------------------- one run
def evaluate(model: Any, split: dict[str, dict[str, Path]], *, link: bool, limit: int | None,
             linker: Any) -> dict[str, Any]:
    from kgagent.training.qa import evaluate_qa

    out: dict[str, Any] = {}
    for hop, files in split.items():
        m = evaluate_qa(model, files["test"], link=link, linker=linker, limit=limit, progress=True)
        out[hop] = m.as_dict()
        log(f"  {hop}{' linked' if link else ''}: hits@1 {m.hits_at_1:.4f} (n={m.n}, {m.questions_per_s} q/s, "
            f"linked {m.linked})")
    return out


def run(name: str, spec: dict[str, Any], args: argparse.Namespace, split: dict[str, dict[str, Path]],
        kb_roots: dict[str, Path]) -> dict[str, Any]:
    from kgagent.kg import KnowledgeGraph
    from kgagent.kg.config import make_config
    from kgagent.training.qa import QAConfig, QAModel, train_qa
    from kgagent.training.qa_data import read_qa_files

    root = run_workspace(args.work, name, kb_roots[spec["kb"]])
    qa_kwargs = {**args.qa, **spec["qa"]}
    config = make_config(QAConfig, qa_kwargs, where="--qa")
    files = [split[h]["train"] for h in split] if spec["data"] == "metaqa" else []
    synth = args.synthesize if spec["data"] == "synth" else 0
    result: dict[str, Any] = {"kb": spec["kb"], "train_data": spec["data"], "qa_config": qa_kwargs,
                              "load_avg_before": load_avg()}
    if not args.eval_only:
        log(f"run {name}: training ({len(files)} files, {synth} synthesized, {qa_kwargs})")
        t0 = time.perf_counter()
        kg = KnowledgeGraph.load(root / "kg")
        metrics = train_qa(kg, read_qa_files(files, kg) if files else [], kge=root / "kge", config=config,
                           out_dir=root / "models" / "qa", synthesize=synth, cache_dir=args.work / "cache",
                           progress=True).metrics
        result["train_seconds"] = round(time.perf_counter() - t0, 1)
        result["train_metrics"] = metrics
        result["load_avg_after_train"] = load_avg()
    model = QAModel.load(root / "models" / "qa")
    result["eval"] = evaluate(model, split, link=False, limit=args.limit, linker=None)
    if args.link:
        from kgagent.retrieval.linker import EntityLinker

        t0 = time.perf_counter()
        linker = EntityLinker(model.kg)
        result["linker_build_seconds"] = round(time.perf_counter() - t0, 1)
        result["eval_link"] = evaluate(model, split, link=True, limit=args.link_limit or args.limit, linker=linker)
    result["load_avg_after"] = load_avg()
    return result


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, required=True, help="the metaqa folder (kb.txt, 1-hop/, 2-hop/, 3-hop/)")
    p.add_argument("--work", type=Path, default=ROOT / ".cache" / "metaqa", help="workspaces and caches")
    p.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "metaqa.json")
    p.add_argument("--runs", default="full,half", help=f"comma-separated, of: {', '.join(RUNS)}")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--link", action="store_true", help="also evaluate with the topic linked (brackets removed)")
    p.add_argument("--limit", type=int, default=None, help="evaluate the first N test questions per hop")
    p.add_argument("--link-limit", type=int, default=None, help="as --limit, for the linked evaluation")
    p.add_argument("--synthesize", type=int, default=20000, help="questions for the synthesized-only run")
    p.add_argument("--eval-only", action="store_true", help="evaluate the saved models of the runs")
    p.add_argument("--prepare-only", action="store_true", help="build the KBs and train their KGEs, then stop")
    p.add_argument("--kge", type=json.loads, default=KGE_DEFAULT, help="KGEConfig fields as JSON")
    p.add_argument("--qa", type=json.loads, default={}, help="QAConfig fields as JSON (for every run)")
    args = p.parse_args(argv)

    args.work.mkdir(parents=True, exist_ok=True)
    split = split_questions(args.data, args.work, args.seed)
    names = [n.strip() for n in args.runs.split(",") if n.strip()]
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        p.error(f"unknown run(s) {unknown}; known: {', '.join(RUNS)}")
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results.setdefault("runs", {})
    results["command"] = " ".join(sys.argv)
    results["split"] = {"seed": args.seed, "train_fraction": 0.8}
    kb_roots: dict[str, Path] = {}
    for kb in sorted({RUNS[n]["kb"] for n in names}):
        kb_roots[kb], info = prepare_kb(args.data, args.work, kb, args.seed, args.kge)
        results.setdefault("kb", {})[kb] = {**results.get("kb", {}).get(kb, {}), **info}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    if args.prepare_only:
        return
    for name in names:
        result = run(name, RUNS[name], args, split, kb_roots)
        # re-read: another run may have written meanwhile; --eval-only keeps the run's training figures
        results = json.loads(args.out.read_text()) if args.out.exists() else results
        results.setdefault("runs", {})[name] = {**results["runs"].get(name, {}), **result} if args.eval_only \
            else result
        results["cpu_count"] = os.cpu_count()
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        log(f"wrote {args.out}")


if __name__ == "__main__":
    main()
