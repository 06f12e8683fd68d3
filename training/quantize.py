"""Dynamic int8 quantization of the encoders' Linear layers, for serving on a CPU.

Weights are stored as int8 and activations quantized on the fly (``torch.ao.quantization.quantize_dynamic``);
embeddings, layer norms and the KG embeddings stay in float32. The models are changed in place, so every holder
of a reference (the linker, the intent and QA models) uses the quantized layers.

>>> import torch
>>> net = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU())
>>> quantize_int8(net)
1
>>> type(net[0]).__module__
'torch.ao.nn.quantized.dynamic.modules.linear'
"""

from __future__ import annotations

import warnings
from typing import Any

QUANTIZERS = ("none", "int8")
_MAX_DEPTH = 3  # encoders sit at most this many attributes below the objects given (model.net.encoder)


def find_modules(*objects: Any) -> list[Any]:
    """The outermost ``torch.nn.Module`` objects among ``objects`` and their attributes, each once."""
    import torch

    found: dict[int, Any] = {}
    seen: set[int] = set()

    def walk(obj: Any, depth: int) -> None:
        if id(obj) in seen or obj is None or isinstance(obj, str | bytes | int | float | bool):
            return
        seen.add(id(obj))
        if isinstance(obj, torch.nn.Module):
            found[id(obj)] = obj
            return
        if depth >= _MAX_DEPTH:
            return
        for value in getattr(obj, "__dict__", {}).values():
            walk(value, depth + 1)

    for obj in objects:
        walk(obj, 0)
    return list(found.values())


def quantize_int8(*objects: Any) -> int:
    """Quantize the Linear layers of every module found in ``objects`` to int8 in place; the number of modules."""
    import torch
    from torch.ao.quantization import quantize_dynamic

    modules = find_modules(*objects)
    with warnings.catch_warnings():
        # torch marks its eager int8 path deprecated (in favour of torchao, not installed); it works as documented
        warnings.filterwarnings("ignore", message=r".*(torch\.ao\.quantization|quantize_per_tensor).*")
        for m in modules:
            quantize_dynamic(m, {torch.nn.Linear}, dtype=torch.qint8, inplace=True)
    return len(modules)
