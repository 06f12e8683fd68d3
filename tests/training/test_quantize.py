"""Dynamic int8 quantization of the Linear layers of models held by other objects (as the agent holds them)."""

from __future__ import annotations

import torch

from kgagent.training.quantize import find_modules, quantize_int8


class Holder:
    """Like the agent's models: a torch module a couple of attributes down, and the same module held twice."""

    def __init__(self, net: torch.nn.Module) -> None:
        self.inner = type("Inner", (), {})()
        self.inner.net = net
        self.alias = net
        self.name = "holder"


def make_net() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))


def test_find_modules_finds_each_outermost_module_once() -> None:
    net = make_net()
    assert find_modules(Holder(net), net) == [net]  # not its Linear children, not twice
    assert find_modules("text", 3, None) == []


def test_quantize_replaces_linear_layers_in_place_and_keeps_outputs_close() -> None:
    net = make_net()
    x = torch.randn(8, 16)
    before = net(x).detach()
    holder = Holder(net)
    assert quantize_int8(holder) == 1
    layers = list(holder.alias.modules())
    assert not any(type(m) is torch.nn.Linear for m in layers)
    assert sum(type(m).__module__ == "torch.ao.nn.quantized.dynamic.modules.linear" for m in layers) == 2
    after = holder.inner.net(x)
    assert after.shape == before.shape
    assert not torch.equal(after, before)  # int8 weights: close, not identical
    assert torch.allclose(after, before, atol=0.05 * before.abs().max().item())
