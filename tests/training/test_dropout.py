import pytest
import torch
from torch import nn

from kgagent.training.dropout import FastDropout, fast_dropout, use_fast_dropout


def test_drops_the_asked_share_and_keeps_the_expected_value():
    torch.manual_seed(0)
    x = torch.ones(400, 1000)
    out = fast_dropout(x, 0.1)
    dropped = (out == 0).float().mean().item()
    assert dropped == pytest.approx(0.1, abs=0.003)
    assert out[out != 0].unique().tolist() == pytest.approx([1 / 0.9])
    assert out.mean().item() == pytest.approx(1.0, abs=0.005)
    # every int16 lane of the 64-bit draws is used alike (a draw whose top bit is always 0 would never drop there)
    lanes = (out.view(-1)[: 400 * 1000 // 4 * 4].view(-1, 4) == 0).float().mean(0)
    assert torch.allclose(lanes, torch.full((4,), 0.1), atol=0.005)


def test_gradient_is_the_mask_scaled_and_eval_is_the_identity():
    torch.manual_seed(1)
    x = torch.randn(8, 5, 16, requires_grad=True)
    out = fast_dropout(x, 0.25)
    out.sum().backward()
    kept = out.detach() != 0
    assert torch.allclose(x.grad, kept.float() / 0.75)
    y = torch.randn(3, 4)
    assert fast_dropout(y, 0.5, training=False) is y
    assert fast_dropout(y, 0.0) is y


def test_seeded_runs_repeat():
    x = torch.randn(64, 64)
    torch.manual_seed(3)
    a = fast_dropout(x, 0.3)
    torch.manual_seed(3)
    b = fast_dropout(x, 0.3)
    assert torch.equal(a, b)
    assert not torch.equal(a, fast_dropout(x, 0.3))


def test_use_fast_dropout_swaps_every_plain_dropout_and_keeps_the_outputs_in_eval():
    class Net(nn.Module):  # a dropout in a sequence, one in a dict (as peft keeps LoRA's)
        def __init__(self) -> None:
            super().__init__()
            self.seq = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.2), nn.Linear(8, 2))
            self.extra = nn.ModuleDict({"a": nn.Dropout(0.5)})

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.extra["a"](self.seq(x))

    net = Net()
    x = torch.randn(3, 4)
    before = net.eval()(x)
    net.train()
    assert use_fast_dropout(net) == 2
    assert isinstance(net.seq[1], FastDropout) and net.seq[1].p == 0.2 and net.seq[1].training
    assert isinstance(net.extra["a"], FastDropout) and net.extra["a"].p == 0.5
    assert not any(type(m) is nn.Dropout for m in net.modules())
    assert torch.equal(net.eval()(x), before)
    assert use_fast_dropout(net) == 0  # already swapped
