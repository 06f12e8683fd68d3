"""Training questions synthesized from the graph, so a KG without any labelled questions still gets a QA model.

Random walks of 1..3 steps (either direction) from a topic entity are executed exactly on the graph; each walk
becomes a question in the words of :mod:`kgagent.training.grammar` (relations named by the schema that
:mod:`kgagent.kg.schema` reads off the graph), and its reached set is the gold. Each sampled path is asked of a
few topics (``per_path``), so the path classifier sees every path several times. Asked for no fixed number,
sampling goes on until new walks stop finding new paths: the count scales with the graph's distinct paths.

>>> from kgagent.kg import KnowledgeGraph
>>> kg = KnowledgeGraph.from_triples([("Alien", "directed_by", "Ridley Scott"), ("Alien", "has_genre", "Horror")])
>>> qs = synthesize_questions(kg, 4, config=SynthesisConfig(max_hops=1, seed=0))
>>> all("[" in q.question or q.mention for q in qs)
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kgagent.kg.config import check_ints
from kgagent.kg.errors import ConfigError
from kgagent.kg.graph import INVERSE, KnowledgeGraph
from kgagent.kg.io import atomic_write_text
from kgagent.kg.schema import Schema, induce_schema, relation_name
from kgagent.training.grammar import ask
from kgagent.training.qa_data import QAExample, parse_question
from kgagent.training.qa_paths import PathIndex, RelPath


@dataclass
class SynthesisConfig:
    """How questions are sampled from the graph."""

    max_hops: int = field(default=3, metadata={"help": "longest relation path asked about (1-3)"})
    hop_weights: tuple[float, ...] = field(default=(0.4, 0.35, 0.25), metadata={
        "help": "relative share of 1-, 2-, 3-hop questions (truncated to max_hops)"})
    max_answers: int = field(default=25, metadata={"help": "walks reaching more entities are too vague; skipped"})
    literal_topics: bool = field(default=False, metadata={"help": "allow literal values (numbers, dates) as topics"})
    per_path: int = field(default=6, metadata={
        "help": "questions asked about each sampled relation path, from different topics: the path classifier "
                "needs several examples of a path (walks alone give most paths a single question)"})
    max_questions: int = field(default=20_000, metadata={
        "help": "the most questions sampled when no number is asked for (sampling stops earlier once walks stop "
                "finding new paths)"})
    stale_after: int = field(default=2_000, metadata={
        "help": "with no number asked for: stop after this many walks in a row found no new path"})
    families: tuple[str, ...] | None = field(default=None, metadata={
        "help": "only these grammar families (training.grammar.FAMILIES); None: all"})
    seed: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.max_hops, int) or not 1 <= self.max_hops <= 3:
            raise ValueError(f"max_hops must be 1, 2 or 3, not {self.max_hops!r}")
        self.hop_weights = tuple(float(w) for w in self.hop_weights)
        if len(self.hop_weights) < self.max_hops or any(w < 0 for w in self.hop_weights) \
                or sum(self.hop_weights[: self.max_hops]) <= 0:
            raise ValueError(f"hop_weights needs {self.max_hops} non-negative weights with a positive sum, "
                             f"not {self.hop_weights!r}")
        check_ints(self, "max_answers", "per_path", "max_questions", "stale_after")
        if self.families is not None:
            self.families = tuple(self.families)


def mentioned_words(path: RelPath, text: str) -> int:
    """How many distinct content words of ``text`` name a relation of ``path`` (the same word, or the same first 5
    letters: "successor"/"successors", "price"/"prices"). Breaks ties between paths that reach the same answers:
    "the accessories for the successor of X" names the successor step a 2-hop reading skips. Words are counted
    once, so a walk that repeats a relation (powered_by, powered_by^-1, powered_by) gains nothing by it."""
    from kgagent.retrieval.text import FUNCTION_WORDS

    words = {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in FUNCTION_WORDS}
    rel = {w for step in path for w in relation_name(step.removesuffix(INVERSE)).words if w not in FUNCTION_WORDS}
    stems = {w[:5] for w in rel if len(w) >= 5}
    return sum(w in rel or (len(w) >= 5 and w[:5] in stems) for w in words)


# ----------------------------------------------------------------- sampling walks
def synthesize_questions(kg: KnowledgeGraph, n: int | None = None, *, config: SynthesisConfig | None = None,
                         index: PathIndex | None = None, schema: Schema | None = None,
                         progress: bool = False) -> list[QAExample]:
    """``n`` distinct questions from random walks on ``kg`` (fewer when the graph has fewer distinct walks);
    ``n=None``: as many as the graph's distinct paths call for (see :class:`SynthesisConfig`).

    Each step of a walk is drawn uniformly among the relation directions leaving the current entity (not among
    its edges), so rare relations are asked about too. ``qtype`` is the relation path joined by ``/``.
    """
    from tqdm.auto import tqdm

    config = config or SynthesisConfig()
    auto = n is None
    n = config.max_questions if n is None else n
    if n < 0:
        raise ConfigError(f"synthesize: the number of questions must be >= 0, not {n}")
    if n == 0 or kg.num_triples == 0:
        return []
    index = index or PathIndex(kg)
    schema = schema or induce_schema(kg)
    rng = np.random.default_rng(config.seed)
    weights = np.asarray(config.hop_weights[: config.max_hops])
    weights = weights / weights.sum()
    has_edges = np.zeros(kg.num_entities, dtype=bool)
    has_edges[kg.triples[:, [0, 2]].ravel()] = True
    if not config.literal_topics:
        has_edges &= ~kg.literal
    starts = np.flatnonzero(has_edges)
    if not len(starts):
        return []
    sources = _step_sources(kg, index, has_edges)
    seen: set[tuple[int, RelPath]] = set()
    paths: set[RelPath] = set()
    out: list[QAExample] = []
    attempts, budget, last_new = 0, 50 * n + 1000, 0
    ask_ = lambda topic, path: _ask(kg, index, schema, topic, path, config, rng, seen)  # noqa: E731
    with tqdm(total=n, desc="synthesizing questions", unit="q", disable=not progress) as bar:
        while len(out) < n and attempts < budget and not (auto and attempts - last_new > config.stale_after):
            # draw the hop count first, then retry walks of that length: dead ends and vague walks are more
            # common for long paths, and sampling lengths per walk would under-represent them
            hops = int(rng.choice(len(weights), p=weights)) + 1
            for _ in range(20):
                attempts += 1
                topic = int(starts[rng.integers(len(starts))])
                path = _walk(index, topic, hops, rng)
                example = None if path is None else ask_(topic, path)
                if example is None:
                    continue
                if path not in paths:
                    paths.add(path)
                    last_new = attempts
                found = [example]
                # the same path from other topics that have its first step
                cands = sources[path[0]]
                for other in rng.choice(cands, min(len(cands), 10 * config.per_path), replace=False):
                    if len(found) >= min(config.per_path, n - len(out)):
                        break
                    more = ask_(int(other), path)
                    if more is not None:
                        found.append(more)
                out += found
                bar.update(len(found))
                break
    return out


def _step_sources(kg: KnowledgeGraph, index: PathIndex, allowed: np.ndarray) -> dict[str, np.ndarray]:
    """Step name -> the allowed topics an edge of that step leaves from."""
    order = np.argsort(kg.triples[:, 1], kind="stable")
    bounds = np.searchsorted(kg.triples[order, 1], np.arange(kg.num_relations + 1))
    out: dict[str, np.ndarray] = {}
    for i, name in enumerate(index.step_names):
        r, forward = i % kg.num_relations, i < kg.num_relations
        ends = np.unique(kg.triples[order[bounds[r]: bounds[r + 1]], 0 if forward else 2])
        out[name] = ends[allowed[ends]]
    return out


def _ask(kg: KnowledgeGraph, index: PathIndex, schema: Schema, topic: int, path: RelPath, config: SynthesisConfig,
         rng: np.random.Generator, seen: set[tuple[int, RelPath]]) -> QAExample | None:
    """The question asking ``path`` of ``topic``, or None (duplicate, bracket in the name, no or too many
    answers)."""
    if (topic, path) in seen or "[" in kg.labels[topic] or "]" in kg.labels[topic]:
        return None
    seen.add((topic, path))
    answers = index.execute([topic], path)
    if not 1 <= len(answers) <= config.max_answers:
        return None
    text, family = ask(path, f"[{kg.labels[topic]}]", schema, rng, config.families)
    text, mention, _ = parse_question(text)
    return QAExample(question=text, topics=(topic,), answers=tuple(int(a) for a in answers), mention=mention,
                     answer_names=tuple(kg.labels[int(a)] for a in answers), source="synthesized",
                     qtype="/".join(path), hops=len(path), family=family)


def _walk(index: PathIndex, topic: int, hops: int, rng: np.random.Generator) -> RelPath | None:
    """A random relation path of ``hops`` steps that the graph can walk from ``topic``; None at a dead end."""
    frontier = np.array([topic], dtype=np.int64)
    path: list[str] = []
    for _ in range(hops):
        options = [(s, reached) for s, reached in index.successors(frontier) if len(reached[reached != topic])]
        if not options:
            return None
        s, reached = options[int(rng.integers(len(options)))]
        path.append(index.step_names[s])
        reached = reached[reached != topic]
        # continue from one reached entity, like a walk, so later steps stay specific
        frontier = reached[int(rng.integers(len(reached)))][None]
    return tuple(path)


def write_qa_file(examples: Sequence[QAExample], path: str | Path, kg: KnowledgeGraph) -> None:
    """Write examples in MetaQA format (``question with [topic]<TAB>a1|a2``), atomically."""
    lines = []
    for ex in examples:
        q = ex.question
        if ex.mention is not None:
            s, e = ex.mention
            q = f"{q[:s]}[{q[s:e]}]{q[e:]}"
        names = ex.answer_names or tuple(kg.labels[a] for a in ex.answers)
        lines.append(f"{q}\t{'|'.join(names)}\n")
    atomic_write_text(path, "".join(lines))
