"""KG embedding benchmark: train the default model (or another) on a real KG, report filtered test metrics.

One dataset per run; results merge into ``bench/results/kge.json`` under the run's name, so each dataset's
peak memory (RSS) is its own process's.

    P=.venv/lib/python3.11/site-packages/pykeen/datasets
    python bench/kge.py umls $P/umls                   # train.txt + valid.txt + test.txt, re-split by us
    python bench/kge.py kinships $P/kinships
    python bench/kge.py metaqa ../shared/data/metaqa/kb.txt --epochs 3 --no-early-stopping --max-test 500

A folder means its ``train/valid/test.txt`` concatenated into one TSV (in a temporary folder), loaded with
``kg.loaders.load_kg`` as a user's file would be, then split by ``train_embeddings``'s own seeded split. A
file is loaded by extension (``.txt``: ``subject|relation|object``) or ``--format``. Every result records
``os.getloadavg()`` before and after: the machine has 2 shared cores, so a high load inflates the times.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shlex
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("PYSTOW_HOME", str(ROOT / ".cache" / "pystow"))

from kgagent.kg.embeddings import KGEConfig, train_embeddings  # noqa: E402
from kgagent.kg.io import atomic_write_json  # noqa: E402
from kgagent.kg.loaders import load_kg  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "kge.json"
SPLITS = ("train.txt", "valid.txt", "test.txt")


def load(path: Path, fmt: str | None, tmp: Path) -> tuple[Any, dict[str, Any]]:
    """The KG of ``path``: a folder's split files joined into one TSV, or one file."""
    if path.is_dir():
        joined = tmp / f"{path.name}.tsv"
        with open(joined, "w", encoding="utf-8") as out:
            for name in SPLITS:
                text = (path / name).read_text(encoding="utf-8")
                out.write(text if text.endswith("\n") else text + "\n")
        path, fmt = joined, fmt or "tsv"
    kg, report = load_kg(path, format=fmt)
    return kg, report.as_dict()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("name", help="Result key (umls, kinships, metaqa, ...).")
    ap.add_argument("path", type=Path, help="A KG file, or a folder with train/valid/test.txt.")
    ap.add_argument("--format", default=None, help="Loader (default: tsv for folders, else by extension).")
    ap.add_argument("--model", default=None, help="PyKEEN model (default: KGEConfig's).")
    ap.add_argument("--dim", type=int, default=None)
    ap.add_argument("--epochs", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--lr", type=float, default=None)
    ap.add_argument("--max-test", type=int, default=None, help="Evaluate on a seeded sample of test triples.")
    ap.add_argument("--max-valid", type=int, default=None, help="Validation sample for early stopping.")
    ap.add_argument("--no-early-stopping", action="store_true", help="Train exactly --epochs epochs.")
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--threads", type=int, default=None,
                    help="torch intra-op threads (default: torch's). On a contended machine 1 can be faster.")
    ap.add_argument("--out", type=Path, default=RESULTS)
    args = ap.parse_args(argv)

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    overrides = {"model": args.model, "dim": args.dim, "epochs": args.epochs, "batch_size": args.batch_size,
                 "lr": args.lr, "max_test_triples": args.max_test, "max_eval_triples": args.max_valid,
                 "seed": args.seed, "early_stopping": False if args.no_early_stopping else None}
    config = KGEConfig(**{k: v for k, v in overrides.items() if v is not None})
    load_start = [round(x, 2) for x in os.getloadavg()]
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kge-bench-") as tmp:
        kg, report = load(args.path, args.format, Path(tmp))
        load_seconds = time.perf_counter() - t0
        print(f"{args.name}: {kg.num_triples} triples, {kg.num_entities} entities, "
              f"{kg.num_relations} relations", flush=True)
        result = train_embeddings(kg, config=config, out_dir=Path(tmp) / "kge", progress=True)
    wall = time.perf_counter() - t0
    m = result.metrics
    entry = {
        "command": "python " + " ".join(shlex.quote(a) for a in ["bench/kge.py", *(argv or sys.argv[1:])]),
        "data": str(args.path),
        "kg": {"triples": kg.num_triples, "entities": kg.num_entities, "relations": kg.num_relations,
               "load_seconds": round(load_seconds, 2), "format": report.get("format")},
        "metrics": m,
        "seconds_per_epoch": round(m["train_seconds"] / max(1, m["epochs"]), 2),
        "early_stopping_in_train_seconds": config.early_stopping,  # validation time is inside train_seconds
        "wall_seconds": round(wall, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "config": asdict(config),
        "machine": {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "python": platform.python_version(), "torch": torch.__version__,
                    "loadavg_start": load_start, "loadavg_end": [round(x, 2) for x in os.getloadavg()]},
        "finished": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    results: dict[str, Any] = {}
    if args.out.exists():
        import json

        results = json.loads(args.out.read_text(encoding="utf-8"))
    results[args.name] = entry
    atomic_write_json(args.out, results)
    print(f"{args.name}: mrr {m['mrr']:.3f}  hits@1 {m['hits_at_1']:.3f}  hits@10 {m['hits_at_10']:.3f}  "
          f"epochs {m['epochs']}  {entry['seconds_per_epoch']} s/epoch  wall {wall:.0f} s  "
          f"peak RSS {entry['peak_rss_mb']:.0f} MB  load {load_start} -> {entry['machine']['loadavg_end']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
