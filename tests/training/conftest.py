"""Shared fixtures for training tests: a tiny randomly initialized BERT with a tiny WordPiece vocabulary."""

from __future__ import annotations

import string
from collections.abc import Iterator
from pathlib import Path

import pytest

# Words of the toy tasks in these tests; single letters and "##" letters make any lowercase text tokenizable.
TINY_WORDS = (
    "what", "is", "my", "balance", "how", "much", "money", "account", "check", "show", "transfer",
    "send", "pay", "to", "from", "cancel", "stop", "card", "lost", "stolen", "weather", "rain", "sunny",
    "today", "tomorrow", "forecast", "will", "it", "the", "a", "an", "please", "book", "flight",
    "hotel", "play", "song", "music", "who", "directed", "alien", "film", "movie", "ridley", "scott",
    "weaver", "sigourney", "starred", "in", "tell", "me", "about", "joke", "funny", "order", "pizza",
    "set", "alarm", "timer", "wake", "up", "at", "for", "minutes", "hello", "hi", "thanks", "bye",
)


def build_tiny_bert(directory: Path, *, hidden: int = 32, layers: int = 2, heads: int = 2) -> Path:
    """Save a tiny BERT (random weights) and its fast WordPiece tokenizer to ``directory``; returns it."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    letters = list(string.ascii_lowercase + string.digits)
    punct = list("?!.,'-:;\"()&/$%")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *punct, *letters, *(f"##{c}" for c in letters),
             *dict.fromkeys(TINY_WORDS)]
    tokenizer = BertTokenizerFast(vocab={tok: i for i, tok in enumerate(vocab)}, do_lower_case=True)
    tokenizer.save_pretrained(directory)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=heads, intermediate_size=2 * hidden, max_position_embeddings=64,
                        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    BertModel(config).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Path of a tiny BERT folder usable as ``EncoderConfig(base_model=...)``."""
    return str(build_tiny_bert(tmp_path_factory.mktemp("tiny-bert")))


@pytest.fixture
def single_thread() -> Iterator[None]:
    """Run a test on one torch thread: tiny models gain nothing from more, and the cores are shared."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
