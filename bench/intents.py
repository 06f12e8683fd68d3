"""Intent benchmark: CLINC150 (train -> val) and Banking77 (seeded 80/20 split), with a TF-IDF baseline.

CLINC150: trains on ``train`` + ``oos_train``, early-stops and calibrates the out-of-scope threshold on
``val`` + ``oos_val``, and reports on that same ``val`` split (as the task specifies for train -> val).
Banking77: a seeded stratified 80/20 split of ``train.csv``; early stopping uses 10% of the 80%, the 20% is
only scored at the end.

    python bench/intents.py --clinc ../shared/data/clinc150/data_train_val.json \
        --banking ../shared/data/banking77/train.csv --out bench/results/intents.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from kgagent.kg.config import make_config
from kgagent.kg.io import atomic_write_json
from kgagent.training.intents import (
    IntentConfig,
    IntentData,
    IntentModel,
    IntentSplit,
    calibrate,
    evaluate_intents,
    load_intent_data,
    score_predictions,
    train_intents,
)


def tfidf_baseline(train: IntentSplit, test: IntentSplit, val: IntentSplit | None) -> dict[str, Any]:
    """TF-IDF (word 1-2-grams + char 2-5-grams) + logistic regression; OOS threshold calibrated on ``val``."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    from kgagent.training.intents import IntentPrediction, calibrate_threshold
    from kgagent.training.intents_oos import is_oos

    t0 = time.perf_counter()
    features = make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
                          TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True,
                                          min_df=2))
    clf = make_pipeline(features, LogisticRegression(C=20.0, max_iter=2000))
    clf.fit(train.texts, train.intents)
    seconds = time.perf_counter() - t0
    labels = list(clf.classes_)
    oos_index = next((i for i, lab in enumerate(labels) if is_oos(lab)), None)
    threshold = None
    if val is not None:
        threshold = calibrate_threshold(clf.predict_proba(val.texts), val.intents, labels,
                                        IntentConfig().oos_weight)

    def decide(probs: np.ndarray) -> list[IntentPrediction]:
        out = []
        for row in probs:
            k = int(row.argmax())
            if (oos_index is not None and k == oos_index) or (threshold is not None and row[k] < threshold):
                out.append(IntentPrediction("oos", float(row[k]), True))
            else:
                out.append(IntentPrediction(labels[k], float(row[k]), False))
        return out

    metrics = score_predictions(test.intents, decide(clf.predict_proba(test.texts))).as_dict()
    metrics.pop("confused")
    return {**metrics, "train_seconds": round(seconds, 2), "threshold": threshold}


def latency_ms(model: IntentModel, texts: list[str], repeats: int = 200) -> dict[str, float]:
    """Single-query predict latency (one text per call), after a warm-up."""

    for t in texts[:10]:
        model.predict([t])
    times = []
    for i in range(repeats):
        t0 = time.perf_counter()
        model.predict([texts[i % len(texts)]])
        times.append(1000 * (time.perf_counter() - t0))
    return {"single_query_ms_p50": round(float(np.percentile(times, 50)), 2),
            "single_query_ms_p95": round(float(np.percentile(times, 95)), 2)}


def oos_frontier(model: IntentModel, logits: np.ndarray, gold: list[str]) -> dict[str, list[list[float]]]:
    """Per out-of-scope score: (in-scope accuracy, OOS recall) as the threshold sweeps the score's range."""
    from kgagent.training.intents_oos import OOS_SCORES, is_oos

    oos = np.array([is_oos(x) for x in gold])
    label = {lab: i for i, lab in enumerate(model.labels)}
    gold_idx = np.array([label.get(x, -1) for x in gold])
    by_class = logits.argmax(1) == (model.oos_index if model.oos_index is not None else -1)
    inner = logits if model.oos_index is None else np.delete(logits, model.oos_index, axis=1)
    keep = np.arange(logits.shape[1]) if model.oos_index is None else np.delete(np.arange(logits.shape[1]),
                                                                               model.oos_index)
    right = keep[inner.argmax(1)] == gold_idx  # the in-scope intent is right, before any threshold
    out = {}
    for name, fn in OOS_SCORES.items():
        scores = fn(logits, model.oos_index)
        points = []
        for t in np.quantile(scores, np.linspace(0, 0.3, 61)):
            flagged = by_class | (scores < t)
            points.append([float((right & ~flagged)[~oos].mean()), float(flagged[oos].mean())])
        out[name] = points
    return out


def plot_frontier(frontier: dict[str, list[list[float]]], marks: dict[str, tuple[float, float]],
                  path: Path, title: str) -> None:
    """In-scope accuracy against OOS recall per score, the calibrated operating points marked."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(5.5, 4))
    ax = fig.add_subplot()
    for name, points in frontier.items():
        x, y = zip(*points, strict=True)
        ax.plot(y, x, label=f"{name} score")
    for name, (ins, rec) in marks.items():
        ax.scatter([rec], [ins], zorder=3, label=name)
    ax.axhline(0.96, color="grey", lw=0.8, ls="--")
    ax.axvline(0.75, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("OOS recall")
    ax.set_ylabel("in-scope accuracy")
    ax.set_ylim(0.92, 0.97)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def run_model(name: str, data: IntentData, test: IntentSplit, config: IntentConfig, work: Path,
              recalibrate: bool = False) -> dict[str, Any]:
    load0 = os.getloadavg()
    t0 = time.perf_counter()
    if recalibrate:  # the saved model's weights, its out-of-scope threshold set anew under ``config``
        model = IntentModel.load(work / name, merge=False)
        model.config = replace(model.config, oos_score=config.oos_score, oos_threshold=config.oos_threshold)
        train_info = {"recalibrated": calibrate(model, data.val) if data.val is not None else {}}
        model.save(work / name)
    else:
        train_info = train_intents(data, config, out_dir=work / name).train
    train_seconds = time.perf_counter() - t0
    model = IntentModel.load(work / name)  # what the agent would load: saved, reloaded, LoRA merged
    metrics = evaluate_intents(model, test).as_dict()
    # How in-scope accuracy trades against OOS recall as the threshold moves (the calibrated one is reported):
    # thresholds at quantiles of the in-scope score on this split.
    logits = model.logits(test.texts)
    scores = model.oos_scores(logits)
    keys = ("accuracy", "in_scope_accuracy", "oos_recall", "macro_f1")
    curve, calibrated = {}, model.threshold
    for q in (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2):
        model.threshold = float(np.quantile(scores, q)) if q else None
        scored = score_predictions(test.intents, model.decide(logits)).as_dict()
        curve[f"q{q:.3f}"] = {"threshold": model.threshold, **{k: scored[k] for k in keys}}
    model.threshold = calibrated
    frontier = oos_frontier(model, logits, test.intents) if metrics["n_oos"] else None
    return {**metrics, "threshold": model.threshold, "oos_score": model.config.oos_score, "threshold_curve": curve,
            "oos_frontier": frontier,
            "train_seconds_total": round(train_seconds, 1), "training": train_info,
            **latency_ms(model, test.texts), "loadavg_before": load0, "loadavg_after": os.getloadavg()}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clinc", type=Path, help="CLINC150 data_train_val.json")
    p.add_argument("--banking", type=Path, help="Banking77 train.csv")
    p.add_argument("--out", type=Path, default=Path("bench/results/intents.json"))
    p.add_argument("--work", type=Path, default=Path(".cache/bench-intents"), help="where trained models go")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the Banking77 80/20 split")
    p.add_argument("--no-model", action="store_true", help="only the TF-IDF baseline")
    p.add_argument("--recalibrate", action="store_true",
                   help="no training: set the saved models' out-of-scope threshold anew (e.g. --set oos_score=...)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch threads; 1 is several times faster than 2 when other jobs share the cores")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="IntentConfig field for both datasets (JSON value), e.g. --set lora_r=16")
    p.add_argument("--clinc-set", action="append", default=[], metavar="FIELD=VALUE")
    p.add_argument("--banking-set", action="append", default=[], metavar="FIELD=VALUE")
    args = p.parse_args(argv)

    def fields_of(items: list[str]) -> dict[str, Any]:
        out = {}
        for item in items:
            key, _, value = item.partition("=")
            try:
                out[key] = json.loads(value)
            except json.JSONDecodeError:
                out[key] = value
        return out

    import torch

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    common = fields_of(args.set)
    results: dict[str, Any] = json.loads(args.out.read_text()) if args.out.exists() else {}
    results["machine"] = {"cpus": os.cpu_count(), "loadavg_start": os.getloadavg(),
                          "torch_threads": torch.get_num_threads()}
    runs: list[tuple[str, IntentData, IntentSplit, dict[str, Any]]] = []
    if args.clinc:
        data = load_intent_data(args.clinc)
        assert data.val is not None, "CLINC JSON needs a val split"
        runs.append(("clinc150", data, data.val, {**common, **fields_of(args.clinc_set)}))
    if args.banking:
        full = load_intent_data(args.banking).train
        train, test = full.stratified_split(0.2, args.split_seed)
        overrides = {**common, **fields_of(args.banking_set)}
        runs.append(("banking77", IntentData(args.banking, train), test, overrides))
    for name, data, test, overrides in runs:
        entry: dict[str, Any] = {"n_train": len(data.train), "n_test": len(test)}
        print(f"== {name}: TF-IDF baseline", flush=True)
        entry["tfidf_logreg"] = tfidf_baseline(data.train, test, data.val)
        print(json.dumps(entry["tfidf_logreg"]), flush=True)
        if not args.no_model:
            config = make_config(IntentConfig, overrides, where="--set")
            print(f"== {name}: {config}", flush=True)
            entry["config"] = asdict(config)
            entry["model"] = run_model(name, data, test, config, args.work, args.recalibrate)
            if entry["model"]["oos_frontier"]:
                m = entry["model"]
                plot_frontier(m["oos_frontier"], {f"calibrated ({m['oos_score']})": (m["in_scope_accuracy"],
                                                                                      m["oos_recall"])},
                              args.out.with_name(f"{name}_oos_frontier.png"), f"{name}: out-of-scope threshold")
            print(json.dumps({k: v for k, v in entry["model"].items() if k != "confused"}), flush=True)
        entry["command"] = " ".join(["python", *sys.argv])
        results[name] = entry
        atomic_write_json(args.out, results)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
