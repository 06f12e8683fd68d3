"""Entity-linking evaluation on MetaQA-format question files: ``question with [entity]<TAB>answers``."""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from kgagent.kg.errors import InputError
from kgagent.retrieval.linker import EntityLinker
from kgagent.retrieval.perturb import PERTURBATIONS
from kgagent.retrieval.text import normalize

_BRACKET = re.compile(r"\[([^\[\]]+)\]")


@dataclass(frozen=True)
class LinkingExample:
    """One question with its brackets removed and the gold mention's span and name."""

    text: str
    gold: str
    start: int
    end: int


@dataclass
class LinkingResult:
    """``accuracy``: the top linked entity has the gold name (normalized); ``ms_per_question``: mean time."""

    accuracy: float
    n: int
    ms_per_question: float
    cpu_ms_per_question: float  # CPU time of the linking thread: what a busy machine does not inflate
    ambiguous_rate: float
    no_mention: int
    typos: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


def read_metaqa(path: str | Path, *, limit: int | None = None) -> Iterator[LinkingExample]:
    """The questions of a MetaQA file, brackets removed, with the bracketed (gold) entity."""
    path = Path(path)
    if not path.is_file():
        raise InputError("question file not found", path=path)
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if limit is not None and n > limit:
                return
            q = line.rstrip("\n").split("\t")[0]
            if not q.strip():
                continue
            m = _BRACKET.search(q)
            if m is None:
                raise InputError("no [bracketed] topic entity in the question", path=path, line=n)
            text = q[: m.start()] + m.group(1) + q[m.end() :]
            text = text.replace("[", "").replace("]", "")
            yield LinkingExample(text, m.group(1), m.start(), m.start() + len(m.group(1)))


def misspell(example: LinkingExample, rng: random.Random) -> LinkingExample:
    """One random edit (delete, insert, substitute or transpose a letter/digit) inside the mention."""
    return perturb_example(example, "typo", rng) or example


def perturb_example(example: LinkingExample, kind: str, rng: random.Random) -> LinkingExample | None:
    """``example`` with its mention changed by ``PERTURBATIONS[kind]``; None where that does not apply."""
    if kind not in PERTURBATIONS:
        raise ValueError(f"unknown perturbation {kind!r}; known: {', '.join(PERTURBATIONS)}")
    edit = PERTURBATIONS[kind](example.text, example.start, example.end, rng)
    return None if edit is None else LinkingExample(edit[0], example.gold, edit[1], edit[2])


def evaluate_linking(
    linker: EntityLinker,
    path: str | Path | Sequence[LinkingExample],
    *,
    limit: int | None = None,
    typos: bool = False,
    seed: int = 0,
    progress: bool = False,
) -> LinkingResult:
    """Link every question of a MetaQA file (brackets removed), or the ``LinkingExample`` s given; the top entity
    must carry the gold name."""
    from tqdm.auto import tqdm

    examples = list(read_metaqa(path, limit=limit)) if isinstance(path, str | Path) else list(path)[:limit]
    if not examples:
        raise InputError("no questions in the file", path=path)
    if typos:
        rng = random.Random(seed)
        examples = [misspell(x, rng) for x in examples]
    names = [{normalize(n) for n in linker.kg.names(e)} for e in range(linker.kg.num_entities)]
    correct = ambiguous = empty = 0
    elapsed = cpu = 0.0
    for x in tqdm(examples, desc="linking", unit="q", disable=not progress, leave=False):
        t0, c0 = time.perf_counter(), time.thread_time()
        mentions = linker.link(x.text, always=True)
        elapsed += time.perf_counter() - t0
        cpu += time.thread_time() - c0
        if not mentions:
            empty += 1
            continue
        ambiguous += mentions[0].ambiguous
        correct += normalize(x.gold) in names[mentions[0].entity]
    n = len(examples)
    return LinkingResult(
        accuracy=correct / n,
        n=n,
        ms_per_question=1000 * elapsed / n,
        cpu_ms_per_question=1000 * cpu / n,
        ambiguous_rate=ambiguous / n,
        no_mention=empty,
        typos=typos,
    )
