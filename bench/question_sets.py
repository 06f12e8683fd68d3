"""Answers of the hand-written question sets in ``bench/questions/<kg>/``, computed and checked on the graph.

Each set has ``qa.txt`` (``question with [topic]<TAB>answer1|answer2``) and a line-aligned ``qa_qtype.txt``
holding the relation path the question asks for (``rel1/rel2^-1``). The answers are the entities that path
reaches from the topic (``KnowledgeGraph.follow``: a walk never returns to its start). ``--write`` fills the
answer column from the graph and drops the questions whose answer set is empty or larger than ``--max-answers``
(printing them); without it the stored answers are checked against the graph (exit 1 on any difference).

    python bench/question_sets.py nations umls worldlore  # check
    python bench/question_sets.py nations --write         # (re)compute the answers of a set being written
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench_kgs import WRITERS

from kgagent.kg import KnowledgeGraph, load_kg
from kgagent.kg.io import atomic_write_text

QUESTIONS = Path(__file__).resolve().parent / "questions"


def topic_entity(kg: KnowledgeGraph, topic: str) -> int:
    """The entity a topic names: its key, else a case-folded key match, else the one entity with that name
    (label or alias, case-folded: RDF graphs key entities by IRI, and their questions name them by label)."""
    if kg.has_entity(topic):
        return kg.entity_id(topic)
    folded = topic.casefold()
    keys = {k.casefold(): k for k in kg.entities}
    if folded in keys:
        return kg.entity_id(keys[folded])
    named = [i for i in range(kg.num_entities) if any(n.casefold() == folded for n in kg.names(i))]
    if len(named) != 1:
        raise SystemExit(f"topic {topic!r}: {len(named)} entities have that name")
    return named[0]


def answers(kg: KnowledgeGraph, topic: str, path: str) -> list[str]:
    """Keys of the entities ``path`` reaches from ``topic`` (see :func:`topic_entity`)."""
    return sorted(kg.entities[i] for i in kg.follow([topic_entity(kg, topic)], path.split("/")))


def topic_of(question: str) -> str:
    return question[question.index("[") + 1: question.index("]")]


def load_set(name: str) -> tuple[list[str], list[str], list[str]]:
    """``(questions, stored answer columns, paths)`` of ``bench/questions/<name>``."""
    lines = (QUESTIONS / name / "qa.txt").read_text(encoding="utf-8").splitlines()
    paths = (QUESTIONS / name / "qa_qtype.txt").read_text(encoding="utf-8").splitlines()
    if len(lines) != len(paths):
        raise SystemExit(f"{name}: qa.txt has {len(lines)} lines, qa_qtype.txt {len(paths)}")
    questions, stored = zip(*(line.split("\t", 1) if "\t" in line else (line, "") for line in lines), strict=True)
    return list(questions), list(stored), paths


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("sets", nargs="+", help="folders of bench/questions (KG names: nations, umls, ...)")
    p.add_argument("--write", action="store_true", help="fill in the answers, dropping empty and too large sets")
    p.add_argument("--max-answers", type=int, default=25)
    args = p.parse_args()
    failed = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.sets:
            kg, _ = load_kg(WRITERS[name](Path(tmp)).file)
            questions, stored, paths = load_set(name)
            keep: list[tuple[str, str, str]] = []
            for n, (q, old, path) in enumerate(zip(questions, stored, paths, strict=True), start=1):
                got = answers(kg, topic_of(q), path)
                if args.write:
                    if 0 < len(got) <= args.max_answers:
                        keep.append((q, "|".join(got), path))
                    else:
                        print(f"{name}:{n}: dropped ({len(got)} answers): {q}  [{path}]")
                elif sorted(a for a in old.split("|") if a) != got:
                    failed += 1
                    print(f"{name}:{n}: stored {old!r}, the graph gives {'|'.join(got)!r}: {q}")
            if args.write:
                atomic_write_text(QUESTIONS / name / "qa.txt", "".join(f"{q}\t{a}\n" for q, a, _ in keep))
                atomic_write_text(QUESTIONS / name / "qa_qtype.txt", "".join(f"{p}\n" for _, _, p in keep))
                hops = [path.count("/") + 1 for _, _, path in keep]
                print(f"{name}: {len(keep)} questions kept "
                      f"({', '.join(f'{h}-hop {hops.count(h)}' for h in sorted(set(hops)))})")
            else:
                print(f"{name}: {len(questions)} questions checked")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
