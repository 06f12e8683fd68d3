"""Training questions synthesized from the graph, so a KG without any labelled questions still gets a QA model.

Random walks of 1..3 steps (either direction) find the graph's relation paths until new walks stop finding new
ones; the question budget of each length is then shared among its paths by how often walks found them (its
square root), each path asked of different topics (at most ``max_per_path``: no path takes the budget from the others),
so the path classifier sees every path several times. Each question is the path asked of a topic in the words of
:mod:`kgagent.training.grammar` (relations named by the schema that :mod:`kgagent.kg.schema` reads off the
graph), and the set the path reaches from the topic is its gold. Asked for no fixed number, the count scales with
the graph's distinct paths (``max_per_path`` each, up to ``max_questions``).

>>> from kgagent.kg import KnowledgeGraph
>>> kg = KnowledgeGraph.from_triples([("Alien", "directed_by", "Ridley Scott"), ("Alien", "has_genre", "Horror")])
>>> qs = synthesize_questions(kg, 4, config=SynthesisConfig(max_hops=1, seed=0))
>>> all("[" in q.question or q.mention for q in qs)
True
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
    per_path: int = field(default=20, metadata={
        "help": "the fewest questions (from different topics) a path is kept for: the path classifier needs "
                "several examples of a path; when the budget cannot give every path that many, the paths walks "
                "found least often are left out"})
    max_per_path: int = field(default=200, metadata={
        "help": "the most questions about one relation path: random walks find a few paths again and again (a "
                "film's actors' other films), and without a cap they take the budget from the rarer paths"})
    max_questions: int = field(default=20_000, metadata={
        "help": "the most questions sampled when no number is asked for (fewer when the graph's paths call for "
                "fewer: max_per_path each)"})
    rewordings: int = field(default=8, metadata={
        "help": "a length whose paths have too few topics for its share of the budget (a small graph's 1-hop "
                "paths) asks the same topics again in other words, up to this many times each, instead of "
                "giving its share to longer paths (a path head that saw few 1-hop questions appends hops)"})
    stale_after: int = field(default=2_000, metadata={
        "help": "finding paths stops after this many random walks in a row found no new one"})
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
        check_ints(self, "max_answers", "per_path", "max_per_path", "max_questions", "stale_after", "rewordings")
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
    """``n`` distinct questions about ``kg``'s relation paths (fewer when the graph has fewer distinct walks);
    ``n=None``: as many as the graph's distinct paths call for (see :class:`SynthesisConfig`).

    Random walks find the paths (each step drawn uniformly among the relation directions leaving the current
    entity, not among its edges, so rare relations are found too); the question budget of each length
    (``hop_weights``) is then shared among its paths by the square root of how often walks found them, at most
    ``max_per_path`` each, every path asked of different topics. How often walks find a path tells common
    compositions from accidents (a genre that is also a film's title); the cap and the root matter as much:
    walks find a few paths again and again and would leave others with no question at all.
    ``qtype`` is the relation path joined by ``/``.
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
    has_edges = np.zeros(kg.num_entities, dtype=bool)
    has_edges[kg.triples[:, [0, 2]].ravel()] = True
    if not config.literal_topics:
        has_edges &= ~kg.literal
    sources = _step_sources(kg, index, has_edges)
    found = _discover(index, sources, config, rng, walks=5 * n + 1000)
    if not found:
        return []
    if auto:  # as many as the paths call for
        n = min(n, config.max_per_path * len(found))
    seen: Counter[tuple[int, RelPath]] = Counter()  # how often each topic was asked each path
    pools: dict[RelPath, Any] = {}  # path -> its topics in a random order, drawn from as questions are asked
    questions: dict[RelPath, list[QAExample]] = {p: [] for p in found}
    open_ = set(found)  # paths that may still get questions: topics left, under max_per_path
    # a path's share grows with how often walks found it, as its square root: walks find an accident (a genre
    # that is also a film's title) rarely, but they also find a path rarely when its steps branch widely
    weight = {p: float(np.sqrt(c)) for p, c in found.items()}

    def fill(paths: list[RelPath], budget: int, bar: Any, times: int = 1) -> int:
        """Share ``budget`` among ``paths`` by ``weight`` (water-filling: what a path cannot take, at
        ``max_per_path`` or out of topics, goes to the others); a topic is asked a path at most ``times``."""
        given = 0
        while budget > given:
            live = [p for p in paths if p in open_]
            if not live:
                break
            total = sum(weight[p] for p in live)
            left = budget - given
            for p in live:
                want = min(int(np.ceil(left * weight[p] / total)), budget - given,
                           config.max_per_path - len(questions[p]))
                if p not in pools:
                    pools[p] = iter(rng.permutation(sources[p[0]]))
                got = _ask_path(kg, index, schema, p, pools[p], want, config, rng, seen, times)
                questions[p] += got
                given += len(got)
                bar.update(len(got))
                if len(got) < want or len(questions[p]) >= config.max_per_path:
                    open_.discard(p)
                if given >= budget:
                    break
        return given

    weights = np.asarray(config.hop_weights[: config.max_hops])
    by_hops = [sorted((p for p in found if len(p) == h), key=lambda p: -found[p]) for h in range(1, len(weights) + 1)]
    weights = np.where([bool(b) for b in by_hops], weights, 0.0)
    # per length, the paths walks found most often: as many as can each get per_path questions; a length whose
    # paths have too few topics for its share asks its other paths, then the same topics in other words
    kept = [paths[: max(1, int(n * w / weights.sum()) // config.per_path)] if w > 0 else []
            for paths, w in zip(by_hops, weights, strict=True)]
    with tqdm(total=n, desc="synthesizing questions", unit="q", disable=not progress) as bar:
        given = 0
        for paths, every, w in zip(kept, by_hops, weights, strict=True):
            if w <= 0:
                continue
            share = min(int(n * w / weights.sum() + 0.5), n - given)
            got = fill(paths, share, bar)
            if got < share:  # its most common paths ran out of topics: its other paths, then other wordings
                got += fill([p for p in every[len(paths):] if p in open_], share - got, bar)
            for times in range(2, config.rewordings + 1):
                if got >= share:
                    break
                short = [p for p in paths if len(questions[p]) < config.max_per_path]
                if not short:
                    break
                for p in short:
                    open_.add(p)
                    pools[p] = iter(rng.permutation(sources[p[0]]))
                got += fill(short, share - got, bar, times)
            given += got
        # what some length could not take goes to the others, then (a small graph) to the paths left out
        given += fill(sorted((p for k in kept for p in k), key=lambda p: -found[p]), n - given, bar)
        given += fill(sorted(found, key=lambda p: -found[p]), n - given, bar)
    out = [q for p in found for q in questions[p]]
    return [out[i] for i in rng.permutation(len(out))]


def _discover(index: PathIndex, sources: dict[str, np.ndarray], config: SynthesisConfig,
              rng: np.random.Generator, *, walks: int) -> Counter[RelPath]:
    """Relation paths found by random walks (path -> how many walks found it), until ``stale_after`` walks in a
    row find no new one or ``walks`` are spent. Lengths are drawn evenly (long paths are the many ones), and so
    are first steps, each walk starting from an entity that has the drawn one: starting from random entities
    would count the paths of the most numerous kind of entity (actors, not films) the most common."""
    found: Counter[RelPath] = Counter()
    firsts = [s for s, ends in sources.items() if len(ends)]
    if not firsts:
        return found
    last_new = 0
    for attempt in range(walks):
        if attempt - last_new > config.stale_after:
            break
        hops = int(rng.integers(config.max_hops)) + 1
        first = firsts[int(rng.integers(len(firsts)))]
        topic = int(sources[first][rng.integers(len(sources[first]))])
        path = _walk(index, topic, hops, rng, first=first)
        if path is None:
            continue
        if path not in found:
            last_new = attempt
        found[path] += 1
    return found


def _ask_path(kg: KnowledgeGraph, index: PathIndex, schema: Schema, path: RelPath, pool: Any, want: int,
              config: SynthesisConfig, rng: np.random.Generator, seen: Counter[tuple[int, RelPath]],
              times: int = 1) -> list[QAExample]:
    """Up to ``want`` questions asking ``path`` of the next topics of ``pool``; fewer when ``10 * want`` topics
    in a row give none (too many answers, say) or the pool runs out."""
    out: list[QAExample] = []
    for _ in range(10 * want):
        topic = next(pool, None)
        if topic is None:
            break
        example = _ask(kg, index, schema, int(topic), path, config, rng, seen, times)
        if example is not None:
            out.append(example)
            if len(out) >= want:
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
         rng: np.random.Generator, seen: Counter[tuple[int, RelPath]], times: int = 1) -> QAExample | None:
    """The question asking ``path`` of ``topic``, or None (asked ``times`` already, bracket in the name, no or
    too many answers)."""
    if seen[(topic, path)] >= times or "[" in kg.labels[topic] or "]" in kg.labels[topic]:
        return None
    seen[(topic, path)] += 1
    answers = index.execute([topic], path)
    if not 1 <= len(answers) <= config.max_answers:
        return None
    text, family = ask(path, f"[{kg.labels[topic]}]", schema, rng, config.families)
    text, mention, _ = parse_question(text)
    return QAExample(question=text, topics=(topic,), answers=tuple(int(a) for a in answers), mention=mention,
                     answer_names=tuple(kg.labels[int(a)] for a in answers), source="synthesized",
                     qtype="/".join(path), hops=len(path), family=family)


def _walk(index: PathIndex, topic: int, hops: int, rng: np.random.Generator, *,
          first: str | None = None) -> RelPath | None:
    """A random relation path of ``hops`` steps (the first one ``first`` when given) that the graph can walk from
    ``topic``; None at a dead end. Each step is drawn evenly among the steps leaving the current entity (never
    back to ``topic``), then the walk continues from one entity it reaches, so later steps stay specific."""
    entity, path = topic, []
    for k in range(hops):
        steps, nbrs = index.edges(entity)
        keep = nbrs != topic
        if k == 0 and first is not None:
            keep &= steps == index.step_ids[first]
        steps, nbrs = steps[keep], nbrs[keep]
        if not len(steps):
            return None
        options = np.unique(steps)
        s = int(options[int(rng.integers(len(options)))])
        path.append(index.step_names[s])
        reached = np.unique(nbrs[steps == s])
        entity = int(reached[int(rng.integers(len(reached)))])
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
