"""Intent classification with out-of-scope detection over the KG-fused encoder.

Data loading is ``intents_data`` (JSON lines, ``text,category`` CSV, CLINC150 JSON); out-of-scope detection and
its threshold calibration are ``intents_oos``; the classifier module is ``intents_net``. Out-of-scope is its own
class when the data has one (an intent named ``oos`` or ``out_of_scope``) and/or a threshold on an in-scope score
calibrated on the validation split.

>>> data = load_intent_data("intents.jsonl")  # doctest: +SKIP
>>> result = train_intents(data, IntentConfig(), out_dir="ws/models/intents")  # doctest: +SKIP
>>> IntentModel.load("ws/models/intents").predict(["what's my balance?"])[0]  # doctest: +SKIP
IntentPrediction(intent='balance', confidence=0.98, out_of_scope=False)
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np

from kgagent.kg.config import check_ints, check_range, make_config
from kgagent.kg.errors import ConfigError, InputError, WorkspaceError
from kgagent.kg.validate import check_safetensors, parse, read_json, read_safetensors
from kgagent.training.fused import EncoderConfig
from kgagent.training.intents_data import IntentData, IntentSplit, load_intent_data
from kgagent.training.intents_net import IntentClassifier
from kgagent.training.intents_oos import (
    OOS_NAMES,
    OOS_SCORES,
    IntentPrediction,
    calibrate_threshold,
    is_oos,
    softmax,
)
from kgagent.training.trainer import StepCallback, TrainConfig

log = logging.getLogger(__name__)

Mentions = list[list[tuple[int, int, int]]]  # per text: (char_start, char_end, entity_id)
_FORMAT = 1
_DEFAULT_LR = {"lora": 1e-3, "full": 2e-4, "frozen": 5e-3}  # peak learning rate per fine-tuning mode
__all__ = ["OOS_NAMES", "OOS_SCORES", "IntentConfig", "IntentData", "IntentMetrics", "IntentModel",
           "IntentPrediction", "IntentSplit", "IntentTrainResult", "calibrate", "calibrate_threshold",
           "evaluate_intents", "link_mentions", "load_intent_data", "score_predictions", "train_intents",
           "workspace_entity_vectors", "workspace_linker"]


def _intent_encoder() -> EncoderConfig:
    # Full fine-tuning: MiniLM-L6 (22M parameters) trains whole on a CPU at roughly twice the step time of LoRA
    # on q/v; the CLINC150 / Banking77 figures in BENCHMARKS.md ("Intent classification") are measured with it.
    # fusion auto: tokens when the workspace has a KGE and an entity linker, else none. Banking77: 7% of texts
    # exceed 32 tokens, hence 64.
    return EncoderConfig(finetune="full", fusion="auto", max_length=64)


def _intent_training() -> TrainConfig:
    return TrainConfig(epochs=5, lr=None, batch_size=32, patience=2)  # lr None: per fine-tuning mode


@dataclass
class IntentConfig:
    """Settings of ``train_intents``, read from ``[intents]`` of ``WS/kgagent.toml``.

    ``encoder`` (an ``EncoderConfig``; fusion ``auto``: tokens when the workspace has a KGE and an entity linker,
    else none) and ``train`` (a ``TrainConfig``; ``lr`` None: 1e-3 lora, 2e-4 full, 5e-3 frozen) are
    sub-configs; in TOML their fields may be written flat in ``[intents]`` or as ``[intents.encoder]`` /
    ``[intents.train]`` tables (``kg.config.make_config``).

    >>> IntentConfig().learning_rate
    0.0002
    """

    encoder: EncoderConfig = field(default_factory=_intent_encoder, metadata={
        "help": "the encoder (full fine-tuning of MiniLM by default)"})
    train: TrainConfig = field(default_factory=_intent_training, metadata={"help": "the optimization"})
    min_steps: int = field(default=100, metadata={
        "help": "train at least this many steps: small sets (a few hundred examples) get more epochs"})
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
        if self.train.epochs < 1:
            raise ValueError(f"epochs must be a positive integer, not {self.train.epochs!r}")
        check_ints(self, "min_steps", minimum=0)
        check_range(self, "val_fraction", high=1.0, high_open=True)
        check_range(self, "head_dropout", "label_smoothing", high=1.0)
        check_range(self, "oos_weight", high=1.0, optional=True)
        if self.oos_score not in OOS_SCORES:
            raise ValueError(f"oos_score must be one of {', '.join(OOS_SCORES)}, not {self.oos_score!r}")
        if self.oos_score == "softmax":
            check_range(self, "oos_threshold", high=1.0, optional=True)

    @property
    def learning_rate(self) -> float:
        """``train.lr``, else the default of the fine-tuning mode."""
        return self.train.lr if self.train.lr is not None else _DEFAULT_LR[self.encoder.finetune]


# ----------------------------------------------------------------- model
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
        return self.decide(self.logits(texts, mentions))

    def oos_scores(self, logits: np.ndarray) -> np.ndarray:
        """The in-scope score ``(n,)`` the threshold applies to (``config.oos_score``)."""
        return OOS_SCORES[self.config.oos_score](logits, self.oos_index)

    def decide(self, logits: np.ndarray) -> list[IntentPrediction]:
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
                       lambda: make_config(IntentConfig, {"oos_score": "softmax", **meta["config"]},
                                           where=str(meta_path)))
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
        classifier = parse(meta_path, "intent settings", lambda: IntentClassifier(
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


def score_predictions(gold: Sequence[str], predictions: Sequence[IntentPrediction], *, top_confused: int = 10
                      ) -> IntentMetrics:
    """Accuracy (all), in-scope accuracy (an out-of-scope prediction is wrong), OOS recall, macro F1."""
    from sklearn.metrics import f1_score

    g = ["oos" if is_oos(x) else x for x in gold]  # one name for the OOS class in every dataset
    p = ["oos" if pr.out_of_scope or is_oos(pr.intent) else pr.intent for pr in predictions]
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


def calibrate(model: IntentModel, val: IntentSplit, mentions: Mentions | None = None) -> dict[str, Any]:
    """Set ``model.threshold`` (``config.oos_threshold``, else calibrated on ``val``); returns the metrics on
    ``val`` under it."""
    logits = model.logits(val.texts, mentions, batch_size=128)
    model.threshold = model.config.oos_threshold
    if model.threshold is None:
        model.threshold = calibrate_threshold(softmax(logits), val.intents, model.labels, model.config.oos_weight,
                                              scores=model.oos_scores(logits))
    metrics = score_predictions(val.intents, model.decide(logits)).as_dict()
    metrics.pop("ms_per_query", None)
    return metrics


# ----------------------------------------------------------------- training
@dataclass
class IntentTrainResult:
    """The trained model, its validation metrics, and how training went (``train``: the loop's record, the loss
    of every step and the validation history included)."""

    model: IntentModel
    val_metrics: dict[str, Any]
    train: dict[str, Any]

    @property
    def losses(self) -> list[float]:
        """The training loss of every step."""
        return list(self.train.get("losses", []))

    def as_dict(self) -> dict[str, Any]:
        return {**self.val_metrics, **self.train}


def train_intents(data: IntentData, config: IntentConfig | None = None, *, out_dir: str | Path | None = None,
                  entity_vectors: Any = None, linker: Linker | None = None, progress: bool = True,
                  on_step: StepCallback | None = None) -> IntentTrainResult:
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
        train, val = train.stratified_split(config.val_fraction, config.train.seed)
    labels = sorted(set(train.intents))
    if len(labels) < 2:
        raise InputError(f"need at least 2 intents to train, found {labels}", path=data.path)
    have_kge = entity_vectors is not None and linker is not None
    encoder_config = config.encoder.resolve(have_kge)
    fusion = encoder_config.fusion
    if fusion != "none" and not have_kge:
        raise ConfigError(f"[intents] fusion: {fusion!r} needs a workspace with a KGE and a KG to link; "
                          "use fusion = \"none\" or \"auto\"")
    index = {lab: i for i, lab in enumerate(labels)}

    seed_everything(config.train.seed)
    encoder = FusedEncoder(encoder_config, entity_vectors if fusion != "none" else None)
    classifier = IntentClassifier(encoder, len(labels), config.head_dropout, config.label_smoothing)
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

    batches = Batches(len(train), config.train.batch_size, collate, seed=config.train.seed,
                      length_of=lambda i: len(train.texts[i]))

    def val_fn(_: Any) -> float:
        probs = model.probabilities(val.texts, val_mentions, batch_size=128)  # type: ignore[union-attr]
        gold = np.array([index.get(x, -1) for x in val.intents])  # type: ignore[union-attr]
        return float((probs.argmax(1) == gold).mean())

    log.info("training intents: %d examples, %d intents, fusion %s, %s", len(train), len(labels), fusion,
             config.encoder.finetune)
    # A small set gets enough epochs for min_steps (the learning rate suits a few hundred steps or more).
    epochs = max(config.train.epochs, math.ceil(config.min_steps / len(batches)))
    train_config = replace(config.train, epochs=epochs, lr=config.learning_rate)
    result = train_loop(classifier, batches, val_fn if val is not None and len(val) else None,
                        train_config, desc="intents", progress=progress, on_step=on_step)
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
