"""KG loading benchmark: wall time of ``kg.load_kg`` on real files, in every text and RDF format.

Loads MetaQA's ``kb.txt`` (pipe) and the UMLS/Kinships/Nations training files that ship inside PyKEEN (as
a user's TSV); then writes MetaQA into a temporary folder as N-Triples, Turtle and RDF/XML (entities as IRIs)
and loads those, so the RDF path is measured at the same scale. Each figure is the best of ``--repeats`` runs.

    python bench/kg_load.py --metaqa ../shared/data/metaqa/kb.txt --out bench/results/kg_load.json
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

from kgagent.kg import load_kg
from kgagent.kg.io import atomic_write_json

EX = "http://example.org/metaqa/"


def time_load(path: Path, fmt: str | None, repeats: int) -> dict[str, Any]:
    """Best-of-``repeats`` wall time of ``load_kg(path)`` and the report of the last run."""
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _, report = load_kg(path, format=fmt)
        times.append(time.perf_counter() - t0)
    best = min(times)
    return {"file": str(path), "format": report.format, "bytes": path.stat().st_size,
            "triples": report.triples, "entities": report.entities, "relations": report.relations,
            "duplicates": report.duplicates,
            "seconds": round(best, 3), "seconds_all": [round(t, 3) for t in times],
            "triples_per_s": round(report.triples / best)}


def write_rdf(kb: Path, folder: Path) -> dict[str, Path]:
    """MetaQA's pipe file as N-Triples, Turtle and RDF/XML (every entity an IRI) in ``folder``."""
    import rdflib

    def iri(name: str) -> str:
        return EX + quote(name.replace(" ", "_"), safe="_")

    rows = [line.rstrip("\n").split("|") for line in kb.open(encoding="utf-8") if line.strip()]
    nt = "".join(f"<{iri(h)}> <{EX}{r}> <{iri(t)}> .\n" for h, r, t in rows)
    out = {"nt": folder / "kb.nt", "ttl": folder / "kb.ttl", "rdf": folder / "kb.rdf"}
    out["nt"].write_text(nt, encoding="utf-8")
    out["ttl"].write_text(f"@prefix m: <{EX}> .\n" + nt, encoding="utf-8")
    graph = rdflib.Graph().parse(data=nt, format="nt")
    graph.bind("m", EX)
    graph.serialize(out["rdf"], format="xml")
    return out


def main() -> None:
    from tqdm.auto import tqdm

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--metaqa", type=Path, required=True, help="MetaQA kb.txt (subject|relation|object)")
    ap.add_argument("--pykeen", type=Path, default=None,
                    help="folder of PyKEEN's datasets (default: the installed package's)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--no-rdf", action="store_true", help="skip the N-Triples/Turtle/RDF-XML conversions")
    ap.add_argument("--out", type=Path, default=Path("bench/results/kg_load.json"))
    args = ap.parse_args()

    pykeen = args.pykeen
    if pykeen is None:
        spec = importlib.util.find_spec("pykeen")
        pykeen = Path(spec.submodule_search_locations[0]) / "datasets"  # type: ignore[union-attr, index]
    cases: list[tuple[str, Path, str | None]] = [("metaqa", args.metaqa, None)]
    cases += [(name, pykeen / name / "train.txt", "tsv") for name in ("umls", "kinships", "nations")]

    load_before = os.getloadavg()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="kg-load-bench-") as tmp:
        if not args.no_rdf:
            t0 = time.perf_counter()
            rdf = write_rdf(args.metaqa, Path(tmp))
            print(f"wrote MetaQA as RDF in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            cases += [(f"metaqa_{fmt}", path, fmt) for fmt, path in rdf.items()]
        for name, path, fmt in tqdm(cases, desc="loading", unit="file"):
            results[name] = time_load(path, fmt, args.repeats)
            if name.startswith("metaqa_"):
                results[name]["file"] = f"MetaQA kb.txt written as {fmt} (temporary)"
    summary = {
        "results": results,
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "cpu_count": os.cpu_count(),
        "max_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "python": platform.python_version(),
        "repeats": args.repeats,
    }
    atomic_write_json(args.out, summary)
    for name, r in results.items():
        print(f"{name:16s} {r['format']:6s} {r['triples']:>8,d} triples {r['entities']:>7,d} entities "
              f"{r['seconds']:7.3f} s  {r['triples_per_s']:>9,d} triples/s")
    print(f"loadavg before {summary['loadavg_before']} after {summary['loadavg_after']}; wrote {args.out}")


if __name__ == "__main__":
    main()
