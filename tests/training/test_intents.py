"""Intent classification: data loading, training on a toy task, save/load, OOS, fusion, and the CLI."""

from __future__ import annotations

import json
import random
from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
import torch

from kgagent.kg import KnowledgeGraph
from kgagent.kg.config import make_config
from kgagent.kg.errors import ConfigError, InputError
from kgagent.training.fused import EncoderConfig
from kgagent.training.intents import (
    IntentConfig,
    IntentData,
    IntentModel,
    IntentPrediction,
    IntentSplit,
    calibrate_threshold,
    evaluate_intents,
    load_intent_data,
    score_predictions,
    train_intents,
)
from kgagent.training.trainer import TrainConfig

pytestmark = pytest.mark.usefixtures("single_thread")

TEMPLATES = {
    "balance": ["what is my balance", "how much money is in my account", "check my balance please",
                "show my account balance", "balance please", "how much money do i have"],
    "weather": ["what is the weather today", "will it rain tomorrow", "weather forecast please",
                "is it sunny today", "show the forecast", "will it be sunny tomorrow"],
    "music": ["play a song", "play music please", "play the song", "music please", "play some music",
              "play me a song please"],
    "alarm": ["set an alarm", "wake me up at 7", "set a timer for 5 minutes", "set alarm for tomorrow",
              "wake me up tomorrow", "set a timer please"],
}
HELD_OUT = [("how much money is in my balance", "balance"), ("will it rain today", "weather"),
            ("play a song please", "music"), ("set an alarm please", "alarm"),
            ("forecast for tomorrow", "weather"), ("check my account", "balance"),
            ("play the music", "music"), ("wake me up at 5", "alarm")]


def toy_split(per_intent: int = 14, seed: int = 0, intents: dict[str, list[str]] = TEMPLATES) -> IntentSplit:
    rng = random.Random(seed)
    split = IntentSplit()
    for intent, texts in intents.items():
        for i in range(per_intent):
            split.texts.append(texts[i % len(texts)] if i < len(texts) else rng.choice(texts))
            split.intents.append(intent)
    return split


def toy_config(tiny_bert: str, **overrides: object) -> IntentConfig:
    values = {"base_model": tiny_bert, "finetune": "full", "lr": 2e-3, "epochs": 12, "batch_size": 8,
              "patience": 0, "warmup_ratio": 0.0, "head_dropout": 0.0, "fusion": "none"}
    return make_config(IntentConfig, {**values, **overrides})


@pytest.fixture(scope="module")
def trained(tiny_bert: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[IntentModel, Path]:
    out = tmp_path_factory.mktemp("intents") / "model"
    data = IntentData(Path("toy"), toy_split())
    result = train_intents(data, toy_config(tiny_bert), out_dir=out, progress=False)
    return result.model, out


# ----------------------------------------------------------------- training and inference
def test_learns_a_toy_task(trained: tuple[IntentModel, Path]) -> None:
    model, _ = trained
    texts, gold = zip(*HELD_OUT, strict=True)
    predictions = model.predict(list(texts))
    accuracy = np.mean([p.intent == g for p, g in zip(predictions, gold, strict=True)])
    assert accuracy >= 0.85, predictions
    assert all(0.0 < p.confidence <= 1.0 and not p.out_of_scope for p in predictions)


def test_save_load_gives_identical_predictions(trained: tuple[IntentModel, Path]) -> None:
    model, out = trained
    assert {"encoder", "head.safetensors", "intents.json"} <= {p.name for p in out.iterdir()}
    texts = [t for t, _ in HELD_OUT]
    loaded = IntentModel.load(out, merge=False)
    np.testing.assert_allclose(loaded.probabilities(texts), model.probabilities(texts), rtol=0, atol=1e-6)
    assert loaded.predict(texts) == model.predict(texts)
    assert loaded.labels == model.labels and loaded.threshold == model.threshold
    assert loaded.config.oos_score == model.config.oos_score == "energy"


def test_models_saved_before_oos_score_keep_their_softmax_threshold(trained: tuple[IntentModel, Path],
                                                                     tmp_path: Path) -> None:
    import shutil

    _, out = trained
    old = tmp_path / "old"
    shutil.copytree(out, old)
    meta = json.loads((old / "intents.json").read_text())
    del meta["config"]["oos_score"]
    meta["threshold"] = 0.3
    (old / "intents.json").write_text(json.dumps(meta))
    loaded = IntentModel.load(old)
    assert loaded.config.oos_score == "softmax" and loaded.threshold == 0.3


def test_deterministic_under_a_seed(tiny_bert: str) -> None:
    data = IntentData(Path("toy"), toy_split(per_intent=6))
    texts = [t for t, _ in HELD_OUT]

    def probs(seed: int) -> np.ndarray:
        config = toy_config(tiny_bert, finetune="lora", lr=5e-3, epochs=2, seed=seed, lora_dropout=0.1)
        return train_intents(data, config, progress=False).model.probabilities(texts)

    a, b, c = probs(1), probs(1), probs(2)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


# ----------------------------------------------------------------- out of scope
def test_oos_by_threshold(trained: tuple[IntentModel, Path]) -> None:
    model, _ = trained
    texts = [t for t, _ in HELD_OUT]
    saved = model.threshold
    try:
        model.threshold = None  # no threshold: every text gets an intent
        confident = model.predict(texts)
        assert not any(p.out_of_scope for p in confident)
        model.threshold = float("inf")  # no text scores that high
        flagged = model.predict(texts)
    finally:
        model.threshold = saved
    assert all(p.out_of_scope and p.intent == "oos" for p in flagged)
    assert all(abs(f.confidence - (1 - c.confidence)) < 1e-6 for f, c in zip(flagged, confident, strict=True))


def test_oos_scores() -> None:
    from kgagent.training.intents import OOS_SCORES

    logits = np.array([[4.0, 0.0, 0.0], [1.0, 1.0, 5.0], [0.0, 0.1, 0.0]])
    # energy: log-sum-exp of the in-scope logits (class 2 is the OOS class here)
    np.testing.assert_allclose(OOS_SCORES["energy"](logits, 2), np.log(np.exp(logits[:, :2]).sum(1)))
    assert OOS_SCORES["energy"](logits, None)[1] == pytest.approx(np.log(2 * np.e + np.exp(5)))
    soft = OOS_SCORES["softmax"](logits, 2)
    assert soft[0] == pytest.approx(np.exp(4) / (np.exp(4) + 2)) and soft.argmin() == 2
    with pytest.raises(ValueError, match="oos_score"):
        IntentConfig(oos_score="entropy")
    IntentConfig(oos_score="energy", oos_threshold=7.5)  # energy thresholds are not probabilities
    with pytest.raises(ValueError, match="oos_threshold"):
        IntentConfig(oos_score="softmax", oos_threshold=7.5)


def test_calibration_separates_oos_from_in_scope() -> None:
    labels = ["a", "b"]
    # in-scope examples are confident, OOS ones are not: the best threshold lies between 0.6 and 0.9
    probs = np.array([[0.95, 0.05], [0.1, 0.9], [0.92, 0.08], [0.55, 0.45], [0.4, 0.6]], dtype=np.float32)
    gold = ["a", "b", "a", "oos", "oos"]
    t = calibrate_threshold(probs, gold, labels, oos_weight=0.5)
    assert 0.6 < t <= 0.9
    assert calibrate_threshold(probs[:3], gold[:3], labels, 0.5) is None  # no OOS examples: no threshold
    # on another score (here the energy-like margin of the top logit), the threshold lies on that score's scale
    scores = np.array([9.0, 8.0, 8.5, 2.0, 3.0])
    assert 3.0 < calibrate_threshold(probs, gold, labels, 0.5, scores=scores) <= 8.0


def test_trains_with_an_oos_class_and_calibrates(tiny_bert: str) -> None:
    intents = {**TEMPLATES, "oos": ["tell me a joke", "order a pizza", "book a flight", "book a hotel"]}
    train = toy_split(per_intent=8, intents=intents)
    val = toy_split(per_intent=3, seed=1, intents=intents)
    result = train_intents(IntentData(Path("toy"), train, val), toy_config(tiny_bert), progress=False)
    assert result.model.oos_label == "oos" and result.model.oos_index is not None
    assert result.val_metrics["n_oos"] == 3 and result.val_metrics["oos_recall"] is not None
    assert result.model.config.oos_score == "energy" and result.model.threshold is not None
    pred = result.model.predict(["tell me a joke"])[0]
    assert pred.out_of_scope and pred.intent == "oos"


def test_metric_meanings() -> None:
    gold = ["a", "a", "b", "oos", "out_of_scope"]
    preds = [IntentPrediction("a", 0.9, False), IntentPrediction("oos", 0.8, True),
             IntentPrediction("b", 0.9, False), IntentPrediction("oos", 0.7, True),
             IntentPrediction("a", 0.6, False)]
    m = score_predictions(gold, preds)
    assert m.accuracy == pytest.approx(3 / 5)
    assert m.in_scope_accuracy == pytest.approx(2 / 3)  # an OOS prediction of an in-scope query is wrong
    assert m.oos_recall == pytest.approx(1 / 2)  # "out_of_scope" is the same class as "oos"
    assert m.n == 5 and m.n_oos == 2
    assert {"gold": "a", "predicted": "oos", "count": 1} in m.confused


# ----------------------------------------------------------------- fusion
@pytest.mark.parametrize("fusion", ["tokens", "pooled", "both"])
def test_fused_intents_use_linked_entities(tiny_bert: str, tmp_path: Path, fusion: str) -> None:
    from kgagent.retrieval.linker import EntityLinker

    kg = KnowledgeGraph.from_triples([("Alien", "directed_by", "Ridley Scott"),
                                      ("Alien", "starred_actors", "Sigourney Weaver")])
    vectors = torch.randn(kg.num_entities, 8, generator=torch.Generator().manual_seed(0))
    intents = {**TEMPLATES, "movie": ["who directed alien", "tell me about alien", "who starred in alien",
                                      "tell me about ridley scott", "alien film please"]}
    data = IntentData(Path("toy"), toy_split(per_intent=5, intents=intents))
    linker = EntityLinker(kg)
    result = train_intents(data, toy_config(tiny_bert, fusion=fusion, epochs=2), entity_vectors=vectors,
                           linker=linker, progress=False)
    model = result.model
    assert result.train["fusion"] == fusion and model.fused
    text = ["who directed alien"]
    linked = model.probabilities(text)  # links "alien" itself
    unlinked = model.probabilities(text, mentions=[[]])
    assert not np.allclose(linked, unlinked)
    model.save(tmp_path / "m")
    again = IntentModel.load(tmp_path / "m", entity_vectors=vectors, linker=linker)
    np.testing.assert_allclose(again.probabilities(text), linked, atol=1e-5)


def test_fusion_without_kge_is_a_config_error(tiny_bert: str) -> None:
    with pytest.raises(ConfigError, match="fusion"):
        train_intents(IntentData(Path("toy"), toy_split(per_intent=3)),
                      toy_config(tiny_bert, fusion="tokens"), progress=False)


# ----------------------------------------------------------------- data
def test_loads_jsonl_csv_and_clinc(tmp_path: Path) -> None:
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text('{"text": "hi", "intent": "greet"}\n\n{"text": "bye", "intent": "leave"}\n')
    assert load_intent_data(jsonl).train.intents == ["greet", "leave"]

    csv_file = tmp_path / "b.csv"
    csv_file.write_text('text,category\n"a quoted\ntext, over two lines",card\nplain,top_up\n')
    split = load_intent_data(csv_file).train
    assert split.texts == ["a quoted\ntext, over two lines", "plain"] and split.intents == ["card", "top_up"]

    clinc = tmp_path / "c.json"
    clinc.write_text(json.dumps({"train": [["t1", "x"]], "oos_train": [["o1", "oos"]], "val": [["v1", "x"]],
                                 "oos_val": [["o2", "oos"]]}))
    data = load_intent_data(clinc)
    assert data.train.intents == ["x", "oos"] and data.val is not None and data.val.texts == ["v1", "o2"]
    assert data.evaluation() is data.val  # no test split: evaluate on val + oos_val


@pytest.mark.parametrize(("name", "content", "where"), [
    ("a.jsonl", '{"text": "hi", "intent": "greet"}\n{"text": "bye"}\n', "a.jsonl:2"),
    ("a.jsonl", '{"text": "hi", "intent": "greet"}\n{"text": "  ", "intent": "x"}\n', "a.jsonl:2"),
    ("a.jsonl", '{"text": "hi", "intent": "greet"}\nnot json\n', "a.jsonl:2"),
    ("b.csv", 'text,category\n"two\nlines",card\n,top_up\n', "b.csv:4"),  # empty text after a 2-line record
    ("b.csv", "words,label_name\nhi,greet\n", "b.csv:1"),
    ("c.json", json.dumps({"train": [["ok", "x"], ["", "y"]]}), "c.json [train[1]]"),
    ("c.json", json.dumps({"rows": []}), "c.json:1"),
    ("d.xml", "<x/>", "d.xml"),
])
def test_bad_data_names_file_and_line(tmp_path: Path, name: str, content: str, where: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(InputError) as err:
        load_intent_data(path)
    assert str(err.value).startswith(str(tmp_path / where))


@pytest.mark.parametrize(("field", "value"), [
    ("fusion", "late"), ("lora_r", 0), ("epochs", 0), ("val_fraction", 1.5), ("oos_score", "entropy"),
    ("finetune", "x"),
])
def test_config_checks_name_the_field(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=field):  # flat, as in [intents], or nested, as in [intents.encoder]
        make_config(IntentConfig, {field: value})
    sub = next((name for name, cls in (("encoder", EncoderConfig), ("train", TrainConfig))
                if field in {f.name for f in fields(cls)}), None)
    if sub is not None:
        with pytest.raises(ConfigError, match=field):
            make_config(IntentConfig, {sub: {field: value}})


def test_flat_and_nested_tables_fill_the_same_config() -> None:
    """[intents] lora_dropout = 0.2 and [intents.encoder] lora_dropout = 0.2 mean the same; flat keys win (an
    override beats the file); the sub-configs keep the intent defaults for what is not given."""
    flat = make_config(IntentConfig, {"lora_dropout": 0.2, "lora_targets": ["query"], "epochs": 2, "seed": 3})
    nested = make_config(IntentConfig, {"encoder": {"lora_dropout": 0.2, "lora_targets": ["query"]},
                                        "train": {"epochs": 2, "seed": 3}})
    assert flat == nested
    assert flat.encoder.lora_targets == ("query",) and flat.encoder.max_length == 64 and flat.train.lr is None
    assert make_config(IntentConfig, {"train": {"epochs": 2}, "epochs": 4}).train.epochs == 4
    with pytest.raises(ConfigError, match="unknown field"):
        make_config(IntentConfig, {"lora_dropoutt": 0.2})


def test_evaluate_reports_latency(trained: tuple[IntentModel, Path]) -> None:
    model, _ = trained
    texts, gold = zip(*HELD_OUT, strict=True)
    m = evaluate_intents(model, IntentSplit(list(texts), list(gold)))
    assert m.n == len(HELD_OUT) and m.ms_per_query is not None and m.ms_per_query > 0
    assert m.oos_recall is None and m.in_scope_accuracy == m.accuracy


# ----------------------------------------------------------------- command line
def test_cli_train_and_eval_intents(tiny_bert: str, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from kgagent.agent.cli import main

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "kgagent.toml").write_text(
        f'[intents]\nbase_model = "{tiny_bert}"\nfinetune = "full"\nlr = 0.002\nbatch_size = 8\n'
        'patience = 0\nwarmup_ratio = 0.0\nhead_dropout = 0.0\n')
    data = tmp_path / "intents.jsonl"
    split = toy_split()
    rows = zip(split.texts, split.intents, strict=True)
    data.write_text("".join(json.dumps({"text": t, "intent": i}) + "\n" for t, i in rows))
    assert main(["train", "intents", str(ws), "--data", str(data), "--epochs", "12"]) == 0
    assert (ws / "models" / "intents" / "intents.json").is_file()
    manifest = json.loads((ws / "manifest.json").read_text())
    assert manifest["steps"]["intents"]["config"]["encoder"]["base_model"] == tiny_bert

    held = tmp_path / "held.csv"
    held.write_text("text,category\n" + "".join(f"{t},{i}\n" for t, i in HELD_OUT))
    out = tmp_path / "result.json"
    assert main(["eval", "intents", str(ws), "--data", str(held), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert {"accuracy", "in_scope_accuracy", "oos_recall", "macro_f1", "n", "confused"} <= set(result)
    assert result["n"] == len(HELD_OUT) and result["accuracy"] >= 0.85

    capsys.readouterr()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n')
    assert main(["eval", "intents", str(ws), "--data", str(bad)]) == 2
    assert "bad.jsonl:1" in capsys.readouterr().err
