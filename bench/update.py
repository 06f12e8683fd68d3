"""Incremental updates: ``kgagent kg add`` / ``kg remove`` against a full build.

    .venv/bin/python bench/update.py --work .cache/bench-update --n 1000 --json bench/results/update_demo.json
    .venv/bin/python bench/update.py --work .cache/bench-update-metaqa --kg ../shared/data/metaqa/kb.txt \\
        --questions DIR/1-hop/train.txt ... --toml metaqa.toml --heldout DIR/1-hop/test.txt --json ...

Builds a workspace (the bundled demo KG by default, one torch thread as ``kgagent demo`` does; or ``--kg`` with
its ``--questions`` and ``--toml``), timing the full build. Then:

1. ``--n`` new triples: new head entities shaped like existing ones (each copies a random existing head's relations;
   a tail is a new entity with the chance that the relation's tails are distinct, e.g. new people for a film's
   director, an existing value for its genre), named from a syllable vocabulary, seeded; added with
   ``agent.update.add_triples`` (timed).
2. 1-hop questions about the new facts in the words of ``training.grammar`` (forward from each new head, and
   backward from each new tail entity), answered by the workspace's QA model with the topic given and linked.
3. Hits@1 on old held-out questions before the add, after it, and after removing the added triples again
   (``--heldout`` files, else questions synthesized from the original graph with another seed than training's).
4. Removing the added triples (timed; the graph must equal the original) and removing ``--n`` random original
   triples (timed; renumbers the passages of every later triple).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("PYSTOW_HOME", str(ROOT / ".cache" / "pystow"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SYLLABLES = ("ka", "lo", "mi", "ren", "tas", "vel", "dor", "qui", "zan", "bre", "ost", "ula", "fen", "gar", "pim",
             "sor", "tev", "yor", "nax", "eld")


def load_avg() -> float:
    return round(os.getloadavg()[0], 2)


def build(args: argparse.Namespace, ws: Path) -> float:
    """Build the workspace from scratch; returns the wall seconds of the build."""
    from kgagent.ui.demo import ensure_demo_workspace

    shutil.rmtree(ws, ignore_errors=True)
    t0 = time.perf_counter()
    if args.kg is None:
        ensure_demo_workspace(ws, rebuild=True, threads=1)
    else:
        from kgagent.agent.build import BuildOptions, build_workspace

        ws.mkdir(parents=True)
        if args.toml:
            shutil.copyfile(args.toml, ws / "kgagent.toml")
        build_workspace(BuildOptions(file=args.kg, workspace=ws, format=args.format, questions=args.questions))
    return round(time.perf_counter() - t0, 2)


def name(rng: np.random.Generator, taken: set[str]) -> str:
    while True:
        words = [("".join(rng.choice(SYLLABLES, rng.integers(2, 4)))).capitalize() for _ in range(2)]
        text = " ".join(words)
        if text not in taken:
            taken.add(text)
            return text


def new_triples(kg: Any, n: int, seed: int) -> list[tuple[str, str, str]]:
    """``n`` triples of new heads shaped like existing heads (see the module docstring)."""
    rng = np.random.default_rng(seed)
    tr = kg.triples
    out_deg = np.bincount(tr[:, 0], minlength=kg.num_entities)
    heads = np.flatnonzero((out_deg >= 2) & ~kg.literal)
    rel_tails = {r: np.unique(tr[tr[:, 1] == r, 2]) for r in range(kg.num_relations)}
    fresh_p = {r: len(rel_tails[r]) / max(1, int((tr[:, 1] == r).sum())) for r in rel_tails}
    taken = {lab for lab in kg.labels} | set(kg.entities)
    out: list[tuple[str, str, str]] = []
    while len(out) < n:
        template = int(rng.choice(heads))
        head = name(rng, taken)
        for t in kg.edges(template, forward=True):
            _, r, _ = (int(x) for x in tr[t])
            tail = name(rng, taken) if rng.random() < fresh_p[r] else kg.entities[int(rng.choice(rel_tails[r]))]
            out.append((head, kg.relations[r], tail))
            if len(out) == n:
                break
    return out


def new_fact_questions(kg: Any, added: list[tuple[str, str, str]], n_old: int, seed: int) -> list[Any]:
    """1-hop questions about the added facts: each new head's relations, and back from each new tail entity
    (ids from ``n_old`` on, not literal values)."""
    from kgagent.kg.schema import induce_schema
    from kgagent.training.grammar import ask
    from kgagent.training.qa_data import QAExample, parse_question
    from kgagent.training.qa_paths import PathIndex

    rng = np.random.default_rng(seed)
    index, schema = PathIndex(kg), induce_schema(kg)
    heads = {h for h, _, _ in added}
    asked: dict[tuple[str, str], None] = {}
    for h, r, t in added:
        asked[(h, r)] = None
        tail = kg.entity_id(t)
        if t not in heads and tail >= n_old and not kg.literal[tail]:
            asked[(t, f"{r}^-1")] = None
    out = []
    for key, step in asked:
        topic = kg.entity_id(key)
        answers = index.execute([topic], (step,))
        if not 1 <= len(answers) <= 20:
            continue
        text, _ = ask((step,), f"[{kg.labels[topic]}]", schema, rng)
        text, mention, _ = parse_question(text)
        out.append(QAExample(question=text, topics=(topic,), answers=tuple(int(a) for a in answers), mention=mention,
                             answer_names=tuple(kg.labels[int(a)] for a in answers), qtype=step, hops=1))
    return out


def dedupe(triples: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    return list(dict.fromkeys(triples))


def regold(kg: Any, examples: list[Any]) -> list[Any]:
    """Examples whose gold is recomputed on ``kg`` from their relation path (``qtype``), same ids."""
    from dataclasses import replace

    from kgagent.training.qa_paths import PathIndex

    index = PathIndex(kg)
    return [replace(ex, answers=tuple(int(a) for a in index.execute(ex.topics, tuple(ex.qtype.split("/")))))
            for ex in examples]


def hits(ws: Path, examples: list[Any], *, link: bool = False) -> dict[str, Any]:
    from kgagent.training.qa import QAModel
    from kgagent.training.qa.evaluate import evaluate_qa

    model = QAModel.load(ws / "models" / "qa")
    if link:
        from kgagent.retrieval import open_linker

        model.set_linker(open_linker(ws, kg=model.kg))
    m = evaluate_qa(model, examples, link=link, progress=False)
    return {"hits_at_1": round(m.hits_at_1, 4), "n": m.n}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--work", type=Path, default=ROOT / ".cache" / "bench-update")
    p.add_argument("--kg", type=Path, default=None, help="KG file (default: the bundled demo KG)")
    p.add_argument("--format", default=None)
    p.add_argument("--questions", type=Path, nargs="*", default=[])
    p.add_argument("--toml", type=Path, default=None, help="kgagent.toml for the build")
    p.add_argument("--heldout", type=Path, nargs="*", default=[], help="old questions (MetaQA format)")
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--reuse", action="store_true", help="reuse WORK/ws and the build time in WORK/build.json")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args()

    from kgagent.agent.update import add_triples, remove_triples
    from kgagent.kg import KnowledgeGraph
    from kgagent.training.qa_data import read_qa_files
    from kgagent.training.synthesize import SynthesisConfig, synthesize_questions

    args.work.mkdir(parents=True, exist_ok=True)
    ws = args.work / "ws"
    load_before = load_avg()
    pristine = args.work / "pristine"  # the workspace as built: each run starts from a copy of it
    if args.reuse and (args.work / "build.json").is_file() and pristine.is_dir():
        build_s = json.loads((args.work / "build.json").read_text())["build_seconds"]
    else:
        build_s = build(args, ws)
        (args.work / "build.json").write_text(json.dumps({"build_seconds": build_s}))
        shutil.rmtree(pristine, ignore_errors=True)
        shutil.copytree(ws, pristine)
    print(f"full build: {build_s} s")
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(pristine, ws)

    old = KnowledgeGraph.load(ws / "kg")
    heldout = read_qa_files(args.heldout, old) if args.heldout else synthesize_questions(
        old, 1000, config=SynthesisConfig(seed=args.seed + 101))
    result: dict[str, Any] = {"kg": str(args.kg or "demo (lumora.tsv)"), "triples": old.num_triples,
                              "entities": old.num_entities, "n": args.n, "build_seconds": build_s,
                              "heldout_source": [str(p) for p in args.heldout] or "synthesized (seed + 101)",
                              "heldout_before": hits(ws, heldout)}
    print("held-out before:", result["heldout_before"])

    # the question generator below on old facts: the model's level on such questions before any update
    rng = np.random.default_rng(args.seed + 3)
    sample = old.triples[rng.choice(old.num_triples, min(500, old.num_triples), replace=False)]
    result["old_facts_same_generator"] = hits(ws, new_fact_questions(
        old, [(old.entities[h], old.relations[r], old.entities[t]) for h, r, t in sample], 0, args.seed))
    print("old facts, same generator:", result["old_facts_same_generator"])

    added = dedupe(new_triples(old, args.n, args.seed))
    file = args.work / "new.tsv"
    file.write_text("".join(f"{h}\t{r}\t{t}\n" for h, r, t in added), encoding="utf-8")
    add = add_triples(ws, file, format="tsv", header=False)
    result["add"] = add.as_dict()
    result["add_share_of_build"] = round(add.seconds / build_s, 4)
    print("add:", add.message)

    kg = KnowledgeGraph.load(ws / "kg")
    assert kg.entities[: old.num_entities] == old.entities  # held-out questions keep their ids
    questions = new_fact_questions(kg, added, old.num_entities, args.seed)
    result["new_facts_given_topic"] = hits(ws, questions)
    result["new_facts_linked"] = hits(ws, questions, link=True)
    result["heldout_after_add"] = hits(ws, heldout)
    if not args.heldout:  # synthesized: qtype is the path, so the gold can be recomputed
        # new facts also answer old questions ("what is stocked at [store]"): their gold on the current graph
        current = regold(kg, heldout)
        result["heldout_gold_changed"] = sum(set(a.answers) != set(b.answers)
                                             for a, b in zip(heldout, current, strict=True))
        result["heldout_after_add_current_gold"] = hits(ws, current)
    print("new facts:", result["new_facts_given_topic"], result["new_facts_linked"])
    print("held-out after add:", result["heldout_after_add"], result.get("heldout_after_add_current_gold"))

    remove = remove_triples(ws, file, format="tsv", header=False)
    result["remove_added"] = remove.as_dict()
    result["remove_share_of_build"] = round(remove.seconds / build_s, 4)
    back = KnowledgeGraph.load(ws / "kg")
    result["round_trip_graph_equal"] = bool(np.array_equal(back.triples, old.triples))
    result["heldout_after_remove"] = hits(ws, heldout)
    print("remove:", remove.message, "| held-out after remove:", result["heldout_after_remove"])

    rng = np.random.default_rng(args.seed + 7)
    picked = rng.choice(old.num_triples, min(args.n, old.num_triples), replace=False)
    file_old = args.work / "old.tsv"
    file_old.write_text("".join("\t".join((old.entities[h], old.relations[r], old.entities[t])) + "\n"
                                for h, r, t in old.triples[np.sort(picked)]), encoding="utf-8")
    remove_old = remove_triples(ws, file_old, format="tsv", header=False)
    result["remove_original"] = remove_old.as_dict()
    result["remove_original_share_of_build"] = round(remove_old.seconds / build_s, 4)
    print("remove original:", remove_old.message)

    result["load_avg"] = {"before": load_before, "after": load_avg()}
    result["machine"] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
