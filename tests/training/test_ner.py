"""The mention tagger: BIO labels, training from the graph alone, save/load, span scores, the CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from kgagent.kg import KnowledgeGraph, Workspace
from kgagent.training.ner import (
    NERConfig,
    NERExample,
    NERModel,
    entity_tags,
    span_scores,
    synthesize_ner_examples,
    train_ner,
)
from kgagent.training.trainer import TrainConfig

FILMS = KnowledgeGraph.from_triples([
    ("Alien", "directed_by", "Ridley Scott"), ("Gladiator", "directed_by", "Ridley Scott"),
    ("Alien", "starred_actors", "Sigourney Weaver"), ("Aliens", "starred_actors", "Sigourney Weaver"),
    ("Aliens", "directed_by", "James Cameron"), ("Titanic", "directed_by", "James Cameron"),
    ("Alien", "has_genre", "Horror"), ("Titanic", "has_genre", "Drama"),
])


def tiny_config(tiny_bert: str, **train: object) -> NERConfig:
    """A tiny random BERT has no pretrained word pieces or layers worth keeping: all of it trains."""
    settings = {"epochs": 8, "lr": 3e-3, "batch_size": 8, "patience": 0, **train}
    return NERConfig(base_model=tiny_bert, questions=80, variants=2, train_embeddings=True, train_layers=0,
                     train=TrainConfig(**settings))


@pytest.fixture(scope="module")
def trained(tiny_bert: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[object, Path]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        out = tmp_path_factory.mktemp("ner") / "ner"
        return train_ner(FILMS, config=tiny_config(tiny_bert), out_dir=out, progress=False), out
    finally:
        torch.set_num_threads(before)


def test_labels_are_bio_over_word_pieces(tiny_bert: str) -> None:
    model = NERModel.create(NERConfig(base_model=tiny_bert), ["ENT"])
    text = "who directed ridley scott"
    enc = model.encode([text], [[(13, 25, "ENT")]])
    tokens = model.tokenizer.convert_ids_to_tokens(enc["input_ids"][0])
    labels = [model.labels[i] if i >= 0 else None for i in enc["labels"][0].tolist()]
    pairs = list(zip(tokens, labels, strict=True))
    assert pairs[0] == ("[CLS]", None) and pairs[-1] == ("[SEP]", None)
    assert pairs[1:-1] == [("who", "O"), ("directed", "O"), ("ridley", "B-ENT"), ("scott", "I-ENT")]
    pieces = model.encode(["the qzx film"], [[(4, 7, "ENT")]])  # "qzx" is three word pieces
    inner = [model.labels[i] for i in pieces["labels"][0].tolist()[1:-1]]
    assert inner == ["O", "B-ENT", "I-ENT", "I-ENT", "O"]


def test_examples_come_from_the_graph_with_changed_mentions() -> None:
    config = NERConfig(questions=60, variants=3, train=TrainConfig(seed=1))
    train, val = synthesize_ner_examples(FILMS, config)
    assert len(val) >= 4 * 5 and len(train) > len(val)
    names = {n.lower() for e in range(FILMS.num_entities) for n in FILMS.names(e)}
    mentions = [x.text[s:e].lower() for x in train for s, e, _ in x.spans]
    assert all(len(x.spans) == 1 and x.spans[0][2] == "ENT" for x in train)  # no classes: one tag
    assert sum(m in names for m in mentions) > len(mentions) / 2  # most mentions are names ...
    assert any(m not in names for m in mentions)  # ... some are typos or partial names


def test_entity_classes_become_tags() -> None:
    kg = KnowledgeGraph.from_triples([("Kite 5", "is_a", "phone"), ("Snap Case", "is_a", "accessory"),
                                      ("Snap Case", "compatible_with", "Kite 5")])
    tags = entity_tags(kg)
    assert tags[kg.entity_id("Kite 5")] == "PHONE" and tags[kg.entity_id("Snap Case")] == "ACCESSORY"
    assert tags[kg.entity_id("phone")] == "ENT"
    assert set(entity_tags(kg, typed=False)) == {"ENT"}


@pytest.mark.parametrize(("gold", "pred", "p", "r"), [
    ([[(0, 5, "ENT")]], [[(0, 5, "ENT")]], 1.0, 1.0),
    ([[(0, 5, "ENT")]], [[(0, 4, "ENT")]], 0.0, 0.0),  # a boundary off: no credit
    ([[(0, 5, "ENT")]], [[(0, 5, "PHONE")]], 0.0, 0.0),  # the wrong tag: no credit
    ([[(0, 5, "ENT")], [(2, 4, "ENT")]], [[(0, 5, "ENT"), (7, 9, "ENT")], []], 0.5, 0.5),
])
def test_span_scores_are_strict(gold: list, pred: list, p: float, r: float) -> None:
    overall = span_scores(gold, pred)["overall"]
    assert (overall["precision"], overall["recall"], overall["n"]) == (p, r, sum(map(len, gold)))


def test_training_learns_mentions_and_round_trips(trained: tuple, tiny_bert: str) -> None:
    result, out = trained
    assert result.losses[-1] < 0.5 * result.losses[0]
    # span F1 on 120 fresh tagged questions of the graph: the 5-8 question validation split swings between
    # 0.33 and 0.68 with the seed alone (old and new synthesis alike), this one stays at 0.52-0.53
    train, val = synthesize_ner_examples(FILMS, NERConfig(questions=60, variants=1, train=TrainConfig(seed=7)))
    fresh = train + val
    pred = [[(s.start, s.end, s.label) for s in row] for row in result.model.tag([e.text for e in fresh])]
    assert span_scores([e.spans for e in fresh], pred)["overall"]["f1"] >= 0.45
    assert (out / "model" / "model.safetensors").is_file() and (out / "ner_config.json").is_file()
    texts = ["who directed alien", "what films did james cameron direct", "movies starring sigourney weaver"]
    loaded = NERModel.load(out, int8=False)
    assert loaded.tag(texts) == result.model.tag(texts)
    spans = loaded.tag(texts)
    # by default a CPU runs it with int8 Linear layers: the same spans, scores a little apart
    quick = NERModel.load(out)
    assert {type(m).__module__ for m in quick.model.modules()} >= {"torch.ao.nn.quantized.dynamic.modules.linear"}
    assert [[(s.start, s.end, s.label) for s in row] for row in quick.tag(texts)] == [
        [(s.start, s.end, s.label) for s in row] for row in spans]
    assert not NERModel.load(out, int8=False).model.classifier.__module__.startswith("torch.ao")
    found = [[t[s.start:s.end] for s in row] for t, row in zip(texts, spans, strict=True)]
    assert sum(any(m in names for m in ("alien", "james cameron", "sigourney weaver")) for names in found) >= 2


def test_tags_snap_to_whole_words(trained: tuple) -> None:
    model = trained[0].model
    for row, text in zip(model.tag(["who directed gladiatorx", "sigourney weavers films"]),
                         ["who directed gladiatorx", "sigourney weavers films"], strict=True):
        for s in row:
            assert (s.start == 0 or not text[s.start - 1].isalnum()) and (s.end == len(text) or not
                                                                             text[s.end].isalnum())
            assert 0 < s.score <= 1


def test_a_full_fine_tune_keeps_the_word_piece_table_by_default(tiny_bert: str) -> None:
    import torch
    from transformers import AutoModel

    examples = synthesize_ner_examples(FILMS, NERConfig(questions=20, variants=0))
    base = AutoModel.from_pretrained(tiny_bert)
    for train_embeddings in (False, True):
        config = replace(tiny_config(tiny_bert, epochs=1), train_embeddings=train_embeddings)
        model = train_ner(FILMS, config=config, examples=examples, progress=False).model.model
        kept = torch.equal(model.get_input_embeddings().weight, base.get_input_embeddings().weight)
        assert kept is not train_embeddings
        assert not torch.equal(model.bert.encoder.layer[0].attention.self.query.weight,
                               base.encoder.layer[0].attention.self.query.weight)


def test_train_layers_freezes_the_layers_below(tiny_bert: str) -> None:
    import torch
    from transformers import AutoModel

    examples = synthesize_ner_examples(FILMS, NERConfig(questions=20, variants=0))
    base = AutoModel.from_pretrained(tiny_bert)
    config = replace(tiny_config(tiny_bert, epochs=1), train_embeddings=False, train_layers=1)
    model = train_ner(FILMS, config=config, examples=examples, progress=False).model.model
    assert torch.equal(model.bert.encoder.layer[0].attention.self.query.weight,
                       base.encoder.layer[0].attention.self.query.weight)  # frozen: the first of 2 layers
    assert not torch.equal(model.bert.encoder.layer[1].attention.self.query.weight,
                           base.encoder.layer[1].attention.self.query.weight)
    assert torch.equal(model.bert.embeddings.position_embeddings.weight, base.embeddings.position_embeddings.weight)
    with pytest.raises(ValueError, match="train_embeddings"):
        NERConfig(train_embeddings=True, train_layers=1)


def test_lora_tagger_trains_and_saves_merged(tiny_bert: str, tmp_path: Path) -> None:
    config = tiny_config(tiny_bert, epochs=1)
    config.finetune, config.lora_r = "lora", 4
    examples = ([NERExample("who directed alien", ((13, 18, "ENT"),))] * 8, [])
    result = train_ner(FILMS, config=config, out_dir=tmp_path / "ner", examples=examples, progress=False)
    assert len(result.losses) == 1
    assert not any("lora" in k for k in result.model.model.state_dict())  # merged into the base weights
    assert NERModel.load(tmp_path / "ner").config.finetune == "lora"


def test_bad_settings_and_folders(tmp_path: Path) -> None:
    from kgagent.kg.errors import KgAgentError

    with pytest.raises(ValueError, match="finetune"):
        NERConfig(finetune="frozen")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="questions"):
        NERConfig(questions=0)
    with pytest.raises(KgAgentError, match="train ner"):
        NERModel.load(tmp_path)


@pytest.mark.slow
def test_cli_train_and_eval_ner(tiny_bert: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from kgagent.agent.cli import main

    ws = tmp_path / "ws"
    FILMS.save(Workspace(ws).kg_dir)
    (ws / "kgagent.toml").write_text(f'[ner]\nbase_model = "{tiny_bert}"\nquestions = 40\nlr = 0.003\n'
                                     "batch_size = 8\n")
    assert main(["train", "ner", str(ws), "--epochs", "2"]) == 0
    assert json.loads((ws / "manifest.json").read_text())["steps"]["ner"]["config"]["train"]["epochs"] == 2
    data = tmp_path / "qa.txt"
    data.write_text("who directed [Alien]\tRidley Scott\nwhat did [James Cameron] direct\tTitanic|Aliens\n")
    out = tmp_path / "ner.json"
    assert main(["eval", "ner", str(ws), "--data", str(data), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert {"precision", "recall", "f1", "n"} <= set(result) and result["n"] == 2 and "ENT" in result["tags"]
    assert "precision    recall  f1-score   support" in capsys.readouterr().out
    # the agent's linker picks the tagger up
    from kgagent.agent.workspace import AgentWorkspace

    assert AgentWorkspace(ws).retriever.linker.tagger is not None
    assert main(["eval", "ner", str(tmp_path / "nowhere"), "--data", str(data)]) == 2


def test_layers_keeps_the_first_ones_and_never_adds(tiny_bert: str) -> None:
    assert NERModel.create(NERConfig(base_model=tiny_bert, layers=1), ["ENT"]).model.config.num_hidden_layers == 1
    assert NERModel.create(NERConfig(base_model=tiny_bert, layers=5), ["ENT"]).model.config.num_hidden_layers == 2
