"""Intent classification with out-of-scope detection over the KG-fused encoder.

Data: JSON lines (``{"text", "intent"}``), CSV (``text,category``, as Banking77), or CLINC150's JSON
(``train``, ``val``, ``test``, ``oos_*``). Out-of-scope is its own class when the data has one (an intent
named ``oos`` or ``out_of_scope``) and/or a confidence threshold calibrated on the validation split.

>>> data = load_intent_data("intents.jsonl")  # doctest: +SKIP
>>> result = train_intents(data, IntentConfig(epochs=3), out_dir="ws/models/intents")  # doctest: +SKIP
>>> IntentModel.load("ws/models/intents").predict(["what's my balance?"])[0]  # doctest: +SKIP
IntentPrediction(intent='balance', confidence=0.98, out_of_scope=False)
"""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from kgagent.kg.errors import ConfigError, InputError, WorkspaceError
from kgagent.kg.validate import check_safetensors, parse, read_json, read_safetensors

log = logging.getLogger(__name__)

OOS_NAMES = ("oos", "out_of_scope")  # an intent with one of these names is the out-of-scope class
Mentions = list[list[tuple[int, int, int]]]  # per text: (char_start, char_end, entity_id)
_FORMAT = 1


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``(n, k)`` logits."""
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _energy(logits: np.ndarray, oos_index: int | None) -> np.ndarray:
    """log-sum-exp of the in-scope logits ``(n,)``: high where some intent fits (Liu et al., 2020)."""
    z = logits if oos_index is None else np.delete(logits, oos_index, axis=1)
    top = z.max(1)
    return top + np.log(np.exp(z - top[:, None]).sum(1))


def _top_probability(logits: np.ndarray, oos_index: int | None) -> np.ndarray:
    """The top softmax probability ``(n,)`` over all classes."""
    return softmax(logits).max(1)


# How sure the model is that a text is in scope; out-of-scope below the calibrated threshold.
OOS_SCORES: dict[str, Callable[[np.ndarray, int | None], np.ndarray]] = {
    "energy": _energy, "softmax": _top_probability}
_DEFAULT_LR = {"lora": 1e-3, "full": 2e-4, "frozen": 5e-3}  # peak learning rate per fine-tuning mode


# ----------------------------------------------------------------- data
@dataclass
class IntentSplit:
    """Parallel lists of texts and their gold intents."""

    texts: list[str] = field(default_factory=list)
    intents: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.texts)

    def __add__(self, other: IntentSplit) -> IntentSplit:
        return IntentSplit(self.texts + other.texts, self.intents + other.intents)

    def subset(self, idx: Sequence[int]) -> IntentSplit:
        return IntentSplit([self.texts[i] for i in idx], [self.intents[i] for i in idx])

    def stratified_split(self, fraction: float, seed: int) -> tuple[IntentSplit, IntentSplit]:
        """``(rest, held_out)``: about ``fraction`` of each intent with 2+ examples held out, seeded."""
        rng = np.random.default_rng(seed)
        by_intent: dict[str, list[int]] = {}
        for i, intent in enumerate(self.intents):
            by_intent.setdefault(intent, []).append(i)
        held: list[int] = []
        for intent in sorted(by_intent):
            idx = by_intent[intent]
            if len(idx) < 2 or fraction <= 0:
                continue
            k = min(max(round(fraction * len(idx)), 1), len(idx) - 1)  # keep at least one for training
            held += rng.permutation(idx)[:k].tolist()
        held_set = set(held)
        return self.subset([i for i in range(len(self)) if i not in held_set]), self.subset(sorted(held))


@dataclass
class IntentData:
    """The splits of an intent file: ``train``, and ``val`` / ``test`` when the file has them (CLINC)."""

    path: Path
    train: IntentSplit
    val: IntentSplit | None = None
    test: IntentSplit | None = None

    def evaluation(self) -> IntentSplit:
        """What ``eval intents`` scores: ``test`` when present, else ``val``, else every example."""
        return self.test or self.val or self.train


def _check_example(text: Any, intent: Any, *, path: Path, line: int | None = None, field: str | None = None
                   ) -> tuple[str, str]:
    if not isinstance(text, str) or not text.strip():
        raise InputError("empty or missing text", path=path, line=line, field=field)
    if not isinstance(intent, str) or not intent.strip():
        raise InputError("empty or missing intent", path=path, line=line, field=field)
    return text.strip(), intent.strip()


def _load_jsonl(path: Path) -> IntentData:
    split = IntentSplit()
    with open(path, encoding="utf-8") as f:
        for n, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as e:
                raise InputError(f"not JSON ({e.msg})", path=path, line=n) from e
            if not isinstance(row, dict) or "text" not in row or "intent" not in row:
                raise InputError('each line must be an object with keys "text" and "intent"', path=path,
                                 line=n)
            text, intent = _check_example(row["text"], row["intent"], path=path, line=n)
            split.texts.append(text)
            split.intents.append(intent)
    return IntentData(path, split)


def _load_csv(path: Path) -> IntentData:
    split = IntentSplit()
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f)  # quoted fields may span lines
        header = next(reader, None)
        if header is None:
            raise InputError("empty file", path=path, line=1)
        header = [h.strip().lower() for h in header]
        label_col = next((c for c in ("category", "intent", "label") if c in header), None)
        if "text" not in header or label_col is None:
            raise InputError("the header must name a text column and a category (or intent) column, got "
                             f"{header}", path=path, line=1)
        ti, li = header.index("text"), header.index(label_col)
        while True:
            line = reader.line_num + 1  # where the next record starts
            try:
                row = next(reader)
            except StopIteration:
                break
            except csv.Error as e:
                raise InputError(f"bad CSV ({e})", path=path, line=line) from e
            if not row or not any(c.strip() for c in row):
                continue
            if len(row) != len(header):
                raise InputError(f"expected {len(header)} fields, got {len(row)}", path=path, line=line)
            text, intent = _check_example(row[ti], row[li], path=path, line=line)
            split.texts.append(text)
            split.intents.append(intent)
    return IntentData(path, split)


def _clinc_part(obj: dict[str, Any], key: str, path: Path) -> IntentSplit:
    split = IntentSplit()
    items = obj.get(key, [])
    if not isinstance(items, list):
        raise InputError("expected a list of [text, intent] pairs", path=path, field=key)
    for i, item in enumerate(items):
        if isinstance(item, dict):
            item = [item.get("text"), item.get("intent")]
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise InputError("expected a [text, intent] pair", path=path, field=f"{key}[{i}]")
        text, intent = _check_example(*item, path=path, field=f"{key}[{i}]")
        split.texts.append(text)
        split.intents.append(intent)
    return split


def _load_json(path: Path) -> IntentData:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"not JSON ({e.msg})", path=path, line=e.lineno) from e
    if isinstance(obj, list):  # a list of {"text", "intent"} records
        return IntentData(path, _clinc_part({"records": obj}, "records", path))
    if not isinstance(obj, dict) or not {"train", "val", "test"} & set(obj):
        raise InputError('expected CLINC150 JSON (keys "train", "val", "test", "oos_*") or a list of records',
                         path=path, line=1)
    parts = {k: _clinc_part(obj, k, path) + _clinc_part(obj, f"oos_{k}", path)
             for k in ("train", "val", "test") if k in obj}
    return IntentData(path, parts.get("train", IntentSplit()), parts.get("val") or None,
                      parts.get("test") or None)


# file suffix -> loader
LOADERS: dict[str, Callable[[Path], IntentData]] = {
    ".jsonl": _load_jsonl, ".ndjson": _load_jsonl, ".csv": _load_csv, ".json": _load_json,
}


def load_intent_data(path: str | Path) -> IntentData:
    """Read an intent file (JSON lines, ``text,category`` CSV, or CLINC150 JSON); bad data: ``InputError``."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such file", path=path)
    loader = LOADERS.get(path.suffix.lower())
    if loader is None:
        raise InputError(f"unknown intent data format {path.suffix!r}; use one of {sorted(LOADERS)}",
                         path=path)
    data = loader(path)
    if not len(data.train) and not len(data.evaluation()):
        raise InputError("no examples", path=path)
    return data


# ----------------------------------------------------------------- config
@dataclass
class IntentConfig:
    """Settings of ``train_intents``, read from ``[intents]`` of ``WS/kgagent.toml``.

    Encoder fields (``base_model`` ... ``max_length``) are those of ``EncoderConfig``; optimization fields
    (``epochs`` ... ``device``) those of ``TrainConfig``.

    >>> IntentConfig(finetune="full").learning_rate
    0.0002
    """

    base_model: str | None = field(default=None, metadata={
        "help": "transformers name or local folder; None: the bundled all-MiniLM-L6-v2"})
    # Full fine-tuning: MiniLM-L6 (22M parameters) trains whole on a CPU at roughly twice the step time of LoRA
    # on q/v; the CLINC150 / Banking77 figures in BENCHMARKS.md ("Intent classification") are measured with it.
    finetune: Literal["lora", "full", "frozen"] = "full"
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    lora_targets: tuple[str, ...] = ("query", "value")
    fusion: Literal["auto", "none", "tokens", "pooled", "both"] = field(default="auto", metadata={
        "help": "auto: tokens when the workspace has a KGE and an entity linker, else none"})
    max_length: int = field(default=64, metadata={"help": "tokens per text (Banking77: 7% exceed 32)"})
    epochs: int = 5
    min_steps: int = field(default=100, metadata={
        "help": "train at least this many steps: small sets (a few hundred examples) get more epochs"})
    batch_size: int = 32
    lr: float | None = field(default=None, metadata={"help": "None: 1e-3 lora, 2e-4 full, 5e-3 frozen"})
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    max_grad_norm: float = 1.0
    patience: int = 2
    seed: int = 0
    device: str | None = None
    val_fraction: float = field(default=0.1, metadata={
        "help": "held out for early stopping and calibration when the data has no val split"})
    head_dropout: float = 0.1
    label_smoothing: float = field(default=0.1, metadata={
        "help": "regularizes once the training loss nears zero (CLINC150 in-scope accuracy)"})
    oos_score: Literal["energy", "softmax"] = field(default="energy", metadata={
        "help": "what the out-of-scope threshold applies to: energy, the log-sum-exp of the in-scope logits "
                "(CLINC150: 0.962 / 0.81 in-scope / OOS recall where the top softmax probability gave 0.963 / "
                "0.74, same model), or the top softmax probability"})
    oos_threshold: float | None = field(default=None, metadata={
        "help": "predict out-of-scope below this score; None: calibrated on validation OOS examples (no "
                "threshold when there are none)"})
    oos_weight: float | None = field(default=None, metadata={
        "help": "calibration maximizes (1 - w) * in-scope accuracy + w * OOS recall on validation; None: w is "
                "the OOS share of validation, i.e. accuracy over all queries (0.5 gave CLINC150 89% in-scope)"})

    def __post_init__(self) -> None:
        if isinstance(self.lora_targets, str | list):
            self.lora_targets = (self.lora_targets,) if isinstance(self.lora_targets, str) else tuple(
                self.lora_targets)
        if self.fusion not in ("auto", "none", "tokens", "pooled", "both"):
            raise ValueError(f"fusion must be auto, none, tokens, pooled or both, not {self.fusion!r}")
        self.encoder_config("none")
        self.train_config()
        if not isinstance(self.min_steps, int) or isinstance(self.min_steps, bool) or self.min_steps < 0:
            raise ValueError(f"min_steps must be an integer >= 0, not {self.min_steps!r}")
        if not 0.0 <= self.val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in [0, 1), not {self.val_fraction!r}")
        for name in ("head_dropout", "label_smoothing", "oos_weight"):
            if getattr(self, name) is None and name == "oos_weight":
                continue
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], not {getattr(self, name)!r}")
        if self.oos_score not in OOS_SCORES:
            raise ValueError(f"oos_score must be one of {', '.join(OOS_SCORES)}, not {self.oos_score!r}")
        if self.oos_score == "softmax" and self.oos_threshold is not None and not 0.0 <= self.oos_threshold <= 1.0:
            raise ValueError(f"oos_threshold must be in [0, 1] or unset, not {self.oos_threshold!r}")

    @property
    def learning_rate(self) -> float:
        return self.lr if self.lr is not None else _DEFAULT_LR[self.finetune]

    def encoder_config(self, fusion: str) -> Any:
        """The ``EncoderConfig`` part, with ``fusion`` resolved."""
        from kgagent.training.fused import EncoderConfig

        names = {f.name for f in fields(EncoderConfig)}
        return EncoderConfig(**{**{n: getattr(self, n) for n in names}, "fusion": fusion})

    def train_config(self) -> Any:
        """The ``TrainConfig`` part."""
        from kgagent.training.trainer import TrainConfig

        names = {f.name for f in fields(TrainConfig)} & {f.name for f in fields(self)}
        return TrainConfig(**{**{n: getattr(self, n) for n in names}, "lr": self.learning_rate})


# ----------------------------------------------------------------- model
@dataclass(frozen=True)
class IntentPrediction:
    """One prediction. ``confidence`` is the top class's probability; for an out-of-scope prediction made by
    the threshold it is one minus the best in-scope probability."""

    intent: str
    confidence: float
    out_of_scope: bool


class Linker(Protocol):
    def link(self, text: str) -> Sequence[Any]: ...  # [Mention(start, end, text, candidates, ...)]


def link_mentions(linker: Linker | None, texts: Sequence[str]) -> Mentions | None:
    """``(start, end, top entity)`` of every mention ``linker`` finds in each text; None without a linker."""
    if linker is None:
        return None
    out: Mentions = []
    for text in texts:
        out.append([(int(m.start), int(m.end), int(m.candidates[0].entity)) for m in linker.link(text)
                    if m.candidates])
    return out


def _classifier(encoder: Any, n_labels: int, dropout: float, label_smoothing: float) -> Any:
    """The intent head over a ``FusedEncoder``: dropout + linear on the pooled vector."""
    import torch
    from torch import nn

    class IntentClassifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = nn.Dropout(dropout)
            self.head = nn.Linear(encoder.hidden_size, n_labels)

        def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                    entity_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> Any:
            pooled = self.encoder(input_ids, attention_mask, entity_ids)  # (b, hidden)
            logits = self.head(self.dropout(pooled))  # (b, n_labels)
            if labels is None:
                return logits
            loss = nn.functional.cross_entropy(logits.float(), labels, label_smoothing=label_smoothing)
            return {"loss": loss, "logits": logits}

    return IntentClassifier()


class IntentModel:
    """A trained intent classifier: ``predict(texts)`` -> ``IntentPrediction`` per text.

    Saved layout (``save``): ``encoder/`` (``FusedEncoder.save_pretrained``), ``head.safetensors``, and
    ``intents.json`` (config, labels, out-of-scope label and threshold, validation metrics).
    """

    def __init__(self, classifier: Any, labels: list[str], config: IntentConfig, *, threshold: float | None = None,
                 linker: Linker | None = None, metrics: dict[str, Any] | None = None,
                 linker_factory: Callable[[], Linker | None] | None = None) -> None:
        self.classifier = classifier
        self.labels = list(labels)
        self.config = config
        self.threshold = float(threshold) if threshold is not None else None
        self.metrics = dict(metrics or {})
        self.oos_index = next((i for i, lab in enumerate(self.labels) if lab.lower() in OOS_NAMES), None)
        self.oos_label = self.labels[self.oos_index] if self.oos_index is not None else "oos"
        self._linker = linker
        self._linker_factory = linker_factory

    @property
    def encoder(self) -> Any:
        return self.classifier.encoder

    @property
    def fused(self) -> bool:
        """Entity vectors are fused in (the encoder was trained with them and has them now)."""
        return self.encoder.d_kge is not None and self.encoder.entity_vectors is not None

    @property
    def linker(self) -> Linker | None:
        if self._linker is None and self._linker_factory is not None and self.fused:
            self._linker = self._linker_factory()
            self._linker_factory = None
        return self._linker

    # ----------------------------------------------------------------- inference
    def probabilities(self, texts: Sequence[str], mentions: Mentions | None = None, *,
                      batch_size: int = 64) -> np.ndarray:
        """Class probabilities ``(n, n_labels)`` float32, in input order."""
        return softmax(self.logits(texts, mentions, batch_size=batch_size)).astype(np.float32)

    def logits(self, texts: Sequence[str], mentions: Mentions | None = None, *,
               batch_size: int = 64) -> np.ndarray:
        """Class logits ``(n, n_labels)`` float32, in input order (batches sorted by length)."""
        import torch

        texts = list(texts)
        if mentions is None and self.fused:
            mentions = link_mentions(self.linker, texts)
        out = np.zeros((len(texts), len(self.labels)), dtype=np.float32)
        order = np.argsort([len(t) for t in texts], kind="stable")
        device = self.encoder.device
        was_training = self.classifier.training
        self.classifier.eval()
        with torch.inference_mode():
            for s in range(0, len(texts), batch_size):
                idx = order[s: s + batch_size]
                batch = self.encoder.tokenize([texts[i] for i in idx],
                                              [mentions[i] for i in idx] if mentions is not None else None)
                batch = {k: v.to(device) for k, v in batch.items()}
                logits = self.classifier(**batch)  # (b, n_labels)
                out[idx] = logits.float().cpu().numpy()
        self.classifier.train(was_training)
        return out

    def predict(self, texts: Sequence[str], mentions: Mentions | None = None) -> list[IntentPrediction]:
        """Intent, confidence and out-of-scope flag per text; ``mentions`` skips linking when given."""
        if not len(texts):
            return []
        return self._decide(self.logits(texts, mentions))

    def oos_scores(self, logits: np.ndarray) -> np.ndarray:
        """The in-scope score ``(n,)`` the threshold applies to (``config.oos_score``)."""
        return OOS_SCORES[self.config.oos_score](logits, self.oos_index)

    def _decide(self, logits: np.ndarray) -> list[IntentPrediction]:
        """Predictions from logits, out-of-scope by class or below ``self.threshold`` (None: no threshold)."""
        threshold = self.threshold
        probs = softmax(logits)
        scores = self.oos_scores(logits)
        top = probs.argmax(1)
        out = []
        for row, k, score in zip(probs, top, scores, strict=True):
            conf = float(row[k])
            if self.oos_index is not None and k == self.oos_index:
                out.append(IntentPrediction(self.oos_label, conf, True))
            elif threshold is not None and score < threshold:
                out.append(IntentPrediction(self.oos_label, 1.0 - conf, True))
            else:
                out.append(IntentPrediction(self.labels[k], conf, False))
        return out

    def merge(self) -> IntentModel:
        """Fold LoRA weights into the encoder (faster inference; no further training)."""
        self.encoder.merge_adapter()
        return self

    # ----------------------------------------------------------------- save / load
    def save(self, directory: str | Path) -> None:
        """Write the model into ``directory`` atomically (the old one stays until the new one is complete)."""
        from safetensors.torch import save_file

        from kgagent.kg.io import atomic_dir

        with atomic_dir(directory) as tmp:
            self.encoder.save_pretrained(tmp / "encoder")
            head = {k: v.detach().cpu().contiguous() for k, v in self.classifier.head.state_dict().items()}
            save_file(head, str(tmp / "head.safetensors"))
            meta = {"format": _FORMAT, "config": asdict(self.config), "labels": self.labels,
                    "oos_label": self.oos_label, "oos_class": self.oos_index is not None,
                    "threshold": self.threshold, "metrics": self.metrics}
            text = json.dumps(meta, indent=2, ensure_ascii=False) + "\n"
            (tmp / "intents.json").write_text(text, encoding="utf-8")

    @classmethod
    def load(cls, directory: str | Path, *, entity_vectors: Any = None, linker: Linker | None = None,
             merge: bool = True, device: str | None = None) -> IntentModel:
        """Load a saved model offline. A KG-fused model takes ``entity_vectors`` and ``linker`` when given,
        else those of the workspace it lies in (``WS/models/intents`` -> ``WS/kge``, ``WS/kg``; the linker is
        built on first use). ``merge`` folds LoRA into the weights for faster inference."""
        import torch

        from kgagent.training.fused import FusedEncoder

        directory = Path(directory)
        meta_path = directory / "intents.json"
        if not meta_path.is_file():
            raise WorkspaceError(f"{directory}: no intent model (intents.json missing); run "
                                 "`kgagent train intents`")
        meta = read_json(meta_path)
        # models saved before oos_score existed calibrated their threshold on the top probability
        config = parse(meta_path, "intent settings",
                       lambda: IntentConfig(**{"oos_score": "softmax", **meta["config"]}))
        head = directory / "head.safetensors"
        check_safetensors(head)
        enc_meta = read_json(directory / "encoder" / "encoder_config.json")
        workspace = directory.parent.parent if directory.parent.name == "models" else None
        factory = None
        if enc_meta.get("d_kge") is not None and workspace is not None:
            if entity_vectors is None:
                entity_vectors = workspace_entity_vectors(workspace)
            if linker is None:
                factory = lambda: workspace_linker(workspace)  # noqa: E731
        encoder = FusedEncoder.from_pretrained(directory / "encoder", entity_vectors)
        classifier = parse(meta_path, "intent settings", lambda: _classifier(
            encoder, len(meta["labels"]), config.head_dropout, config.label_smoothing))
        parse(head, "intent head", lambda: classifier.head.load_state_dict(read_safetensors(head)))
        classifier.to(torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))).eval()
        model = cls(classifier, meta["labels"], config, threshold=meta.get("threshold"), linker=linker,
                    metrics=meta.get("metrics"), linker_factory=factory)
        return model.merge() if merge else model


# ----------------------------------------------------------------- workspace resources
def workspace_entity_vectors(workspace: str | Path) -> Any:
    """The workspace KGE's entity vectors ``(n_entities, d)`` as a float32 tensor, or None without a KGE."""
    import torch

    kge_dir = Path(workspace) / "kge"
    if not kge_dir.is_dir():
        return None
    try:
        from kgagent.kg.embeddings import KGEmbeddings
    except ImportError:
        return None
    return torch.as_tensor(np.asarray(KGEmbeddings.load(kge_dir).entity_vectors, dtype=np.float32))


def workspace_linker(workspace: str | Path) -> Linker | None:
    """An entity linker over the workspace KG, or None when the workspace has no KG."""
    kg_dir = Path(workspace) / "kg"
    if not kg_dir.is_dir():
        return None
    from kgagent.kg import KnowledgeGraph
    from kgagent.retrieval.linker import EntityLinker

    return EntityLinker(KnowledgeGraph.load(kg_dir))


# ----------------------------------------------------------------- metrics
@dataclass
class IntentMetrics:
    """Scores of predictions against gold intents (see DESIGN.md for the meanings)."""

    accuracy: float
    in_scope_accuracy: float | None
    oos_recall: float | None
    macro_f1: float
    n: int
    n_oos: int
    oos_precision: float | None = None
    confused: list[dict[str, Any]] = field(default_factory=list)
    ms_per_query: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _is_oos(label: str) -> bool:
    return label.lower() in OOS_NAMES


def score_predictions(gold: Sequence[str], predictions: Sequence[IntentPrediction], *, top_confused: int = 10
                      ) -> IntentMetrics:
    """Accuracy (all), in-scope accuracy (an out-of-scope prediction is wrong), OOS recall, macro F1."""
    from sklearn.metrics import f1_score

    g = ["oos" if _is_oos(x) else x for x in gold]  # one name for the OOS class in every dataset
    p = ["oos" if pr.out_of_scope or _is_oos(pr.intent) else pr.intent for pr in predictions]
    correct = np.array([a == b for a, b in zip(g, p, strict=True)], dtype=bool)
    oos = np.array([x == "oos" for x in g], dtype=bool)
    pred_oos = np.array([x == "oos" for x in p], dtype=bool)
    pairs = Counter((a, b) for a, b in zip(g, p, strict=True) if a != b)
    return IntentMetrics(
        accuracy=float(correct.mean()) if len(g) else 0.0,
        in_scope_accuracy=float(correct[~oos].mean()) if (~oos).any() else None,
        oos_recall=float(correct[oos].mean()) if oos.any() else None,
        macro_f1=float(f1_score(g, p, average="macro", zero_division=0)) if len(g) else 0.0,
        n=len(g), n_oos=int(oos.sum()),
        oos_precision=float((oos & pred_oos).sum() / pred_oos.sum()) if pred_oos.any() else None,
        confused=[{"gold": a, "predicted": b, "count": c} for (a, b), c in pairs.most_common(top_confused)],
    )


def evaluate_intents(model: IntentModel, split: IntentSplit, *,
                     mentions: Mentions | None = None) -> IntentMetrics:
    """Predict ``split`` and score it; also times inference (``ms_per_query``, batched)."""
    t0 = time.perf_counter()
    predictions = model.predict(split.texts, mentions)
    ms = 1000 * (time.perf_counter() - t0) / max(len(split), 1)
    metrics = score_predictions(split.intents, predictions)
    metrics.ms_per_query = round(ms, 3)
    return metrics


def calibrate_threshold(probs: np.ndarray, gold: Sequence[str], labels: Sequence[str],
                        oos_weight: float | None = None, scores: np.ndarray | None = None) -> float | None:
    """The threshold on ``scores`` (default: the top probability of ``probs``) maximizing ``(1 - w) * in-scope
    accuracy + w * OOS recall``; ``oos_weight=None`` takes the OOS share of ``gold`` for ``w`` (accuracy over
    all queries). None when ``gold`` has no out-of-scope example (or only those): nothing to calibrate on."""
    label_index = {lab: i for i, lab in enumerate(labels)}
    oos = np.array([_is_oos(x) for x in gold], dtype=bool)
    if not oos.any() or oos.all():
        return None
    oos_index = next((i for i, lab in enumerate(labels) if _is_oos(lab)), -1)
    top = probs.argmax(1)
    conf = probs[np.arange(len(top)), top] if scores is None else np.asarray(scores, dtype=np.float64)
    gold_idx = np.array([label_index.get(x, -2) for x in gold])
    right_in = (~oos) & (top == gold_idx) & (top != oos_index)  # in-scope and correct before thresholding
    oos_by_class = oos & (top == oos_index)
    # A threshold t keeps in-scope hits with conf >= t and adds OOS examples whose top (in-scope) conf < t.
    candidates = np.unique(np.concatenate([[conf.min()], conf, np.nextafter(conf, np.inf)]))
    best_t, best_v = float(conf.min()), -1.0
    n_in, n_oos = (~oos).sum(), oos.sum()
    if oos_weight is None:
        oos_weight = float(n_oos / len(gold))
    for t in candidates:
        acc = (right_in & (conf >= t)).sum() / n_in
        rec = (oos_by_class | (oos & (top != oos_index) & (conf < t))).sum() / n_oos
        v = (1 - oos_weight) * acc + oos_weight * rec
        if v > best_v + 1e-12:
            best_t, best_v = float(t), float(v)
    return best_t


def calibrate(model: IntentModel, val: IntentSplit, mentions: Mentions | None = None) -> dict[str, Any]:
    """Set ``model.threshold`` (``config.oos_threshold``, else calibrated on ``val``); returns the metrics on
    ``val`` under it."""
    logits = model.logits(val.texts, mentions, batch_size=128)
    model.threshold = model.config.oos_threshold
    if model.threshold is None:
        model.threshold = calibrate_threshold(softmax(logits), val.intents, model.labels, model.config.oos_weight,
                                              scores=model.oos_scores(logits))
    metrics = score_predictions(val.intents, model._decide(logits)).as_dict()
    metrics.pop("ms_per_query", None)
    return metrics


# ----------------------------------------------------------------- training
@dataclass
class IntentTrainResult:
    """The trained model, its validation metrics, and how training went."""

    model: IntentModel
    val_metrics: dict[str, Any]
    train: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {**self.val_metrics, **self.train}


def train_intents(data: IntentData, config: IntentConfig | None = None, *, out_dir: str | Path | None = None,
                  entity_vectors: Any = None, linker: Linker | None = None, progress: bool = True
                  ) -> IntentTrainResult:
    """Fine-tune the encoder + an intent head on ``data.train``; early-stop and calibrate on ``data.val``
    (a seeded stratified ``val_fraction`` of train when the data has none). Saves to ``out_dir`` when given.

    With ``entity_vectors`` ``(n_entities, d)`` and a ``linker``, linked entities are fused in
    (``fusion="auto"`` picks ``tokens``); without them, ``fusion`` must be ``auto`` or ``none``.
    """
    import torch

    from kgagent.training.fused import FusedEncoder
    from kgagent.training.trainer import Batches, seed_everything, train_loop

    config = config or IntentConfig()
    train, val = data.train, data.val
    if not len(train):
        raise InputError("no training examples (CLINC JSON needs a \"train\" list)", path=data.path)
    if val is None and config.val_fraction > 0:
        train, val = train.stratified_split(config.val_fraction, config.seed)
    labels = sorted(set(train.intents))
    if len(labels) < 2:
        raise InputError(f"need at least 2 intents to train, found {labels}", path=data.path)
    fusion = config.fusion
    have_kge = entity_vectors is not None and linker is not None
    if fusion == "auto":
        fusion = "tokens" if have_kge else "none"
    elif fusion != "none" and not have_kge:
        raise ConfigError(f"[intents] fusion: {fusion!r} needs a workspace with a KGE and a KG to link; "
                          "use fusion = \"none\" or \"auto\"")
    index = {lab: i for i, lab in enumerate(labels)}

    seed_everything(config.seed)
    encoder = FusedEncoder(config.encoder_config(fusion), entity_vectors if fusion != "none" else None)
    classifier = _classifier(encoder, len(labels), config.head_dropout, config.label_smoothing)
    use_linker = linker if fusion != "none" else None
    model = IntentModel(classifier, labels, config, linker=use_linker)

    t_link = time.perf_counter()
    train_mentions = link_mentions(use_linker, train.texts)
    val_mentions = link_mentions(use_linker, val.texts) if val is not None else None
    link_seconds = time.perf_counter() - t_link
    targets = torch.tensor([index[x] for x in train.intents])

    def collate(idx: Sequence[int]) -> dict[str, Any]:
        batch = encoder.tokenize([train.texts[i] for i in idx],
                                 [train_mentions[i] for i in idx] if train_mentions is not None else None)
        return {**batch, "labels": targets[list(idx)]}

    batches = Batches(len(train), config.batch_size, collate, seed=config.seed,
                      length_of=lambda i: len(train.texts[i]))

    def val_fn(_: Any) -> float:
        probs = model.probabilities(val.texts, val_mentions, batch_size=128)  # type: ignore[union-attr]
        gold = np.array([index.get(x, -1) for x in val.intents])  # type: ignore[union-attr]
        return float((probs.argmax(1) == gold).mean())

    log.info("training intents: %d examples, %d intents, fusion %s, %s", len(train), len(labels), fusion,
             config.finetune)
    train_config = config.train_config()
    # A small set gets enough epochs for min_steps (the learning rate suits a few hundred steps or more).
    epochs = max(config.epochs, math.ceil(config.min_steps / len(batches)))
    train_config = replace(train_config, epochs=epochs)
    result = train_loop(classifier, batches, val_fn if val is not None and len(val) else None,
                        train_config, desc="intents", progress=progress)
    val_metrics: dict[str, Any] = {}
    if val is not None and len(val):
        val_metrics = calibrate(model, val, val_mentions)
    elif config.oos_threshold is not None:
        model.threshold = config.oos_threshold
    model.metrics = {"val": {k: v for k, v in val_metrics.items() if k != "confused"}}
    train_info = {**result.as_dict(), "n_train": len(train), "n_val": len(val) if val is not None else 0,
                  "n_intents": len(labels), "fusion": fusion, "threshold": model.threshold,
                  "link_seconds": round(link_seconds, 2)}
    if out_dir is not None:
        model.save(out_dir)
    return IntentTrainResult(model, val_metrics, train_info)
