"""``FusedEncoder``: a BERT-family encoder (optionally with peft LoRA) with KGE entity vectors fused in.

Fusion modes (``EncoderConfig.fusion``):

- ``tokens``: the entity vector of a linked mention is projected (``Linear(d_kge, hidden)``) and added to the
  input embeddings of the mention's tokens, as in ERNIE;
- ``pooled``: the mean entity vector of the linked tokens is projected and added to the mean-pooled output;
- ``both``: both of the above; ``none``: a plain encoder.

>>> enc = FusedEncoder(EncoderConfig(fusion="none"))  # doctest: +SKIP
>>> batch = enc.tokenize(["who directed Alien?"])  # doctest: +SKIP
>>> enc(**batch).shape  # doctest: +SKIP
torch.Size([1, 384])
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from kgagent.kg.config import check_ints, check_range
from kgagent.kg.errors import ConfigError, WorkspaceError
from kgagent.kg.io import atomic_dir
from kgagent.kg.validate import parse, read_json, read_safetensors
from kgagent.training.dropout import fast_dropout, use_fast_dropout

log = logging.getLogger(__name__)

FINETUNE_MODES = ("lora", "full", "frozen")
FUSION_MODES = ("none", "tokens", "pooled", "both")
_FORMAT = 1  # version of the saved layout


@dataclass
class EncoderConfig:
    """How the encoder is built and fine-tuned, and how entity vectors are fused in.

    >>> EncoderConfig(finetune="full", fusion="none").lora_r
    8
    """

    base_model: str | None = field(default=None, metadata={
        "help": "transformers name or local folder; None: the bundled all-MiniLM-L6-v2"})
    finetune: Literal["lora", "full", "frozen"] = field(default="lora", metadata={
        "help": "lora: train LoRA adapters; full: train every weight; frozen: train only heads and fusion"})
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    lora_targets: tuple[str, ...] = field(default=("query", "value"), metadata={
        "help": "names of the linear modules that get LoRA adapters (BERT: query, key, value, dense)"})
    fusion: Literal["auto", "none", "tokens", "pooled", "both"] = field(default="tokens", metadata={
        "help": "where entity vectors enter: input token embeddings, the pooled output, both, or none; auto: "
                "tokens when entity vectors (a KGE) are there, else none"})
    max_length: int = field(default=64, metadata={"help": "tokens per text; longer texts are truncated"})
    layers: int | None = field(default=None, metadata={
        "help": "keep only the encoder's first N layers (faster to train and to run); None: all"})
    train_layers: int | None = field(default=None, metadata={
        "help": "LoRA and the token fusion in the encoder's last N layers only: the layers below are frozen and "
                "need no backward pass (faster training); 0 or None: every layer"})

    def __post_init__(self) -> None:
        check_ints(self, "layers", optional=True)
        check_ints(self, "train_layers", minimum=0, optional=True)
        if self.finetune not in FINETUNE_MODES:
            raise ValueError(f"finetune must be one of {FINETUNE_MODES}, not {self.finetune!r}")
        if self.fusion not in ("auto", *FUSION_MODES):
            raise ValueError(f"fusion must be one of {('auto', *FUSION_MODES)}, not {self.fusion!r}")
        check_ints(self, "lora_r", "lora_alpha", "max_length")
        check_range(self, "lora_dropout", high=1.0, high_open=True)
        if isinstance(self.lora_targets, str):
            self.lora_targets = (self.lora_targets,)
        self.lora_targets = tuple(self.lora_targets)
        if not self.lora_targets or not all(isinstance(t, str) and t for t in self.lora_targets):
            raise ValueError(f"lora_targets must be a non-empty list of names, not {self.lora_targets!r}")
        if self.base_model is not None and not isinstance(self.base_model, str):
            self.base_model = str(self.base_model)

    def resolve(self, has_vectors: bool) -> EncoderConfig:
        """This config with ``fusion="auto"`` made ``tokens`` (entity vectors given) or ``none``."""
        if self.fusion != "auto":
            return self
        return replace(self, fusion="tokens" if has_vectors else "none")

    @property
    def model_path(self) -> str:
        """``base_model``, or the bundled MiniLM folder when it is None."""
        if self.base_model is not None:
            return self.base_model
        from kgagent.retrieval.encoder import default_encoder_path

        return str(default_encoder_path())


def depth_override(path: str, layers: int | None) -> dict[str, int]:
    """``from_pretrained`` keywords that keep the first ``layers`` layers of the model at ``path``; none when it
    has no more than that (more would add randomly initialised layers)."""
    if not layers:
        return {}
    from transformers import AutoConfig

    depth = getattr(AutoConfig.from_pretrained(path), "num_hidden_layers", None)
    return {"num_hidden_layers": layers} if depth and layers < depth else {}


def encoder_layers(model: nn.Module) -> nn.ModuleList:
    """The transformer layers of a BERT-family ``model`` (the ``ModuleList`` of ``num_hidden_layers`` blocks)."""
    depth = getattr(model.config, "num_hidden_layers", None)
    for module in model.modules():
        if isinstance(module, nn.ModuleList) and len(module) == depth:
            return module
    raise ConfigError(f"train_layers: cannot find the {depth} layers of {type(model).__name__}")


def pad_states(states: Sequence[torch.Tensor], attention_mask: torch.Tensor) -> torch.Tensor:
    """Per-text hidden states ``(t_i, hidden)`` (kept by :meth:`FusedEncoder.capturing_lower`) as one float batch
    ``(b, t, hidden)`` padded like ``attention_mask``, for ``forward(..., lower=...)``; padding positions are
    zeros (attention and pooling ignore them)."""
    lengths = attention_mask.sum(1).tolist()
    out = torch.zeros(*attention_mask.shape, states[0].shape[-1])
    for row, (x, n) in enumerate(zip(states, lengths, strict=True)):
        if x.shape[0] != n:
            raise RuntimeError(f"kept states of {x.shape[0]} tokens for a text of {n}")
        out[row, :n] = x.float()
    return out


class FusedEncoder(nn.Module):
    """BERT-family encoder (+ peft LoRA) with KGE entity vectors fused in; returns mean-pooled vectors.

    ``entity_vectors`` is an ``(n_entities, d_kge)`` tensor kept frozen (a non-persistent buffer: it belongs
    to the workspace's KGE and is not saved with the encoder). A fusion mode other than ``none`` needs it, or
    ``d_kge`` when the vectors are only attached later.
    """

    def __init__(self, config: EncoderConfig, entity_vectors: torch.Tensor | None = None, *,
                 d_kge: int | None = None) -> None:
        super().__init__()
        from transformers import AutoModel, AutoTokenizer

        if config.fusion == "auto":  # resolved by the caller, who knows whether a KGE is there
            raise ValueError("EncoderConfig.fusion 'auto': call config.resolve(has_vectors) first")
        self.config = config
        if config.fusion != "none" and entity_vectors is None and d_kge is None:
            raise ConfigError(f"fusion: {config.fusion!r} needs entity vectors (a trained KGE); "
                              "use fusion = \"none\" without one")
        path = config.model_path
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(path)
            model = AutoModel.from_pretrained(path, **depth_override(path, config.layers))
        except (OSError, ValueError) as e:
            raise ConfigError(f"base_model: cannot load {path!r} ({str(e).splitlines()[0]}); give a local "
                              "model folder or a transformers name reachable offline") from e
        self.hidden_size: int = int(model.config.hidden_size)
        depth = int(model.config.num_hidden_layers)
        # the first layer trained; the token fusion enters there (0: with the input embeddings)
        self.first_trained = max(0, depth - config.train_layers) if config.train_layers else 0
        self.model = self._wrap(model, config, self.first_trained)
        use_fast_dropout(self.model)

        if entity_vectors is not None:
            entity_vectors = torch.as_tensor(entity_vectors, dtype=torch.float32)
            if entity_vectors.ndim != 2:
                raise ValueError("entity_vectors must be (n_entities, d_kge), got shape "
                                 f"{tuple(entity_vectors.shape)}")
            if d_kge is not None and d_kge != entity_vectors.shape[1]:
                raise ConfigError(f"entity vectors have dimension {entity_vectors.shape[1]}, the encoder was "
                                  f"trained with {d_kge}; retrain it after retraining the KGE")
            d_kge = int(entity_vectors.shape[1])
        self.d_kge = d_kge if config.fusion != "none" else None
        self.register_buffer("entity_vectors", entity_vectors, persistent=False)
        # Zero init: the fused encoder starts as the pretrained one (as LoRA's B = 0 does) and training learns how
        # much of the KGE to let in; a random init perturbed the pretrained features of every linked mention
        # (MetaQA: frozen-feature path accuracy 0.935 with it vs 0.98 without fusion). No bias, so "no entity"
        # adds exactly zero.
        self.token_proj = self._projection() if config.fusion in ("tokens", "both") else None
        self.pooled_proj = self._projection() if config.fusion in ("pooled", "both") else None
        # what enters the first trained layer (train_layers), set for one forward: the token fusion, and kept
        # states of the frozen layers that stand in for them
        self._fused: torch.Tensor | None = None  # (b, t, hidden)
        self._lower: torch.Tensor | None = None  # (b, t, hidden)
        # the frozen layers run without dropout (a fixed feature extractor); their output gets the dropout the
        # model applies to hidden states instead, in training only, whether they ran or their states were kept
        self.input_dropout = float(getattr(model.config, "hidden_dropout_prob", 0.0) or 0.0)
        if self.first_trained:
            encoder_layers(self.model)[self.first_trained].register_forward_pre_hook(
                self._enter_trained, with_kwargs=True)

    # ----------------------------------------------------------------- construction helpers
    def _projection(self) -> nn.Linear:
        proj = nn.Linear(int(self.d_kge), self.hidden_size, bias=False)  # type: ignore[arg-type]
        nn.init.zeros_(proj.weight)
        return proj

    def train(self, mode: bool = True) -> FusedEncoder:
        """As ``nn.Module.train``, but the frozen layers below ``train_layers`` stay in eval mode (no dropout):
        they are a fixed feature extractor, whose outputs ``lower`` states can stand in for."""
        super().train(mode)
        if mode and self.first_trained:
            trained = {id(m) for layer in encoder_layers(self.model)[self.first_trained:] for m in layer.modules()}
            for m in self.model.modules():
                if id(m) not in trained:
                    m.training = False  # this module only: train(False) would reach the trained layers too
        return self

    @contextmanager
    def capturing_lower(self) -> Iterator[list[torch.Tensor]]:
        """While open, every forward appends the hidden states ``(b, t, hidden)`` entering the first trained
        layer (before the token fusion) to the yielded list: ``forward(..., lower=...)`` takes them back."""
        if not self.first_trained:
            raise ValueError("capturing_lower needs train_layers below the encoder's depth")
        seen: list[torch.Tensor] = []

        def keep(module: nn.Module, args: tuple, kwargs: dict) -> None:
            seen.append((args[0] if args else kwargs["hidden_states"]).detach())

        handle = encoder_layers(self.model)[self.first_trained].register_forward_pre_hook(
            keep, with_kwargs=True, prepend=True)  # before _enter_trained
        try:
            yield seen
        finally:
            handle.remove()

    @contextmanager
    def _from_lower(self, lower: torch.Tensor) -> Iterator[None]:
        """Run only the trained layers, starting from ``lower``: the frozen ones are taken out of the layer list
        for the call (whatever an architecture's layers return), and ``_enter_trained`` puts ``lower`` in."""
        layers = encoder_layers(self.model)
        frozen = list(layers[: self.first_trained])
        del layers[: self.first_trained]
        self._lower = lower
        try:
            yield
        finally:
            self._lower = None
            for i, layer in enumerate(frozen):
                layers.insert(i, layer)

    def _enter_trained(self, module: nn.Module, args: tuple, kwargs: dict) -> tuple[tuple, dict]:
        """Forward pre-hook of the first trained layer: its input hidden states (or the kept ``lower`` ones),
        with dropout in training, plus the token fusion."""
        hidden = args[0] if args else kwargs["hidden_states"]
        if self._lower is not None:
            hidden = self._lower.to(hidden.dtype)
        if self.training and self.input_dropout:
            hidden = fast_dropout(hidden, self.input_dropout)
        if self._fused is not None:
            hidden = hidden + self._fused.to(hidden.dtype)
        if args:
            return (hidden, *args[1:]), kwargs
        return args, {**kwargs, "hidden_states": hidden}

    @staticmethod
    def _wrap(model: nn.Module, config: EncoderConfig, first_trained: int) -> nn.Module:
        if first_trained:  # frozen below: no weight there needs a gradient, so no backward pass reaches them
            for layer in encoder_layers(model)[:first_trained]:
                layer.requires_grad_(False)
            model.get_input_embeddings().requires_grad_(False)
        if config.finetune == "lora":
            from peft import LoraConfig, get_peft_model

            depth = len(encoder_layers(model))
            only = list(range(first_trained, depth)) if first_trained else None
            lora = LoraConfig(r=config.lora_r, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                              target_modules=list(config.lora_targets), bias="none", layers_to_transform=only)
            try:
                return get_peft_model(model, lora)
            except ValueError as e:
                raise ConfigError(f"lora_targets: {e}") from e
        if config.finetune == "frozen":
            model.requires_grad_(False)
        return model

    def attach_entity_vectors(self, entity_vectors: torch.Tensor) -> None:
        """Use ``entity_vectors`` ``(n_entities, d_kge)`` for lookups (e.g. after loading the encoder)."""
        entity_vectors = torch.as_tensor(entity_vectors, dtype=torch.float32)
        if self.d_kge is not None and entity_vectors.shape[1] != self.d_kge:
            raise ConfigError(f"entity vectors have dimension {entity_vectors.shape[1]}, the encoder was "
                              f"trained with {self.d_kge}; retrain it after retraining the KGE")
        self.entity_vectors = entity_vectors.to(self.device)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    # ----------------------------------------------------------------- inputs
    def tokenize(self, texts: list[str], mentions: list[list[tuple[int, int, int]]] | None = None
                 ) -> dict[str, torch.Tensor]:
        """Tokenize with dynamic padding; ``mentions[i]``: ``(char_start, char_end, entity_id)`` of text i.

        Returns ``input_ids`` and ``attention_mask`` ``(b, t)``, and ``entity_ids`` ``(b, t)`` long: the
        entity of each token's mention, -1 where there is none (found through the offset mapping).
        """
        want_offsets = mentions is not None and any(mentions)
        if want_offsets and not self.tokenizer.is_fast:
            raise ConfigError(f"base_model: {self.config.model_path!r} has no fast tokenizer; mentions need "
                              "character offsets")
        enc = self.tokenizer(list(texts), padding=True, truncation=True, max_length=self.config.max_length,
                             return_tensors="pt", return_offsets_mapping=want_offsets)
        entity_ids = torch.full_like(enc["input_ids"], -1)  # (b, t)
        if want_offsets:
            offsets = enc["offset_mapping"]  # (b, t, 2) character spans; (0, 0) for special and pad tokens
            starts, ends = offsets[..., 0], offsets[..., 1]
            real = ends > starts
            for i, spans in enumerate(mentions or []):
                for cs, ce, eid in spans:
                    hit = real[i] & (starts[i] < ce) & (ends[i] > cs)
                    entity_ids[i][hit] = int(eid)
        return {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"],
                "entity_ids": entity_ids}

    # ----------------------------------------------------------------- forward
    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                entity_ids: torch.Tensor | None = None, lower: torch.Tensor | None = None) -> torch.Tensor:
        """Mean-pooled encoder output ``(b, hidden)`` over real tokens, with entity vectors fused in.

        ``lower`` ``(b, t, hidden)``: these inputs' hidden states entering the first trained layer (see
        ``capturing_lower``); the frozen layers below are then skipped (the same result, a fraction of the work).
        """
        if lower is not None and not self.first_trained:
            raise ValueError("lower states need train_layers below the encoder's depth")
        ent = None  # (b, t, d_kge) entity vector per token, zeros where none
        linked = None  # (b, t, 1) float: 1 where a token belongs to a linked mention
        if entity_ids is not None and self.d_kge is not None and self.entity_vectors is not None:
            linked = (entity_ids >= 0).unsqueeze(-1).to(self.entity_vectors.dtype)
            if linked.any():
                ent = self.entity_vectors[entity_ids.clamp(min=0)] * linked
        embeds = self.model.get_input_embeddings()(input_ids)  # (b, t, hidden)
        if self.token_proj is not None and ent is not None:
            if self.first_trained:
                self._fused = self.token_proj(ent)  # added by _enter_trained where the trained layers begin
            else:
                embeds = embeds + self.token_proj(ent).to(embeds.dtype)
        try:  # (b, t, hidden)
            if lower is None:
                hidden = self.model(inputs_embeds=embeds, attention_mask=attention_mask).last_hidden_state
            else:
                with self._from_lower(lower):
                    hidden = self.model(inputs_embeds=embeds, attention_mask=attention_mask).last_hidden_state
        finally:
            self._fused = None
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (b, t, 1)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # (b, hidden)
        if self.pooled_proj is not None and ent is not None and linked is not None:
            mean_ent = ent.sum(1) / linked.sum(1).clamp(min=1.0)  # (b, d_kge); zero for rows without entities
            pooled = pooled + self.pooled_proj(mean_ent).to(pooled.dtype)
        return pooled

    def merge_adapter(self) -> None:
        """Fold LoRA weights into the base model for faster inference (no further LoRA training)."""
        from peft import PeftModel

        if isinstance(self.model, PeftModel):
            self.model = self.model.merge_and_unload()

    # ----------------------------------------------------------------- save / load
    def save_pretrained(self, directory: str | Path) -> None:
        """Write config, tokenizer, adapter (or full weights) and fusion projections, atomically."""
        from peft import PeftModel
        from safetensors.torch import save_file

        with atomic_dir(directory) as tmp:
            meta = {"format": _FORMAT, "encoder_config": asdict(self.config), "d_kge": self.d_kge,
                    "hidden_size": self.hidden_size}
            (tmp / "encoder_config.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
            self.tokenizer.save_pretrained(tmp / "tokenizer")
            if self.config.finetune == "lora":
                if not isinstance(self.model, PeftModel):
                    raise WorkspaceError("cannot save a LoRA encoder after merge_adapter()")
                self.model.save_pretrained(tmp / "adapter")
            elif self.config.finetune == "full":
                self.model.save_pretrained(tmp / "encoder")
            fusion = {name: p.detach().cpu().contiguous() for name, p in self.state_dict().items()
                      if name.startswith(("token_proj.", "pooled_proj."))}
            if fusion:
                save_file(fusion, str(tmp / "fusion.safetensors"))

    @classmethod
    def from_pretrained(cls, directory: str | Path,
                        entity_vectors: torch.Tensor | None = None) -> FusedEncoder:
        """Load what ``save_pretrained`` wrote; the base model is read from ``base_model`` (offline)."""
        directory = Path(directory)
        meta_path = directory / "encoder_config.json"
        if not meta_path.exists():
            raise WorkspaceError(f"{directory}: not a saved encoder (no encoder_config.json)")
        meta = read_json(meta_path)
        values = parse(meta_path, "encoder settings", lambda: dict(meta["encoder_config"]))
        config = parse(meta_path, "encoder settings", lambda: EncoderConfig(**values))
        # Build on the plain (frozen) base, then put the saved weights on it; for "full" the fine-tuned
        # weights are the base model.
        base = str(directory / "encoder") if config.finetune == "full" else config.base_model
        enc = cls(EncoderConfig(**{**values, "base_model": base, "finetune": "frozen"}), entity_vectors,
                  d_kge=meta.get("d_kge"))
        enc.config = config
        if config.finetune == "full":
            enc.model.requires_grad_(True)
        elif config.finetune == "lora":
            from peft import PeftModel

            enc.model = PeftModel.from_pretrained(enc.model, directory / "adapter", is_trainable=True)
        from transformers import AutoTokenizer

        enc.tokenizer = AutoTokenizer.from_pretrained(directory / "tokenizer")
        if (directory / "fusion.safetensors").exists():
            fusion = directory / "fusion.safetensors"
            missing = parse(fusion, "fusion weights",
                            lambda: enc.load_state_dict(read_safetensors(fusion), strict=False))
            if missing.unexpected_keys:
                raise WorkspaceError(f"{directory}/fusion.safetensors: unexpected weights "
                                     f"{missing.unexpected_keys}")
        return enc

    @property
    def step_encodings(self) -> float:
        """What a training step costs per text, in forward passes: forward and backward (about twice the
        forward) through every layer, or with ``train_layers`` through the trained ones from kept states."""
        depth = len(encoder_layers(self.model))
        return 3.0 * (depth - self.first_trained) / depth

    def trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)


def encoder_info(encoder: FusedEncoder) -> dict[str, Any]:
    """A small description for manifests and logs."""
    return {"base_model": encoder.config.model_path, "finetune": encoder.config.finetune,
            "fusion": encoder.config.fusion, "hidden_size": encoder.hidden_size, "d_kge": encoder.d_kge,
            "trainable_parameters": encoder.trainable_parameters()}
