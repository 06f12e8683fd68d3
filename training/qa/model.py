"""``QAModel``: a trained QA model bound to its KG and KGE; it answers questions, saves and loads itself.

>>> model = QAModel.load("ws/models/qa")  # doctest: +SKIP
>>> r = model.answer("who directed [Alien]")  # doctest: +SKIP
>>> r.answers[0].label, r.relation_path  # doctest: +SKIP
('Ridley Scott', ('directed_by',))
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import asdict
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kgagent.kg.config import make_config
from kgagent.kg.errors import InputError, WorkspaceError
from kgagent.kg.graph import INVERSE, KnowledgeGraph
from kgagent.kg.io import atomic_dir
from kgagent.kg.validate import check_safetensors, parse, read_json, read_safetensors
from kgagent.kg.workspace import Workspace
from kgagent.retrieval.encoder import length_batches
from kgagent.training.path_prior import TOPIC, PathPrior, PriorConfig
from kgagent.training.qa.config import QAConfig
from kgagent.training.qa.ranking import Encoded, Ranker
from kgagent.training.qa.results import Answer, QAResult
from kgagent.training.qa_data import NameIndex, mask_mention, parse_question
from kgagent.training.qa_paths import RelPath

if TYPE_CHECKING:
    from kgagent.kg.rules import RuleSet
    from kgagent.training.path_scorer import PathScorer
    from kgagent.training.qa_kge import KGEScorer

_FORMAT = 1
Prepared = tuple[str, tuple[int, int] | None, tuple[int, ...]]  # (masked text, placeholder span, topic ids)


_COMPOSE_FROM = 5  # likeliest learned paths that question-named relations are inserted into

class QAModel:
    """A trained QA model bound to its KG and KGE. Build with :func:`train_qa` / :func:`fit_qa`, or load.

    ``net`` is a ``qa_net.QANet`` (encoder, path head, relation head); ranking is the ``ranker``'s.
    """

    def __init__(self, net: Any, kg: KnowledgeGraph, scorer: KGEScorer | None, paths: Sequence[RelPath],
                 config: QAConfig, *, calibration: dict[str, Any] | None = None,
                 selected: dict[str, Any] | None = None, info: dict[str, Any] | None = None,
                 rules: RuleSet | None = None, path_scorer: PathScorer | None = None) -> None:
        self.net = net
        self.path_scorer = path_scorer  # zero-shot similarity to each path's questions (None: the head alone)
        self.kg = kg
        self.config = config
        self.ranker = Ranker(kg, paths, config, scorer=scorer, rules=rules, calibration=calibration)
        self.selected = selected or {"fallback": "none" if config.fallback == "auto" else config.fallback,
                                     "scorer_weight": config.scorer_weight or 0.0}
        self.ranker.abstain_ratio = float(self.selected.get("abstain_ratio", 0.0))
        self.ranker.prior_weight = self.prior_weight
        self.info = info or {}
        self._names = NameIndex(kg)
        self._linker: Any = None
        tok = net.encoder.tokenizer
        self.placeholder = config.placeholder or tok.mask_token or "something"

    @cached_property
    def prior(self) -> PathPrior | None:
        """The priors over paths of ``training.path_prior`` (None: all off)."""
        cfg = self.config
        if not cfg.topic_prior and cfg.answer_type_prior == cfg.named_prior == cfg.unnamed_prior == cfg.first_prior \
                == cfg.last_prior == cfg.class_prior == 1.0:
            return None
        return PathPrior(self.kg, self.paths, config=PriorConfig(
            min_share=cfg.topic_min_share if cfg.topic_prior else 0.0, mismatch=cfg.answer_type_prior,
            named=cfg.named_prior, unnamed=cfg.unnamed_prior, first=cfg.first_prior,
            last=cfg.last_prior, typed=cfg.class_prior))

    def reconfigure(self, **changes: Any) -> None:
        """Change settings that act at answer time (the priors, ``max_paths``, ``abstain_ratio``...) of this
        model; training settings changed here have no effect until it is trained again."""
        from dataclasses import replace

        self.config = replace(self.config, **changes)
        self.ranker.config = self.config
        self.ranker.prior_weight = self.prior_weight
        self.__dict__.pop("prior", None)

    @property
    def prior_weight(self) -> float:
        """The exponent on the model's path probabilities before the priors (the setting, else the chosen)."""
        w = self.config.prior_model_weight
        return float(w if w is not None else self.selected.get("prior_model_weight", 1.0))

    @property
    def similarity_gate(self) -> float:
        """Head probability above which a question skips the path similarity (the setting, else the chosen)."""
        gate = self.config.similarity_gate
        return float(gate if gate is not None else self.selected.get("similarity_gate", 1.0))

    # the ranker's parts, shared
    scorer = property(lambda self: self.ranker.scorer)
    paths = property(lambda self: self.ranker.paths)
    index = property(lambda self: self.ranker.index)

    @property
    def rules(self) -> RuleSet | None:
        """Path rules that infer a hop's missing edges (before the KGE); None: none."""
        return self.ranker.rules

    @rules.setter
    def rules(self, value: RuleSet | None) -> None:
        self.ranker.rules = value

    @property
    def calibration(self) -> dict[str, Any]:
        """The logistic fit behind ``QAResult.confidence`` (empty: the raw score)."""
        return self.ranker.calibration

    @calibration.setter
    def calibration(self, value: dict[str, Any]) -> None:
        self.ranker.calibration = value

    def follow(self, topics: Sequence[int], relation_path: Sequence[str], *, soft: bool = True) -> list[Answer]:
        """Execute ``relation_path`` from ``topics`` (see :meth:`Ranker.follow`)."""
        return self.ranker.follow(topics, relation_path, soft=soft)

    # ----------------------------------------------------------------- inputs
    def prepare(self, question: str, topic: int | Sequence[int] | None) -> Prepared:
        """(masked text, placeholder span, topic ids) of a question; the given ``topic``, else the bracketed
        ``[name]``, else the entity linker finds the topic."""
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

    @property
    def linker(self) -> Any:
        """The entity linker for questions without brackets or topic (an ``EntityLinker`` over the KG unless
        :meth:`set_linker` gave one; built on first use)."""
        if self._linker is None:
            from kgagent.retrieval.linker import EntityLinker

            self._linker = EntityLinker(self.kg)
        return self._linker

    def _link(self, text: str) -> tuple[tuple[int, ...], tuple[int, int] | None]:
        mentions = self.linker.link(text, always=True)
        if not mentions:
            return (), None
        best = max(mentions, key=lambda m: m.score)
        return (int(best.entity),), (best.start, best.end)

    def set_linker(self, linker: Any) -> None:
        """Use ``linker`` (a ``retrieval.EntityLinker``) for questions without brackets or topic."""
        self._linker = linker

    # ----------------------------------------------------------------- encoding
    def encode(self, prepared: Sequence[Prepared], batch_size: int = 64, *, lower: Sequence[Any] | None = None,
               vectors: Sequence[np.ndarray | None] | None = None) -> list[Encoded]:
        """Path probabilities (the head's, mixed with the path similarity when there is a path scorer) and the
        answer scorer's relation vector of each prepared question.

        What a fit kept of a question, by position (None where it has nothing): ``lower[i]``, its hidden states
        entering the encoder's first trained layer (``FusedEncoder.capturing_lower``): only the trained layers
        run; ``vectors[i]``, its vector in the path similarity's encoder: it is not encoded again."""
        import torch

        from kgagent.training.fused import pad_states
        from kgagent.training.path_scorer import combine

        out: list[Encoded | None] = [None] * len(prepared)
        device = self.net.encoder.device
        kept = [lower is not None and lower[i] is not None for i in range(len(prepared))]
        # batches of questions with kept states and of those without (a batch starts at one layer)
        parts = [[i for i, k in enumerate(kept) if k == want] for want in (True, False)]
        with torch.inference_mode():
            for idx in ([part[j] for j in b] for part in parts if part
                        for b in length_batches([prepared[i][0] for i in part], batch_size)):
                chunk = [prepared[i] for i in idx]
                mentions = [[(sp[0], sp[1], t[0])] if sp is not None and t else [] for _, sp, t in chunk]
                batch = self.net.encoder.tokenize([c[0] for c in chunk], mentions)
                if kept[idx[0]]:
                    batch["lower"] = pad_states([lower[i] for i in idx], batch["attention_mask"])  # type: ignore
                batch = {k: v.to(device) for k, v in batch.items()}
                feats = self.net.features(**batch)  # (b, hidden)
                probs = self.net.path_head(feats).softmax(-1).float().cpu().numpy()  # (b, n_paths)
                unsure = np.flatnonzero(probs.max(-1) < self.similarity_gate) \
                    if self.similarity_gate < 1.0 else np.arange(len(chunk))
                if self.path_scorer is not None and self.config.path_similarity > 0 and len(unsure):
                    sim = self.path_scorer.similarity([chunk[i][0] for i in unsure],
                                                      [vectors[idx[i]] for i in unsure] if vectors else None)
                    probs[unsure] = combine(probs[unsure], sim, weight=self.config.path_similarity,
                                            temperature=self.config.similarity_temperature)
                rel = None
                if self.scorer is not None and self.net.rel_head is not None:
                    rel = self.scorer.relation_from_real(self.net.rel_head(feats).float())  # (b, d_r)
                for i, (text, _, topics) in enumerate(chunk):
                    p = probs[i]
                    if self.prior_weight != 1.0:  # tempered: the priors below count for more
                        p = p ** self.prior_weight
                        p = p / p.sum()
                    extra: tuple[RelPath, ...] = ()
                    if self.prior is not None:
                        p, extra = self._weigh(p, topics, text.replace(self.placeholder, TOPIC))
                    out[idx[i]] = Encoded(topics, p, rel[i] if rel is not None else None, extra=extra)
        return out  # type: ignore[return-value]  # every slot filled

    def _weigh(self, probs: np.ndarray, topics: Sequence[int], text: str) -> tuple[np.ndarray, tuple[RelPath, ...]]:
        """The priors applied to the head's ``probs`` and to the paths :meth:`compose` adds (their probabilities
        last), renormalised; unchanged where every path would be ruled out."""
        assert self.prior is not None
        weights = self.prior.weights(topics, text)
        extra, extra_p = self.compose(probs, weights, topics, text)
        learned = [self._path_ids.get(p) for p in extra]
        if any(k is not None for k in learned):  # a learned path the head gave less: raised to its share
            probs = probs.copy()
            for k, q in zip(learned, extra_p, strict=True):
                if k is not None:
                    probs[k] = max(probs[k], q)
            new = [j for j, k in enumerate(learned) if k is None]
            extra, extra_p = tuple(extra[j] for j in new), extra_p[new]
        if extra:
            probs = np.concatenate([probs, extra_p])
            weights = np.concatenate([weights, self.prior.for_paths(extra).weights(topics, text)])
        out = probs * weights
        total = out.sum()
        return (out / total if total > 0 else probs), extra

    def compose(self, probs: np.ndarray, weights: np.ndarray, topics: Sequence[int],
                text: str) -> tuple[tuple[RelPath, ...], np.ndarray]:
        """Paths the head never learned, for one question: each relation the question names (by a word other
        than the topic's class nouns) that one of the
        likeliest paths (``probs`` times the priors' ``weights``) lacks, inserted into it at any position, in
        either direction, where the result is at most ``max_hops`` long and walkable from ``topics``. Each gets
        ``compose_paths`` times its source's probability (a learned path keeps its own where that is more); the
        priors then weigh it beside the learned paths. Nothing is composed where the likeliest of them that the
        graph can walk from ``topics`` already holds every named relation. Returns the paths and those
        probabilities."""
        share, prior = self.config.compose_paths, self.prior
        named = prior.named_apart_from(text, topics) if share and prior is not None and topics else set()
        if not named:
            return (), np.empty(0)
        assert prior is not None
        sources = np.argsort(-(probs * weights), kind="stable")[:_COMPOSE_FROM]
        first = next((i for i in sources if len(self.index.execute(topics, self.paths[i]))), None)
        if first is not None and named <= prior.words.relations(self.paths[first]):
            return (), np.empty(0)  # the likeliest walkable learned path holds every named relation: no gap
        found: dict[RelPath, float] = {}
        for i in sources:
            source = self.paths[i]
            for rel in named - prior.words.relations(source):
                for step in self._steps_of.get(rel, ()):
                    for k in range(len(source) + 1):
                        path = (*source[:k], step, *source[k:])
                        if len(path) <= self.config.max_hops:
                            found[path] = max(found.get(path, 0.0), share * float(probs[i]))
        walkable = [p for p in found if len(self.index.execute(topics, p))]
        return tuple(walkable), np.array([found[p] for p in walkable])

    @cached_property
    def _steps_of(self) -> dict[str, list[str]]:
        """The steps (either direction, stored twins included) of each relation as the priors name it."""
        assert self.prior is not None
        out: dict[str, list[str]] = {}
        for r in self.kg.relations:
            out.setdefault(self.prior.words.relation(r), []).extend([r, r + INVERSE])
        return out

    @cached_property
    def _path_ids(self) -> dict[RelPath, int]:
        return {p: i for i, p in enumerate(self.paths)}

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
        prepared = [self.prepare(q, t) for q, t in zip(questions, topics, strict=True)]
        out: list[QAResult] = []
        fb, w = self.selected["fallback"], float(self.selected["scorer_weight"])
        for s in tqdm(range(0, len(prepared), batch_size), desc="answering", unit="batch", disable=not progress):
            out += [self.ranker.rank(e, fb, w) for e in self.encode(prepared[s: s + batch_size], batch_size)]
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
            if self.path_scorer is not None:
                self.path_scorer.save(tmp)
            meta = {"format": _FORMAT, "config": asdict(self.config), "paths": [list(p) for p in self.paths],
                    "calibration": self.calibration, "selected": self.selected, "info": self.info,
                    "rel_dim": self.net.rel_head[-1].out_features if self.net.rel_head is not None else None,
                    "num_entities": self.kg.num_entities, "relations": list(self.kg.relations),
                    "entities_sha256": _keys_hash(self.kg.entities)}
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
        config = parse(meta_path, "QA settings", lambda: make_config(QAConfig, meta["config"], where=str(meta_path)))
        heads = directory / "heads.safetensors"
        check_safetensors(heads)  # before the encoder loads: a damaged file is reported at once
        root = Workspace(directory.parent.parent)
        if kg is None:
            kg = KnowledgeGraph.load(root.require("kg"))
        check_kg(kg, meta, directory)
        rules = None
        if (directory / "rules.json").is_file():  # read before the encoder: a damaged file is reported at once
            from kgagent.kg.rules import RuleSet

            rules = RuleSet.load(directory / "rules.json", kg)
        scorer = None
        if meta.get("rel_dim") or config.encoder.fusion != "none":
            kge = kge if kge is not None else root.require("kge")
            scorer = load_scorer(kge, kg)
        vectors = fusion_vectors(scorer) if config.encoder.fusion != "none" else None
        encoder = FusedEncoder.from_pretrained(directory / "encoder", entity_vectors=vectors)
        net = parse(meta_path, "QA settings", lambda: QANet(encoder, len(meta["paths"]), meta.get("rel_dim"),
                                                            config.answer_hidden))
        parse(heads, "QA heads", lambda: net.load_state_dict(read_safetensors(heads), strict=False))
        if merge and config.encoder.finetune == "lora":
            encoder.merge_adapter()
        dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        net.to(dev).eval()
        if scorer is not None:
            scorer.to(dev)
        from kgagent.training.path_scorer import PathScorer

        path_scorer = PathScorer.load(directory, len(meta["paths"]))
        return cls(net, kg, scorer, [tuple(p) for p in meta["paths"]], config,
                   calibration=meta.get("calibration"), selected=meta.get("selected"),
                   info=meta.get("info"), rules=rules, path_scorer=path_scorer)


def check_kg(kg: KnowledgeGraph, meta: dict[str, Any], directory: Path) -> None:
    """The model serves ``kg`` when ``kg`` extends the graph it was trained on (``kgagent kg add``/``remove`` keep
    ids): as many entities or more, and its relations first in the same order (a new relation is appended; the
    model cannot ask about it until retrained, but executes its known paths on the new facts)."""
    trained, n = list(meta["relations"]), int(meta["num_entities"])
    same_keys = "entities_sha256" not in meta or _keys_hash(kg.entities[:n]) == meta["entities_sha256"]
    if kg.num_entities < n or list(kg.relations[: len(trained)]) != trained or not same_keys:
        raise WorkspaceError(f"{directory}: the QA model was trained on another KG "
                             f"({meta['num_entities']} entities, {len(trained)} relations; this one has "
                             f"{kg.num_entities}, {kg.num_relations}); retrain it with `kgagent train qa`")


def _keys_hash(keys: Sequence[str]) -> str:
    return hashlib.sha256(json.dumps(list(keys), ensure_ascii=False).encode("utf-8")).hexdigest()


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



def fusion_vectors(scorer: KGEScorer | None) -> Any:
    """Entity vectors fed to the encoder's fusion: real numbers (complex: real then imaginary parts)."""
    import torch

    if scorer is None:
        return None
    e = scorer.entity
    return torch.cat([e.real, e.imag], -1).float() if torch.is_complex(e) else e.float()
