"""``fit_qa``: train a :class:`QAModel` on questions with known topics and answers, in small steps.

1. weak path labels (every relation path from the topic to a gold answer), cached on disk;
2. the path head alone on frozen question features (cheap), then with the encoder (LoRA) and fusion;
3. the EmbedKGQA-style answer scorer on frozen features;
4. on the held-out split: the fallback mode and scorer weight chosen, the confidence calibrated.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kgagent.kg.budget import Deadline, tighter
from kgagent.kg.errors import ConfigError, InputError
from kgagent.kg.graph import INVERSE, KnowledgeGraph
from kgagent.kg.schema import induce_schema
from kgagent.retrieval.encoder import length_batches
from kgagent.training.path_prior import RelationWords
from kgagent.training.qa.budget import WARMUP_TRAINING, QAPlan, plan_fit
from kgagent.training.qa.config import Fallback, QAConfig
from kgagent.training.qa.model import Prepared, QAModel, fusion_vectors
from kgagent.training.qa.ranking import Encoded
from kgagent.training.qa.results import bracketed, ece, is_hit
from kgagent.training.qa_data import QAExample
from kgagent.training.qa_paths import PathIndex, RelPath, label_paths
from kgagent.training.trainer import StepCallback

if TYPE_CHECKING:
    from kgagent.kg.rules import RuleConfig
    from kgagent.training.path_scorer import PathScorer
    from kgagent.training.qa_kge import KGEScorer
    from kgagent.training.trainer import TrainResult

log = logging.getLogger(__name__)
PACE_QUESTIONS = 64  # questions encoded to price a time budget
# the hidden states entering the encoder's first trained layer are kept for its training up to this size
# (fp16; 6,000 questions of the demo graph: about 80 MB), so the frozen layers run once per question
LOWER_STATES_BYTES = 1 << 30


def split_indices(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, validation) index arrays; validation gets at least one item when n >= 2."""
    order = np.random.default_rng(seed).permutation(n)
    n_val = min(max(1, round(fraction * n)), n - 1) if n >= 2 else 0
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def cached_path_labels(kg: KnowledgeGraph, examples: Sequence[QAExample], max_hops: int, index: PathIndex,
                       cache_dir: Path | None, progress: bool, budget: int = 20_000) -> list[tuple[RelPath, ...]]:
    """Weak path labels of ``examples``, cached on disk by a hash of the KG and the questions."""
    import hashlib

    key = hashlib.sha256()
    key.update(kg.triples.tobytes())
    key.update(f"{max_hops} {budget}".encode())
    for ex in examples:
        key.update(f"{ex.topics}{ex.answers}\n".encode())
    path = cache_dir / f"labels-{key.hexdigest()[:24]}.json" if cache_dir is not None else None
    if path is not None and path.is_file():
        return [tuple(tuple(p) for p in ps) for ps in json.loads(path.read_text(encoding="utf-8"))]
    labels = label_paths(kg, [(ex.topics, ex.answers) for ex in examples], max_hops=max_hops, index=index,
                         budget=budget, progress=progress)
    out = [lab.paths for lab in labels]
    if path is not None:
        from kgagent.kg.io import atomic_write_text

        atomic_write_text(path, json.dumps([[list(p) for p in ps] for ps in out]))
    return out


def question_features(net: Any, prepared: Sequence[Prepared], progress: bool, batch_size: int = 128,
                      lower: dict[int, Any] | None = None) -> Any:
    """Pooled question features ``(n, hidden)`` under no_grad (the encoder is frozen from here on).

    ``lower``: filled, by position in ``prepared``, with each question's hidden states entering the encoder's
    first trained layer (fp16, real tokens only) while they fit ``LOWER_STATES_BYTES``; emptied if they do not.
    """
    import torch
    from tqdm.auto import tqdm

    net.eval()
    out = torch.zeros(len(prepared), net.encoder.hidden_size)
    size = 0
    with torch.inference_mode():
        for idx in tqdm(length_batches([p[0] for p in prepared], batch_size), desc="qa: question features",
                        unit="batch", disable=not progress):
            chunk = [prepared[i] for i in idx]
            batch = net.encoder.tokenize([c[0] for c in chunk],
                                         [[(c[1][0], c[1][1], c[2][0])] if c[1] is not None else [] for c in chunk])
            batch = {k: v.to(net.encoder.device) for k, v in batch.items()}
            if lower is None or size > LOWER_STATES_BYTES:
                out[torch.as_tensor(idx)] = net.features(**batch).float().cpu()
                continue
            with net.encoder.capturing_lower() as seen:
                out[torch.as_tensor(idx)] = net.features(**batch).float().cpu()
            states = seen[0].to("cpu", torch.float16)  # (b, t, hidden)
            for row, (i, n) in enumerate(zip(idx.tolist(), batch["attention_mask"].sum(1).tolist(), strict=True)):
                lower[i] = states[row, :n].clone()
                size += lower[i].numel() * 2
            if size > LOWER_STATES_BYTES:
                log.info("qa: the frozen layers' states outgrow %d MB: the encoder's training runs them",
                         LOWER_STATES_BYTES >> 20)
                lower.clear()
    return out  # made outside inference mode: a normal tensor, usable in training


@dataclass
class PathData:
    """The path head's training data: questions, their weak labels, the split, the path vocabulary."""

    examples: list[QAExample]
    labels: list[tuple[RelPath, ...]]
    train_idx: np.ndarray
    val_idx: np.ndarray
    labelled: list[int]  # training questions with at least one path
    vocab: list[RelPath]  # every labelled path, shortest first
    prepared: list[Prepared] | None = None  # masked texts, once the model exists
    sample: np.ndarray | None = None  # training rows (indices into examples; authored ones repeated)
    val_labelled: list[int] | None = None
    words: RelationWords | None = None  # which relations a question names: breaks ties between labels
    # sample and held-out rows' features before any training: the base encoder's own mean-pooled vectors (LoRA and
    # the fusion start as the identity), which the path similarity reuses when it is of the same encoder
    frozen: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    # ... and their hidden states entering the encoder's first trained layer (``FusedEncoder.train_layers``)
    lower: dict[int, Any] = field(default_factory=dict, repr=False)
    # best_ties by (ties, text): the targets of every batch and the prototypes ask it again for the same question
    _best: dict[tuple[tuple[RelPath, ...], str], list[RelPath]] = field(default_factory=dict, repr=False)

    @property
    def path_ids(self) -> dict[RelPath, int]:
        return {p: j for j, p in enumerate(self.vocab)}

    def best_ties(self, ties: Sequence[RelPath], text: str) -> list[RelPath]:
        """Of the paths reaching the same answers, those naming more of the question's relation words, then those
        with fewer relations it does not name: a writer who also directed makes "the films written by the
        writer of X" reach the same answers through ``directed_by``, which the question never says."""
        from kgagent.training.synthesize import mentioned_words

        memo = (tuple(ties), text)
        if memo in self._best:
            return self._best[memo]

        def key(p: RelPath) -> tuple[int, int]:
            return mentioned_words(p, text), -(self.words.unnamed(p, text) if self.words is not None else 0)

        keys = [key(p) for p in ties]
        top = max(keys)
        self._best[memo] = [p for p, k in zip(ties, keys, strict=True) if k == top]
        return self._best[memo]

    def targets(self, rows: Sequence[int]) -> Any:
        """Soft path targets ``(len(rows), n_paths)`` of ``sample`` rows: the tied best paths of each question."""
        import torch


        assert self.prepared is not None and self.sample is not None
        ids = self.path_ids
        targets = torch.zeros(len(rows), len(self.vocab))
        for row, i in enumerate(rows):
            q = int(self.sample[i])
            ties = self.labels[q]
            ties = self.best_ties(ties, self.prepared[q][0])
            # then an Occam prior: a tied path one hop longer than the shortest counts half
            shortest = min(len(p) for p in ties)
            for p in ties:
                targets[row, ids[p]] = 0.5 ** (len(p) - shortest)
        return targets


# training questions labelled per source, as a multiple of ``max_train_questions``: the path head trains on a
# sample of them, the prototypes and the path vocabulary read them all
LABEL_POOL = 2
LABEL_CHUNK = 1000  # questions labelled between two looks at the clock under a budget
# Under a budget, path search takes at most this share of the fit (hub entities make it slow on large graphs):
# then synthesized questions keep the path they were asked from as their only label, and no further question
# from a file is labelled
LABEL_SHARE = 0.25


def label_questions(kg: KnowledgeGraph, examples: list[QAExample], config: QAConfig, cache_dir: Path | None,
                    progress: bool, deadline: Deadline | None = None) -> PathData:
    """Weak labels, the seeded split and the path vocabulary; a clear error when no question has a path.

    Labelling searches paths from every topic (minutes on a large graph), so only the questions a fit reads are
    labelled: the held-out ones it scores, and of each source (authored, synthesized) the training questions in a
    seeded order until ``LABEL_POOL`` times ``max_train_questions`` have a path (all of them when that is 0).
    Past ``deadline`` (``LABEL_SHARE`` of a budget) no path is searched after each source's first chunk: see
    :data:`LABEL_SHARE`."""
    # a synthesized question knows the path it was asked from; the paths tied with it (the same answers) are
    # searched for within a small budget, so the head learns the tie, not an arbitrary one of its paths
    index = PathIndex(kg)
    known = [tuple(ex.qtype.split("/")) if ex.source == "synthesized" and ex.qtype else None for ex in examples]
    # a relation name with "/" in it (Freebase paths) cannot be read back from qtype: search for those instead
    known = [k if k is not None and all(s in index.step_ids for s in k) else None for k in known]
    labels: list[tuple[RelPath, ...]] = [()] * len(examples)

    def spent() -> bool:
        return deadline is not None and deadline.seconds is not None and not deadline.left()

    def label(rows: Sequence[int], synthesized: bool, first: bool = True) -> int:
        """Label ``rows`` (all of one kind) in place; returns how many got a path. Past the deadline only a
        source's ``first`` chunk is searched (a fit always has some labels)."""
        if not first and spent() and rows:
            log.info("qa: path labelling's time is spent; %d %s questions %s", len(rows),
                     "synthesized" if synthesized else "authored",
                     "keep the path they were asked from" if synthesized else "are left unlabelled")
            for i in rows if synthesized else ():
                labels[i] = (known[i],) if known[i] is not None else ()
            return sum(1 for i in rows if labels[i])
        found = cached_path_labels(kg, [examples[i] for i in rows], config.max_hops, index, cache_dir, progress,
                                   2_000 if synthesized else 20_000) if rows else []
        for i, lab in zip(rows, found, strict=True):
            k = known[i]
            exact = bool(lab) and set(index.execute(examples[i].topics, lab[0]).tolist()) == set(examples[i].answers)
            labels[i] = lab if k is None else (tuple(dict.fromkeys([*lab, k])) if exact else (k,))
        return sum(1 for i in rows if labels[i])

    train_idx, val_idx = split_indices(len(examples), config.val_fraction, config.seed)
    order = np.random.default_rng(config.seed).permutation(train_idx).tolist()
    wanted = LABEL_POOL * config.max_train_questions
    for synthesized in (False, True):
        label([int(i) for i in val_idx[: config.max_val_questions] if (known[i] is not None) == synthesized],
              synthesized)
        rows = [i for i in order if (known[i] is not None) == synthesized]
        # chunk by chunk, each cached on its own; under a budget the first chunk is small, to look at the clock
        budgeted = deadline is not None and deadline.seconds is not None
        start = have = 0
        chunk = min(wanted or len(rows), LABEL_CHUNK if budgeted else len(rows))
        while start < len(rows):
            t0 = time.perf_counter()
            have += label(rows[start: start + chunk], synthesized, first=start == 0)
            pace = (time.perf_counter() - t0) / max(len(rows[start: start + chunk]), 1)
            start += chunk
            if (wanted and have >= wanted) or (not synthesized and spent()):
                break
            if budgeted:  # then what half the labelling time left allows at that pace (each chunk searches
                # every topic it holds again: on a small graph, 1,000 questions ask of nearly all of them)
                fits = int(0.5 * (deadline.left() or 0.0) / max(pace, 1e-6))  # type: ignore[union-attr]
                chunk = max(LABEL_CHUNK, min(fits, wanted - have if wanted else len(rows)))
    labelled = [i for i in train_idx if labels[i]]
    if not labelled:
        raise InputError("no training question has a relation path (of up to "
                         f"{config.max_hops} hops) from its topic to a gold answer in this KG", field="data")
    vocab = sorted({p for i in labelled for p in labels[i]}, key=lambda p: (len(p), p))
    return PathData(examples, labels, train_idx, val_idx, labelled, vocab, words=RelationWords(induce_schema(kg)))


# the share of questions people wrote whose answers no relation path reaches exactly, from which the answer scorer
# is trained (``answer_scorer = None``): below it the graph holds what is asked and the scorer has nothing to add.
# Questions synthesized from the graph are answered by their path by construction: on four graphs built without
# questions the held-out choices never picked a scorer fallback, and skipping it lost no answer (BENCHMARKS.md).
# MetaQA's own questions miss more than this share, so its build still trains one
MISSED_ANSWERS = 0.05


def graph_misses_answers(kg: KnowledgeGraph, data: PathData, rows: Sequence[int]) -> bool:
    """Whether at least :data:`MISSED_ANSWERS` of the questions people wrote among ``rows`` (held-out ones: every
    one of them had its paths searched, whatever the budget) have no relation path reaching exactly their answers:
    no label at all, or best paths reaching other answers too or only some of them (an incomplete graph, as in
    MetaQA's half KB)."""
    authored = [int(i) for i in rows if data.examples[i].source != "synthesized" and data.examples[i].answers]
    if not authored:
        return False
    index = PathIndex(kg)
    missed = sum(not data.labels[i] or set(index.execute(data.examples[i].topics, data.labels[i][0]).tolist())
                 != set(data.examples[i].answers) for i in authored)
    return missed >= MISSED_ANSWERS * len(authored)


def build_model(kg: KnowledgeGraph, scorer: KGEScorer | None, vocab: Sequence[RelPath], config: QAConfig,
                progress: bool, rule_config: RuleConfig | None = None) -> QAModel:
    """An untrained model: the fused encoder, its heads and (``config.rules``) path rules mined from ``kg``."""
    from kgagent.training.fused import FusedEncoder
    from kgagent.training.qa_net import QANet

    has_vectors = config.encoder.fusion != "none"
    encoder = FusedEncoder(config.encoder, entity_vectors=fusion_vectors(scorer) if has_vectors else None)
    rel_dim = scorer.rel_dim if scorer is not None and config.answer_scorer else None
    net = QANet(encoder, len(vocab), rel_dim, config.answer_hidden)
    rules = None
    if config.rules:
        from kgagent.kg.rules import mine_rules

        rules = mine_rules(kg, rule_config, progress=progress)
        log.info("mined %d path rules", len(rules))
    return QAModel(net, kg, scorer, vocab, config, rules=rules)


def choose_sample(data: PathData, config: QAConfig, rng: np.random.Generator) -> np.ndarray:
    """Training rows of the path head: a seeded sample (``max_train_questions``). Where synthesized questions
    are mixed in, authored ones (phrased the way users ask) are all kept and repeated ``authored_repeat`` times
    when they are few; when they are many, synthesized ones still fill ``synthesized_share`` of the sample."""
    sample = np.asarray(data.labelled)
    authored = np.array([i for i in sample if data.examples[i].source != "synthesized"], dtype=sample.dtype)
    synthesized = np.setdiff1d(sample, authored)
    cap = config.max_train_questions
    if cap and len(sample) > cap:
        if len(authored) and len(synthesized):
            n_synth = min(len(synthesized), max(cap - len(authored), round(config.synthesized_share * cap)))
            n_authored = cap - n_synth
            picked = [rng.choice(part, n, replace=False) if n < len(part) else part
                      for part, n in ((authored, n_authored), (synthesized, n_synth))]
            sample = np.sort(np.concatenate(picked))
        else:
            sample = np.sort(rng.choice(sample, cap, replace=False))
    kept = np.intersect1d(sample, authored)
    if config.authored_repeat > 1 and 0 < len(kept) == len(authored) < len(sample):
        sample = np.concatenate([sample, *[kept] * (config.authored_repeat - 1)])
    return sample


def train_head_warmup(model: QAModel, data: PathData, config: QAConfig, progress: bool,
                      on_step: StepCallback | None, max_seconds: float | None = None) -> TrainResult:
    """The path head alone on frozen features (LoRA starts as the identity, so these are the encoder's own
    features): template-like questions separate well here, and the head then starts good."""
    from kgagent.training.qa_net import path_loss
    from kgagent.training.trainer import Batches, TrainConfig, train_loop

    assert data.prepared is not None and data.sample is not None and data.val_labelled is not None
    net, val_lab, vocab = model.net, data.val_labelled, data.vocab
    lower: dict[int, Any] | None = {} if net.encoder.first_trained else None
    feats0 = question_features(net, [data.prepared[i] for i in data.sample], progress, lower=lower)
    data.frozen = dict(zip(data.sample.tolist(), feats0.numpy(), strict=True))  # (n_sample, hidden) features
    data.lower = {int(data.sample[j]): states for j, states in (lower or {}).items()}
    targets0 = data.targets(range(len(data.sample)))
    val0 = None
    if val_lab:  # kept too: the validations and the held-out choices run the trained layers only
        val_lower: dict[int, Any] | None = {} if lower is not None else None
        val0 = question_features(net, [data.prepared[i] for i in val_lab], progress, lower=val_lower)
        data.frozen.update(zip(val_lab, val0.numpy(), strict=True))
        data.lower.update({val_lab[j]: states for j, states in (val_lower or {}).items()})

    def head_accuracy(head: Any) -> float:
        assert val0 is not None
        pred = head(val0).argmax(-1).tolist()
        return float(np.mean([vocab[p] in data.labels[i] for p, i in zip(pred, val_lab, strict=True)]))

    batches = Batches(len(data.sample), 64, lambda idx: {"features": feats0[list(idx)],
                                                         "targets": targets0[list(idx)]}, seed=config.seed)
    return train_loop(net.path_head, batches, head_accuracy if val_lab else None,
                      TrainConfig(epochs=config.head_warmup_epochs, lr=3e-3, batch_size=64,
                                  patience=config.train.patience + 1, eval_every=0, seed=config.seed,
                                  max_seconds=max_seconds),
                      loss_fn=lambda m, b: path_loss(m(b["features"]), b["targets"]),
                      desc="qa: path head (frozen features)", progress=progress, on_step=on_step)


def train_path_head(model: QAModel, data: PathData, config: QAConfig, progress: bool,
                    on_step: StepCallback | None) -> TrainResult:
    """Encoder (LoRA) + fusion + path head together: the marginal likelihood of the tied best paths."""
    from kgagent.training.fused import pad_states
    from kgagent.training.trainer import Batches, train_loop

    prepared, sample, val_lab = data.prepared, data.sample, data.val_labelled
    assert prepared is not None and sample is not None and val_lab is not None
    encoder = model.net.encoder
    val_kept = kept(data, val_lab, config)

    def collate(idx: Sequence[int]) -> dict[str, Any]:
        chunk = [prepared[sample[i]] for i in idx]
        batch = encoder.tokenize([c[0] for c in chunk],
                                 [[(c[1][0], c[1][1], c[2][0])] if c[1] is not None else [] for c in chunk])
        states = [data.lower.get(int(sample[i])) for i in idx]
        if all(x is not None for x in states):  # the warm-up ran the frozen layers: start above them
            batch["lower"] = pad_states(states, batch["attention_mask"])
        return {**batch, "path_targets": data.targets(idx)}

    def path_accuracy(_: Any) -> float:
        enc = model.encode([prepared[i] for i in val_lab], **val_kept)
        return float(np.mean([data.vocab[int(e.path_probs[: len(data.vocab)].argmax())] in data.labels[i]
                              for e, i in zip(enc, val_lab, strict=True)]))

    tc = config.train
    batches = Batches(len(sample), tc.batch_size, collate, seed=config.seed,
                      length_of=lambda i: len(prepared[sample[i]][0]))
    return train_loop(model.net, batches, path_accuracy if val_lab else None, tc, desc="qa: path head + encoder",
                      progress=progress, on_step=on_step)


def train_answer_scorer(model: QAModel, data: PathData, config: QAConfig, rng: np.random.Generator,
                        progress: bool, on_step: StepCallback | None, deadline: Deadline | None = None) -> TrainResult:
    """The EmbedKGQA-style scorer on frozen question features (no encoder passes, but each step scores every
    entity: on a large graph its epochs cost minutes). Under a budget its training takes at most half of what
    the fit has left once its features are encoded; the path prototypes and held-out choices get the rest."""
    import torch

    from kgagent.training.qa_net import AnswerHead
    from kgagent.training.trainer import Batches, TrainConfig, train_loop

    examples, prepared, net = data.examples, data.prepared, model.net
    assert model.scorer is not None and prepared is not None
    train_ans = [int(i) for i in data.train_idx if examples[i].answers]
    if config.max_answer_questions and len(train_ans) > config.max_answer_questions:
        train_ans = sorted(rng.choice(train_ans, config.max_answer_questions, replace=False).tolist())
    val_ans = [int(i) for i in data.val_idx if examples[i].answers][: config.max_val_questions]
    # features only where needed: (n, hidden), zero rows elsewhere
    need = sorted(set(train_ans) | set(val_ans))
    feats = torch.zeros(len(examples), net.encoder.hidden_size)
    if need:
        feats[need] = question_features(net, [prepared[i] for i in need], progress)
    gold = torch.full((len(examples), 64), -1, dtype=torch.long)  # (n, 64) answer ids, -1 padded
    for i, ex in enumerate(examples):
        a = np.asarray(ex.answers, dtype=np.int64)
        a = a[~np.isin(a, ex.topics)]
        if len(a) > 64:
            a = rng.choice(a, 64, replace=False)
        gold[i, : len(a)] = torch.as_tensor(a)
    topics_t = torch.as_tensor([ex.topics[0] for ex in examples])
    head = AnswerHead(net.rel_head, model.scorer)

    def scorer_hits(m: Any) -> float:
        s = m.scores(feats[val_ans], topics_t[val_ans]).argmax(-1)
        return float(np.mean([int(s[j]) in examples[i].answers for j, i in enumerate(val_ans)]))

    batches = Batches(len(train_ans), config.answer_batch_size,
                      lambda idx: {"features": feats[[train_ans[i] for i in idx]],
                                   "topics": topics_t[[train_ans[i] for i in idx]],
                                   "answers": gold[[train_ans[i] for i in idx]]}, seed=config.seed)
    tc = TrainConfig(epochs=config.answer_epochs, lr=config.answer_lr, batch_size=config.answer_batch_size,
                     patience=config.train.patience, seed=config.seed, max_grad_norm=5.0,
                     max_seconds=deadline.share(1, 2) if deadline is not None else None)
    return train_loop(head, batches, scorer_hits if val_ans else None, tc, desc="qa: answer scorer",
                      progress=progress, on_step=on_step)


def best_label(data: PathData, i: int) -> RelPath | None:
    """The path a question most likely asks: the shortest of its best tied labels (:meth:`PathData.best_ties`),
    as :meth:`PathData.targets` weighs them."""
    ties = data.labels[i]
    if not ties:
        return None
    text = data.prepared[i][0] if data.prepared is not None else data.examples[i].question
    return min(data.best_ties(ties, text), key=len)


def shares_base_encoder(config: QAConfig) -> bool:
    """Whether the path similarity's sentence encoder is the QA encoder's base model with all its layers: then the
    warm-up's frozen features are its vectors."""
    from kgagent.retrieval.encoder import default_encoder_path

    similarity = str(config.similarity_encoder or default_encoder_path())
    return similarity == config.encoder.model_path and not config.encoder.layers


def kept(data: PathData, rows: Sequence[int], config: QAConfig) -> dict[str, list[Any] | None]:
    """``QAModel.encode``'s ``lower`` and ``vectors`` for ``rows`` (examples): what the warm-up kept of them (None
    where it has nothing); the frozen features serve as similarity vectors only where they are that encoder's."""
    lower = [data.lower.get(int(i)) for i in rows]
    vectors = [data.frozen.get(int(i)) for i in rows] if shares_base_encoder(config) else None
    return {"lower": lower if any(x is not None for x in lower) else None,
            "vectors": vectors if vectors is not None and any(v is not None for v in vectors) else None}


def _at(inputs: dict[str, list[Any] | None], positions: Sequence[int]) -> dict[str, list[Any] | None]:
    """``inputs`` (from :func:`kept`) at ``positions`` only."""
    return {k: None if v is None else [v[j] for j in positions] for k, v in inputs.items()}


def fit_path_scorer(model: QAModel, data: PathData, config: QAConfig, progress: bool) -> PathScorer:
    """Prototypes of every path from its training questions (topic masked): every one the warm-up encoded, whose
    frozen features are the similarity encoder's own vectors when it is the QA encoder's base model, topped up to
    ``prototype_questions`` with others (encoded here); up to ``prototype_questions`` of them otherwise."""
    from kgagent.retrieval.encoder import TextEncoder
    from kgagent.training.path_scorer import PathScorer

    assert data.prepared is not None
    encoder = TextEncoder(config.similarity_encoder)
    known = data.frozen if shares_base_encoder(config) else {}
    rng = np.random.default_rng(config.seed)
    order = rng.permutation(data.labelled)
    order = np.concatenate([order[[int(i) in known for i in order]], order[[int(i) not in known for i in order]]])
    by_path: dict[RelPath, list[int]] = {}
    for i in order:
        path = best_label(data, int(i))
        if path is not None and (int(i) in known or len(by_path.setdefault(path, [])) < config.prototype_questions):
            by_path.setdefault(path, []).append(int(i))
    rows = [(p, i) for p, idx in by_path.items() for i in idx]
    vectors = {r: known[i] for r, (_, i) in enumerate(rows) if i in known}
    return PathScorer.fit(encoder, [data.prepared[i][0] for _, i in rows], [p for p, _ in rows], data.vocab,
                          vectors=vectors, progress=progress)


def select_abstention(model: QAModel, data: PathData, encoded: Sequence[Encoded], rows: Sequence[int],
                      grid: Sequence[float] = (0.0, 0.02, 0.05, 0.1), abstain_weight: float = 0.5
                      ) -> dict[str, Any]:
    """The abstention ratio that best serves both kinds of held-out question: answered right when the graph has
    the asked path, no answer when it lacks it (the same question with its path's first relation made absent).
    Held-out questions are worded like the training ones, so the model reads them better than users' questions:
    the grid stops at 0.1 and a missed abstention weighs half a wrong answer (a ratio chosen on them alone cost
    6 points of Hits@1 on differently worded questions for few right abstentions). Sets
    ``model.ranker.abstain_ratio``; returns the table."""
    fb, w = model.selected["fallback"], model.selected["scorer_weight"]
    blockable = [(e, r) for e, r in zip(encoded, rows, strict=True)
                 if data.labels[r] and len({p[0] for p in data.labels[r]}) == 1]
    table = []
    for ratio in grid:
        hits = np.mean([is_hit(model.ranker.rank(e, fb, w, ratio=ratio), data.examples[r], model.kg)
                        for e, r in zip(encoded, rows, strict=True)])
        abstained = np.mean([model.ranker.rank(e, fb, w, ratio=ratio,
                                               blocked=data.labels[r][0][0].removesuffix(INVERSE)).missing
                             for e, r in blockable]) if blockable else 0.0
        table.append({"ratio": ratio, "hits_at_1": float(hits), "abstained": float(abstained)})
    best = max(table, key=lambda x: x["hits_at_1"] + abstain_weight * x["abstained"] - 1e-9 * table.index(x))
    model.ranker.abstain_ratio = best["ratio"]
    model.selected["abstain_ratio"] = best["ratio"]
    return {"table": table, "best": best}


def fallback_modes(model: QAModel) -> tuple[Fallback, ...]:
    """The fallbacks the held-out choices try, simplest first: without a KGE only path rules fill a missing edge."""
    modes = model.config.fallbacks()
    if model.scorer is None:
        modes = tuple(m for m in modes if not m.scorer and (not m.soft or model.rules is not None))
    return modes


def select_fallback(model: QAModel, encoded: Sequence[Encoded], examples: Sequence[QAExample]) -> dict[str, Any]:
    """Hits@1 on the held-out split for each fallback and scorer weight; keeps the best (simplest on ties)."""
    cfg = model.config
    modes = fallback_modes(model)
    weights = (cfg.scorer_weight,) if cfg.scorer_weight is not None else (0.05, 0.2, 0.5, 1.0)
    table: list[dict[str, Any]] = []
    for mode in modes:
        for w in (weights if mode.scorer else (0.0,)):
            hits = [is_hit(model.ranker.rank(e, mode, w), ex, model.kg) for e, ex in zip(encoded, examples,
                                                                                         strict=True)]
            table.append({"fallback": str(mode), "scorer_weight": w, "hits_at_1": float(np.mean(hits))})
    best = max(table, key=lambda r: r["hits_at_1"] - 1e-9 * table.index(r))
    model.selected.update(fallback=best["fallback"], scorer_weight=best["scorer_weight"])
    return {"table": table, "best": best}


SELECTION_RANKINGS = 20  # rankings of each held-out question by the choices (fallbacks x weights, gate, ratios)
PACE_RANKINGS = 8  # held-out questions ranked to price them
# held-out questions the choices get however little time is left: the calibration needs MIN_CALIBRATION_QUESTIONS
# (a 90 s demo build that ranked 8 kept raw scores: ECE 0.26 on its authored questions, 0.07 calibrated)
MIN_CHOICE_QUESTIONS = 100


def choices_that_fit(model: QAModel, prepared: Sequence[Prepared], left: float,
                     inputs: dict[str, list[Any] | None] | None = None) -> int:
    """How many of the held-out questions the choices can rank in ``left`` seconds (at least
    ``MIN_CHOICE_QUESTIONS``),
    priced by encoding a few and ranking them under the costliest fallback: on a graph of a million entities a
    ranking with the scorer takes tenths of a second, and 464 questions took 177 s beside a plan that priced
    them as encodings."""
    paced = prepared[:PACE_RANKINGS]
    t = time.perf_counter()
    encoded = model.encode(paced, **_at(inputs or {}, range(len(paced))))
    costliest = (fallback_modes(model) or (Fallback.NONE,))[-1]
    for e in encoded:
        model.ranker.rank(e, costliest, 0.5)
    per_question = (time.perf_counter() - t) * SELECTION_RANKINGS / max(1, len(paced))
    return max(MIN_CHOICE_QUESTIONS, int(left / per_question)) if per_question > 0 else len(prepared)


SIMILARITY_GATE = 0.99  # the gate tried: questions the head is this sure of skip the path similarity
MIN_GATE_QUESTIONS = 100  # held-out questions people wrote needed to judge it


def select_similarity_gate(model: QAModel, prepared: Sequence[Prepared], examples: Sequence[QAExample],
                           inputs: dict[str, list[Any] | None] | None = None) -> dict[str, Any] | None:
    """Skip the path similarity (a second encoder pass per question) where the head is sure, if held-out questions
    people wrote (not synthesized: the head has seen their wordings, it is sure of them for a reason) lose no
    more than one in a thousand by it. None: too few such questions to tell; the similarity is always used."""
    own = [i for i, ex in enumerate(examples) if ex.source != "synthesized"]
    if model.path_scorer is None or len(own) < MIN_GATE_QUESTIONS:
        return None
    fb = model.selected["fallback"]
    hits = {}
    for gate in (1.0, SIMILARITY_GATE):
        model.selected["similarity_gate"] = gate
        encoded = model.encode([prepared[i] for i in own], **_at(inputs or {}, own))
        hits[gate] = float(np.mean([is_hit(model.ranker.rank(e, fb, 0.0), examples[i], model.kg)
                                    for e, i in zip(encoded, own, strict=True)]))
    chosen = SIMILARITY_GATE if hits[SIMILARITY_GATE] >= hits[1.0] - 1e-3 else 1.0
    model.selected["similarity_gate"] = chosen
    return {"questions": len(own), "hits_at_1": {str(g): h for g, h in hits.items()}, "chosen": chosen}


TEMPERED = 0.5  # the prior weight tried: the model's path probabilities to this power before the priors


def select_prior_weight(model: QAModel, prepared: Sequence[Prepared], examples: Sequence[QAExample],
                        inputs: dict[str, list[Any] | None] | None = None) -> dict[str, Any]:
    """Temper the path head's probabilities before the priors (``TEMPERED``) unless held-out questions people
    wrote show the head's own confidence does better: one trained on synthesized questions alone is overconfident
    in wordings it never saw (on four graphs tempering gained 2.6 points of MetaQA 3-hop and 2-4 questions of each
    hand-written set; BENCHMARKS.md)."""
    own = [i for i, ex in enumerate(examples) if ex.source != "synthesized"]
    if len(own) < MIN_GATE_QUESTIONS:
        model.selected["prior_model_weight"] = model.ranker.prior_weight = TEMPERED
        return {"questions": len(own), "chosen": TEMPERED}
    fb = model.selected["fallback"]
    hits = {}
    for weight in (1.0, TEMPERED):
        model.selected["prior_model_weight"] = weight
        model.ranker.prior_weight = weight
        encoded = model.encode([prepared[i] for i in own], **_at(inputs or {}, own))
        hits[weight] = float(np.mean([is_hit(model.ranker.rank(e, fb, 0.0), examples[i], model.kg)
                                      for e, i in zip(encoded, own, strict=True)]))
    chosen = TEMPERED if hits[TEMPERED] > hits[1.0] else 1.0
    model.selected["prior_model_weight"] = chosen
    model.ranker.prior_weight = chosen
    return {"questions": len(own), "hits_at_1": {str(w): h for w, h in hits.items()}, "chosen": chosen}


MIN_CALIBRATION_QUESTIONS = 30  # fewer held-out questions than this: the confidence is the raw score


def calibrate(model: QAModel, encoded: Sequence[Encoded], examples: Sequence[QAExample]
              ) -> tuple[dict[str, Any], float]:
    """Logistic regression of "the top answer is right" on features of the top answer (held-out split); sets
    ``model.calibration`` and returns it with the expected calibration error there."""
    fb, w = model.selected["fallback"], model.selected["scorer_weight"]
    rows, correct = [], []
    for e, ex in zip(encoded, examples, strict=True):
        r = model.ranker.rank(e, fb, w)
        rows.append(r.features)
        correct.append(is_hit(r, ex, model.kg))
    x, y = np.asarray(rows), np.asarray(correct, dtype=float)
    if len(y) < MIN_CALIBRATION_QUESTIONS:  # a fit on a handful of questions is noise: keep the raw score
        model.calibration = {}
        conf = np.array([model.ranker.confidence(row) for row in rows])
        return {}, round(ece(conf, y), 4) if len(y) else None
    if len(set(y)) < 2:  # all right (or all wrong): a constant is the calibrated answer
        p = float(np.clip(y.mean(), 0.02, 0.98)) if len(y) else 0.5
        cal = {"coef": [0.0] * x.shape[1], "intercept": math.log(p / (1 - p))}
    else:
        from sklearn.linear_model import LogisticRegression

        lr = LogisticRegression(C=1.0, max_iter=1000).fit(x, y)
        cal = {"coef": lr.coef_[0].tolist(), "intercept": float(lr.intercept_[0])}
    model.calibration = cal
    conf = np.array([model.ranker.confidence(row) for row in rows])
    return cal, round(ece(conf, y), 4)


def resolve_fusion(config: QAConfig, scorer: KGEScorer | None) -> QAConfig:
    """``config`` with ``fusion="auto"`` resolved; fusion without a KGE is a ``ConfigError``."""
    config = replace(config, encoder=config.encoder.resolve(scorer is not None))
    if scorer is None and config.encoder.fusion != "none":
        raise ConfigError("qa: fusion needs a trained KGE; train one (`kgagent train kge`) or set fusion = \"none\"")
    return config


def fit_qa(kg: KnowledgeGraph, examples: Sequence[QAExample], *, scorer: KGEScorer | None,
           config: QAConfig | None = None, cache_dir: str | Path | None = None, progress: bool = True,
           on_step: StepCallback | None = None,
           rules: RuleConfig | None = None) -> tuple[QAModel, dict[str, Any]]:
    """Train a :class:`QAModel` on ``examples`` over ``kg`` (with the KGE ``scorer``, or none); returns the model
    and its training metrics (each phase's ``losses`` included). ``on_step(desc, step, loss)`` sees every
    training step. ``train_qa`` is the front door around this (question synthesis, saving)."""
    from kgagent.training.trainer import seed_everything

    t_start = time.perf_counter()
    clock, deadline = _Clock(t_start), Deadline(config.max_seconds if config else None, start=t_start)
    examples = [ex for ex in examples if ex.topics]
    if len(examples) < 2:
        raise InputError("QA training needs at least 2 questions with a known topic entity", field="data")
    config = resolve_fusion(config or QAConfig(), scorer)
    seed_everything(config.seed)
    labelling = Deadline(deadline.share(LABEL_SHARE, 1))
    data = label_questions(kg, examples, config, Path(cache_dir) if cache_dir else None, progress, labelling)
    if config.answer_scorer is None:
        config = replace(config, answer_scorer=scorer is not None and graph_misses_answers(
            kg, data, data.val_idx[: config.max_val_questions]))
        log.info("qa: answer scorer %s", "trained: the graph misses answers people ask" if config.answer_scorer
                 else "not trained: the graph's paths reach the answers asked")
    model = build_model(kg, scorer, data.vocab, config, progress, rules)
    data.prepared = [model.prepare(bracketed(ex), ex.topics) for ex in examples]
    config, plan = plan_budget(deadline.left(), data, config, model, progress)  # as it is without a budget
    rng = np.random.default_rng(config.seed)  # one stream: the path sample, then the scorer's sample and answers
    data.sample = choose_sample(data, config, rng)
    data.val_labelled = [i for i in data.val_idx if data.labels[i]][: config.max_val_questions]

    clock.lap("labels and model")
    warmup = train_head_warmup(model, data, config, progress, on_step, deadline.share(WARMUP_TRAINING, 1)) \
        if config.head_warmup_epochs else None
    clock.lap("path head warm-up")
    path = None
    if plan.skip_encoder:
        log.warning("qa: the time budget leaves too little for training the encoder; the warmed-up head is kept")
    elif config.train.epochs:
        limit = tighter(config.train.max_seconds, plan.encoder_seconds)
        path = train_path_head(model, data, replace(config, train=replace(config.train, max_seconds=limit)),
                               progress, on_step)
    clock.lap("path head + encoder")
    metrics: dict[str, Any] = {
        "questions": len(examples), "train_questions": len(data.train_idx), "val_questions": len(data.val_idx),
        "labelled": len(data.labelled), "paths": len(data.vocab), "path_training_examples": len(data.sample),
        "path_head_warmup": warmup.as_dict() if warmup is not None else None,
        "path_head": path.as_dict() if path is not None else None,
        "val_path_accuracy": path.best_score if path is not None
        else (warmup.best_score if warmup is not None else None)}
    if config.max_seconds is not None:
        metrics["budget"] = {"seconds": config.max_seconds, **asdict(plan)}
    if model.net.rel_head is not None:
        answer = train_answer_scorer(model, data, config, rng, progress, on_step, deadline)
        metrics["answer_scorer"] = answer.as_dict()
        metrics["val_scorer_hits_at_1"] = answer.best_score
        clock.lap("answer scorer")
    model.net.eval()
    if config.path_similarity > 0:
        model.path_scorer = fit_path_scorer(model, data, config, progress)
        clock.lap("path prototypes")

    # choose the fallback on the held-out split, then calibrate the confidence there
    val_ex = [examples[i] for i in data.val_idx][: config.max_val_questions]
    val_inputs = kept(data, data.val_idx[: len(val_ex)], config)  # the warm-up's states and vectors of them
    if val_ex and deadline.seconds is not None:
        val_ex = val_ex[: choices_that_fit(model, [data.prepared[i] for i in data.val_idx[: len(val_ex)]],
                                           deadline.left() or 0.0, val_inputs)]
    if val_ex:
        val_prepared = [data.prepared[i] for i in data.val_idx[: len(val_ex)]]
        val_inputs = _at(val_inputs, range(len(val_ex)))
        if config.prior_model_weight is None:
            metrics["prior_model_weight"] = select_prior_weight(model, val_prepared, val_ex, val_inputs)
        if config.similarity_gate is None:
            metrics["similarity_gate"] = select_similarity_gate(model, val_prepared, val_ex, val_inputs)
        encoded = model.encode(val_prepared, **val_inputs)
        metrics["selection"] = select_fallback(model, encoded, val_ex)
        if config.walk_prior and config.abstain_ratio is None and not Fallback(model.selected["fallback"]).soft \
                and not Fallback(model.selected["fallback"]).scorer:
            metrics["abstention"] = select_abstention(model, data, encoded, data.val_idx[: len(val_ex)])
        model.calibration, metrics["val_ece"] = calibrate(model, encoded, val_ex)
        metrics["val_hits_at_1"] = metrics["selection"]["best"]["hits_at_1"]
    metrics["fallback"] = model.selected
    metrics["rules"] = len(model.rules) if model.rules is not None else 0
    clock.lap("held-out choices")
    metrics["phase_seconds"] = clock.seconds
    metrics["fit_seconds"] = round(time.perf_counter() - t_start, 2)
    # the model describes itself without the per-step curves (they stay in the returned metrics)
    model.info = {"metrics": {k: _without_curves(v) for k, v in metrics.items()
                              if k not in ("selection", "abstention")}}
    return model, metrics


def plan_budget(left: float | None, data: PathData, config: QAConfig, model: QAModel,
                progress: bool) -> tuple[QAConfig, QAPlan]:
    """``config`` with the question counts that ``left`` seconds allow (``training.qa.budget``), priced by the
    pace of encoding a first batch of questions; unchanged without a budget."""
    if left is None:
        return config, QAPlan(None, config.max_train_questions, config.max_val_questions,
                              config.max_answer_questions, config.prototype_questions)
    assert data.prepared is not None
    t0 = time.perf_counter()
    question_features(model.net, data.prepared[:8], progress=False)  # the first pass pays for warming up
    t1 = time.perf_counter()
    paced = data.prepared[8: 8 + PACE_QUESTIONS] or data.prepared[:PACE_QUESTIONS]
    question_features(model.net, paced, progress=False)
    per_question = (time.perf_counter() - t1) / len(paced)
    left = max(0.0, left - (time.perf_counter() - t0))
    n_val = min(sum(1 for i in data.val_idx if data.labels[i]), config.max_val_questions)
    sample = min(len(data.labelled), config.max_train_questions or len(data.labelled))
    scorer = sum(1 for i in data.train_idx if data.examples[i].answers) if model.net.rel_head is not None else 0
    counts = Counter(best_label(data, i) for i in data.labelled)
    rows = sum(min(c, config.prototype_questions) for c in counts.values()) if config.path_similarity else 0
    if shares_base_encoder(config):  # the sampled ones come encoded from the warm-up: only the rest are encoded
        rows = round(rows * (1 - sample / max(len(data.labelled), 1)))
    plan = plan_fit(left, max(per_question, 1e-5), sample=sample, val_questions=n_val, scorer_questions=scorer,
                    prototype_rows=rows, prototype_questions=config.prototype_questions,
                    batch_size=config.train.batch_size, epochs=config.train.epochs,
                    max_scorer_questions=config.max_answer_questions,
                    step_encodings=model.net.encoder.step_encodings)
    return replace(config, max_train_questions=plan.sample, max_val_questions=max(plan.val_questions, 1),
                   max_answer_questions=plan.scorer_questions,
                   prototype_questions=plan.prototype_questions), plan


class _Clock:
    """Seconds per phase of a fit, lap by lap."""

    def __init__(self, start: float) -> None:
        self.seconds: dict[str, float] = {}
        self._last = start

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(now - self._last, 2)
        self._last = now


def _without_curves(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in ("losses", "history")}
    return value
