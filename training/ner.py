"""A mention tagger (token classification, BIO tags) trained from the graph alone, for the entity linker.

No labelled questions are needed: questions synthesized from the graph (``training.synthesize``) know where their
topic mention is; the graph's names and aliases are swapped into that slot for variety, and the mention is changed
the ways users change names (``retrieval.perturb``: lower case, a dropped word, a typo, a possessive). The tag is
the entity's class where the graph names classes (``rdf:type``-style relations, ``kg.schema``), else ``ENT``.

>>> result = train_ner(kg, config=NERConfig(questions=2000), out_dir="ws/models/ner")  # doctest: +SKIP
>>> NERModel.load("ws/models/ner").tag(["what films did ridley scot direct"])  # doctest: +SKIP
[[Span(start=15, end=26, label='ENT', score=0.98)]]
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from kgagent.kg.config import check_ints, check_range, make_config
from kgagent.kg.errors import ConfigError, InputError, WorkspaceError
from kgagent.kg.graph import KnowledgeGraph
from kgagent.retrieval.perturb import PERTURBATIONS
from kgagent.retrieval.tagging import Span
from kgagent.training.trainer import TrainConfig

log = logging.getLogger(__name__)
OUTSIDE = "O"
UNTYPED = "ENT"
_FORMAT = 1
GoldSpan = tuple[int, int, str]  # (start, end, tag)


@dataclass
class NERConfig:
    """Settings of ``train_ner``, read from ``[ner]`` of ``WS/kgagent.toml`` (``train`` fields flat or as
    ``[ner.train]``).

    >>> NERConfig(layers=None).finetune
    'full'
    """

    base_model: str | None = field(default=None, metadata={
        "help": "transformers name or local folder; None: the bundled all-MiniLM-L6-v2"})
    finetune: Literal["full", "lora"] = field(default="full", metadata={
        "help": "full: every weight (converges in one epoch); lora: adapters on lora_targets (merged when saved)"})
    lora_r: int = 8
    lora_alpha: int = 16
    lora_targets: tuple[str, ...] = ("query", "value")
    # MiniLM's first 3 of 6 layers: one question tags in 7.7 ms of CPU instead of 12.9 ms (one thread, busy
    # machine); the first 2, their last one trained: span F1 0.578 in 12.5 s of training where 3 gave 0.579 in
    # 17.6 s on the demo graph (WorldLore 0.558 in 14.2 s vs 0.569 in 20.7 s; bench/ner_defaults.py)
    layers: int | None = field(default=2, metadata={
        "help": "keep only the encoder's first N layers (a faster tagger); None: all"})
    train_layers: int | None = field(default=1, metadata={
        "help": "train only the last N of the kept layers (the ones below are frozen and need no backward pass: "
                "faster); 0 or None: all"})
    max_length: int = field(default=48, metadata={"help": "tokens per text"})
    # a full fine-tune leaves the word-piece table as it is by default: its gradient and Adam state span the whole
    # vocabulary, 41% of a training step; span F1 0.412 -> 0.409 on the demo graph, 0.556 -> 0.540 on WorldLore
    train_embeddings: bool = field(default=False, metadata={
        "help": "full fine-tune: train the word-piece embedding table too (slower, about as good)"})
    questions: int = field(default=2000, metadata={"help": "questions synthesized from the graph"})
    variants: int = field(default=2, metadata={
        "help": "changed copies of each question (names swapped in, lower case, dropped word, typo, possessive)"})
    typed: bool = field(default=True, metadata={
        "help": "the entity's class as the tag where the graph names classes; False: one ENT tag"})
    val_fraction: float = field(default=0.1, metadata={"help": "questions held out to pick the best weights"})
    # MetaQA, lower case and a word dropped: 2.3 ms a question instead of 3.7 ms, linking 0.443 vs 0.449
    int8: bool = field(default=True, metadata={
        "help": "on a CPU, run the trained tagger with int8 Linear layers (faster, a little less exact)"})
    # one epoch at a higher rate: on the demo graph span F1 0.549 in 211 s, where two epochs of 3,000 questions
    # at 1e-4 gave 0.582 in 723 s; the last layer alone at 2e-3: 0.579 in 19.8 s where all three at 3e-4 gave
    # 0.541 in 28.1 s (WorldLore 0.569 vs 0.533; bench/ner_defaults.py, BENCHMARKS.md)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=1, lr=2e-3, patience=1))

    def __post_init__(self) -> None:
        if self.finetune not in ("full", "lora"):
            raise ValueError(f"finetune must be 'full' or 'lora', not {self.finetune!r}")
        check_ints(self, "lora_r", "lora_alpha", "max_length", "questions")
        check_ints(self, "variants", minimum=0)
        check_ints(self, "layers", optional=True)
        check_ints(self, "train_layers", minimum=0, optional=True)
        if self.train_embeddings and self.train_layers:
            raise ValueError("train_embeddings: the word-piece table lies below the frozen layers of train_layers; "
                             "set train_layers = 0 (all layers train) with it")
        check_range(self, "val_fraction", high=0.5)
        self.lora_targets = (self.lora_targets,) if isinstance(self.lora_targets, str) else tuple(self.lora_targets)
        if isinstance(self.train, dict):
            self.train = make_config(TrainConfig, self.train, where="ner train")

    @property
    def model_path(self) -> str:
        if self.base_model is not None:
            return self.base_model
        from kgagent.retrieval.encoder import default_encoder_path

        return str(default_encoder_path())


@dataclass
class NERExample:
    """A text and its gold mentions."""

    text: str
    spans: tuple[GoldSpan, ...]


# ----------------------------------------------------------------- data from the graph
def entity_tags(kg: KnowledgeGraph, typed: bool = True) -> list[str]:
    """The tag of every entity: its class (``PHONE``) where the graph names classes, else ``ENT``."""
    classes: dict[int, str] = {}
    if typed:
        from kgagent.kg.schema import induce_schema

        classes = induce_schema(kg).classes
    return [_tag_name(classes[e]) if e in classes else UNTYPED for e in range(kg.num_entities)]


def _tag_name(label: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", label.upper()).strip("_") or UNTYPED


def synthesize_ner_examples(kg: KnowledgeGraph, config: NERConfig, *, progress: bool = False
                            ) -> tuple[list[NERExample], list[NERExample]]:
    """``(train, val)`` tagged questions from the graph: synthesized questions, each with ``variants`` changed
    copies. Validation holds whole questions (with their copies) out."""
    from kgagent.training.synthesize import SynthesisConfig, synthesize_questions

    questions = [q for q in synthesize_questions(kg, config.questions, progress=progress,
                                                 config=SynthesisConfig(seed=config.train.seed))
                 if q.mention is not None and q.topics]
    if not questions:
        raise InputError("the graph gives no questions to train a mention tagger on (no walkable relations)")
    tags = entity_tags(kg, config.typed)
    pools: dict[str, list[int]] = {}  # tag -> entities whose names may be swapped in
    for e in range(kg.num_entities):
        if not kg.literal[e] and "[" not in kg.labels[e]:
            pools.setdefault(tags[e], []).append(e)
    rng = random.Random(config.train.seed)
    rng.shuffle(questions)
    n_val = int(len(questions) * config.val_fraction) if len(questions) >= 20 else 0
    out: list[list[NERExample]] = [[], []]
    for k, q in enumerate(questions):
        s, e = q.mention  # type: ignore[misc]
        tag = tags[q.topics[0]]
        base = NERExample(q.question, ((s, e, tag),))
        copies = [base] + [_variant(kg, base, pools[tag] if tag in pools else [q.topics[0]], rng)
                           for _ in range(config.variants)]
        out[k < n_val].extend(copies)
    return out[0], out[1]


_CHANGES = ("lower", "partial", "typo", "possessive", "lower_partial")


def _variant(kg: KnowledgeGraph, example: NERExample, pool: list[int], rng: random.Random) -> NERExample:
    """A copy with another name of the same tag in the mention's place (half the time), then one change of the
    mention (two thirds of the time), then the whole text lower-cased (a quarter of the time)."""
    text = example.text
    s, e, tag = example.spans[0]
    if rng.random() < 0.5:
        names = kg.names(pool[rng.randrange(len(pool))])
        name = names[rng.randrange(len(names))]
        text, e = text[:s] + name + text[e:], s + len(name)
    if rng.random() < 2 / 3:
        changed = PERTURBATIONS[rng.choice(_CHANGES)](text, s, e, rng)
        if changed is not None:
            text, s, e = changed
    if rng.random() < 0.25:
        text = text.lower()
    return NERExample(text, ((s, e, tag),))


# ----------------------------------------------------------------- the model
class NERModel:
    """A token-classification model with BIO tags; ``tag(texts)`` gives the mention spans of each text.

    Implements ``retrieval.tagging.MentionTagger``, so ``EntityLinker(kg, tagger=model)`` uses it.
    """

    def __init__(self, model: Any, tokenizer: Any, config: NERConfig) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.config = config
        self.labels: list[str] = [model.config.id2label[i] for i in range(model.config.num_labels)]

    @property
    def tags(self) -> list[str]:
        """The entity tags (without B-/I-)."""
        return sorted({lab[2:] for lab in self.labels if lab != OUTSIDE})

    @classmethod
    def create(cls, config: NERConfig, tags: Sequence[str]) -> NERModel:
        """A fresh model over ``config.base_model`` with a BIO head for ``tags``."""
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        from kgagent.training.fused import depth_override

        labels = [OUTSIDE, *(f"{p}-{t}" for t in sorted(set(tags)) for p in ("B", "I"))]
        path = config.model_path
        try:
            extra = depth_override(path, config.layers)
            tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModelForTokenClassification.from_pretrained(
                path, num_labels=len(labels), id2label=dict(enumerate(labels)),
                label2id={lab: i for i, lab in enumerate(labels)}, **extra)
        except (OSError, ValueError) as e:
            raise ConfigError(f"[ner] base_model: cannot load {path!r} ({str(e).splitlines()[0]}); give a local "
                              "model folder or a transformers name reachable offline") from e
        if not tokenizer.is_fast:
            raise ConfigError(f"[ner] base_model: {path!r} has no fast tokenizer; tagging needs character offsets")
        return cls(model, tokenizer, config)

    # ----------------------------------------------------------------- encoding
    def encode(self, texts: Sequence[str], spans: Sequence[Sequence[GoldSpan]] | None = None) -> dict[str, Any]:
        """Tokenized ``texts`` (``input_ids``, ``attention_mask``: ``(b, t)``; ``offset_mapping`` ``(b, t, 2)``),
        with ``labels`` ``(b, t)`` when gold ``spans`` are given: B- on a mention's first token, I- on the rest,
        O outside, -100 on special and padding tokens."""
        import torch

        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.config.max_length,
                             return_tensors="pt", return_offsets_mapping=True)
        if spans is not None:
            index = {lab: i for i, lab in enumerate(self.labels)}
            offsets = enc["offset_mapping"].tolist()
            labels = torch.full(enc["input_ids"].shape, -100, dtype=torch.long)
            for b, row in enumerate(offsets):
                started = [False] * len(spans[b])
                for t, (cs, ce) in enumerate(row):
                    if ce <= cs:
                        continue  # special or padding token
                    labels[b, t] = index[OUTSIDE]
                    for k, (s, e, tag) in enumerate(spans[b]):
                        if cs < e and ce > s:
                            labels[b, t] = index[f"{'I' if started[k] else 'B'}-{tag}"]
                            started[k] = True
                            break
            enc["labels"] = labels
        return enc

    def tag(self, texts: Sequence[str], *, batch_size: int = 64) -> list[list[Span]]:
        """The mentions of each text: spans snapped to whole words, with their tag and mean token probability."""
        import torch

        out: list[list[Span]] = []
        with torch.inference_mode():
            for s in range(0, len(texts), batch_size):
                chunk = list(texts[s: s + batch_size])
                enc = self.encode(chunk)
                offsets = enc.pop("offset_mapping").tolist()
                enc = {k: v.to(self.model.device) for k, v in enc.items()}
                probs = self.model(**enc).logits.float().softmax(-1)  # (b, t, n_labels)
                best, ids = probs.max(-1)  # (b, t)
                for b, text in enumerate(chunk):
                    out.append(self._decode(text, offsets[b], ids[b].tolist(), best[b].tolist()))
        return out

    def _decode(self, text: str, offsets: list[list[int]], ids: list[int], probs: list[float]) -> list[Span]:
        """BIO labels of tokens -> spans. An I- after O (or of another tag) opens a span, as seqeval's lenient
        mode does; a word piece continues the span of the word it belongs to."""
        spans: list[list[Any]] = []  # [start, end, tag, [probs]]
        cur: list[Any] | None = None  # the span being extended
        prev_end = -1
        for (cs, ce), i, p in zip(offsets, ids, probs, strict=True):
            if ce <= cs:
                continue
            piece = cs == prev_end and cs > 0 and text[cs - 1].isalnum()  # the rest of the word before
            prev_end = ce
            label = self.labels[i]
            if piece and cur is not None:
                cur[1] = ce  # a word belongs to the span its first piece is in
                continue
            if label == OUTSIDE:
                cur = None
                continue
            kind, tag = label.split("-", 1)
            if cur is not None and kind == "I" and cur[2] == tag:
                cur[1] = ce
                cur[3].append(p)
            else:
                cur = [cs, ce, tag, [p]]
                spans.append(cur)
        result = []
        for s, e, tag, ps in spans:
            while s > 0 and text[s - 1].isalnum():
                s -= 1
            while e < len(text) and text[e].isalnum():
                e += 1
            result.append(Span(s, e, tag, round(sum(ps) / len(ps), 4)))
        return result

    # ----------------------------------------------------------------- save / load
    def save(self, directory: str | Path) -> None:
        """Write the model (safetensors), tokenizer and ``ner_config.json`` atomically."""
        from kgagent.kg.io import atomic_dir

        with atomic_dir(directory) as tmp:
            self.model.save_pretrained(tmp / "model", safe_serialization=True)
            self.tokenizer.save_pretrained(tmp / "model")
            meta = {"format": _FORMAT, "config": asdict(self.config), "labels": self.labels}
            (tmp / "ner_config.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path, *, device: str | None = None, int8: bool | None = None) -> NERModel:
        """What ``save`` wrote (offline; the weights are all in ``directory``). ``int8``: quantize the Linear
        layers on a CPU; None: as the saved config's ``int8`` says."""
        import torch
        from transformers import AutoModelForTokenClassification, AutoTokenizer

        directory = Path(directory)
        meta_path = directory / "ner_config.json"
        if not meta_path.is_file():
            raise WorkspaceError(f"{directory}: not a saved mention tagger (no ner_config.json); run "
                                 "`kgagent train ner WS`")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            config = make_config(NERConfig, meta["config"], where=str(meta_path))
        except (json.JSONDecodeError, KeyError, TypeError) as e:
            raise InputError(f"corrupt tagger settings ({e}); run `kgagent train ner WS`", path=meta_path) from e
        model = AutoModelForTokenClassification.from_pretrained(directory / "model")
        tokenizer = AutoTokenizer.from_pretrained(directory / "model")
        target = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        model.to(target)
        if target.type == "cpu" and (config.int8 if int8 is None else int8):
            from kgagent.training.quantize import quantize_int8

            quantize_int8(model)
        return cls(model, tokenizer, config)


# ----------------------------------------------------------------- training
@dataclass
class NERTrainResult:
    """The trained tagger, its validation scores and the loss of every step."""

    model: NERModel
    metrics: dict[str, Any]
    losses: list[float] = field(default_factory=list)


def train_ner(kg: KnowledgeGraph, *, config: NERConfig | None = None, out_dir: str | Path | None = None,
              examples: tuple[list[NERExample], list[NERExample]] | None = None, progress: bool = True,
              on_step: Callable[[str, int, float], None] | None = None) -> NERTrainResult:
    """Train a mention tagger on questions synthesized from ``kg`` (or on ``examples``: ``(train, val)``);
    saved to ``out_dir`` when given. Seeded by ``config.train.seed`` (torch's global generator is restored)."""
    import torch

    from kgagent.training.dropout import use_fast_dropout
    from kgagent.training.fused import encoder_layers
    from kgagent.training.trainer import Batches, train_loop

    config = config or NERConfig()
    t0 = time.perf_counter()
    train, val = examples if examples is not None else synthesize_ner_examples(kg, config, progress=progress)
    if not train:
        raise InputError("no examples to train the mention tagger on")
    tags = sorted({s[2] for x in train + val for s in x.spans}) or [UNTYPED]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.train.seed)
        ner = NERModel.create(config, tags)
        model = ner.model
        if config.finetune == "full" and not config.train_embeddings:
            model.get_input_embeddings().weight.requires_grad_(False)
        first_trained = 0
        if config.train_layers:  # no weight below needs a gradient: no backward pass reaches those layers
            layers = encoder_layers(model)
            first_trained = max(0, len(layers) - config.train_layers)
            layers[:first_trained].requires_grad_(False)
            for embeddings in (getattr(model.base_model, "embeddings", None), model.get_input_embeddings()):
                if embeddings is not None:
                    embeddings.requires_grad_(False)
        if config.finetune == "lora":
            from peft import LoraConfig, TaskType, get_peft_model

            only = list(range(first_trained, len(encoder_layers(model)))) if first_trained else None
            model = get_peft_model(model, LoraConfig(task_type=TaskType.TOKEN_CLS, r=config.lora_r,
                                                     lora_alpha=config.lora_alpha, layers_to_transform=only,
                                                     target_modules=list(config.lora_targets)))
        use_fast_dropout(model)

        def collate(idx: Sequence[int]) -> dict[str, Any]:
            rows = [train[i] for i in idx]
            enc = ner.encode([r.text for r in rows], [r.spans for r in rows])
            enc.pop("offset_mapping")
            return dict(enc)

        def val_f1(m: Any) -> float:
            ner.model = m
            return span_scores([x.spans for x in val], [_triples(s) for s in ner.tag([x.text for x in val])]
                               )["overall"]["f1"]

        batches = Batches(len(train), config.train.batch_size, collate, seed=config.train.seed,
                          length_of=lambda i: len(train[i].text))
        result = train_loop(model, batches, val_f1 if val else None, config.train, desc="mention tagger",
                            progress=progress, on_step=on_step)
    if config.finetune == "lora":
        model = model.merge_and_unload()
    ner.model = model.eval()
    metrics = {"train_examples": len(train), "val_examples": len(val), "tags": tags,
               "val_f1": round(result.best_score, 4) if val else None, **result.as_dict(),
               "seconds": round(time.perf_counter() - t0, 2)}
    metrics.pop("losses")
    if out_dir is not None:
        ner.save(out_dir)
    return NERTrainResult(ner, metrics, result.losses)


# ----------------------------------------------------------------- span-level scores (seqeval-style)
def _triples(spans: Sequence[Span]) -> tuple[GoldSpan, ...]:
    return tuple((s.start, s.end, s.label) for s in spans)


def span_scores(gold: Sequence[Sequence[GoldSpan]], pred: Sequence[Sequence[GoldSpan]]) -> dict[str, dict]:
    """Precision, recall, F1 and support per tag and ``overall``: a predicted span counts only when its start, end
    and tag all equal a gold span's (seqeval's strict span match)."""
    counts: dict[str, list[int]] = {}  # tag -> [true positives, predicted, gold]
    for g, p in zip(gold, pred, strict=True):
        gs, ps = set(g), set(p)
        for _, _, tag in gs | ps:
            counts.setdefault(tag, [0, 0, 0])
        for span in ps:
            counts[span[2]][0] += span in gs
            counts[span[2]][1] += 1
        for span in gs:
            counts[span[2]][2] += 1
    total = [sum(c[i] for c in counts.values()) for i in range(3)]
    return {**{tag: _prf(*c) for tag, c in sorted(counts.items())}, "overall": _prf(*total)}


def _prf(tp: int, predicted: int, gold: int) -> dict[str, float]:
    p = tp / predicted if predicted else 0.0
    r = tp / gold if gold else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "n": gold}


def report(scores: dict[str, dict]) -> str:
    """A classification report in seqeval's layout."""
    width = max(len(t) for t in scores)
    lines = [f"{'':<{width}}  precision    recall  f1-score   support", ""]
    for tag, s in scores.items():
        if tag == "overall":
            lines.append("")
        lines.append(f"{tag:<{width}}  {s['precision']:9.4f} {s['recall']:9.4f} {s['f1']:9.4f} {s['n']:9d}")
    return "\n".join(lines)


def evaluate_ner(model: NERModel, kg: KnowledgeGraph, path: str | Path, *, limit: int | None = None,
                 progress: bool = False) -> dict[str, dict]:
    """Span scores of ``model`` on a MetaQA-format file (brackets removed); the gold span is the bracketed mention,
    tagged with the class of the entity of that name (``ENT`` where the graph has none)."""
    from tqdm.auto import tqdm

    from kgagent.retrieval.evaluate import read_metaqa
    from kgagent.training.qa_data import NameIndex

    examples = list(read_metaqa(path, limit=limit))
    if not examples:
        raise InputError("no questions in the file", path=path)
    tags = entity_tags(kg, config_typed(model))
    names = NameIndex(kg)
    gold = []
    for x in examples:
        ids = names.lookup(x.gold)
        gold.append(((x.start, x.end, tags[ids[0]] if ids else UNTYPED),))
    pred: list[tuple[GoldSpan, ...]] = []
    texts = [x.text for x in examples]
    for s in tqdm(range(0, len(texts), 64), desc="tagging", disable=not progress, leave=False):
        pred += [_triples(t) for t in model.tag(texts[s: s + 64])]
    return span_scores(gold, pred)


def config_typed(model: NERModel) -> bool:
    """Whether the model's tags are classes (anything but the single ``ENT``)."""
    return model.config.typed and model.tags != [UNTYPED]
