"""Time budgets: reading durations, sharing what is left, and the KGE's choice of training regime."""

from __future__ import annotations

import time

import pytest

from kgagent.kg.budget import MIN_SHARE, Deadline, parse_duration, tighter
from kgagent.kg.embeddings import REGIMES, KGEConfig, choose_regime


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("10m", 600), ("1h30m", 5400), ("2.5 min", 150),
                                                ("45", 45), (12, 12), ("1H", 3600)])
def test_durations_read_as_seconds(text, seconds) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "ten minutes", "10x", "m", "0s", "-5", "5m later"])
def test_bad_durations_name_what_was_given(text) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_a_deadline_shares_what_is_left() -> None:
    d = Deadline(10.0, start=time.perf_counter() - 4.0)  # 6 s left
    assert 5.9 < d.left() <= 6.0
    assert 1.4 < d.share(1, 4) <= 1.5
    spent = Deadline(1.0, start=time.perf_counter() - 5)
    assert spent.left() == 0.0 and spent.share(1, 2) == MIN_SHARE > 0  # a valid limit, the shortest run
    assert Deadline(None).share(1, 2) is None
    assert tighter(None, None) is None and tighter(4.0, None) == 4.0 and tighter(4.0, 3.0) == 3.0


def test_regime_is_one_to_n_on_small_graphs_and_sampled_on_large_ones() -> None:
    small, why = choose_regime(KGEConfig(device="cpu"), n_train=5_000, n_entities=1_000)
    assert small.training_loop == "lcwa" and "under" in why
    assert (small.loss, small.batch_size, small.negatives) == tuple(REGIMES["lcwa"][k]
                                                                   for k in ("loss", "batch_size", "negatives"))
    large, why = choose_regime(KGEConfig(device="cpu"), n_train=107_000, n_entities=43_000)  # MetaQA's size
    assert large.training_loop == "slcwa" and "over" in why
    assert large.loss == REGIMES["slcwa"]["loss"] and large.batch_size == REGIMES["slcwa"]["batch_size"]
    # a GPU makes 1-N cheap enough again
    assert choose_regime(KGEConfig(device="cuda"), n_train=107_000, n_entities=43_000)[0].training_loop == "lcwa"


def test_what_the_user_sets_wins_over_the_regime() -> None:
    cfg, why = choose_regime(KGEConfig(training_loop="lcwa", loss="softplus", batch_size=64, device="cpu"),
                             n_train=107_000, n_entities=43_000)
    assert (cfg.training_loop, cfg.loss, cfg.batch_size, why) == ("lcwa", "softplus", 64, "as configured")
    cfg, _ = choose_regime(KGEConfig(negatives=3, device="cpu"), n_train=107_000, n_entities=43_000)
    assert cfg.negatives == 3 and cfg.loss == REGIMES["slcwa"]["loss"]


def test_auto_gives_millions_of_entities_fewer_dimensions() -> None:
    from kgagent.kg.embeddings import ENTITY_FLOATS_LIMIT, SLCWA_MAX_BATCH

    metaqa, _ = choose_regime(KGEConfig(device="cpu"), n_train=107_000, n_entities=43_000)
    assert metaqa.dim == 200 and metaqa.batch_size == 4096  # far under the limits: as the regime says
    huge, why = choose_regime(KGEConfig(device="cpu"), n_train=8_000_000, n_entities=2_600_000)
    assert huge.dim < 200 and 2 * huge.dim * 2_600_000 <= ENTITY_FLOATS_LIMIT and "dim" in why
    # each step updates every entity's row: the batch grows with the entities, a power of two up to a cap
    assert huge.batch_size == SLCWA_MAX_BATCH and "batches of" in why
    mid = choose_regime(KGEConfig(device="cpu"), n_train=800_000, n_entities=260_000)[0]
    assert 4096 < mid.batch_size < SLCWA_MAX_BATCH and mid.batch_size & (mid.batch_size - 1) == 0
    assert choose_regime(KGEConfig(device="cpu", batch_size=512), n_train=800_000,
                         n_entities=260_000)[0].batch_size == 512  # the user's batch size wins
    # a loop the user chose is taken as configured, dimension included
    assert choose_regime(KGEConfig(training_loop="slcwa", device="cpu"), n_train=8_000_000,
                         n_entities=2_600_000)[0].dim == 200
