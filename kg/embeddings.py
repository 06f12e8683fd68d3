"""KG embeddings: train any PyKEEN model on a :class:`~kg.graph.KnowledgeGraph`, save tensors, score triples.

Entity ``i`` of the KG is row ``i`` of every embedding; relation ``r`` likewise. Training wraps
``pykeen.pipeline.pipeline`` (models resolve through PyKEEN's own ``model_resolver``); loading needs no
training stack: the saved representation tensors are scored with the model's PyKEEN interaction module.

>>> from kgagent.kg import KnowledgeGraph
>>> kg = KnowledgeGraph.from_triples([...])                                        # doctest: +SKIP
>>> result = train_embeddings(kg, config=KGEConfig(epochs=50), out_dir="ws/kge")  # doctest: +SKIP
>>> emb = KGEmbeddings.load("ws/kge")                                               # doctest: +SKIP
>>> emb.score_all([0], [kg.relation_id("directed_by")]).shape                      # doctest: +SKIP
(1, 43234)

Saved layout (``out_dir``):

- ``embeddings.safetensors``: ``entity.{i}`` / ``relation.{i}`` -- the output of the model's ``i``-th entity /
  relation representation for every id, shape ``(n, *shape_i)``; with inverse triples ``relation_inverse.{i}``
  holds the learned inverse relations (row ``r`` inverts relation ``r``); ``interaction.{name}`` -- parameters
  of the interaction module, if any. A complex-valued tensor of shape ``(n, *shape)`` is stored as a real
  ``(n, *shape, 2)`` float32 tensor with real part ``[..., 0]`` and imaginary part ``[..., 1]``
  (``torch.view_as_real``); ``config.json`` marks which ones are complex.
- ``config.json``: model name and kwargs, representation shapes, inverse-triples flag, the :class:`KGEConfig`.
- ``metrics.json``: filtered rank-based metrics on the held-out test split (``evaluated: false`` and null
  figures where a sparse KG leaves nothing to hold out; ``split_note`` says how a sparse KG was split).
- ``id_hash``: a hash of the entity/relation id maps, so embeddings trained on another KG are detected.

Flat vectors (:attr:`KGEmbeddings.entity_vectors`, :attr:`KGEmbeddings.relation_vectors`): per id, every
representation flattened and concatenated in order; a complex representation contributes its real parts
followed by its imaginary parts, so ComplEx/RotatE with ``dim=d`` give ``(n, 2d)`` float32.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import tempfile
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np

from kgagent.kg.config import check_ints, check_range
from kgagent.kg.errors import ConfigError, InputError, WorkspaceError
from kgagent.kg.io import atomic_dir, atomic_write_json, atomic_write_text
from kgagent.kg.process import env_default, gc_frozen, quiet_logger
from kgagent.kg.validate import parse, read_json, read_safetensors, read_text

if TYPE_CHECKING:
    import torch

    from kgagent.kg.graph import KnowledgeGraph

__all__ = ["KGEConfig", "KGEResult", "KGEmbeddings", "id_hash", "train_embeddings"]

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
FILES = ("embeddings.safetensors", "config.json", "metrics.json", "id_hash")

# Tuned defaults per model (normalized PyKEEN name -> model kwargs), merged under the user's own kwargs.
# ComplEx with PyKEEN's default N(0, 1) init and L2 regularizer barely learns under 1-N cross-entropy
# (UMLS test MRR 0.06); Xavier init without the regularizer reaches 0.91.
MODEL_DEFAULTS: dict[str, dict[str, Any]] = {
    "complex": {"entity_initializer": "xavier_normal_", "relation_initializer": "xavier_normal_",
                "regularizer": None},
    "distmult": {"regularizer": None},
}


def _default_pystow_home() -> str:
    return str(Path.home() / ".cache" / "kgagent" / "pystow")


# -------------------------------------------------------------------------------------------------- config
# What each training regime fills in where the config leaves it open (None). 1-N (LCWA) with softmax
# cross-entropy learns fastest per epoch but scores every entity for every (head, relation) pair; sLCWA scores a
# few sampled negatives per triple (softplus, as PyKEEN's sLCWA default), in large batches so the CPU stays busy.
REGIMES: dict[str, dict[str, Any]] = {
    "lcwa": {"loss": "crossentropy", "batch_size": 256, "negatives": 32},
    "slcwa": {"loss": "softplus", "batch_size": 4096, "negatives": 8},
}
# 'auto' takes 1-N while (training pairs x entities) per epoch stays under this: ~10 s an epoch on 2 CPU cores
# (MetaQA's 9.2e9 took 175 s an epoch there); a GPU does it ~100x faster.
ONE_TO_N_LIMIT = {"cpu": 5e8, "cuda": 5e10}
# 'auto' also bounds the entity table: at most this many floats (1 GB; training holds it about four times, with
# its gradient and Adam's two moments), counting two floats a dimension (complex models). A graph of millions of
# entities gets fewer dimensions rather than tens of GB.
ENTITY_FLOATS_LIMIT = 2.5e8
# sLCWA's optimizer step updates the whole entity table (dense Adam): on a large graph that, not the batch, is
# the cost of a step, so 'auto' grows the batch with the entities (about one scored triple per entity) up to this
SLCWA_MAX_BATCH = 65_536
# Under a time limit, evaluation scores every entity for each evaluated triple: the samples shrink to at most
# this many (triple, entity) scores per pass (MetaQA's 2,000 test triples x 43,234 entities stay whole)
EVAL_SCORES_LIMIT = 1e8


def choose_regime(config: KGEConfig, n_train: int, n_entities: int) -> tuple[KGEConfig, str]:
    """``config`` with its training loop, loss, batch size and negatives made concrete, and why that loop."""
    import torch

    loop = config.training_loop.lower()
    why = "as configured"
    if loop == "auto":
        device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
        pairs = n_train * (2 if config.inverse_triples else 1) * n_entities
        limit = ONE_TO_N_LIMIT["cuda" if str(device).startswith("cuda") else "cpu"]
        loop = "lcwa" if pairs <= limit else "slcwa"
        why = f"1-N would score {pairs:.2g} pairs an epoch ({'under' if loop == 'lcwa' else 'over'} {limit:.0e} " \
              f"on {device})"
    filled = {k: v if getattr(config, k) is None else getattr(config, k) for k, v in REGIMES[loop].items()}
    if config.training_loop.lower() == "auto" and loop == "slcwa" and config.batch_size is None:
        per_entity = 1 << max(0, int(n_entities / (1 + filled["negatives"])).bit_length() - 1)  # a power of 2
        if per_entity > filled["batch_size"]:
            filled["batch_size"] = min(SLCWA_MAX_BATCH, per_entity)
            why += f"; batches of {filled['batch_size']:,} (the optimizer updates {n_entities:,} entities a step)"
    if config.training_loop.lower() == "auto" and 2 * config.dim * n_entities > ENTITY_FLOATS_LIMIT:
        filled["dim"] = max(8, int(ENTITY_FLOATS_LIMIT / (2 * n_entities)))
        why += f"; dim {filled['dim']}: {n_entities:,} entities x {config.dim} dims would pass " \
               f"{ENTITY_FLOATS_LIMIT:.1e} floats"
    return replace(config, training_loop=loop, **filled), why


# Under a time limit an epoch must leave room for a few more: when this many epochs of all the training triples
# would not fit, each epoch trains on a seeded sample that does (PyKEEN cannot stop inside an epoch), and the
# entities left out of it get their neighbours' mean vectors (kg.kge_extend).
EPOCHS_IN_BUDGET = 3
PROBE_BATCHES = 2  # batches timed to price a training triple, after one that warms up (first touches memory)
# a warming batch that took more than this part of the limit prices the triple itself: on 750k entities one
# batch (a dense optimizer step over the whole entity table) took 15 s of a 69 s limit, and two more cost 30
WARM_PRICES = 0.1


def memory_search(device: str | None) -> bool:
    """Whether PyKEEN's training loops search a sub-batch size that fits memory: on a GPU, where it avoids running
    out; not on the CPU, where PyKEEN warns it is unsafe and each search costs a full extra batch per ``train``
    (45 s of a 3M-triple graph's KGE step)."""
    from pykeen.utils import resolve_device

    return resolve_device(device).type == "cuda"


def _seconds_per_triple(config: KGEConfig, model_kwargs: dict[str, Any], train: Any) -> float:
    """Seconds one training triple costs in an epoch, timed on ``PROBE_BATCHES`` batches of the real training loop
    (model, loss, negatives, optimizer) over a sample of ``train``."""
    from pykeen.models import model_resolver
    from pykeen.utils import resolve_device

    batch = max(1, int(config.batch_size or 1) // (2 if config.inverse_triples else 1))  # triples a batch
    warm, _ = _sample(train, batch, config.seed + 3)
    probe, _ = _sample(train, PROBE_BATCHES * batch, config.seed)
    model = model_resolver.make(config.model, model_kwargs, triples_factory=train, loss=config.loss,
                                loss_kwargs=config.loss_kwargs or None, random_seed=config.seed)
    model = model.to(resolve_device(config.device))
    extra = {"negative_sampler_kwargs": {"num_negs_per_pos": config.negatives}} \
        if config.training_loop == "slcwa" else {}

    def one_epoch(triples: Any) -> float:
        # a new loop each time: a loop's train() continues from the epochs it already ran
        loop = training_loop(config.training_loop)(
            model=model, triples_factory=triples, optimizer=config.optimizer, optimizer_kwargs={"lr": config.lr},
            automatic_memory_optimization=memory_search(config.device), **extra)
        t = time.perf_counter()
        loop.train(triples_factory=triples, num_epochs=1, batch_size=config.batch_size, use_tqdm=False)
        return time.perf_counter() - t

    warming = one_epoch(warm)
    if config.max_seconds is not None and warming > WARM_PRICES * config.max_seconds:
        return warming / max(1, len(warm.mapped_triples))  # an overestimate (it warms up too), but affordable
    return one_epoch(probe) / max(1, len(probe.mapped_triples))


def training_loop(name: str) -> Any:
    """The PyKEEN training loop (class) for ``name``: LCWA's with its batches cut from the sparse targets in one
    slice each (:class:`_RowSlices`), the others as PyKEEN has them."""
    from pykeen.training import LCWATrainingLoop, training_loop_resolver

    cls = training_loop_resolver.lookup(name)
    if cls is not LCWATrainingLoop:
        return cls

    class SlicedLCWATrainingLoop(LCWATrainingLoop):
        def _create_training_data_loader(self, triples_factory: Any, sampler: str | None, **kwargs: Any) -> Any:
            from torch.utils.data import DataLoader

            loader = super()._create_training_data_loader(triples_factory, sampler, **kwargs)
            return DataLoader(dataset=_RowSlices(loader.dataset), **kwargs)

    return SlicedLCWATrainingLoop


class _RowSlices:
    """PyKEEN's LCWA instances, a batch of them at a time: torch's DataLoader asks ``__getitems__`` for a batch's
    indices, answered by one slice of the sparse target matrix where PyKEEN slices a row per pair (a fifth of the
    demo graph's KGE step). The batches are the same."""

    def __init__(self, instances: Any) -> None:
        self.instances = instances

    def __len__(self) -> int:
        return len(self.instances)

    def __getitem__(self, item: int) -> Any:
        return self.instances[item]

    def __getitems__(self, items: list[int]) -> list[Any]:
        import torch

        if getattr(self.instances, "loss_weighter", None) is not None:  # per-pair weights: PyKEEN's own way
            return [self.instances[i] for i in items]
        rows = torch.from_numpy(self.instances.compressed[items].toarray())  # (b, n_targets)
        pairs = self.instances.pairs[items]
        return [{"pairs": pairs[k], "target": rows[k]} for k in range(len(items))]


def _eval_size(n: int | None, config: KGEConfig, kg: KnowledgeGraph) -> int | None:
    """Triples to evaluate: ``n``, and under a time limit at most ``EVAL_SCORES_LIMIT`` scores (at least 100)."""
    if config.max_seconds is None:
        return n
    fits = max(100, int(EVAL_SCORES_LIMIT / max(1, kg.num_entities)))
    return fits if n is None else min(n, fits)


def epoch_triples(config: KGEConfig, model_kwargs: dict[str, Any], train: Any) -> tuple[int, float | None]:
    """``(training triples per epoch, seconds per triple or None when not priced)``: all of them, unless
    ``EPOCHS_IN_BUDGET`` epochs of them would pass ``config.max_seconds``."""
    n = len(train.mapped_triples)
    if config.max_seconds is None or n < 4 * PROBE_BATCHES * int(config.batch_size or 1):
        return n, None  # no limit, or a few batches: an epoch costs about what pricing it would
    per_triple = _seconds_per_triple(config, model_kwargs, train)
    fits = int(config.max_seconds / EPOCHS_IN_BUDGET / per_triple)  # the pricing's own time is small beside it
    return min(n, max(fits, int(config.batch_size or 1))), per_triple


@dataclass
class KGEConfig:
    """How to train KG embeddings; the ``[kge]`` section of ``kgagent.toml``.

    The default -- ComplEx over inverse triples, 1-N scoring (LCWA) with softmax cross-entropy where an epoch of
    it is cheap (``choose_regime``), else sampled negatives (sLCWA) -- trains well and evaluates fast on the CPU
    (filtered evaluation is one matrix product per batch).
    """

    model: str = field(default="ComplEx", metadata={"help": "Any PyKEEN model name (model_resolver)."})
    dim: int = field(default=200, metadata={"help": "embedding_dim (complex models: complex dimensions)."})
    model_kwargs: dict[str, Any] = field(default_factory=dict, metadata={"help": "Extra model kwargs."})
    training_loop: str = field(default="auto", metadata={
        "help": "'lcwa' (1-N scoring), 'slcwa' (sampled negatives) or 'auto': 1-N where an epoch of it is cheap on "
                "the device (REGIMES, choose_regime)"})
    loss: str | None = field(default=None, metadata={"help": "Any PyKEEN loss name; None: the regime's."})
    loss_kwargs: dict[str, Any] = field(default_factory=dict)
    negatives: int | None = field(default=None, metadata={
        "help": "Negatives per positive (slcwa only); None: the regime's."})
    inverse_triples: bool = field(default=True, metadata={"help": "Learn inverse relations (r^-1)."})
    epochs: int = field(default=100, metadata={"help": "Maximum epochs; early stopping may end sooner."})
    batch_size: int | None = field(default=None, metadata={"help": "None: the regime's."})
    lr: float = 0.01
    optimizer: str = "adam"
    training_kwargs: dict[str, Any] = field(default_factory=dict, metadata={"help": "TrainingLoop.train()"})
    seed: int = 0
    split: tuple[float, float, float] = field(default=(0.8, 0.1, 0.1), metadata={"help": "train/valid/test."})
    early_stopping: bool = True
    frequency: int = field(default=5, metadata={"help": "Validate every this many epochs."})
    patience: int = field(default=2, metadata={"help": "Validations without improvement before stopping."})
    relative_delta: float = 0.002
    max_seconds: float | None = field(default=300.0, metadata={
        "help": "training time budget: no epoch starts after it (the best validated weights are kept); None: none"})
    eval_batch_size: int = field(default=64, metadata={"help": "Explicit: automatic growth eats RAM."})
    max_eval_triples: int | None = field(default=1000, metadata={"help": "Validation sample size."})
    max_test_triples: int | None = field(default=2000, metadata={
        "help": "Test sample size (evaluation scores every entity per triple); None: all."})
    device: str | None = field(default=None, metadata={"help": "torch device; None: GPU if available."})

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model.strip():
            raise ConfigError("kge.model: must be a PyKEEN model name such as 'ComplEx' or 'RotatE'")
        checks: dict[str, Any] = {"error": ConfigError, "prefix": "kge."}
        check_ints(self, "dim", "epochs", "frequency", "eval_batch_size", **checks)
        check_ints(self, "batch_size", "negatives", optional=True, **checks)
        check_ints(self, "patience", minimum=0, **checks)
        check_ints(self, "max_eval_triples", "max_test_triples", optional=True, **checks)
        check_range(self, "lr", high=10, low_open=True, high_open=True, **checks)
        check_range(self, "relative_delta", **checks)
        check_range(self, "max_seconds", low_open=True, optional=True, **checks)
        try:
            self.split = tuple(float(x) for x in self.split)  # type: ignore[assignment]  # TOML gives a list
        except (TypeError, ValueError) as e:
            raise ConfigError(f"kge.split: must be fractions (train, valid, test), got {self.split!r}") \
                from e
        if len(self.split) != 3 or min(self.split) <= 0 or not math.isclose(sum(self.split), 1, abs_tol=1e-6):
            raise ConfigError(f"kge.split: must be three positive fractions summing to 1, got {self.split!r}")
        if self.training_loop.lower() not in ("auto", *REGIMES):
            raise ConfigError(f"kge.training_loop: must be 'auto', 'lcwa' or 'slcwa', got {self.training_loop!r}")
        for name in ("model_kwargs", "loss_kwargs", "training_kwargs"):
            value = getattr(self, name)
            if not isinstance(value, dict):
                raise ConfigError(f"kge.{name}: must be a table/dict, got {type(value).__name__}")
            try:
                json.dumps(value)
            except TypeError as e:  # saved in config.json next to the tensors
                raise ConfigError(f"kge.{name}: values must be JSON-serializable (names, not classes): {e}") \
                    from e
        reserved = {"num_epochs", "batch_size", "stopper"} & set(self.training_kwargs)
        if reserved:
            raise ConfigError(f"kge.training_kwargs: set {', '.join(sorted(reserved))} through the config "
                              "fields (epochs, batch_size, early_stopping)")

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> KGEConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})


# -------------------------------------------------------------------------------------------------- helpers
def id_hash(kg: KnowledgeGraph) -> str:
    """SHA-256 of the entity keys and relation names in id order: equal iff the id maps are equal."""
    payload = json.dumps([list(kg.entities), list(kg.relations)], ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Spec:
    """One saved representation: tensor name, per-id shape (without the complex axis), complex or not."""

    name: str
    shape: tuple[int, ...]
    complex: bool

    @property
    def flat_dim(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * (2 if self.complex else 1)


def _flatten(tensors: list[torch.Tensor], specs: list[_Spec]) -> torch.Tensor:
    """``[(n, *shape_i)]`` (complex or real) -> ``(n, sum flat_dim_i)`` real (complex: real, then imag)."""
    import torch

    parts = []
    for x, s in zip(tensors, specs, strict=True):
        x = x.reshape(x.shape[0], -1)
        parts.extend((x.real, x.imag) if s.complex else (x,))
    return torch.cat(parts, dim=-1).float()


def _unflatten(flat: torch.Tensor, specs: list[_Spec]) -> list[torch.Tensor]:
    """Inverse of :func:`_flatten`: ``(..., D)`` -> ``[(..., *shape_i)]`` in PyKEEN's layout."""
    import torch

    out, pos = [], 0
    for s in specs:
        n = s.flat_dim
        part = flat[..., pos: pos + n]
        pos += n
        if s.complex:
            half = n // 2
            part = torch.complex(part[..., :half], part[..., half:])
        out.append(part.reshape(*part.shape[:-1], *s.shape))
    return out


def _flat_dim(specs: list[dict[str, Any]]) -> int:
    return sum(_Spec(s["name"], tuple(s["shape"]), s["complex"]).flat_dim for s in specs)


def _unwrap(xs: list[torch.Tensor]) -> torch.Tensor | list[torch.Tensor]:
    """PyKEEN interactions take a single tensor where a slot has one representation, else a list."""
    return xs[0] if len(xs) == 1 else xs


# PyKEEN resolves its data folder at import; without PYSTOW_HOME it writes to ~/.data. Set while our calls run.
_pystow_home = env_default("PYSTOW_HOME", _default_pystow_home())


@_pystow_home
def _build_interaction(model: str, model_kwargs: dict[str, Any], inverse_triples: bool,
                       state: dict[str, torch.Tensor]) -> torch.nn.Module:
    """The model's PyKEEN interaction, with the kwargs the model passes it: built through ``model_resolver``
    on a one-entity KG (cheap), then loaded with the trained interaction parameters (e.g. TuckER's core)."""
    import torch
    from pykeen.models import model_resolver
    from pykeen.triples import KGInfo

    # Building draws a random init (discarded): keep the caller's RNG stream, and PyKEEN's "no random seed"
    # warning, out of it.
    with quiet_logger("pykeen.models.base"), torch.random.fork_rng():
        info = KGInfo(num_entities=1, num_relations=1, create_inverse_triples=inverse_triples)
        tiny = model_resolver.make(model, triples_factory=info, **model_kwargs)
    interaction = tiny.interaction
    interaction.load_state_dict(state, strict=True)
    return interaction.eval()


# -------------------------------------------------------------------------------------------------- loading
class KGEmbeddings:
    """Trained KG embeddings loaded from a folder; scores triples with the model's PyKEEN interaction.

    Needs torch and ``pykeen.models`` (for the interaction), never the training pipeline.
    """

    def __init__(self, info: dict[str, Any], tensors: dict[str, torch.Tensor], metrics: dict[str, Any],
                 *, path: Path | None = None) -> None:
        import torch

        self.info = info
        self.tensors = tensors  # the saved layout (complex as real (..., 2)); see the module docstring
        self.metrics = metrics
        self.path = path
        self.config = KGEConfig.from_dict(info["kge_config"])
        self.model_name: str = info["model"]
        self.num_entities: int = int(info["num_entities"])
        self.num_relations: int = int(info["num_relations"])
        self.id_hash: str = info["id_hash"]
        specs = {k: [_Spec(s["name"], tuple(s["shape"]), bool(s["complex"])) for s in v]
                 for k, v in info["representations"].items()}
        self._ent_specs: list[_Spec] = specs["entity"]
        self._rel_specs: list[_Spec] = specs["relation"]

        def get(spec: _Spec) -> torch.Tensor:
            x = tensors[spec.name]
            return torch.view_as_complex(x.contiguous()) if spec.complex else x

        # PyKEEN-layout tensors: entity reps [(n_e, *shape_i)], relation reps [(n_r, *shape_j)]
        self._ent = [get(s) for s in self._ent_specs]
        self._rel = [get(s) for s in self._rel_specs]
        self._rel_inv = [get(s) for s in specs.get("relation_inverse", [])]
        for reps, n in ((self._ent, self.num_entities), (self._rel + self._rel_inv, self.num_relations)):
            for x in reps:
                if x.shape[0] != n:
                    raise WorkspaceError(f"{path}: a representation has {x.shape[0]} rows, expected {n}")
        pre = "interaction."
        self._interaction_state = {k.removeprefix(pre): v for k, v in tensors.items() if k.startswith(pre)}
        self._interaction: torch.nn.Module | None = None
        self._entity_vectors: np.ndarray | None = None
        self._relation_vectors: np.ndarray | None = None

    @property
    def interaction(self) -> torch.nn.Module:
        """The model's PyKEEN interaction module, built on first use (vectors alone need no PyKEEN import)."""
        if self._interaction is None:
            self._interaction = _build_interaction(self.model_name, self.info["model_kwargs"],
                                                   self.info["inverse_triples"], self._interaction_state)
        return self._interaction

    @property
    def _head_idx(self) -> list[int]:
        return list(self.interaction.head_indices)

    @property
    def _tail_idx(self) -> list[int]:
        return list(self.interaction.tail_indices)

    # ------------------------------------------------------------------------------------- i/o
    @classmethod
    def load(cls, directory: str | Path) -> KGEmbeddings:
        """Read embeddings saved by :func:`train_embeddings`."""
        d = Path(directory)
        missing = [f for f in FILES if not (d / f).is_file()]
        if missing:
            raise WorkspaceError(f"{d}: not a saved KGE (missing {', '.join(missing)}); "
                                 "run `kgagent train kge WS`")
        info = read_json(d / "config.json")
        metrics = read_json(d / "metrics.json")
        if info.get("format_version") != FORMAT_VERSION:
            raise WorkspaceError(f"{d}/config.json: format_version {info.get('format_version')!r} is not "
                                 f"{FORMAT_VERSION}; retrain with `kgagent train kge WS`")
        tensors = read_safetensors(d / "embeddings.safetensors")
        stored_hash = read_text(d / "id_hash").strip()
        if stored_hash != info.get("id_hash"):
            raise WorkspaceError(f"{d}: id_hash does not match config.json; the folder is inconsistent, "
                                 "run `kgagent train kge WS`")
        return parse(d / "embeddings.safetensors", "embeddings (tensors or config.json do not match)",
                     lambda: cls(info, tensors, metrics, path=d))

    def save(self, directory: str | Path) -> None:
        """Write tensors, config, metrics and id hash to ``directory``, atomically (all files or none)."""
        from safetensors.torch import save_file

        with atomic_dir(directory) as tmp_dir:
            save_file(self.tensors, str(tmp_dir / "embeddings.safetensors"),
                      metadata={"format": "kgagent-kge", "version": str(FORMAT_VERSION)})
            atomic_write_json(tmp_dir / "config.json", self.info)
            atomic_write_json(tmp_dir / "metrics.json", self.metrics)
            atomic_write_text(tmp_dir / "id_hash", self.info["id_hash"] + "\n")
        self.path = Path(directory)

    def check(self, kg: KnowledgeGraph) -> None:
        """Raise :class:`WorkspaceError` unless these embeddings were trained on ``kg``'s id maps."""
        if id_hash(kg) != self.id_hash:
            raise WorkspaceError(
                f"{self.path or 'KGE'}: embeddings were trained on a different KG ({self.num_entities} "
                f"entities, {self.num_relations} relations; this KG has {kg.num_entities}, "
                f"{kg.num_relations}); run `kgagent train kge WS` again")

    # ------------------------------------------------------------------------------------- vectors
    @property
    def entity_vectors(self) -> np.ndarray:
        """``(n_e, d)`` float32; complex models: real parts then imaginary parts (see module docstring)."""
        if self._entity_vectors is None:
            self._entity_vectors = _flatten(self._ent, self._ent_specs).numpy()
        return self._entity_vectors

    @property
    def relation_vectors(self) -> np.ndarray:
        """``(n_r, d_r)`` float32 of the forward relations, in the flat layout of :attr:`entity_vectors`."""
        if self._relation_vectors is None:
            self._relation_vectors = _flatten(self._rel, self._rel_specs).numpy()
        return self._relation_vectors

    @property
    def inverse_relation_vectors(self) -> np.ndarray | None:
        """``(n_r, d_r)`` float32: row ``r`` is the learned inverse of relation ``r`` (None without)."""
        return _flatten(self._rel_inv, self._rel_specs).numpy() if self._rel_inv else None

    @property
    def dim(self) -> int:
        return int(self.entity_vectors.shape[1])

    @property
    def relation_dim(self) -> int:
        return sum(s.flat_dim for s in self._rel_specs)

    @property
    def has_inverse(self) -> bool:
        """Whether inverse relations were learned (then tail -> head scoring uses them)."""
        return bool(self._rel_inv)

    def entity_vector(self, ids: int | np.ndarray | list[int]) -> np.ndarray:
        """Rows of :attr:`entity_vectors`: ``(d,)`` for an int, ``(k, d)`` for ``k`` ids."""
        return self.entity_vectors[self._ids(ids, self.num_entities, "entity")]

    def relation_vector(self, ids: int | np.ndarray | list[int]) -> np.ndarray:
        """Rows of :attr:`relation_vectors`: ``(d_r,)`` for an int, ``(k, d_r)`` for ``k`` ids."""
        return self.relation_vectors[self._ids(ids, self.num_relations, "relation")]

    @staticmethod
    def _ids(ids: Any, n: int, what: str) -> Any:
        arr = np.asarray(ids, dtype=np.int64)
        if arr.size and (arr.min() < 0 or arr.max() >= n):
            raise IndexError(f"{what} id out of range [0, {n}): {arr[(arr < 0) | (arr >= n)][:5].tolist()}")
        return int(arr) if arr.ndim == 0 else arr

    # ------------------------------------------------------------------------------------- scoring
    def _rep(self, reps: list[torch.Tensor], which: list[int] | None, index: Any) -> torch.Tensor | list:
        chosen = reps if which is None else [reps[i] for i in which]
        return _unwrap([x[index] for x in chosen])

    def score(self, h: int | np.ndarray, r: int | np.ndarray, tails: np.ndarray | list[int]) -> np.ndarray:
        """Scores of ``(h, r, t)`` for each ``t`` in ``tails`` (higher is more plausible).

        ``h``, ``r`` ints and ``tails`` ``(k,)`` -> ``(k,)``; ``h``, ``r`` ``(b,)`` and ``tails`` ``(b, k)``
        or ``(k,)`` -> ``(b, k)``.
        """
        import torch

        scalar = np.ndim(h) == 0 and np.ndim(r) == 0
        hi = torch.as_tensor(np.atleast_1d(self._ids(h, self.num_entities, "entity")))  # (b,)
        ri = torch.as_tensor(np.atleast_1d(self._ids(r, self.num_relations, "relation")))  # (b,)
        ti = torch.as_tensor(self._ids(tails, self.num_entities, "entity"))  # (k,) or (b, k)
        if ti.ndim == 1:
            ti = ti.unsqueeze(0)  # (1, k): broadcast over the batch
        with torch.inference_mode():
            hr = self._rep(self._ent, self._head_idx, hi.unsqueeze(1))  # (b, 1, *shape)
            rr = self._rep(self._rel, None, ri.unsqueeze(1))  # (b, 1, *shape)
            tr = self._rep(self._ent, self._tail_idx, ti)  # (b|1, k, *shape)
            scores = self.interaction(h=hr, r=rr, t=tr).float().numpy()  # (b, k)
        return scores[0] if scalar else scores

    def score_all(self, h: int | np.ndarray, r: int | np.ndarray, *, inverse: bool = False,
                  chunk_size: int | None = None) -> np.ndarray:
        """Scores of ``(h, r, e)`` for every entity ``e``: ``(b,)`` heads, relations -> ``(b, n_e)`` float32.

        ``inverse=True`` scores ``(e, r, h)`` instead (walking ``r^-1`` from ``h``), through the learned
        inverse relation when there is one. EmbedKGQA-style answer scoring: see :meth:`score_all_vectors`.
        """
        import torch

        scalar = np.ndim(h) == 0 and np.ndim(r) == 0
        hi = torch.as_tensor(np.atleast_1d(self._ids(h, self.num_entities, "entity")))
        ri = torch.as_tensor(np.atleast_1d(self._ids(r, self.num_relations, "relation")))
        with torch.inference_mode():
            out = self._score_all_ids(hi, ri, inverse=inverse, chunk_size=chunk_size).float().numpy()
        return out[0] if scalar else out

    def score_all_vectors(self, h: torch.Tensor | np.ndarray, relation_vectors: torch.Tensor,
                          *, chunk_size: int | None = None) -> torch.Tensor:
        """Differentiable ``(b, n_e)`` scores of heads ``h`` ``(b,)`` with relation vectors ``(b, d_r)`` in
        the flat layout of :attr:`relation_vectors` (e.g. a question encoder's output), against all entities.
        """
        import torch

        hi = torch.as_tensor(np.asarray(h, dtype=np.int64)).reshape(-1)
        rr = _unflatten(relation_vectors.reshape(hi.shape[0], -1), self._rel_specs)  # [(b, *shape_j)]
        hr = [x[hi] for x in (self._ent[i] for i in self._head_idx)]  # [(b, *shape_i)]
        return self._against_all(hr, rr, tail_side=True, chunk_size=chunk_size)

    def _score_all_ids(self, hi: torch.Tensor, ri: torch.Tensor, *, inverse: bool,
                       chunk_size: int | None) -> torch.Tensor:
        heads = [self._ent[i][hi] for i in self._head_idx]  # [(b, *shape)]
        if not inverse:
            return self._against_all(heads, [x[ri] for x in self._rel], tail_side=True, chunk_size=chunk_size)
        if self._rel_inv:  # (e, r, h) scored the way the model was trained: (h, r^-1, e)
            rel_inv = [x[ri] for x in self._rel_inv]
            return self._against_all(heads, rel_inv, tail_side=True, chunk_size=chunk_size)
        tails = [self._ent[i][hi] for i in self._tail_idx]
        return self._against_all(tails, [x[ri] for x in self._rel], tail_side=False, chunk_size=chunk_size)

    def _against_all(self, fixed: list[torch.Tensor], rel: list[torch.Tensor], *, tail_side: bool,
                     chunk_size: int | None) -> torch.Tensor:
        """Score ``fixed`` entity reps ``[(b, *s)]`` and relations ``[(b, *s)]`` against all entities, in
        chunks so that non-bilinear interactions (RotatE, TransE: a ``(b, chunk, d)`` intermediate) stay
        within memory."""
        import torch

        b = fixed[0].shape[0]
        per_entity = sum(int(np.prod(x.shape[1:], dtype=np.int64)) for x in self._ent) or 1
        chunk = chunk_size or max(256, (1 << 24) // max(1, b * per_entity))  # ~16M elements per intermediate
        slot = self._tail_idx if tail_side else self._head_idx
        fixed_u = _unwrap([x.unsqueeze(1) for x in fixed])  # (b, 1, *s)
        rel_u = _unwrap([x.unsqueeze(1) for x in rel])  # (b, 1, *s)
        out = []
        for start in range(0, self.num_entities, chunk):
            others = _unwrap([self._ent[i][start: start + chunk].unsqueeze(0) for i in slot])  # (1, c, *s)
            if tail_side:
                out.append(self.interaction(h=fixed_u, r=rel_u, t=others))  # (b, c)
            else:
                out.append(self.interaction(h=others, r=rel_u, t=fixed_u))  # (b, c)
        return torch.cat(out, dim=1) if out else torch.zeros(b, 0)

    def __repr__(self) -> str:
        return (f"KGEmbeddings(model={self.model_name!r}, entities={self.num_entities}, "
                f"relations={self.num_relations}, dim={self.dim}, mrr={self.metrics.get('mrr')})")


# -------------------------------------------------------------------------------------------------- training
@dataclass
class KGEResult:
    """What :func:`train_embeddings` returns: metrics, the embeddings (saved form), the PyKEEN model."""

    metrics: dict[str, Any]
    config: KGEConfig
    embeddings: KGEmbeddings
    model: Any = field(repr=False)  # the trained pykeen ERModel
    losses: list[float] = field(default_factory=list, repr=False)
    out_dir: Path | None = None


def _sample(tf: Any, n: int | None, seed: int) -> tuple[Any, Any]:
    """``(sample factory, rest)``: at most ``n`` triples drawn with ``seed``; ``rest`` is ``(m, 3)``."""
    import torch

    triples = tf.mapped_triples
    if n is None or n >= len(triples):
        return tf, triples[:0]
    perm = torch.as_tensor(np.random.default_rng(seed).permutation(len(triples)))
    return tf.clone_and_exchange_triples(mapped_triples=triples[perm[:n]]), triples[perm[n:]]


def _triples_factory(kg: KnowledgeGraph, inverse: bool) -> Any:
    import torch
    from pykeen.triples import TriplesFactory

    # ids = the KG's ids, so entity i of the KG is row i of every representation
    return TriplesFactory(
        mapped_triples=torch.as_tensor(kg.triples, dtype=torch.long),
        entity_to_id={e: i for i, e in enumerate(kg.entities)},
        relation_to_id={r: i for i, r in enumerate(kg.relations)},
        create_inverse_triples=inverse,
    )


class _Split(NamedTuple):
    """Train/valid/test factories; ``note`` says why the split is not PyKEEN's (None when it is)."""

    train: Any
    valid: Any
    test: Any
    note: str | None = None


def covered_holdout(triples: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Indices of at most ``size`` triples, drawn in a seeded random order, whose removal leaves every entity and
    relation with at least one triple: the held-out part of a sparse KG that PyKEEN's splitter cannot cover."""
    ent = np.bincount(triples[:, [0, 2]].ravel(), minlength=int(triples[:, [0, 2]].max(initial=-1)) + 1)
    rel = np.bincount(triples[:, 1])
    held: list[int] = []
    for i in np.random.default_rng(seed).permutation(len(triples)):
        if len(held) >= size:
            break
        h, r, t = (int(x) for x in triples[i])
        need = 2 if h == t else 1  # a self-loop is both ends of one triple
        if ent[h] > need and ent[t] > need and rel[r] > 1:
            ent[h] -= 1
            ent[t] -= 1
            rel[r] -= 1
            held.append(int(i))
    return np.array(sorted(held), dtype=np.int64)


def _split(kg: KnowledgeGraph, config: KGEConfig) -> _Split:
    """Seeded train/valid/test split; PyKEEN's splitter moves triples into train until it covers every
    entity and relation of valid and test.

    Where it cannot (more entities than triples: most entities seen once), only triples whose entities and
    relation stay covered by the rest are held out (:func:`covered_holdout`, fewer than asked); where not even
    two can be, every triple trains and ``valid``/``test`` are empty: nothing is evaluated, and the note says why.
    """
    if kg.num_triples < 10:
        raise InputError(f"the KG has {kg.num_triples} triples; at least 10 are needed to train and evaluate "
                         "embeddings", field="triples")
    tf = _triples_factory(kg, config.inverse_triples)
    try:
        train, valid, test = tf.split(list(config.split), random_state=config.seed)
        if len(valid.mapped_triples) and len(test.mapped_triples):
            return _Split(train, valid, test)
        reason = "every triple is needed in training to cover the entities"
    except ValueError as e:  # "Could not find a coverage of all entities and relation with only N triples"
        reason = f"PyKEEN's split cannot cover every entity ({e})"
    triples = tf.mapped_triples.numpy()
    asked = round(len(triples) * (1 - config.split[0]))
    held = covered_holdout(triples, asked, config.seed)
    rest = np.setdiff1d(np.arange(len(triples)), held)
    n_valid = round(len(held) * config.split[1] / (config.split[1] + config.split[2]))
    parts = [rest, held[:n_valid], held[n_valid:]] if 1 <= n_valid < len(held) else [np.arange(len(triples))]
    exchange = [tf.clone_and_exchange_triples(mapped_triples=tf.mapped_triples[p]) for p in parts]
    if len(exchange) == 1:
        note = f"{reason}; no triple can be held out without losing one: trained on all, not evaluated"
        log.warning("KGE split: %s", note)
        return _Split(exchange[0], None, None, note)
    note = (f"{reason}; held out {len(held)} of {len(triples)} triples (asked {asked}) whose entities and relation "
            "stay covered by the rest")
    log.warning("KGE split: %s", note)
    return _Split(*exchange, note)


def _budget_callback(seconds: float, state: dict[str, bool]) -> Any:
    """A training callback that ends training after the epoch when another as long as the longest so far would
    pass ``seconds`` (PyKEEN's own early stopping callback ends it the same way; the loop then restores the best
    validated weights). The first epoch always runs: PyKEEN cannot stop inside one."""
    from pykeen.training.callbacks import TrainingCallback

    start = time.perf_counter()
    last = [start, 0.0]  # end of the previous epoch, longest epoch (validation included)

    class Budget(TrainingCallback):
        def post_epoch(self, epoch: int, epoch_loss: float, **kwargs: Any) -> None:
            now = time.perf_counter()
            last[1] = max(last[1], now - last[0])
            last[0] = now
            if now - start + last[1] > seconds:
                state["stopped"] = True
                self.training_loop._should_stop = True

    return Budget()


def _restore_best_callback(path: Path) -> Any:
    """A training callback that reloads the best validated weights when training ends at ``epochs`` (PyKEEN's
    early stopper restores them only when it stops training itself, and then deletes the file)."""
    import torch
    from pykeen.training.callbacks import TrainingCallback

    class RestoreBest(TrainingCallback):
        def post_train(self, losses: list[float], **kwargs: Any) -> None:
            if path.is_file():
                self.model.load_state_dict(torch.load(path, weights_only=True))

    return RestoreBest()


def _reps(model: Any, which: str) -> list[torch.Tensor]:
    """Every representation's output for all ids: ``[(n, *shape_i)]`` (constraints/normalization applied)."""
    return [rep(indices=None).detach().cpu() for rep in getattr(model, f"{which}_representations")]


def _export(model: Any, kg: KnowledgeGraph, config: KGEConfig, model_name: str, model_kwargs: dict[str, Any],
            ) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """``(config.json content, safetensors dict)`` of a trained ERModel, in the documented layout."""
    import torch

    tensors: dict[str, torch.Tensor] = {}
    specs: dict[str, list[dict[str, Any]]] = {"entity": [], "relation": []}
    model.eval()
    with torch.inference_mode():
        ent = _reps(model, "entity")
        rel = _reps(model, "relation")
    groups: dict[str, list[torch.Tensor]] = {"entity": ent}
    if model.use_inverse_triples:
        # PyKEEN's relation inverter: relation r is row 2r, its inverse row 2r + 1
        groups["relation"] = [x[0::2] for x in rel]
        groups["relation_inverse"] = [x[1::2] for x in rel]
        specs["relation_inverse"] = []
    else:
        groups["relation"] = rel
    for group, xs in groups.items():
        for i, x in enumerate(xs):
            name = f"{group}.{i}"
            cplx = torch.is_complex(x)
            specs[group].append({"name": name, "shape": list(x.shape[1:]), "complex": cplx})
            tensors[name] = (torch.view_as_real(x) if cplx else x).float().contiguous().clone()
    for k, v in model.interaction.state_dict().items():
        tensors[f"interaction.{k}"] = v.detach().cpu().contiguous().clone()
    from importlib import metadata

    info = {
        "format_version": FORMAT_VERSION,
        "model": model_name,
        "model_class": type(model).__name__,
        "model_kwargs": model_kwargs,
        "interaction": type(model.interaction).__name__,
        "inverse_triples": bool(model.use_inverse_triples),
        "num_entities": kg.num_entities,
        "num_relations": kg.num_relations,
        "entity_dim": _flat_dim(specs["entity"]),
        "relation_dim": _flat_dim(specs["relation"]),
        "representations": specs,
        "complex_layout": "complex tensors stored as real (..., 2): [..., 0] real, [..., 1] imaginary",
        "id_hash": id_hash(kg),
        "kge_config": asdict(config),
        "versions": {p: metadata.version(p) for p in ("pykeen", "torch")},
    }
    return info, tensors


_METRIC_KEYS = ("mrr", "hits_at_1", "hits_at_3", "hits_at_10", "mean_rank", "mrr_tail", "mrr_head")


def _fill_unfitted(kg: KnowledgeGraph, info: dict[str, Any], tensors: dict[str, torch.Tensor],
                   fitted: np.ndarray) -> dict[str, int]:
    """Give the entities no ``fitted`` triple trained the mean rows of their neighbours (in place); the counts.
    Test figures were measured before, with those entities' random rows."""
    from kgagent.kg.kge_extend import fill_from_neighbours

    known = np.zeros(kg.num_entities, dtype=bool)
    known[fitted[:, 0]] = known[fitted[:, 2]] = True
    tr = kg.triples
    src, dst = np.concatenate([tr[:, 0], tr[:, 2]]), np.concatenate([tr[:, 2], tr[:, 0]])
    names = [spec["name"] for spec in info["representations"]["entity"]]
    stats = fill_from_neighbours([tensors[k] for k in names], known, src, dst)
    return {"entities_unfitted": int((~known).sum()), **stats}


def _metrics(results: Any) -> dict[str, float]:
    get = results.get_metric
    return {
        "mrr": float(get("both.realistic.inverse_harmonic_mean_rank")),
        "hits_at_1": float(get("both.realistic.hits_at_1")),
        "hits_at_3": float(get("both.realistic.hits_at_3")),
        "hits_at_10": float(get("both.realistic.hits_at_10")),
        "mean_rank": float(get("both.realistic.arithmetic_mean_rank")),
        "mrr_tail": float(get("tail.realistic.inverse_harmonic_mean_rank")),
        "mrr_head": float(get("head.realistic.inverse_harmonic_mean_rank")),
    }


def _verify(embeddings: KGEmbeddings, model: Any, kg: KnowledgeGraph, n: int = 16) -> None:
    """Saved tensors + rebuilt interaction must reproduce the trained model's scores; fail before writing."""
    import torch

    hrt = torch.as_tensor(kg.triples[:n])
    with torch.inference_mode():
        expected = model.predict_hrt(hrt).reshape(-1).cpu().numpy()
    got = np.array([embeddings.score(int(h), int(r), [int(t)])[0] for h, r, t in kg.triples[:n]])
    if not np.allclose(got, expected, rtol=1e-3, atol=1e-4):
        raise ConfigError(f"kge.model: {embeddings.model_name!r} cannot be served from its saved "
                          "representations (scores differ after reload); choose a model such as ComplEx, "
                          "RotatE, TransE, DistMult")


@_pystow_home
def train_embeddings(
    kg: KnowledgeGraph,
    *,
    config: KGEConfig | None = None,
    model: str | None = None,
    model_kwargs: dict[str, Any] | None = None,
    training_kwargs: dict[str, Any] | None = None,
    out_dir: str | Path | None = None,
    progress: bool = True,
) -> KGEResult:
    """Train a PyKEEN model on ``kg`` with a seeded split, early stopping on a validation sample, and filtered
    rank-based evaluation on the test split; save into ``out_dir`` (atomically) when given.

    ``model``/``model_kwargs``/``training_kwargs`` override the matching fields of ``config``.
    """
    config = config or KGEConfig()
    overrides: dict[str, Any] = {}
    if model is not None:
        overrides["model"] = model
    if model_kwargs is not None:
        overrides["model_kwargs"] = {**config.model_kwargs, **model_kwargs}
    if training_kwargs is not None:
        overrides["training_kwargs"] = {**config.training_kwargs, **training_kwargs}
    if overrides:
        config = KGEConfig(**{**asdict(config), **overrides})

    from pykeen.models import ERModel, model_resolver
    from pykeen.pipeline import pipeline

    try:
        model_cls = model_resolver.lookup(config.model)
    except (KeyError, ValueError) as e:
        raise ConfigError(f"kge.model: unknown PyKEEN model {config.model!r}; known: "
                          f"{', '.join(sorted(model_resolver.lookup_dict))}") from e
    if not issubclass(model_cls, ERModel):
        raise ConfigError(f"kge.model: {config.model!r} has no entity/relation representations to save")
    name = model_resolver.normalize_cls(model_cls)
    train, valid, test, split_note = _split(kg, config)
    config, regime = choose_regime(config, len(train.mapped_triples), kg.num_entities)
    kwargs = {**MODEL_DEFAULTS.get(name, {}), "embedding_dim": config.dim, **config.model_kwargs}
    log.info("KGE: %s (%s)", config.training_loop, regime)
    t_price = time.perf_counter()
    # PyKEEN collects garbage after every epoch: the objects of now (its own among them) are left out of it
    with gc_frozen():
        n_epoch, per_triple = epoch_triples(config, kwargs, train)
    if per_triple is not None:  # pricing took its part of the time
        config = replace(config, max_seconds=max(1.0, config.max_seconds - (time.perf_counter() - t_price)))
    fitted, unfitted = _sample(train, n_epoch, config.seed + 2)  # every training triple, or an epoch's sample
    if len(unfitted):
        log.warning("KGE: an epoch of %d triples would not leave room for %d epochs in %.0f s; each trains on "
                    "a seeded sample of %d", len(train.mapped_triples), EPOCHS_IN_BUDGET, config.max_seconds,
                    n_epoch)
    evaluated = test is not None
    if evaluated:
        valid_eval, valid_rest = _sample(valid, _eval_size(config.max_eval_triples, config, kg), config.seed)
        test_eval, test_rest = _sample(test, _eval_size(config.max_test_triples, config, kg), config.seed + 1)
    else:  # PyKEEN's pipeline always tests: one training triple stands in, and its figures are not reported
        valid_eval, valid_rest, test_rest = None, train.mapped_triples[:0], train.mapped_triples[:0]
        test_eval = _sample(train, 1, config.seed)[0]
    # Filtered setting: every known triple is filtered, also valid/test triples left out of the samples.
    filters = [x for x in (valid_rest, test_rest, unfitted) if len(x)]
    early_stopping = config.early_stopping and evaluated

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="kge-") as tmp, gc_frozen():
        best = Path(tmp) / "best.pt"  # not pystow's shared checkpoints folder
        budget: dict[str, bool] = {"stopped": False}
        callbacks = [_restore_best_callback(best)]
        if config.max_seconds is not None:
            callbacks.append(_budget_callback(config.max_seconds, budget))
        stopper_kwargs = {"frequency": config.frequency, "patience": config.patience, "metric": "mrr",
                          "relative_delta": config.relative_delta,
                          "evaluation_batch_size": config.eval_batch_size, "best_model_path": best}
        try:
            res = pipeline(
                training=fitted, validation=valid_eval, testing=test_eval,
                model=config.model, model_kwargs=kwargs,
                loss=config.loss, loss_kwargs=config.loss_kwargs or None,
                training_loop=training_loop(config.training_loop.lower()),
                training_loop_kwargs={"automatic_memory_optimization": memory_search(config.device)},
                negative_sampler_kwargs={"num_negs_per_pos": config.negatives},  # ignored by lcwa
                optimizer=config.optimizer, optimizer_kwargs={"lr": config.lr},
                epochs=config.epochs,
                training_kwargs={"batch_size": config.batch_size, "use_tqdm_batch": progress,
                                 "callbacks": callbacks, **config.training_kwargs},
                stopper="early" if early_stopping else None,
                stopper_kwargs=stopper_kwargs if early_stopping else None,
                evaluator="rankbased",
                evaluator_kwargs={"filtered": True, "batch_size": config.eval_batch_size},
                evaluation_kwargs={"batch_size": config.eval_batch_size,
                                   "additional_filter_triples": filters},
                random_seed=config.seed, device=config.device, use_tqdm=progress,
            )
        except (TypeError, ValueError, KeyError) as e:
            raise ConfigError(f"kge: PyKEEN rejected the configuration ({type(e).__name__}: {e})") from e
    stopper = res.stopper
    seconds = time.perf_counter() - t0

    metrics: dict[str, Any] = {
        **(_metrics(res.metric_results) if evaluated else dict.fromkeys(_METRIC_KEYS)),
        "evaluated": evaluated,
        "split_note": split_note,
        "model": name,
        "epochs": len(res.losses),
        "best_epoch": getattr(stopper, "best_epoch", None),
        "stopped_early": bool(getattr(stopper, "stopped", False)),
        "stopped_by_budget": budget["stopped"],
        "training_loop": config.training_loop,
        "regime": regime,
        "seconds": round(seconds, 2),
        "train_seconds": round(float(res.train_seconds), 2),
        "n_train": len(train.mapped_triples),
        "epoch_triples": n_epoch,
        "seconds_per_triple": per_triple,
        "n_valid": len(valid.mapped_triples) if evaluated else 0,
        "n_test": len(test.mapped_triples) if evaluated else 0,
        "n_test_evaluated": len(test_eval.mapped_triples) if evaluated else 0,
        "n_valid_evaluated": len(valid_eval.mapped_triples) if evaluated else 0,
    }
    info, tensors = _export(res.model, kg, config, name, kwargs)
    info["metrics"] = metrics
    embeddings = KGEmbeddings(info, tensors, metrics)
    _verify(embeddings, res.model, kg)
    if len(unfitted):
        metrics.update(_fill_unfitted(kg, info, tensors, fitted.mapped_triples.numpy()))
        embeddings = KGEmbeddings(info, tensors, metrics)

    out = Path(out_dir) if out_dir is not None else None
    if out is not None:
        embeddings.save(out)
    if evaluated:
        log.info("KGE %s: mrr %.3f hits@10 %.3f in %.0fs", name, metrics["mrr"], metrics["hits_at_10"], seconds)
    return KGEResult(metrics=metrics, config=config, embeddings=embeddings, model=res.model,
                     losses=[float(x) for x in res.losses], out_dir=out)

