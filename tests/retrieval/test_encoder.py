"""TextEncoder on a tiny real BERT saved to disk and loaded back by path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kgagent.kg.errors import ConfigError
from kgagent.retrieval import TextEncoder
from kgagent.retrieval.encoder import default_encoder_path

TEXTS = [
    "who directed alien",
    "a",
    "the film blade runner by ridley scott and harrison ford",
    "her",
    "police",
]


def test_vectors_are_unit_length_and_input_ordered(tiny_encoder: TextEncoder) -> None:
    v = tiny_encoder.encode(TEXTS)
    assert v.shape == (len(TEXTS), 32) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    # length sorting inside must not change which row belongs to which text
    np.testing.assert_allclose(tiny_encoder.encode(TEXTS[::-1]), v[::-1], atol=1e-5)
    assert not np.allclose(v[0], v[1])


def test_padding_does_not_change_a_vector(tiny_encoder_dir: Path, tiny_encoder: TextEncoder) -> None:
    alone = TextEncoder(tiny_encoder_dir, batch_size=1).encode(TEXTS)
    np.testing.assert_allclose(tiny_encoder.encode(TEXTS), alone, atol=1e-5)


def test_empty_input(tiny_encoder: TextEncoder) -> None:
    assert tiny_encoder.encode([]).shape == (0, 32)


def test_unloadable_model_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot load"):
        TextEncoder(tmp_path / "no-such-model")


def test_default_model_ships_in_site_packages() -> None:
    path = default_encoder_path()
    assert (path / "config.json").is_file() and (path / "tokenizer.json").is_file()


@pytest.mark.slow
def test_default_encoder_ranks_paraphrases_first() -> None:
    enc = TextEncoder()
    v = enc.encode(["who directed the movie Alien", "which director made Alien", "bananas are yellow"])
    assert v.shape == (3, 384)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
