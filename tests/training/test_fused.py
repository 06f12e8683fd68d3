"""FusedEncoder and the shared training loop, on a tiny random BERT."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kgagent.kg.errors import ConfigError
from kgagent.training.fused import EncoderConfig, FusedEncoder
from kgagent.training.trainer import Batches, TrainConfig, seed_everything, train_loop

pytestmark = pytest.mark.usefixtures("single_thread")

TEXTS = ["who directed alien?", "hello there"]
MENTIONS = [[(13, 18, 2)], []]  # "alien" -> entity 2


@pytest.fixture(scope="module")
def entity_vectors() -> torch.Tensor:
    return torch.randn(5, 8, generator=torch.Generator().manual_seed(0))  # (n_entities, d_kge)


@pytest.mark.parametrize(("field", "value"), [
    ("finetune", "partial"), ("fusion", "late"), ("lora_r", 0), ("max_length", -1), ("lora_dropout", 1.5),
    ("lora_targets", ()),
])
def test_config_checks_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        EncoderConfig(**{field: value})


def test_tokenize_marks_mention_tokens(tiny_bert: str) -> None:
    enc = FusedEncoder(EncoderConfig(base_model=tiny_bert, fusion="none"))
    batch = enc.tokenize(TEXTS, MENTIONS)
    tokens = enc.tokenizer.convert_ids_to_tokens(batch["input_ids"][0].tolist())
    marked = [t for t, e in zip(tokens, batch["entity_ids"][0].tolist(), strict=True) if e >= 0]
    assert marked == ["alien"]
    assert (batch["entity_ids"][1] == -1).all()
    # dynamic padding: as long as the longest text, not max_length
    assert batch["input_ids"].shape[1] == len(tokens) < enc.config.max_length


@pytest.mark.parametrize("fusion", ["none", "tokens", "pooled", "both"])
@pytest.mark.parametrize("finetune", ["lora", "full", "frozen"])
def test_fusion_modes_and_save_load(tiny_bert: str, entity_vectors: torch.Tensor, tmp_path, fusion: str,
                                    finetune: str) -> None:
    seed_everything(0)
    vectors = entity_vectors if fusion != "none" else None
    enc = FusedEncoder(EncoderConfig(base_model=tiny_bert, fusion=fusion, finetune=finetune), vectors).eval()
    batch = enc.tokenize(TEXTS, MENTIONS)
    with torch.no_grad():
        fused = enc(**batch)
        plain = enc(batch["input_ids"], batch["attention_mask"])
        # fusion starts as the identity (zero-initialized projections) ...
        torch.testing.assert_close(fused, plain)
        # ... and, once trained, entities change the text that has one, and nothing else
        for proj in (enc.token_proj, enc.pooled_proj):
            if proj is not None:
                proj.weight.normal_(std=0.02)
        fused = enc(**batch)
    assert fused.shape == (2, enc.hidden_size)
    changed = (fused - plain).abs().amax(dim=1)
    assert changed[1] == 0
    assert (changed[0] > 1e-6) == (fusion != "none")

    enc.save_pretrained(tmp_path / "enc")
    again = FusedEncoder.from_pretrained(tmp_path / "enc", vectors).eval()
    with torch.no_grad():
        torch.testing.assert_close(again(**batch), fused)
    assert again.config == enc.config


def test_fusion_without_vectors_is_a_config_error(tiny_bert: str) -> None:
    with pytest.raises(ConfigError, match="fusion"):
        FusedEncoder(EncoderConfig(base_model=tiny_bert, fusion="tokens"))


def test_missing_base_model_is_a_config_error(tmp_path) -> None:
    with pytest.raises(ConfigError, match="base_model"):
        FusedEncoder(EncoderConfig(base_model=str(tmp_path / "nope"), fusion="none"))


def test_lora_trains_only_adapters_and_merge_keeps_outputs(tiny_bert: str) -> None:
    enc = FusedEncoder(EncoderConfig(base_model=tiny_bert, fusion="none", finetune="lora", lora_r=4))
    trainable = [n for n, p in enc.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    # make the adapters non-trivial (LoRA B starts at zero), then merge
    with torch.no_grad():
        for n, p in enc.named_parameters():
            if "lora_B" in n:
                p.normal_(std=0.5)
    enc.eval()
    batch = enc.tokenize(TEXTS)
    with torch.no_grad():
        before = enc(**batch)
        enc.merge_adapter()
        torch.testing.assert_close(enc(**batch), before, atol=1e-5, rtol=1e-4)


class _Probe(torch.nn.Module):
    """Linear regression: the loss drops to ~0 when training works."""

    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(4, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.mse_loss(self.lin(x).squeeze(-1), y)


def _regression_run(seed: int, epochs: int = 30, patience: int = 0) -> tuple[_Probe, object]:
    seed_everything(seed)
    x = torch.randn(64, 4)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.1
    model = _Probe()
    batches = Batches(64, 8, lambda idx: {"x": x[idx], "y": y[idx]}, seed=seed)
    result = train_loop(model, batches, lambda m: -float(m(x, y)),
                        TrainConfig(epochs=epochs, lr=0.1, patience=patience, device="cpu"), progress=False)
    return model, result


def test_train_loop_learns_and_is_deterministic() -> None:
    m1, r1 = _regression_run(3)
    m2, _ = _regression_run(3)
    assert -r1.best_score < 1e-2  # val MSE
    assert r1.steps == 30 * 8
    torch.testing.assert_close(m1.lin.weight, m2.lin.weight, rtol=0, atol=0)
    m3, _ = _regression_run(4)
    assert not torch.equal(m1.lin.weight, m3.lin.weight)


def test_train_loop_early_stops_and_restores_best() -> None:
    calls = iter([0.5, 0.9, 0.8, 0.7, 0.6, 0.5])  # best at the 2nd validation, then worse

    model = _Probe()
    x, y = torch.randn(16, 4), torch.randn(16)
    snapshots: list[torch.Tensor] = []

    def val_fn(m: torch.nn.Module) -> float:
        snapshots.append(m.lin.weight.detach().clone())
        return next(calls)

    config = TrainConfig(epochs=6, lr=0.05, patience=2, device="cpu")
    result = train_loop(model, [{"x": x, "y": y}], val_fn, config, progress=False)
    assert result.stopped_early and result.steps == 4 and result.best_step == 2
    torch.testing.assert_close(model.lin.weight, snapshots[1])


def test_batches_reshuffle_per_epoch_and_cover_everything() -> None:
    b = Batches(10, 3, lambda idx: {"idx": list(idx)}, seed=1, length_of=lambda i: i)
    e0 = [x["idx"] for x in b.epoch(0)]
    assert sorted(i for batch in e0 for i in batch) == list(range(10))
    assert e0 == [x["idx"] for x in b.epoch(0)]
    assert e0 != [x["idx"] for x in b.epoch(1)]
    assert len(b) == 4


def test_train_loop_scopes_deterministic_algorithms() -> None:
    """Deterministic kernels are on while train_loop runs and off again after (a serving process keeps its fast
    kernels); seed_everything only seeds."""
    import torch

    seen = []
    model = torch.nn.Linear(2, 1)
    batches = [{"x": torch.ones(4, 2)}]

    def loss(m: torch.nn.Module, b: dict) -> torch.Tensor:
        seen.append(torch.are_deterministic_algorithms_enabled())
        return m(b["x"]).pow(2).mean()

    before = torch.are_deterministic_algorithms_enabled()
    seed_everything(0)
    assert torch.are_deterministic_algorithms_enabled() == before
    result = train_loop(model, batches, None, TrainConfig(epochs=2, lr=0.1, device="cpu"), loss_fn=loss,
                        progress=False, on_step=lambda desc, step, value: seen.append((desc, step)))
    assert seen == [True, ("training", 1), True, ("training", 2)]
    assert torch.are_deterministic_algorithms_enabled() == before
    assert len(result.losses) == 2 and result.as_dict()["losses"] == [round(x, 5) for x in result.losses]


def test_train_loop_stops_at_its_time_budget_and_keeps_the_best() -> None:
    """Past ``max_seconds`` the loop stops after the step it is on, validates those weights too, and keeps the
    best validated ones."""
    import time

    x, y = torch.randn(16, 4), torch.randn(16)
    scores = iter([0.9, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7])
    snapshots: list[torch.Tensor] = []

    def val_fn(m: torch.nn.Module) -> float:
        snapshots.append(m.lin.weight.detach().clone())
        return next(scores)

    def slow_loss(m: torch.nn.Module, b: dict) -> torch.Tensor:
        time.sleep(0.02)
        return m(**b)

    model = _Probe()
    config = TrainConfig(epochs=1000, lr=0.05, patience=0, eval_every=10, device="cpu", max_seconds=0.3)
    result = train_loop(model, [{"x": x, "y": y}] * 4, val_fn, config, loss_fn=slow_loss, progress=False)
    assert result.stopped_by_budget and not result.stopped_early
    assert 10 <= result.steps < 40  # ~15 steps of 20 ms fit in 0.3 s; 4,000 were planned
    assert result.history[-1]["step"] == result.steps  # the last weights were validated too
    torch.testing.assert_close(model.lin.weight, snapshots[0])  # and the best (the first) kept


def test_layers_keeps_the_first_ones_and_survives_saving(tiny_bert: str, tmp_path: Path) -> None:
    enc = FusedEncoder(EncoderConfig(base_model=tiny_bert, fusion="none", finetune="lora", layers=1))
    assert enc.model.base_model.model.config.num_hidden_layers == 1
    enc.save_pretrained(tmp_path / "enc")
    again = FusedEncoder.from_pretrained(tmp_path / "enc")
    assert again.config.layers == 1 and again.model.base_model.model.config.num_hidden_layers == 1
    # more layers than the model has: all of them, never random new ones
    assert FusedEncoder(EncoderConfig(base_model=tiny_bert, fusion="none", finetune="frozen", layers=9)
                        ).model.config.num_hidden_layers == 2


def _perturbed(enc: FusedEncoder) -> FusedEncoder:
    """``enc`` with non-trivial LoRA and fusion weights (both start at zero)."""
    with torch.no_grad():
        for n, p in enc.named_parameters():
            if "lora_B" in n or "token_proj" in n:
                p.normal_(std=0.5, generator=torch.Generator().manual_seed(len(n)))
    return enc


def test_train_layers_trains_the_top_and_skips_the_frozen_ones(tiny_bert: str, entity_vectors: torch.Tensor,
                                                               tmp_path: Path) -> None:
    from kgagent.training.fused import encoder_layers

    config = EncoderConfig(base_model=tiny_bert, fusion="tokens", finetune="lora", lora_r=4, train_layers=1,
                           lora_dropout=0.0)  # train mode without randomness: the two paths compare exactly
    torch.manual_seed(0)
    enc = FusedEncoder(config, entity_vectors)
    batch = enc.tokenize(TEXTS, MENTIONS)
    # LoRA only in the last of the 2 layers; at the start (LoRA B and the fusion zero) the pretrained encoder
    trainable = [n for n, p in enc.named_parameters() if p.requires_grad]
    assert trainable and all(".layer.1." in n or n.startswith("token_proj") for n in trainable)
    plain = FusedEncoder(EncoderConfig(base_model=tiny_bert, fusion="none", finetune="frozen"))
    with torch.no_grad():
        torch.testing.assert_close(enc.eval()(**batch), plain.eval()(**batch))
    _perturbed(enc)
    # the fusion enters where the trained layers begin: a linked mention moves the output, its vector matters
    with torch.no_grad():
        fused = enc(**batch)
        unlinked = enc(**{**batch, "entity_ids": torch.full_like(batch["entity_ids"], -1)})
        assert not torch.allclose(fused[0], unlinked[0], atol=1e-4)
        torch.testing.assert_close(fused[1], unlinked[1])  # no mention: unchanged
    # the states entering the first trained layer stand in for the frozen layers: same output, same gradients
    with torch.no_grad(), enc.capturing_lower() as seen:
        enc(**batch)
    assert len(seen) == 1 and seen[0].shape == (*batch["input_ids"].shape, 32)
    enc.train()
    layers = encoder_layers(enc.model)
    assert [layer.training for layer in layers] == [False, True]  # frozen layers stay in eval mode (no dropout)
    grads = []
    for lower in (None, seen[0]):
        enc.zero_grad()
        out = enc(**batch, lower=lower)
        out.pow(2).sum().backward()
        grads.append((out.detach(), enc.token_proj.weight.grad.clone()))
    torch.testing.assert_close(grads[0][0], grads[1][0], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(grads[0][1], grads[1][1], atol=1e-5, rtol=1e-4)
    assert len(encoder_layers(enc.model)) == 2  # the frozen layers are back after the call
    # saved and loaded, then merged: the same encoder
    enc.eval()
    enc.save_pretrained(tmp_path / "enc")
    again = FusedEncoder.from_pretrained(tmp_path / "enc", entity_vectors).eval()
    with torch.no_grad():
        torch.testing.assert_close(again(**batch), fused, atol=1e-5, rtol=1e-4)
        again.merge_adapter()
        torch.testing.assert_close(again(**batch), fused, atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="train_layers"):
        plain(**batch, lower=seen[0])


def test_adamw_is_fused_where_torch_has_the_kernel_and_steps_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    from kgagent.training.trainer import adamw

    def stepped(fused: bool) -> torch.Tensor:
        w = torch.nn.Parameter(torch.linspace(-1.0, 1.0, 6))
        opt = adamw([{"params": [w], "weight_decay": 0.01}], 0.1, torch.device("cpu")) if fused \
            else torch.optim.AdamW([{"params": [w], "weight_decay": 0.01}], lr=0.1, foreach=False)
        for _ in range(3):
            opt.zero_grad()
            (w ** 3).sum().backward()
            opt.step()
        return w.detach()

    w = torch.nn.Parameter(torch.zeros(2))
    assert adamw([{"params": [w]}], 0.1, torch.device("cpu")).defaults["fused"]  # CPUs: torch >= 2.4
    torch.testing.assert_close(stepped(True), stepped(False))
    real = torch.optim.AdamW

    def without_fused(*args: object, fused: bool | None = None, **kwargs: object) -> torch.optim.AdamW:
        if fused:  # what torch says where it has no fused kernel for the device
            raise RuntimeError("`fused=True` requires all the params to be floating point Tensors of supported devices")
        return real(*args, **kwargs)

    monkeypatch.setattr(torch.optim, "AdamW", without_fused)
    assert not adamw([{"params": [w]}], 0.1, torch.device("cpu")).defaults["fused"]  # the per-tensor loop
