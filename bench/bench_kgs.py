"""The knowledge graphs the zero-input benchmarks run on, read where they ship; never copied into the repository.

- ``nations``, ``umls``, ``kinships``: the train/valid/test TSV splits inside the installed ``pykeen`` package
  (``pykeen/datasets/<name>/``), joined into one triples file in a folder the caller gives.
- ``demo``: the bundled demo domain's files (``kgagent/kg/demo/data``: the KG, its aliases and descriptions).
- ``worldlore``: a small fictional graph written by hand for these benchmarks, the one KG kept in the repository
  (``bench/kgs/worldlore/worldlore.ttl``, Turtle; see its README).

Each returns the KG file to pass to ``kgagent build`` (and, for the demo, its side files).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

PYKEEN_SETS = ("nations", "umls", "kinships")
BENCH_KGS = Path(__file__).resolve().parent / "kgs"


def pykeen_dataset_dir(name: str) -> Path:
    """``site-packages/pykeen/datasets/<name>`` of the installed PyKEEN (found without importing it)."""
    spec = importlib.util.find_spec("pykeen")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("pykeen is not installed")
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / name
    if not (folder / "train.txt").is_file():
        raise FileNotFoundError(f"{folder}/train.txt not found")
    return folder


@dataclass
class BenchKG:
    """A KG file for ``kgagent build`` plus its side files (``--aliases``/``--descriptions``), and its origin."""

    file: Path
    source: str
    build_args: list[str] = field(default_factory=list)


def write_pykeen_kg(name: str, folder: Path) -> BenchKG:
    """One TSV of every split of a PyKEEN dataset (duplicates across splits are the loader's to drop)."""
    src = pykeen_dataset_dir(name)
    out = folder / f"{name}.tsv"
    parts = [(src / f"{split}.txt").read_text(encoding="utf-8") for split in ("train", "valid", "test")]
    out.write_text("".join(p if p.endswith("\n") else p + "\n" for p in parts), encoding="utf-8")
    return BenchKG(out, str(src))


def write_demo_kg(folder: Path) -> BenchKG:
    """The demo domain's shipped files, used where they lie (``folder`` is not needed)."""
    from kgagent.kg import demo

    args = ["--aliases", str(demo.demo_aliases_path()), "--descriptions", str(demo.demo_descriptions_path())]
    return BenchKG(demo.demo_kg_path(), str(demo.demo_dir()), args)


def write_worldlore_kg(folder: Path) -> BenchKG:
    """The hand-written WorldLore graph, used where it lies (``folder`` is not needed)."""
    src = BENCH_KGS / "worldlore"
    return BenchKG(src / "worldlore.ttl", str(src))


WRITERS: dict[str, Callable[[Path], BenchKG]] = {
    **{name: (lambda folder, name=name: write_pykeen_kg(name, folder)) for name in PYKEEN_SETS},
    "demo": write_demo_kg,
    "worldlore": write_worldlore_kg,
}
