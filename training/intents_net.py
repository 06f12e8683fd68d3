"""``IntentClassifier``: the intent head over a ``FusedEncoder`` (dropout + linear on the pooled vector)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class IntentClassifier(nn.Module):
    """Logits ``(b, n_labels)`` of a batch; with ``labels``, also the label-smoothed cross-entropy loss."""

    def __init__(self, encoder: Any, n_labels: int, dropout: float, label_smoothing: float) -> None:
        super().__init__()
        self.encoder = encoder
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(encoder.hidden_size, n_labels)
        self.label_smoothing = label_smoothing

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor,
                entity_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None) -> Any:
        pooled = self.encoder(input_ids, attention_mask, entity_ids)  # (b, hidden)
        logits = self.head(self.dropout(pooled))  # (b, n_labels)
        if labels is None:
            return logits
        loss = nn.functional.cross_entropy(logits.float(), labels, label_smoothing=self.label_smoothing)
        return {"loss": loss, "logits": logits}
