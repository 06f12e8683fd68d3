"""Multi-hop question answering over the workspace KG.

A question goes through one fused encoder (the topic mention masked by a placeholder, the topic's KGE vector
fused in) with two heads:

- a relation-path head: which chain of up to three relations (with directions) the question asks for; the
  path is executed exactly on the graph (``KnowledgeGraph.follow``), giving answers with evidence paths;
- an answer scorer in the KGE space (EmbedKGQA-style): the question becomes a relation vector, scored with the
  KGE interaction from the topic against every entity.

Where the graph lacks an edge, a soft traversal asks the KGE for the missing links of each hop, and the scorer
ranks every entity of the right type; exact answers keep the top ranks. Confidence is calibrated on a held-out
split of the training questions.

>>> model = QAModel.load("ws/models/qa")  # doctest: +SKIP
>>> r = model.answer("who directed [Alien]")  # doctest: +SKIP
>>> r.answers[0].label, r.relation_path  # doctest: +SKIP
('Ridley Scott', ('directed_by',))
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from kgagent.kg.errors import ConfigError, InputError, WorkspaceError
from kgagent.kg.graph import KnowledgeGraph, Path_
from kgagent.kg.io import atomic_dir
from kgagent.kg.validate import check_safetensors, parse, read_json, read_safetensors
from kgagent.kg.workspace import Workspace
from kgagent.training.qa_data import NameIndex, QAExample, mask_mention, parse_question, read_qa_file, read_qa_files
from kgagent.training.qa_paths import PathIndex, RelPath, label_paths

if TYPE_CHECKING:
    from kgagent.kg.rules import RuleSet
    from kgagent.training.qa_kge import KGEScorer

log = logging.getLogger(__name__)
_FORMAT = 1
FALLBACKS = ("none", "soft", "scorer", "both")


# ----------------------------------------------------------------- config and results
@dataclass
class QAConfig:
    """Settings of the QA model and its training; ``[qa]`` of ``kgagent.toml`` fills them."""

    base_model: str | None = field(default=None, metadata={"help": "encoder; None: the bundled all-MiniLM-L6-v2"})
    finetune: Literal["lora", "full", "frozen"] = "lora"
    fusion: Literal["none", "tokens", "pooled", "both"] = field(default="tokens", metadata={
        "help": "how the topic's KGE vector enters the encoder (see training.fused)"})
    lora_r: int = 8
    lora_alpha: int = 16
    max_length: int = 48
    placeholder: str | None = field(default=None, metadata={
        "help": "text that replaces the topic mention; None: the tokenizer's mask token"})
    max_hops: int = field(default=3, metadata={"help": "longest relation path considered (1-3)"})
    synthesize: int | None = field(default=None, metadata={
        "help": "questions generated from the graph for training; None: 2000 when the question files hold fewer "
                "than 1000 questions, else 0"})
    authored_repeat: int = field(default=4, metadata={
        "help": "when synthesized questions are mixed in, each question from a file counts this many times in "
                "path training: they are few, and phrased the way users ask"})
    # path head training: first on frozen features (cheap), then with the encoder (LoRA) and fusion
    head_warmup_epochs: int = field(default=15, metadata={
        "help": "epochs of the path head alone on frozen question features; 0: skip"})
    epochs: int = field(default=1, metadata={"help": "epochs of the path head with the encoder; 0: skip"})
    lr: float = 1e-3
    batch_size: int = 32
    max_train_questions: int = field(default=0, metadata={
        "help": "train the path head on a seeded sample of this many questions; 0: all"})
    eval_every: int = field(default=100, metadata={"help": "validate every N steps (early stopping)"})
    patience: int = 2
    val_fraction: float = field(default=0.1, metadata={"help": "held-out share for early stopping and calibration"})
    max_val_questions: int = 600
    # answer scorer (EmbedKGQA-style) training on frozen question features
    answer_scorer: bool = field(default=True, metadata={"help": "train the KGE-space answer scorer"})
    answer_hidden: int = 512
    answer_epochs: int = 8
    answer_lr: float = 2e-3
    answer_batch_size: int = 128
    max_answer_questions: int = field(default=0, metadata={
        "help": "train the scorer on a seeded sample of this many questions; 0: all"})
    # inference
    fallback: Literal["auto", "none", "soft", "scorer", "both"] = field(default="auto", metadata={
        "help": "what answers when exact paths miss edges: KGE soft traversal, the scorer, both; auto: the best "
                "on the held-out split"})
    scorer_weight: float | None = field(default=None, metadata={
        "help": "weight of the scorer beside exact/soft path answers; None: tuned on the held-out split"})
    soft_top_k: int = field(default=3, metadata={"help": "predicted tails per entity lacking a hop's edges"})
    rules: bool = field(default=True, metadata={
        "help": "mine path rules from the graph (kg.rules) and let them infer a hop's missing edges before the KGE"})
    max_paths: int = field(default=3, metadata={"help": "relation paths executed per question (most likely first)"})
    top_answers: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if self.fallback not in ("auto", *FALLBACKS):
            raise ValueError(f"fallback must be one of auto, {', '.join(FALLBACKS)}; not {self.fallback!r}")
        if not isinstance(self.max_hops, int) or not 1 <= self.max_hops <= 3:
            raise ValueError(f"max_hops must be 1, 2 or 3, not {self.max_hops!r}")
        for name in ("batch_size", "authored_repeat", "answer_epochs", "answer_batch_size", "answer_hidden",
                     "soft_top_k", "max_paths", "top_answers", "max_val_questions", "max_length", "lora_r",
                     "lora_alpha"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{name} must be a positive integer, not {v!r}")
        for name in ("max_train_questions", "max_answer_questions", "eval_every", "patience", "epochs",
                     "head_warmup_epochs"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{name} must be an integer >= 0, not {v!r}")
        if not 0.0 < self.val_fraction < 0.5:
            raise ValueError(f"val_fraction must be in (0, 0.5), not {self.val_fraction!r}")
        for name in ("lr", "answer_lr"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, not {getattr(self, name)!r}")
        if self.synthesize is not None and (not isinstance(self.synthesize, int) or self.synthesize < 0):
            raise ValueError(f"synthesize must be an integer >= 0 or None, not {self.synthesize!r}")
        if self.scorer_weight is not None and self.scorer_weight < 0:
            raise ValueError(f"scorer_weight must be >= 0 or None, not {self.scorer_weight!r}")

    def encoder_config(self) -> Any:
        from kgagent.training.fused import EncoderConfig

        return EncoderConfig(base_model=self.base_model, finetune=self.finetune, fusion=self.fusion,
                             lora_r=self.lora_r, lora_alpha=self.lora_alpha, max_length=self.max_length)


@dataclass
class Answer:
    """One answer entity: its score (higher is better), the graph paths it rests on, and where it came from."""

    entity: int
    label: str
    score: float
    paths: list[Path_] = field(default_factory=list)
    source: str = "graph"  # "graph": an exact relation path; "kge": inferred links (path rules, KGE) or the scorer


@dataclass
class QAResult:
    """Answers best first, the relation path asked for, and a calibrated probability that the top one is right."""

    answers: list[Answer]
    relation_path: tuple[str, ...]
    confidence: float
    topics: tuple[int, ...] = ()
    path_probability: float = 0.0
    features: list[float] = field(default_factory=list, repr=False)  # what the confidence is computed from


@dataclass
class QAMetrics:
    """What ``evaluate_qa`` measures (``kgagent eval qa``)."""

    hits_at_1: float
    n: int
    questions_per_s: float
    path_accuracy: float | None = None  # share of questions whose top path reaches a gold answer exactly
    linked: float | None = None  # with linking: share of questions whose topic was linked correctly
    ece: float | None = None  # expected calibration error of ``confidence`` (10 bins)
    ms_per_question: float = 0.0
    per_hop: dict[str, dict[str, float]] = field(default_factory=dict)
    per_type: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


# ----------------------------------------------------------------- the model
@dataclass
class _Encoded:
    """Per-question model outputs, computed once and ranked under any fallback setting."""

    topics: tuple[int, ...]
    path_probs: np.ndarray  # (n_paths,)
    rel: Any  # (d_r,) native relation vector (torch), or None without a scorer
    # soft traversals and scorer probabilities already computed: ranking under several fallback settings
    # (model selection, calibration) reuses them instead of scoring every entity again
    cache: dict[Any, Any] = field(default_factory=dict, repr=False)

    def memo(self, key: Any, compute: Any) -> Any:
        if key not in self.cache:
            self.cache[key] = compute()
        return self.cache[key]


class QAModel:
    """A trained QA model bound to its KG and KGE. Build with :func:`train_qa` / :func:`fit_qa`, or load."""

    def __init__(self, net: Any, kg: KnowledgeGraph, scorer: KGEScorer | None, paths: Sequence[RelPath],
                 config: QAConfig, *, calibration: dict[str, Any] | None = None,
                 selected: dict[str, Any] | None = None, info: dict[str, Any] | None = None,
                 rules: RuleSet | None = None) -> None:
        self.net = net
        self.rules = rules
        self.kg = kg
        self.scorer = scorer
        self.paths: list[RelPath] = [tuple(p) for p in paths]
        self.config = config
        self.calibration = calibration or {}
        self.selected = selected or {"fallback": "none" if config.fallback == "auto" else config.fallback,
                                     "scorer_weight": config.scorer_weight or 0.0}
        self.info = info or {}
        self.index = PathIndex(kg)
        self._names = NameIndex(kg)
        self._linker: Any = None
        tok = net.encoder.tokenizer
        self.placeholder = config.placeholder or tok.mask_token or "something"
        self._path_ids = {p: i for i, p in enumerate(self.paths)}
        self._topic_mask: Any = None

    # ----------------------------------------------------------------- inputs
    def _prepare(self, question: str, topic: int | Sequence[int] | None) -> tuple[str, tuple[int, int] | None,
                                                                                  tuple[int, ...]]:
        """(masked text, placeholder span, topic ids) of a question; brackets or linking find the topic."""
        text, mention, name = parse_question(question)
        if topic is not None:
            topics = (int(topic),) if isinstance(topic, int | np.integer) else tuple(int(t) for t in topic)
            if mention is None and topics:
                mention = self._find_mention(text, topics[0])
        elif name is not None:
            topics = tuple(self._names.lookup(name))
        else:
            topics, mention = self._link(text)
        masked, span = mask_mention(text, mention, self.placeholder)
        return masked, span, topics

    def _find_mention(self, text: str, entity: int) -> tuple[int, int] | None:
        """Where a name of ``entity`` occurs in ``text`` (case-insensitive, longest name first)."""
        low = text.casefold()
        for n in sorted(self.kg.names(entity), key=len, reverse=True):
            m = re.search(rf"(?<!\w){re.escape(n.casefold())}(?!\w)", low)
            if m:
                return m.start(), m.end()
        return None

    def _link(self, text: str) -> tuple[tuple[int, ...], tuple[int, int] | None]:
        if self._linker is None:
            from kgagent.retrieval.linker import EntityLinker

            self._linker = EntityLinker(self.kg)
        mentions = self._linker.link(text, always=True)
        if not mentions:
            return (), None
        best = max(mentions, key=lambda m: m.score)
        return (int(best.entity),), (best.start, best.end)

    def set_linker(self, linker: Any) -> None:
        """Use ``linker`` (a ``retrieval.EntityLinker``) for questions without brackets or topic."""
        self._linker = linker

    # ----------------------------------------------------------------- encoding
    def _encode(self, prepared: Sequence[tuple[str, tuple[int, int] | None, tuple[int, ...]]],
                batch_size: int = 64) -> list[_Encoded]:
        import torch

        out: list[_Encoded] = []
        device = self.net.encoder.device
        with torch.inference_mode():
            for s in range(0, len(prepared), batch_size):
                chunk = prepared[s: s + batch_size]
                mentions = [[(sp[0], sp[1], t[0])] if sp is not None and t else [] for _, sp, t in chunk]
                batch = self.net.encoder.tokenize([c[0] for c in chunk], mentions)
                batch = {k: v.to(device) for k, v in batch.items()}
                feats = self.net.features(**batch)  # (b, hidden)
                probs = self.net.path_head(feats).softmax(-1).float().cpu().numpy()  # (b, n_paths)
                rel = None
                if self.scorer is not None and self.net.rel_head is not None:
                    rel = self.scorer.relation_from_real(self.net.rel_head(feats).float())  # (b, d_r)
                for i, (_, _, topics) in enumerate(chunk):
                    out.append(_Encoded(topics, probs[i], rel[i] if rel is not None else None))
        return out

    # ----------------------------------------------------------------- ranking
    def _scorer_probs(self, enc: _Encoded, last_step: str) -> np.ndarray:
        """EmbedKGQA-style: softmax of ``f(topic, r_q, e)`` over entities of the answer type ``(n_e,)``."""
        import torch

        assert self.scorer is not None and enc.rel is not None
        with torch.inference_mode():
            h = self.scorer.entity[list(enc.topics)]  # (k, d)
            s = self.scorer.tails(h, enc.rel[None].expand(len(enc.topics), -1))  # (k, n_e)
            s = s[0] if len(enc.topics) == 1 else s.max(0).values  # (n_e,)
        s = s.float().cpu().numpy()
        allowed = self.index.range_of.get(last_step)
        if allowed is not None:
            s = np.where(allowed, s, -np.inf)
        s[list(enc.topics)] = -np.inf
        if not np.isfinite(s).any():
            return np.zeros_like(s)
        s = np.exp(s - s[np.isfinite(s)].max())
        return s / s.sum()

    def _soft(self, topics: Sequence[int], path: RelPath) -> tuple[np.ndarray, np.ndarray]:
        """Soft traversal: graph edges carry weight 1; an entity lacking a hop's edges gets the KGE's top-k
        predicted neighbours (of that hop's answer type) with their softmax probabilities.
        Returns reached entity ids and weights in (0, 1]."""
        import torch

        topic = np.unique(np.asarray(topics, dtype=np.int64))
        ents, w = topic, np.ones(len(topic))
        k = self.config.soft_top_k
        for step in path:
            sid = self.index.step_ids.get(step)
            if sid is None:
                return np.empty(0, dtype=np.int64), np.empty(0)
            steps, nbrs, src = self.index.expand(ents)
            hit = steps == sid
            ids, ws = [nbrs[hit]], [w[src[hit]]]
            has = np.zeros(len(ents), dtype=bool)
            has[src[hit]] = True
            lacking = np.flatnonzero(~has)
            lacking = lacking[np.argsort(-w[lacking], kind="stable")[:32]]  # the most probable ones
            allowed_np = self.index.range_of[step]
            if len(lacking) and self.rules is not None:  # rules first: their inferences can be explained
                row, r_ids, rule = self.rules.predict_many(ents[lacking], step)
                ok = allowed_np[r_ids] & ~np.isin(r_ids, topic)
                row, r_ids, rule = row[ok], r_ids[ok], rule[ok]
                # the k best per entity: rows come sorted, best rule first within a row
                rank = np.arange(len(row)) - np.searchsorted(row, row)
                top = rank < k
                conf = np.array([r.confidence for r in self.rules.rules.get(step, [])])
                ids.append(r_ids[top])
                ws.append(conf[rule[top]] * w[lacking[row[top]]])
                lacking = np.delete(lacking, np.unique(row))
            if len(lacking) and self.scorer is not None:
                rid = sid % self.kg.num_relations
                forward = sid < self.kg.num_relations
                with torch.inference_mode():
                    s = self.scorer.step(torch.as_tensor(ents[lacking]), rid, forward).float()  # (m, n_e)
                    allowed = torch.as_tensor(allowed_np)
                    s = s.masked_fill(~allowed, float("-inf"))
                    s[:, torch.as_tensor(topic)] = float("-inf")
                    p, top = s.softmax(-1).topk(k, dim=-1)  # (m, k)
                ids.append(top.numpy().ravel())
                ws.append((p.numpy() * w[lacking][:, None]).ravel())
            cat_ids, cat_w = np.concatenate(ids), np.concatenate(ws)
            keep = ~np.isin(cat_ids, topic) & (cat_w > 1e-4)
            cat_ids, cat_w = cat_ids[keep], cat_w[keep]
            if not len(cat_ids):
                return np.empty(0, dtype=np.int64), np.empty(0)
            order = np.lexsort((-cat_w, cat_ids))  # per entity, the largest weight first
            cat_ids, cat_w = cat_ids[order], cat_w[order]
            first = np.r_[True, cat_ids[1:] != cat_ids[:-1]]
            ents, w = cat_ids[first], cat_w[first]
            if len(ents) > 20_000:  # a soft frontier this wide carries no signal; keep the strongest
                top = np.argsort(-w, kind="stable")[:20_000]
                ents, w = ents[top], w[top]
        return ents, w

    def follow(self, topics: Sequence[int], relation_path: Sequence[str], *, soft: bool = True) -> list[Answer]:
        """Execute ``relation_path`` from ``topics``: exact graph answers (score 1, with evidence paths) first;
        with ``soft``, then entities reached through links the KGE predicts where an entity lacks a hop's edges
        (score: the product of the predicted links' probabilities)."""
        path = tuple(relation_path)
        reached = self.kg.follow(topics, list(path))
        out = [Answer(int(e), self.kg.labels[int(e)], 1.0, list(ps), "graph") for e, ps in reached.items()]
        if soft and (self.scorer is not None or self.rules is not None):
            ids, w = self._soft(topics, path)
            order = np.argsort(-w, kind="stable")
            out += [Answer(int(ids[i]), self.kg.labels[int(ids[i])], float(min(w[i], 0.999)), [], "kge")
                    for i in order if int(ids[i]) not in reached][: self.config.top_answers]
        return out

    def _rank(self, enc: _Encoded, fallback: str, scorer_weight: float) -> QAResult:
        """Combine exact paths, soft traversal and the scorer into ranked answers (uncalibrated confidence)."""
        n = self.kg.num_entities
        if not enc.topics:
            return QAResult([], (), 0.0)
        order = np.argsort(-enc.path_probs, kind="stable")
        chosen: list[tuple[RelPath, float]] = []
        mass = 0.0
        for i in order[: self.config.max_paths]:
            chosen.append((self.paths[i], float(enc.path_probs[i])))
            mass += float(enc.path_probs[i])
            if mass >= 0.99:
                break
        score = np.zeros(n)
        exact = np.zeros(n)
        evidence: dict[int, list[Path_]] = {}
        for path, p in chosen:
            reached = self.kg.follow(enc.topics, list(path))
            if reached:
                ids = np.fromiter(reached, dtype=np.int64, count=len(reached))
                exact[ids] += p
                for e, ps in reached.items():
                    evidence.setdefault(e, ps)
            if fallback in ("soft", "both") and (self.scorer is not None or self.rules is not None):
                ids, w = enc.memo(("soft", path), lambda path=path: self._soft(enc.topics, path))
                score[ids] += p * np.minimum(w, 0.999)  # graph-only entities come from follow() below
        score = np.maximum(score, exact)
        tie = np.zeros(n)
        if self.scorer is not None and enc.rel is not None:
            tie = enc.memo(("scorer", chosen[0][0][-1]), lambda: self._scorer_probs(enc, chosen[0][0][-1]))
        weight = scorer_weight if fallback in ("scorer", "both") else 0.0
        # scorer ties break exact answers even without the fallback (1e-3: never lifts a non-answer over them)
        final = score + weight * tie + 1e-3 * tie * (score > 0)
        if weight == 0:
            final[score <= 0] = 0.0
        final[list(enc.topics)] = 0.0
        k = min(self.config.top_answers, n)
        top = np.argpartition(-final, k - 1)[:k] if k < n else np.arange(n)
        top = top[np.argsort(-final[top], kind="stable")]
        answers = [Answer(int(e), self.kg.labels[int(e)], float(final[e]), list(evidence.get(int(e), [])),
                          "graph" if exact[e] > 0 else "kge") for e in top if final[e] > 0]
        best = answers[0] if answers else None
        # calibration features of the top answer: exact-path mass, path/soft score, scorer probability, top path prob
        feats = [float(exact[best.entity]) if best else 0.0, float(score[best.entity]) if best else 0.0,
                 float(tie[best.entity]) if best else 0.0, chosen[0][1]]
        return QAResult(answers, chosen[0][0], self._confidence(feats), tuple(enc.topics), chosen[0][1], feats)

    def _confidence(self, feats: Sequence[float]) -> float:
        """Probability that the top answer is right: a logistic fit on the held-out split, else the raw score."""
        cal = self.calibration
        if not cal:
            return float(min(1.0, max(0.0, feats[1] or feats[2])))
        z = float(np.dot(cal["coef"], feats) + cal["intercept"])
        return float(1 / (1 + math.exp(-z)))

    # ----------------------------------------------------------------- front door
    def answer(self, question: str, topic: int | Sequence[int] | None = None) -> QAResult:
        """Answer one question. ``topic``: entity id(s); else the bracketed ``[name]``, else the entity linker."""
        return self.answer_many([question], [topic])[0]

    def answer_many(self, questions: Sequence[str], topics: Sequence[int | Sequence[int] | None] | None = None,
                    *, batch_size: int = 64, progress: bool = False) -> list[QAResult]:
        """Answer several questions, encoding them in batches."""
        from tqdm.auto import tqdm

        topics = list(topics) if topics is not None else [None] * len(questions)
        if len(topics) != len(questions):
            raise InputError(f"{len(questions)} questions but {len(topics)} topics", field="topics")
        prepared = [self._prepare(q, t) for q, t in zip(questions, topics, strict=True)]
        out: list[QAResult] = []
        fb, w = self.selected["fallback"], float(self.selected["scorer_weight"])
        for s in tqdm(range(0, len(prepared), batch_size), desc="answering", unit="batch", disable=not progress):
            out += [self._rank(e, fb, w) for e in self._encode(prepared[s: s + batch_size], batch_size)]
        return out

    # ----------------------------------------------------------------- persistence
    def save(self, directory: str | Path) -> None:
        """Write encoder (save_pretrained), heads (safetensors) and ``qa_config.json`` atomically."""
        from safetensors.torch import save_file

        with atomic_dir(directory) as tmp:
            self.net.encoder.save_pretrained(tmp / "encoder")
            save_file(self.net.heads_state(), str(tmp / "heads.safetensors"))
            if self.rules is not None:
                self.rules.save(tmp / "rules.json")
            meta = {"format": _FORMAT, "config": asdict(self.config), "paths": [list(p) for p in self.paths],
                    "calibration": self.calibration, "selected": self.selected, "info": self.info,
                    "rel_dim": self.net.rel_head[-1].out_features if self.net.rel_head is not None else None,
                    "num_entities": self.kg.num_entities, "relations": list(self.kg.relations)}
            (tmp / "qa_config.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path, *, kg: KnowledgeGraph | None = None, kge: Any = None,
             merge: bool = True, device: str | None = None) -> QAModel:
        """Load a saved model; ``kg`` and ``kge`` default to the workspace two folders up (``WS/models/qa``).

        ``merge`` folds the LoRA weights into the encoder for faster inference (the loaded model then cannot be
        trained further).
        """
        import torch

        from kgagent.training.fused import FusedEncoder
        from kgagent.training.qa_net import QANet

        directory = Path(directory)
        meta_path = directory / "qa_config.json"
        if not meta_path.is_file():
            raise WorkspaceError(f"{directory}: no QA model here (no qa_config.json); run `kgagent train qa` first")
        meta = read_json(meta_path)
        config = parse(meta_path, "QA settings", lambda: QAConfig(**meta["config"]))
        heads = directory / "heads.safetensors"
        check_safetensors(heads)  # before the encoder loads: a damaged file is reported at once
        root = Workspace(directory.parent.parent)
        if kg is None:
            kg = KnowledgeGraph.load(root.require("kg"))
        if kg.num_entities != meta.get("num_entities") or list(kg.relations) != meta.get("relations"):
            raise WorkspaceError(f"{directory}: the QA model was trained on another KG "
                                 f"({meta.get('num_entities')} entities); retrain it with `kgagent train qa`")
        rules = None
        if (directory / "rules.json").is_file():  # read before the encoder: a damaged file is reported at once
            from kgagent.kg.rules import RuleSet

            rules = RuleSet.load(directory / "rules.json", kg)
        scorer = None
        if meta.get("rel_dim") or config.fusion != "none":
            kge = kge if kge is not None else root.require("kge")
            scorer = load_scorer(kge, kg)
        vectors = _fusion_vectors(scorer) if config.fusion != "none" else None
        encoder = FusedEncoder.from_pretrained(directory / "encoder", entity_vectors=vectors)
        net = parse(meta_path, "QA settings", lambda: QANet(encoder, len(meta["paths"]), meta.get("rel_dim"),
                                                            config.answer_hidden))
        parse(heads, "QA heads", lambda: net.load_state_dict(read_safetensors(heads), strict=False))
        if merge and config.finetune == "lora":
            encoder.merge_adapter()
        dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        net.to(dev).eval()
        if scorer is not None:
            scorer.to(dev)
        return cls(net, kg, scorer, [tuple(p) for p in meta["paths"]], config,
                   calibration=meta.get("calibration"), selected=meta.get("selected"),
                   info=meta.get("info"), rules=rules)


def load_scorer(kge: Any, kg: KnowledgeGraph | None = None) -> KGEScorer:
    """A :class:`~training.qa_kge.KGEScorer` from a ``kg.embeddings.KGEmbeddings`` or its folder; with ``kg``,
    checks that the embeddings were trained on its ids."""
    from kgagent.kg.embeddings import KGEmbeddings
    from kgagent.training.qa_kge import scorer_from_embeddings

    if not isinstance(kge, KGEmbeddings):
        kge = KGEmbeddings.load(kge)
    if kg is not None:
        kge.check(kg)
    return scorer_from_embeddings(kge)


def _fusion_vectors(scorer: KGEScorer | None) -> Any:
    """Entity vectors fed to the encoder's fusion: real numbers (complex: real then imaginary parts)."""
    import torch

    if scorer is None:
        return None
    e = scorer.entity
    return torch.cat([e.real, e.imag], -1).float() if torch.is_complex(e) else e.float()


# ----------------------------------------------------------------- training
def _split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, validation) index arrays; validation gets at least one item when n >= 2."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(max(1, round(fraction * n)), n - 1) if n >= 2 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def _labels(kg: KnowledgeGraph, examples: Sequence[QAExample], max_hops: int, index: PathIndex,
            cache_dir: Path | None, progress: bool) -> list[tuple[RelPath, ...]]:
    """Weak path labels of ``examples``, cached on disk by a hash of the KG and the questions."""
    import hashlib

    key = hashlib.sha256()
    key.update(kg.triples.tobytes())
    key.update(str(max_hops).encode())
    for ex in examples:
        key.update(f"{ex.topics}{ex.answers}\n".encode())
    path = cache_dir / f"labels-{key.hexdigest()[:24]}.json" if cache_dir is not None else None
    if path is not None and path.is_file():
        return [tuple(tuple(p) for p in ps) for ps in json.loads(path.read_text(encoding="utf-8"))]
    labels = label_paths(kg, [(ex.topics, ex.answers) for ex in examples], max_hops=max_hops, index=index,
                         progress=progress)
    out = [lab.paths for lab in labels]
    if path is not None:
        from kgagent.kg.io import atomic_write_text

        atomic_write_text(path, json.dumps([[list(p) for p in ps] for ps in out]))
    return out


def _ece(conf: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: |accuracy - confidence| averaged over equal-width confidence bins."""
    if not len(conf):
        return 0.0
    edges = np.minimum((conf * bins).astype(int), bins - 1)
    return float(sum(abs(correct[edges == b].mean() - conf[edges == b].mean()) * (edges == b).mean()
                     for b in range(bins) if (edges == b).any()))


def fit_qa(kg: KnowledgeGraph, examples: Sequence[QAExample], *, scorer: KGEScorer | None,
           config: QAConfig | None = None, cache_dir: str | Path | None = None,
           progress: bool = True) -> tuple[QAModel, dict[str, Any]]:
    """Train a :class:`QAModel` on ``examples`` over ``kg`` (with the KGE ``scorer``, or none); returns the model
    and its training metrics. ``train_qa`` is the workspace front door around this."""
    import torch

    from kgagent.training.fused import FusedEncoder
    from kgagent.training.qa_net import AnswerHead, QANet, path_loss
    from kgagent.training.synthesize import mentioned_words
    from kgagent.training.trainer import Batches, TrainConfig, seed_everything, train_loop

    config = config or QAConfig()
    t_start = time.perf_counter()
    examples = [ex for ex in examples if ex.topics]
    if len(examples) < 2:
        raise InputError("QA training needs at least 2 questions with a known topic entity", field="data")
    if scorer is None and config.fusion != "none":
        raise ConfigError("qa: fusion needs a trained KGE; train one (`kgagent train kge`) or set fusion = \"none\"")
    seed_everything(config.seed)
    index = PathIndex(kg)
    labels = _labels(kg, examples, config.max_hops, index, Path(cache_dir) if cache_dir else None, progress)
    train_idx, val_idx = _split(len(examples), config.val_fraction, config.seed)
    labelled = [i for i in train_idx if labels[i]]
    if not labelled:
        raise InputError("no training question has a relation path (of up to "
                         f"{config.max_hops} hops) from its topic to a gold answer in this KG", field="data")
    vocab = sorted({p for i in labelled for p in labels[i]}, key=lambda p: (len(p), p))
    path_ids = {p: j for j, p in enumerate(vocab)}

    encoder = FusedEncoder(config.encoder_config(), entity_vectors=_fusion_vectors(scorer)
                           if config.fusion != "none" else None)
    rel_dim = scorer.rel_dim if scorer is not None and config.answer_scorer else None
    net = QANet(encoder, len(vocab), rel_dim, config.answer_hidden)
    rules = None
    if config.rules:
        from kgagent.kg.rules import mine_rules

        rules = mine_rules(kg, progress=progress)
        log.info("mined %d path rules", len(rules))
    model = QAModel(net, kg, scorer, vocab, config, rules=rules)
    prepared = [model._prepare(_bracketed(ex), ex.topics) for ex in examples]

    # ---- phase 1: encoder (LoRA) + fusion + path head, marginal likelihood of the tied best paths
    rng = np.random.default_rng(config.seed)
    sample = np.asarray(labelled)
    if config.max_train_questions and len(sample) > config.max_train_questions:
        sample = np.sort(rng.choice(sample, config.max_train_questions, replace=False))
    authored = [i for i in sample if examples[i].source != "synthesized"]
    if config.authored_repeat > 1 and 0 < len(authored) < len(sample):
        sample = np.concatenate([sample, *[authored] * (config.authored_repeat - 1)])

    def collate(idx: Sequence[int]) -> dict[str, Any]:
        chunk = [prepared[sample[i]] for i in idx]
        batch = encoder.tokenize([c[0] for c in chunk],
                                 [[(c[1][0], c[1][1], c[2][0])] if c[1] is not None else [] for c in chunk])
        targets = torch.zeros(len(idx), len(vocab))
        for row, i in enumerate(idx):
            ties = labels[sample[i]]
            # among paths reaching the same answers, those naming more of the question's relation words win;
            # then an Occam prior: a tied path one hop longer than the shortest counts half
            named = [mentioned_words(p, prepared[sample[i]][0]) for p in ties]
            ties = [p for p, m in zip(ties, named, strict=True) if m == max(named)]
            shortest = min(len(p) for p in ties)
            for p in ties:
                targets[row, path_ids[p]] = 0.5 ** (len(p) - shortest)
        return {**batch, "path_targets": targets}

    val_lab = [i for i in val_idx if labels[i]][: config.max_val_questions]

    def path_accuracy(m: Any) -> float:
        if not val_lab:
            return 0.0
        enc = model._encode([prepared[i] for i in val_lab])
        return float(np.mean([vocab[int(e.path_probs.argmax())] in labels[i] for e, i in zip(enc, val_lab,
                                                                                              strict=True)]))

    # ---- phase 1a: the path head alone on frozen features (LoRA starts as the identity, so these are the
    # encoder's own features): template-like questions separate well here, and the head then starts good
    if config.head_warmup_epochs:
        feats0 = _features(net, [prepared[i] for i in sample], progress)  # (n_sample, hidden)
        targets0 = collate(range(len(sample)))["path_targets"]
        val0 = _features(net, [prepared[i] for i in val_lab], progress) if val_lab else None

        def head_accuracy(head: Any) -> float:
            assert val0 is not None
            pred = head(val0).argmax(-1).tolist()
            return float(np.mean([vocab[p] in labels[i] for p, i in zip(pred, val_lab, strict=True)]))

        head_batches = Batches(len(sample), 64, lambda idx: {"features": feats0[list(idx)],
                                                             "targets": targets0[list(idx)]}, seed=config.seed)
        res_head = train_loop(net.path_head, head_batches, head_accuracy if val_lab else None,
                              TrainConfig(epochs=config.head_warmup_epochs, lr=3e-3, batch_size=64,
                                          patience=config.patience + 1, eval_every=0, seed=config.seed),
                              loss_fn=lambda m, b: path_loss(m(b["features"]), b["targets"]),
                              desc="qa: path head (frozen features)", progress=progress)
        metrics_head = res_head.as_dict()
    else:
        metrics_head = None

    # ---- phase 1b: encoder (LoRA) + fusion + path head together, marginal likelihood of the tied best paths
    res_path = None
    if config.epochs:
        tc = TrainConfig(epochs=config.epochs, lr=config.lr, batch_size=config.batch_size,
                         patience=config.patience, eval_every=config.eval_every, seed=config.seed)
        batches = Batches(len(sample), config.batch_size, collate, seed=config.seed,
                          length_of=lambda i: len(prepared[sample[i]][0]))
        res_path = train_loop(net, batches, path_accuracy if val_lab else None, tc, desc="qa: path head + encoder",
                              progress=progress)
    metrics: dict[str, Any] = {"questions": len(examples), "train_questions": len(train_idx),
                               "val_questions": len(val_idx), "labelled": len(labelled), "paths": len(vocab),
                               "path_training_examples": len(sample),
                               "path_head_warmup": metrics_head,
                               "path_head": res_path.as_dict() if res_path is not None else None,
                               "val_path_accuracy": res_path.best_score if res_path is not None
                               else (metrics_head or {}).get("best_val_score")}

    # ---- phase 2: the EmbedKGQA-style scorer on frozen question features (cheap: no encoder passes)
    if rel_dim:
        assert scorer is not None
        train_ans = [int(i) for i in train_idx if examples[i].answers]
        if config.max_answer_questions and len(train_ans) > config.max_answer_questions:
            train_ans = sorted(rng.choice(train_ans, config.max_answer_questions, replace=False).tolist())
        val_ans = [int(i) for i in val_idx if examples[i].answers][: config.max_val_questions]
        # features only where needed: (n, hidden), zero rows elsewhere
        need = sorted(set(train_ans) | set(val_ans))
        feats = torch.zeros(len(examples), net.encoder.hidden_size)
        if need:
            feats[need] = _features(net, [prepared[i] for i in need], progress)
        gold = torch.full((len(examples), 64), -1, dtype=torch.long)
        for i, ex in enumerate(examples):
            a = np.asarray(ex.answers, dtype=np.int64)
            a = a[~np.isin(a, ex.topics)]
            if len(a) > 64:
                a = rng.choice(a, 64, replace=False)
            gold[i, : len(a)] = torch.as_tensor(a)
        topics_t = torch.as_tensor([ex.topics[0] for ex in examples])
        head = AnswerHead(net.rel_head, scorer)

        def scorer_hits(m: Any) -> float:
            s = m.scores(feats[val_ans], topics_t[val_ans]).argmax(-1)
            return float(np.mean([int(s[j]) in examples[i].answers for j, i in enumerate(val_ans)]))

        ans_batches = Batches(len(train_ans), config.answer_batch_size,
                              lambda idx: {"features": feats[[train_ans[i] for i in idx]],
                                           "topics": topics_t[[train_ans[i] for i in idx]],
                                           "answers": gold[[train_ans[i] for i in idx]]}, seed=config.seed)
        atc = TrainConfig(epochs=config.answer_epochs, lr=config.answer_lr, batch_size=config.answer_batch_size,
                          patience=config.patience, seed=config.seed, max_grad_norm=5.0)
        res_ans = train_loop(head, ans_batches, scorer_hits if val_ans else None, atc, desc="qa: answer scorer",
                             progress=progress)
        metrics["answer_scorer"] = res_ans.as_dict()
        metrics["val_scorer_hits_at_1"] = res_ans.best_score
    net.eval()

    # ---- choose the fallback on the held-out split, then calibrate the confidence there
    val_ex = [examples[i] for i in val_idx][: config.max_val_questions]
    if val_ex:
        encoded = model._encode([prepared[i] for i in val_idx[: len(val_ex)]])
        metrics["selection"] = _select(model, encoded, val_ex)
        model.calibration, metrics["val_ece"] = _calibrate(model, encoded, val_ex)
        metrics["val_hits_at_1"] = metrics["selection"]["best"]["hits_at_1"]
    metrics["fallback"] = model.selected
    metrics["rules"] = len(rules) if rules is not None else 0
    metrics["fit_seconds"] = round(time.perf_counter() - t_start, 2)
    model.info = {"metrics": {k: v for k, v in metrics.items() if k != "selection"}}
    return model, metrics


def _bracketed(ex: QAExample) -> str:
    if ex.mention is None:
        return ex.question
    s, e = ex.mention
    return f"{ex.question[:s]}[{ex.question[s:e]}]{ex.question[e:]}"


def _features(net: Any, prepared: Sequence[tuple[str, tuple[int, int] | None, tuple[int, ...]]],
              progress: bool, batch_size: int = 128) -> Any:
    """Pooled question features ``(n, hidden)`` under no_grad (the encoder is frozen from here on)."""
    import torch
    from tqdm.auto import tqdm

    net.eval()
    out = []
    with torch.inference_mode():
        for s in tqdm(range(0, len(prepared), batch_size), desc="qa: question features", unit="batch",
                      disable=not progress):
            chunk = prepared[s: s + batch_size]
            batch = net.encoder.tokenize([c[0] for c in chunk],
                                         [[(c[1][0], c[1][1], c[2][0])] if c[1] is not None else [] for c in chunk])
            batch = {k: v.to(net.encoder.device) for k, v in batch.items()}
            out.append(net.features(**batch).float().cpu())
    return torch.cat(out).clone()  # a normal tensor (inference tensors cannot be saved for backward)


def _hit(result: QAResult, ex: QAExample, kg: KnowledgeGraph) -> bool:
    if not result.answers:
        return False
    top = result.answers[0].entity
    return top in ex.answers or kg.entities[top] in ex.answer_names or kg.labels[top] in ex.answer_names


def _select(model: QAModel, encoded: Sequence[_Encoded], examples: Sequence[QAExample]) -> dict[str, Any]:
    """Hits@1 on the held-out split for each fallback and scorer weight; keeps the best (simplest on ties)."""
    cfg = model.config
    modes = FALLBACKS if cfg.fallback == "auto" else (cfg.fallback,)
    if model.scorer is None:  # without a KGE only path rules can fill a missing edge
        usable = ("none", "soft") if model.rules is not None else ("none",)
        modes = tuple(m for m in modes if m in usable)
    weights = (cfg.scorer_weight,) if cfg.scorer_weight is not None else (0.05, 0.2, 0.5, 1.0)
    table: list[dict[str, Any]] = []
    for mode in modes:
        for w in (weights if mode in ("scorer", "both") else (0.0,)):
            hits = [_hit(model._rank(e, mode, w), ex, model.kg) for e, ex in zip(encoded, examples, strict=True)]
            table.append({"fallback": mode, "scorer_weight": w, "hits_at_1": float(np.mean(hits))})
    best = max(table, key=lambda r: r["hits_at_1"] - 1e-9 * table.index(r))
    model.selected = {"fallback": best["fallback"], "scorer_weight": best["scorer_weight"]}
    return {"table": table, "best": best}


def _calibrate(model: QAModel, encoded: Sequence[_Encoded], examples: Sequence[QAExample]
               ) -> tuple[dict[str, Any], float]:
    """Logistic regression of "the top answer is right" on features of the top answer (held-out split)."""
    fb, w = model.selected["fallback"], model.selected["scorer_weight"]
    rows, correct = [], []
    for e, ex in zip(encoded, examples, strict=True):
        r = model._rank(e, fb, w)
        rows.append(r.features)
        correct.append(_hit(r, ex, model.kg))
    x, y = np.asarray(rows), np.asarray(correct, dtype=float)
    if len(set(y)) < 2:  # all right (or all wrong): a constant is the calibrated answer
        p = float(np.clip(y.mean(), 0.02, 0.98)) if len(y) else 0.5
        cal = {"coef": [0.0] * x.shape[1], "intercept": math.log(p / (1 - p))}
    else:
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
        cal = {"coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0])}
    model.calibration = cal
    conf = np.array([model._confidence(row) for row in rows])
    return cal, round(_ece(conf, y), 4)


# ----------------------------------------------------------------- front doors
def train_qa(workspace: str | Path, data_files: Sequence[str | Path], *, synthesize: int | None = None,
             config: QAConfig | None = None, cache_dir: str | Path | None = None, progress: bool = True,
             **overrides: Any) -> dict[str, Any]:
    """Train the QA model of ``workspace`` on MetaQA-format ``data_files`` plus ``synthesize`` questions generated
    from the graph (a KG without questions trains on synthesized ones only); saves ``WS/models/qa``.

    ``config`` defaults to ``[qa]`` of ``WS/kgagent.toml`` with ``overrides``; ``synthesize=None`` takes
    ``config.synthesize`` (see :class:`QAConfig`). Path labels are cached in ``cache_dir`` (default
    ``WS/.cache/qa``). Returns the training metrics.
    """
    from kgagent.training.synthesize import SynthesisConfig, synthesize_questions

    ws = Workspace(workspace)
    kg = KnowledgeGraph.load(ws.require("kg"))
    config = config or ws.config("qa", QAConfig, **overrides)
    examples = read_qa_files(data_files, kg) if data_files else []
    if synthesize is None:
        synthesize = config.synthesize if config.synthesize is not None else (2000 if len(examples) < 1000 else 0)
    if not examples and synthesize <= 0:
        raise InputError("give question files (--data) and/or a number of questions to synthesize (--synthesize)",
                         field="data")
    synth = synthesize_questions(kg, synthesize, config=ws.config("synthesis", SynthesisConfig),
                                 progress=progress) if synthesize > 0 else []
    scorer = load_scorer(ws.require("kge"), kg)
    model, metrics = fit_qa(kg, [*examples, *synth], scorer=scorer, config=config,
                            cache_dir=cache_dir or ws.root / ".cache" / "qa", progress=progress)
    metrics["question_files"] = [str(p) for p in data_files]
    metrics["synthesized"] = len(synth)
    model.save(ws.models_dir / "qa")
    ws.record("qa", config=config, metrics={k: v for k, v in metrics.items() if k != "selection"},
              artifacts=sorted(p for p in (ws.models_dir / "qa").rglob("*") if p.is_file()))
    return metrics


def evaluate_qa(model: QAModel | str | Path, data: str | Path | Sequence[QAExample], *, link: bool = False,
                linker: Any = None, batch_size: int = 64, limit: int | None = None,
                progress: bool = True) -> QAMetrics:
    """Hits@1 of ``model`` (or the model folder) on a MetaQA-format file, with per-hop and per-type tables.

    With ``link`` the brackets are dropped and the topic comes from the entity linker (``linker``, or a
    ``retrieval.EntityLinker`` over the KG); ``linked`` is then the share of questions whose topic was found.
    ``questions_per_s`` times the answering alone (encoding, path execution, ranking), not the loading.
    """
    from tqdm.auto import tqdm

    if not isinstance(model, QAModel):
        model = QAModel.load(model)
    examples = read_qa_file(data, model.kg) if isinstance(data, str | Path) else list(data)
    examples = examples[:limit] if limit is not None else examples
    if not examples:
        raise InputError("no questions to evaluate", field="data")
    if link:
        if linker is not None:
            model.set_linker(linker)
        elif model._linker is None:
            from kgagent.retrieval.linker import EntityLinker

            model.set_linker(EntityLinker(model.kg))
        questions = [ex.question for ex in examples]
        topics: list[Any] = [None] * len(examples)
    else:
        questions = [_bracketed(ex) for ex in examples]
        topics = [ex.topics for ex in examples]
    model.answer_many(questions[:4], topics[:4])  # warm-up: first calls pay for lazy initialization
    results: list[QAResult] = []
    t0 = time.perf_counter()
    for s in tqdm(range(0, len(questions), batch_size), desc="qa eval", unit="batch", disable=not progress):
        results += model.answer_many(questions[s: s + batch_size], topics[s: s + batch_size], batch_size=batch_size)
    seconds = time.perf_counter() - t0
    hits = np.array([_hit(r, ex, model.kg) for r, ex in zip(results, examples, strict=True)], dtype=float)
    conf = np.array([r.confidence for r in results])
    gold = [set(ex.answers) for ex in examples]
    path_ok = np.array([bool(r.relation_path) and bool(gold[i]) and bool(
        np.isin(model.index.execute(r.topics, r.relation_path), list(gold[i])).any()) if r.topics else False
        for i, r in enumerate(results)], dtype=float)

    def table(keys: Sequence[str]) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for key in sorted(set(keys)):
            m = np.array([k == key for k in keys])
            out[key] = {"hits_at_1": round(float(hits[m].mean()), 4), "n": int(m.sum())}
        return out

    n = len(examples)
    return QAMetrics(
        hits_at_1=float(hits.mean()), n=n, questions_per_s=round(n / max(seconds, 1e-9), 2),
        path_accuracy=round(float(path_ok.mean()), 4),
        linked=round(float(np.mean([set(r.topics) & set(ex.topics) != set() for r, ex in zip(results, examples,
                                                                                               strict=True)])), 4)
        if link else None,
        ece=round(_ece(conf, hits), 4), ms_per_question=round(1000 * seconds / n, 3),
        per_hop=table([f"{ex.hops}-hop" if ex.hops else "unknown" for ex in examples]),
        per_type=table([ex.qtype or "unknown" for ex in examples]))
