"""Dropout with a cheaper mask on CPUs: the same regularizer as ``nn.Dropout``, about twice as fast there.

torch's CPU dropout draws one Bernoulli sample per element; on a (32, 24, 384) batch that took 2.4-2.7 ms on the
build machine, more than a 384x384 Linear over the same batch, and 15% of the training loops' time. Here each
element gets 16 random bits instead (full-range int64 draws viewed as int16: a quarter of the draws) and is
dropped where they fall below ``p`` of their range: 1.1 ms. The drop probability is ``p`` rounded to a multiple
of 1/65536, the kept elements are scaled by ``1 / (1 - p)`` as in ``nn.Dropout``, and torch's generator draws the
bits, so ``torch.manual_seed`` makes a run reproducible. On other devices torch's own kernel is used.
"""

from __future__ import annotations

import torch
from torch import nn

_INT64 = torch.iinfo(torch.int64)
_SPAN = 1 << 16  # values of an int16


def fast_dropout(x: torch.Tensor, p: float, training: bool = True) -> torch.Tensor:
    """``nn.functional.dropout(x, p, training)`` with a 16-bit mask on CPUs."""
    if not training or p <= 0.0:
        return x
    if x.device.type != "cpu" or p >= 1.0:
        return nn.functional.dropout(x, p, True)
    n = x.numel()
    words = torch.randint(_INT64.min, _INT64.max, ((n + 3) // 4,), dtype=torch.int64)
    bits = words.view(torch.int16)[:n].view(x.shape)
    dropped = bits < round(p * _SPAN) - _SPAN // 2
    return x.masked_fill(dropped, 0.0) * (1.0 / (1.0 - p))


class FastDropout(nn.Dropout):
    """``nn.Dropout`` through :func:`fast_dropout` (an ``nn.Dropout`` still, for code that looks for one)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return fast_dropout(x, self.p, self.training)


def use_fast_dropout(model: nn.Module) -> int:
    """Replace every plain ``nn.Dropout`` inside ``model`` by a :class:`FastDropout` of the same ``p`` (in place;
    no weights change: a state dict saved before loads after). Returns how many were replaced."""
    swapped = 0
    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if type(child) is nn.Dropout:
                replacement = FastDropout(child.p)
                replacement.train(child.training)
                setattr(module, name, replacement)
                swapped += 1
    return swapped
