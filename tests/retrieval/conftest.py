"""Retrieval fixtures: a tiny real BERT saved to disk, a movie KG made for linking, a built workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from kgagent.kg import KnowledgeGraph, Workspace

LINK_TRIPLES = (
    ("Alien", "directed_by", "Ridley Scott"),
    ("Blade Runner", "directed_by", "Ridley Scott"),
    ("Blade", "directed_by", "Stephen Norrington"),
    ("Alien", "starred_actors", "Sigourney Weaver"),
    ("Her", "directed_by", "Spike Jonze"),
    ("Amélie", "directed_by", "Jean-Pierre Jeunet"),
    ("Schindler's List", "directed_by", "Steven Spielberg"),
    ("Crash (1996)", "directed_by", "David Cronenberg"),
    ("Crash (2004)", "directed_by", "Paul Haggis"),
    ("Crash (2004)", "starred_actors", "Sandra Bullock"),
    ("Police", "directed_by", "Maurice Pialat"),
    ("Police", "has_tags", "police"),
    ("What", "directed_by", "Roman Polanski"),
    ("Alien", "release_year", "1979"),
)
# Two films share the label "Crash": linking it is ambiguous without context.
LINK_LABELS = {"Crash (1996)": "Crash", "Crash (2004)": "Crash"}


@pytest.fixture(scope="session")
def link_kg() -> KnowledgeGraph:
    return KnowledgeGraph.from_triples(
        LINK_TRIPLES,
        labels=LINK_LABELS,
        aliases={"Ridley Scott": ["Sir Ridley Scott"], "Steven Spielberg": ["Spielberg"]},
        descriptions={"Alien": "A science fiction horror film set on a spaceship."},
    )


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialized 2-layer, 32-d BERT and a word-level vocabulary, saved like a hub model."""
    import torch
    from transformers import BertConfig, BertModel, BertTokenizer

    words = sorted(
        {w.lower() for h, r, t in LINK_TRIPLES for x in (h, r, t) for w in x.replace("_", " ").split()}
        | {
            "who",
            "directed",
            "what",
            "the",
            "a",
            "film",
            "by",
            "of",
            "in",
            "and",
            "science",
            "fiction",
            "horror",
        }
    )
    out = tmp_path_factory.mktemp("tiny-encoder")
    letters = list("abcdefghijklmnopqrstuvwxyz0123456789")
    # whole words of the fixtures, then letters and ##letters so any other word splits into pieces
    vocab = [
        "[PAD]",
        "[UNK]",
        "[CLS]",
        "[SEP]",
        "[MASK]",
        *"—'#.,?!()-$",
        *words,
        *letters,
        *(f"##{c}" for c in letters),
    ]
    vocab = list(dict.fromkeys(vocab))
    BertTokenizer(vocab={w: i for i, w in enumerate(vocab)}, do_lower_case=True).save_pretrained(out)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    BertModel(config).save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_encoder(tiny_encoder_dir: Path):
    from kgagent.retrieval import TextEncoder

    return TextEncoder(tiny_encoder_dir, batch_size=4)


@pytest.fixture(scope="session")
def built_ws(
    tmp_path_factory: pytest.TempPathFactory, link_kg: KnowledgeGraph, tiny_encoder, tiny_encoder_dir
):
    """A workspace with kg/ and index/ built with the tiny encoder, plus one user document."""
    from kgagent.retrieval import IndexConfig, build_index

    root = tmp_path_factory.mktemp("ws")
    docs = root.parent / f"{root.name}-docs"
    (docs / "notes").mkdir(parents=True)
    (docs / "notes" / "alien.md").write_text(
        "# Alien\n\nThe crew of a spaceship meets a deadly creature.\n", encoding="utf-8"
    )
    ws = Workspace(root)
    link_kg.save(ws.kg_dir)
    build_index(
        link_kg,
        out_dir=ws.index_dir,
        config=IndexConfig(encoder=str(tiny_encoder_dir), documents=str(docs)),
        encoder=tiny_encoder,
        progress=False,
    )
    return ws
