"""Multi-hop QA: question files, path labelling, set-level execution, a real short training run on a toy task,
save/load, the KGE fallback for a removed edge, and the ``train qa`` / ``eval qa`` commands."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kgagent.kg import InputError, KnowledgeGraph
from kgagent.training.qa_data import NameIndex, gold_ids, mask_mention, parse_question, read_qa_file
from kgagent.training.qa_paths import PathIndex, label_paths

# ----------------------------------------------------------------- a toy movie KG with MetaQA-like questions
N_FILMS = 24
GENRES = ("drama", "comedy", "horror")
MISSING_FILM = "Film 0"  # its directed_by edge is removed; director_of and has_tags still name the director


def toy_triples(*, drop_missing: bool) -> list[tuple[str, str, str]]:
    triples = []
    for i in range(N_FILMS):
        film, director = f"Film {i}", f"Director {i % 6}"
        if not (drop_missing and film == MISSING_FILM):
            triples.append((film, "directed_by", director))
        triples.append((director, "director_of", film))  # the inverse, stated: what a KGE learns first
        # tags repeat the director (as MetaQA's do) and add a keyword, so has_tags is not directed_by
        triples += [(film, "has_tags", director), (film, "has_tags", ("classic", "cult")[i % 2]),
                    (film, "starred_actors", f"Actor {i % 8}"),
                    (film, "has_genre", GENRES[i % 3]), (film, "written_by", f"Writer {i % 5}")]
    return triples


# (template, relation path); [X] is the topic
TEMPLATES = (
    ("who directed [X]", ("directed_by",)),
    ("who is the director of [X]", ("directed_by",)),
    ("which films did [X] direct", ("directed_by^-1",)),
    ("what did [X] direct", ("directed_by^-1",)),
    ("who acted in [X]", ("starred_actors",)),
    ("what films star [X]", ("starred_actors^-1",)),
    ("who wrote [X]", ("written_by",)),
    ("what genre is [X]", ("has_genre",)),
    ("which actors starred in films directed by [X]", ("directed_by^-1", "starred_actors")),
    ("what genres are the films starring [X]", ("starred_actors^-1", "has_genre")),
    ("who directed the films written by [X]", ("written_by^-1", "directed_by")),
    ("which films share a director with [X]", ("directed_by", "directed_by^-1")),
    ("who wrote the films that share actors with [X]", ("starred_actors", "starred_actors^-1", "written_by")),
)


def toy_questions(kg: KnowledgeGraph) -> list[str]:
    """MetaQA-format lines for every template and every topic the path starts from (none about MISSING_FILM,
    whose question is kept for the fallback test)."""
    index = PathIndex(kg)
    lines = []
    for template, path in TEMPLATES:
        first = index.step_ids[path[0]]
        for topic in range(kg.num_entities):
            if kg.labels[topic] == MISSING_FILM:
                continue
            reached = index.execute([topic], path)
            if len(index.step(np.array([topic]), first)) and len(reached):
                names = "|".join(kg.labels[int(a)] for a in reached)
                lines.append(f"{template.replace('X', kg.labels[topic])}\t{names}")
    return lines


@pytest.fixture(scope="module")
def full_kg() -> KnowledgeGraph:
    return KnowledgeGraph.from_triples(toy_triples(drop_missing=False))


# ----------------------------------------------------------------- question files
def test_parse_and_mask() -> None:
    text, span, name = parse_question("who directed [Paris, Texas] then")
    assert (text, name) == ("who directed Paris, Texas then", "Paris, Texas")
    assert text[span[0]: span[1]] == "Paris, Texas"
    masked, ph = mask_mention(text, span, "[MASK]")
    assert masked == "who directed [MASK] then" and masked[ph[0]: ph[1]] == "[MASK]"
    assert parse_question("no topic here") == ("no topic here", None, None)


def test_gold_names_rejoin_titles_split_at_commas(tiny_kg: KnowledgeGraph) -> None:
    index = NameIndex(tiny_kg)
    ids = gold_ids(["Paris", "Texas", "Alien"], index)
    assert set(ids) == {tiny_kg.entity_id("Paris, Texas"), tiny_kg.entity_id("Alien")}
    assert index.lookup("sir ridley scott") == [tiny_kg.entity_id("Ridley Scott")]  # alias, any case


def test_read_qa_file_locates_errors_and_skips_unknown_topics(tiny_kg: KnowledgeGraph, tmp_path: Path) -> None:
    good = tmp_path / "q.txt"
    good.write_text("who directed [Alien]\tRidley Scott\nwho directed [Nope]\tX\n\nwhat did [James Cameron] "
                    "direct\tAliens|Titanic\n", encoding="utf-8")
    qtype = tmp_path / "q_qtype.txt"
    qtype.write_text("movie_to_director\nmovie_to_director\n\ndirector_to_movie\n", encoding="utf-8")
    exs = read_qa_file(good, tiny_kg)
    assert [ex.source.rsplit(":", 1)[1] for ex in exs] == ["1", "4"]  # line 2's topic is unknown: skipped
    assert exs[1].answers == (tiny_kg.entity_id("Aliens"), tiny_kg.entity_id("Titanic"))
    assert (exs[1].qtype, exs[1].hops) == ("director_to_movie", 1)
    bad = tmp_path / "bad.txt"
    bad.write_text("who directed [Alien]\tRidley Scott\nno tab on this line\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad.txt:2"):
        read_qa_file(bad, tiny_kg)
    nobr = tmp_path / "nobr.txt"
    nobr.write_text("who directed Alien\tRidley Scott\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"nobr.txt:1: no \[topic"):
        read_qa_file(nobr, tiny_kg)


# ----------------------------------------------------------------- set-level execution and path labels
def test_set_execution_matches_follow(full_kg: KnowledgeGraph) -> None:
    index = PathIndex(full_kg)
    for _, path in TEMPLATES:
        for topic in range(0, full_kg.num_entities, 3):
            exact = set(full_kg.follow([topic], list(path)))
            sets = set(index.execute([topic], path).tolist())
            assert exact == sets and topic not in sets


def test_label_paths_picks_the_right_path(full_kg: KnowledgeGraph) -> None:
    kg = full_kg
    e = kg.entity_id
    questions = [
        ([e("Film 1")], [e("Writer 1")]),  # who wrote Film 1: written_by, not another relation
        # actors of Director 2's films (Films 2, 8, 14, 20: actors i % 8)
        ([e("Director 2")], [e("Actor 2"), e("Actor 0"), e("Actor 6"), e("Actor 4")]),
        ([e("Film 3")], [e("Film 9"), e("Film 15"), e("Film 21")]),  # films sharing Film 3's director
        ([e("Film 3")], []),  # no gold: no label
    ]
    labels = label_paths(kg, questions)
    # the shortest best path first; longer paths reaching the same set are kept as tied labels
    assert labels[0].path == ("written_by",) and labels[0].f1 == 1.0
    assert labels[1].path == ("directed_by^-1", "starred_actors") and labels[1].f1 == 1.0
    # has_tags names the director too, but also a keyword shared by other films: directed_by wins
    assert labels[2].path == ("directed_by", "directed_by^-1")
    assert ("has_tags", "has_tags^-1") not in labels[2].paths
    # ties are kept: Film 1's writer's other films have only that writer, so this 3-hop walk ties with written_by
    assert ("written_by", "written_by^-1", "written_by") in labels[0].paths
    index = PathIndex(kg)
    for (topics, gold), lab in zip(questions[:3], labels, strict=False):
        assert all(set(index.execute(topics, p).tolist()) == set(gold) for p in lab.paths)
        assert [len(p) for p in lab.paths] == sorted(len(p) for p in lab.paths)
    assert labels[3].paths == ()


# ----------------------------------------------------------------- training on the toy task (tiny BERT, tiny KGE)
QA_WORDS = sorted({w for t, _ in TEMPLATES for w in t.replace("[X]", "").split()} | {
    "film", "director", "actor", "writer", "drama", "comedy", "horror", "has", "tags", "of", "by", "is", "the",
    "classic", "cult"})


def build_qa_bert(directory: Path, hidden: int = 32) -> Path:
    """A tiny random BERT whose WordPiece vocabulary holds the toy questions' words (and single characters)."""
    import string

    import torch
    from transformers import BertConfig, BertModel, BertTokenizerFast

    chars = list(string.ascii_lowercase + string.digits)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *"?!.,'-", *chars, *(f"##{c}" for c in chars),
             *QA_WORDS]
    vocab = list(dict.fromkeys(vocab))
    BertTokenizerFast(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True).save_pretrained(directory)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(vocab), hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
                         intermediate_size=2 * hidden, max_position_embeddings=64, hidden_dropout_prob=0.0,
                         attention_probs_dropout_prob=0.0)).save_pretrained(directory)
    return directory


def train_tiny_kge(kg: KnowledgeGraph, out: Path) -> Path:
    """A real (PyKEEN) ComplEx on the toy KG, seconds on the CPU."""
    from kgagent.kg.embeddings import KGEConfig, train_embeddings

    train_embeddings(kg, config=KGEConfig(model="ComplEx", dim=16, epochs=100, seed=0, split=(0.9, 0.05, 0.05),
                                               early_stopping=False),
                     out_dir=out, progress=False)
    return out


def write_questions(kg: KnowledgeGraph, path: Path) -> Path:
    path.write_text("".join(line + "\n" for line in toy_questions(kg)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def toy_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A workspace over the toy KG with one directed_by edge removed: kg/, kge/, kgagent.toml, questions.txt."""
    from kgagent.kg import Workspace

    root = tmp_path_factory.mktemp("qa-ws")
    ws = Workspace(root)
    kg = KnowledgeGraph.from_triples(toy_triples(drop_missing=True))
    kg.save(ws.kg_dir)
    train_tiny_kge(kg, ws.kge_dir)
    bert = build_qa_bert(root.parent / f"{root.name}-bert")
    ws.config_path.write_text(
        f'[qa]\nbase_model = "{bert}"\nfinetune = "full"\nhead_warmup_epochs = 40\nepochs = 15\nlr = 2e-3\n'
        "eval_every = 0\npatience = 3\nval_fraction = 0.15\nanswer_epochs = 60\nanswer_lr = 5e-3\n"
        "answer_batch_size = 32\nsoft_top_k = 2\nanswer_scorer = true\n"
        # the tags repeat the directors, so "which films did X direct" is labelled with has_tags^-1 where the
        # removed edge breaks directed_by^-1; the naming priors rightly prefer the relation the question names
        # and a near-hard answer-type prior the person-valued one, which this label-based validation counts
        # wrong (0.7-0.83): the priors are measured apart (test_path_prior, BENCHMARKS)
        "named_prior = 1.0\nunnamed_prior = 1.0\nfirst_prior = 1.0\nlast_prior = 1.0\nanswer_type_prior = 0.1\n",
        encoding="utf-8")
    # questions asked on the *full* graph: "who directed [Film 0]" expects Director 0, whose edge is gone
    write_questions(KnowledgeGraph.from_triples(toy_triples(drop_missing=False)), root / "questions.txt")
    return root


@pytest.fixture(scope="module")
def trained(toy_ws: Path) -> tuple:
    """(model, metrics) of a real training run on the toy questions, saved into WS/models/qa."""
    from kgagent.kg import Workspace
    from kgagent.training.qa import QAConfig, fit_qa, load_scorer
    from kgagent.training.qa_data import read_qa_file

    ws = Workspace(toy_ws)
    kg = KnowledgeGraph.load(ws.kg_dir)
    model, metrics = fit_qa(kg, read_qa_file(toy_ws / "questions.txt", kg), scorer=load_scorer(ws.kge_dir),
                            config=ws.config("qa", QAConfig), progress=False)
    model.save(ws.models_dir / "qa")
    return model, metrics


def test_scorer_matches_the_kge(toy_ws: Path) -> None:
    """The QA scorer's fast matmul scores equal PyKEEN's interaction (forward, and inverse through the learned
    inverse relations)."""
    import torch

    from kgagent.kg.embeddings import KGEmbeddings
    from kgagent.training.qa import load_scorer

    kge = KGEmbeddings.load(toy_ws / "kge")
    scorer = load_scorer(kge, KnowledgeGraph.load(toy_ws / "kg"))
    heads = np.array([0, 3, 7])
    for rel in range(kge.num_relations):
        for inverse in (False, True):
            want = kge.score_all(heads, np.full(3, rel), inverse=inverse)
            got = scorer.step(torch.as_tensor(heads), rel, not inverse).numpy()
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_training_learns_the_toy_task(trained: tuple, toy_ws: Path) -> None:
    from kgagent.training.qa import evaluate_qa

    model, metrics = trained
    # the removed edge leaves the plain reading (directed_by, directed_by^-1) out of the labels of "which films share
    # a director with" a film of Director 0: labels reach every gold film, that reading misses Film 0 (3 of the
    # 30 held-out questions), so path accuracy counts those wrong (at most 0.9); Hits@1 below does not
    assert metrics["val_path_accuracy"] >= 0.8, metrics
    assert metrics["val_hits_at_1"] >= 0.9, metrics
    result = evaluate_qa(model, toy_ws / "questions.txt", progress=False)
    assert result.hits_at_1 >= 0.9 and result.n == len(toy_questions(model.kg))
    assert set(result.per_hop) == {"unknown"}  # no qtype file: hops unknown
    r = model.answer("which actors starred in films directed by [Director 2]")
    # director_of is stated as directed_by's inverse: the two paths are the same question
    assert r.relation_path in {("directed_by^-1", "starred_actors"), ("director_of", "starred_actors")}
    top = r.answers[0]
    assert top.label in {"Actor 2", "Actor 0", "Actor 6", "Actor 4"} and top.source == "graph"
    # evidence: a real two-step path of the graph from the topic to the answer
    path = top.paths[0]
    assert len(path) == 2 and model.kg.relations[model.kg.triples[path[1].triple][1]] == "starred_actors"
    first = model.kg.triples[path[0].triple]
    assert model.kg.entity_id("Director 2") in (first[0], first[2])
    assert model.kg.triples[path[1].triple][2] == top.entity
    assert 0.0 <= r.confidence <= 1.0


def test_save_load_gives_identical_predictions(trained: tuple, toy_ws: Path) -> None:
    from kgagent.training.qa import QAModel

    model, _ = trained
    questions = [line.split("\t")[0] for line in toy_questions(model.kg)][::5]
    before = model.answer_many(questions)
    for merge in (False, True):
        loaded = QAModel.load(toy_ws / "models" / "qa", merge=merge)
        after = loaded.answer_many(questions)
        assert [r.relation_path for r in after] == [r.relation_path for r in before]
        assert [[a.entity for a in r.answers] for r in after] == [[a.entity for a in r.answers] for r in before]
        for a, b in zip(after, before, strict=True):
            assert a.confidence == pytest.approx(b.confidence, abs=1e-4)
            assert a.path_probability == pytest.approx(b.path_probability, abs=1e-4)


def test_rules_infer_a_removed_edge(trained: tuple, toy_ws: Path) -> None:
    from kgagent.training.qa import QAModel

    model, metrics = trained
    assert model.rules is not None and metrics["rules"] == len(model.rules) > 0
    film = model.kg.entity_id(MISSING_FILM)
    ids, conf, rules = model.rules.predict(film, "directed_by")
    # director_of states directed_by's inverse: that rule always holds (23 of 23, smoothed to 23 / 28) and ranks first
    assert model.kg.labels[ids[0]] == "Director 0" and rules[0].body == ("director_of^-1",) and conf[0] > 0.8
    soft = model.follow([film], ["directed_by"])
    assert soft[0].label == "Director 0" and soft[0].source == "kge" and soft[0].paths == []
    loaded = QAModel.load(toy_ws / "models" / "qa")
    assert loaded.rules is not None and loaded.rules.rules == model.rules.rules


def test_kge_fallback_answers_a_removed_edge(trained: tuple) -> None:
    model, _ = trained
    kg = model.kg
    model.rules, rules = None, model.rules  # the KGE alone infers the missing edge here
    film = kg.entity_id(MISSING_FILM)
    assert not kg.follow([film], ["directed_by"])  # the edge is gone from the graph
    assert model.follow([film], ["directed_by"], soft=False) == []
    soft = model.follow([film], ["directed_by"])
    assert soft[0].label == "Director 0" and soft[0].source == "kge" and soft[0].paths == []
    assert all(kg.labels[a.entity].startswith("Director") for a in soft)  # predicted links keep the hop's type
    # a two-hop path through the missing edge: the graph carries on from the predicted director
    two = model.follow([film], ["directed_by", "directed_by^-1"])
    assert {"Film 6", "Film 12", "Film 18"} <= {a.label for a in two[:3]}
    # end to end, with the soft fallback: the right director, whichever tied path the model picked
    model.selected = {"fallback": "soft", "scorer_weight": 0.0}
    assert model.answer(f"who directed [{MISSING_FILM}]").answers[0].label == "Director 0"
    model.rules = rules


# ----------------------------------------------------------------- the command line
def test_cli_train_and_eval_qa(toy_ws: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kgagent.agent.cli import main

    ws = tmp_path / "ws"
    shutil.copytree(toy_ws, ws, ignore=shutil.ignore_patterns("models", ".cache"))
    # a short run: this checks the commands and their outputs, the learning is checked above
    (ws / "kgagent.toml").write_text((toy_ws / "kgagent.toml").read_text().replace("answer_epochs = 60",
                                                                                   "answer_epochs = 2"))
    # several files after one --data, as in `kgagent train qa WS --data QA_FILE...`
    lines = (ws / "questions.txt").read_text().splitlines()
    (tmp_path / "q1.txt").write_text("\n".join(lines[:6]) + "\n")
    (tmp_path / "q2.txt").write_text("\n".join(lines[6:]) + "\n")
    assert main(["train", "qa", str(ws), "--data", str(tmp_path / "q1.txt"), str(tmp_path / "q2.txt"),
                 "--synthesize", "20", "--epochs", "1"]) == 0
    assert (ws / "models" / "qa" / "qa_config.json").is_file()
    out = tmp_path / "qa.json"
    assert main(["eval", "qa", str(ws), "--data", str(ws / "questions.txt"), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert {"hits_at_1", "n", "questions_per_s", "per_hop", "per_type"} <= set(result)
    assert result["n"] == len(toy_questions(KnowledgeGraph.load(ws / "kg"))) and 0 <= result["hits_at_1"] <= 1
    assert result["per_hop"]["unknown"]["n"] == result["n"]
    manifest = json.loads((ws / "manifest.json").read_text())
    assert manifest["steps"]["qa"]["metrics"]["synthesized"] == 20
    # the file's questions count authored_repeat (4) times beside the synthesized ones
    qa_metrics = manifest["steps"]["qa"]["metrics"]
    assert qa_metrics["labelled"] > 6  # the second file was read too (the first holds 6 questions)
    assert qa_metrics["labelled"] < qa_metrics["path_training_examples"] <= 4 * qa_metrics["labelled"]
    # a MetaQA-shaped folder: one row per hop and the question-weighted total
    for hop, part in zip(("1-hop", "2-hop", "3-hop"), (lines[:5], lines[5:12], lines[12:15]), strict=True):
        (tmp_path / "metaqa" / hop).mkdir(parents=True)
        (tmp_path / "metaqa" / hop / "qa_test.txt").write_text("\n".join(part) + "\n")
    assert main(["eval", "metaqa", str(ws), "--data", str(tmp_path / "metaqa"), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["n"] == 15 and [result[h]["n"] for h in ("1-hop", "2-hop", "3-hop")] == [5, 7, 3]
    assert result["hits_at_1"] == pytest.approx(sum(result[h]["hits_at_1"] * result[h]["n"] for h in
                                                    ("1-hop", "2-hop", "3-hop")) / 15)
    # the workspace can also come from $KGAGENT_WORKSPACE (`kgagent eval metaqa --data DIR`)
    monkeypatch.setenv("KGAGENT_WORKSPACE", str(ws))
    assert main(["eval", "metaqa", "--data", str(tmp_path / "metaqa"), "--json", str(out)]) == 0
    assert json.loads(out.read_text())["n"] == 15
    monkeypatch.delenv("KGAGENT_WORKSPACE")
    monkeypatch.chdir(tmp_path / "metaqa")  # no ./ws here
    assert main(["eval", "metaqa", "--data", str(tmp_path / "metaqa")]) == 2
    # bad input: one clear line, exit code 2
    assert main(["eval", "metaqa", str(ws), "--data", str(tmp_path / "nowhere")]) == 2
    assert main(["train", "qa", str(ws), "--data", str(tmp_path / "missing.txt")]) == 2


def test_similarity_gate(trained: tuple, toy_ws: Path) -> None:
    """The path similarity is skipped for questions the head is sure of only when chosen on written questions."""
    import dataclasses

    from kgagent.training.qa import fit as qa_fit
    from kgagent.training.qa.results import bracketed
    from kgagent.training.qa_data import read_qa_file

    model, _ = trained
    config, selected = model.config, dict(model.selected)
    try:
        exs = read_qa_file(toy_ws / "questions.txt", model.kg)
        prepared = [model.prepare(bracketed(ex), ex.topics) for ex in exs]
        # a gate of 0 skips the similarity for every question: the head alone
        model.reconfigure(similarity_gate=0.0)
        gated = [e.path_probs for e in model.encode(prepared)]
        model.reconfigure(similarity_gate=1.0, path_similarity=0.0)
        alone = [e.path_probs for e in model.encode(prepared)]
        np.testing.assert_allclose(np.stack(gated), np.stack(alone), rtol=1e-5, atol=1e-6)
        model.reconfigure(similarity_gate=None, path_similarity=config.path_similarity)
        # only synthesized questions (or too few written ones): no choice, the similarity is always used
        synthesized = [dataclasses.replace(ex, source="synthesized") for ex in exs]
        assert qa_fit.select_similarity_gate(model, prepared, synthesized) is None
        few = qa_fit.MIN_GATE_QUESTIONS - 1
        assert qa_fit.select_similarity_gate(model, prepared[:few], exs[:few]) is None
        out = qa_fit.select_similarity_gate(model, prepared, exs)
        hits = out["hits_at_1"]
        assert out["questions"] == len(exs)
        assert (out["chosen"] == qa_fit.SIMILARITY_GATE) == (hits[str(qa_fit.SIMILARITY_GATE)] >= hits["1.0"] - 1e-3)
        assert model.similarity_gate == out["chosen"] == model.selected["similarity_gate"]
    finally:
        model.config, model.selected = config, selected
        model.ranker.config = config
        model.__dict__.pop("prior", None)


def test_prior_weight_is_tempered_without_written_questions(trained: tuple, toy_ws: Path) -> None:
    """A head that saw only synthesized questions is tempered; written ones choose between 1 and the tempered."""
    import dataclasses

    from kgagent.training.qa import fit as qa_fit
    from kgagent.training.qa.results import bracketed
    from kgagent.training.qa_data import read_qa_file

    model, _ = trained
    config, selected = model.config, dict(model.selected)
    try:
        model.reconfigure(prior_model_weight=None)
        exs = read_qa_file(toy_ws / "questions.txt", model.kg)
        prepared = [model.prepare(bracketed(ex), ex.topics) for ex in exs]
        synthesized = [dataclasses.replace(ex, source="synthesized") for ex in exs]
        assert qa_fit.select_prior_weight(model, prepared, synthesized)["chosen"] == qa_fit.TEMPERED
        assert model.prior_weight == model.ranker.prior_weight == qa_fit.TEMPERED
        out = qa_fit.select_prior_weight(model, prepared, exs)
        hits = out["hits_at_1"]
        assert (out["chosen"] == qa_fit.TEMPERED) == (hits[str(qa_fit.TEMPERED)] > hits["1.0"])
        assert model.prior_weight == model.ranker.prior_weight == out["chosen"]
        model.reconfigure(prior_model_weight=0.7)  # a setting wins over the chosen
        assert model.prior_weight == model.ranker.prior_weight == 0.7
    finally:
        model.config, model.selected = config, selected
        model.ranker.config, model.ranker.prior_weight = config, model.prior_weight
        model.__dict__.pop("prior", None)


def test_the_training_sample_keeps_every_authored_question() -> None:
    from types import SimpleNamespace

    from kgagent.training.qa import QAConfig
    from kgagent.training.qa.fit import choose_sample

    def data(authored: int, synthesized: int) -> SimpleNamespace:
        sources = ["file"] * authored + ["synthesized"] * synthesized
        return SimpleNamespace(labelled=list(range(len(sources))),
                               examples=[SimpleNamespace(source=s) for s in sources])

    config = QAConfig(max_train_questions=100, authored_repeat=1)
    mixed = choose_sample(data(30, 1000), config, np.random.default_rng(0))
    assert len(mixed) == 100 and set(range(30)) <= set(mixed.tolist())  # all 30 authored, 70 synthesized
    only_files = choose_sample(data(500, 0), config, np.random.default_rng(0))
    assert len(only_files) == 100  # no synthesized ones: authored questions are sampled like any
    repeated = choose_sample(data(30, 1000), QAConfig(max_train_questions=100, authored_repeat=4),
                             np.random.default_rng(0))
    assert len(repeated) == 100 + 3 * 30
    assert len(choose_sample(data(30, 50), config, np.random.default_rng(0))) == 80  # under the cap: all
    many = choose_sample(data(5000, 1000), QAConfig(max_train_questions=100, synthesized_share=0.2),
                         np.random.default_rng(0))  # many authored: synthesized ones keep their share, no repeats
    assert len(many) == 100 and int((many >= 5000).sum()) == 20


def test_only_the_questions_a_fit_reads_are_labelled(full_kg: KnowledgeGraph, monkeypatch: pytest.MonkeyPatch) -> None:
    from kgagent.training.qa import QAConfig
    from kgagent.training.qa.fit import LABEL_POOL, label_questions
    from kgagent.training.qa_data import QAExample

    kg, e = full_kg, full_kg.entity_id
    authored = [QAExample(f"who wrote Film {i % N_FILMS} ({i})", (e(f"Film {i % N_FILMS}"),),
                          (e(f"Writer {i % N_FILMS % 5}"),), source=f"q.txt:{i}") for i in range(400)]
    synthesized = [QAExample(f"who directs Film {i}", (e(f"Film {i}"),), (e(f"Director {i % 6}"),),
                             source="synthesized", qtype="directed_by") for i in range(N_FILMS)]
    examples = authored + synthesized
    config = QAConfig(max_train_questions=20, max_val_questions=10, val_fraction=0.2)
    data = label_questions(kg, examples, config, None, progress=False)
    labelled = {i for i, lab in enumerate(data.labels) if lab}
    train_authored = [i for i in data.train_idx if i < 400]
    # of the ~320 authored training questions, a seeded pool of twice the sample; the held-out ones scored
    assert len([i for i in labelled if i in set(train_authored)]) == LABEL_POOL * 20
    assert set(data.val_idx[:10].tolist()) <= labelled
    assert not labelled & set(data.val_idx[10:].tolist())
    assert all(data.labels[i][0] == ("written_by",) for i in labelled if i < 400)
    # every synthesized training question (fewer than the pool) keeps its known path
    assert {i for i in data.train_idx if i >= 400} <= labelled
    # a spent labelling budget: past each source's first chunk synthesized questions keep the path they were asked
    # from, and no other question is labelled
    import kgagent.training.qa.fit as fit
    from kgagent.kg.budget import Deadline

    monkeypatch.setattr(fit, "LABEL_CHUNK", 5)
    spent = label_questions(kg, examples, config, None, progress=False, deadline=Deadline(1e-9))
    order = [i for i in np.random.default_rng(config.seed).permutation(spent.train_idx).tolist()]
    synth_rest = [i for i in order if i >= 400][5:]
    assert synth_rest and all(spent.labels[i] == (("directed_by",),) for i in synth_rest)
    assert sum(1 for i in spent.train_idx if i < 400 and spent.labels[i]) == 5  # the first chunk only
    # an ample budget: after a first small chunk, the rest in chunks as large as the time allows (each chunk
    # searches every topic it holds again), with the same labels as without a budget
    calls = []
    search = fit.cached_path_labels
    monkeypatch.setattr(fit, "cached_path_labels", lambda kg_, exs, *a, **k: calls.append(len(exs)) or
                        search(kg_, exs, *a, **k))
    ample = label_questions(kg, examples, config, None, progress=False, deadline=Deadline(1000.0))
    assert ample.labels == data.labels
    assert len([n for n in calls if n == 5]) <= 2 and max(calls) > 5  # a first chunk per source, then the rest
    monkeypatch.undo()
    # 0: every question, as before
    everything = label_questions(kg, examples, QAConfig(max_train_questions=0, max_val_questions=10,
                                                        val_fraction=0.2), None, progress=False)
    assert len(everything.labelled) == len(everything.train_idx)


def test_many_questions_from_files_still_get_a_share_of_synthesized_ones() -> None:
    from kgagent.training.qa import QAConfig, default_synthesis
    from kgagent.training.qa.train import AUTO

    assert default_synthesis(999) == AUTO  # few questions: as many as the graph's paths call for
    assert default_synthesis(30_000, QAConfig(max_train_questions=6000, synthesized_share=0.1)) == 667
    assert default_synthesis(1_200, QAConfig(max_train_questions=6000, synthesized_share=0.2)) == 300
    assert default_synthesis(30_000, QAConfig(synthesized_share=0.0)) == 0
    with pytest.raises(ValueError, match="synthesized_share"):
        QAConfig(synthesized_share=0.9)


def test_a_budget_plan_gives_each_phase_at_most_its_share() -> None:
    from kgagent.training.qa.budget import MIN_STEPS, SELECTION_PASSES, SHARES, WARMUP_TRAINING, plan_fit

    kw = {"sample": 6000, "val_questions": 600, "scorer_questions": 18000, "prototype_rows": 12000,
          "prototype_questions": 24, "batch_size": 32}
    free = plan_fit(None, 0.005, max_scorer_questions=4000, **kw)
    assert (free.encoder_seconds, free.sample, free.scorer_questions, free.skip_encoder) == (None, 6000, 4000, False)
    roomy = plan_fit(600.0, 0.005, **kw)  # every phase fits as asked: nothing is cut, not even to its share
    assert (roomy.sample, roomy.val_questions, roomy.scorer_questions, roomy.prototype_questions) == (6000, 600, 0, 24)
    encodings = 6000 + SELECTION_PASSES * 600 + 18000 + 12000
    assert roomy.encoder_seconds == pytest.approx(600 * (1 - WARMUP_TRAINING) - 0.005 * encodings)
    tight = plan_fit(100.0, 0.005, **kw)
    assert tight.sample == int(SHARES["warm-up"] * 100 / 0.005) == 4000
    assert tight.scorer_questions == 3000 and tight.val_questions == 333 and tight.prototype_questions == 4
    assert tight.encoder_seconds > 0.3 * 100  # what the capped phases leave
    starved = plan_fit(5.0, 0.005, **kw)
    assert starved.skip_encoder and starved.encoder_seconds < MIN_STEPS * 3 * 0.005 * 32


def test_a_fit_within_a_time_budget_says_how_it_spent_it(toy_ws: Path) -> None:
    import dataclasses
    import time

    from kgagent.kg import Workspace
    from kgagent.training.qa import QAConfig, fit_qa, load_scorer
    from kgagent.training.qa_data import read_qa_file

    ws = Workspace(toy_ws)
    kg = KnowledgeGraph.load(ws.kg_dir)
    config = dataclasses.replace(ws.config("qa", QAConfig), max_seconds=3.0)
    t0 = time.perf_counter()
    model, metrics = fit_qa(kg, read_qa_file(toy_ws / "questions.txt", kg), scorer=load_scorer(ws.kge_dir),
                            config=config, progress=False)
    seconds = time.perf_counter() - t0
    budget, phases = metrics["budget"], metrics["phase_seconds"]
    assert budget["seconds"] == 3.0 and budget["encoder_seconds"] < 3.0 and budget["sample"] >= 1
    assert set(phases) >= {"labels and model", "path head warm-up", "path head + encoder", "held-out choices"}
    if not budget["skip_encoder"]:  # the encoder trained for what the plan gave it, not its 15 epochs
        assert metrics["path_head"]["train_seconds"] <= budget["encoder_seconds"] + 2.0
    assert seconds < 20, phases
    assert model.answer("who directed [Film 1]").answers  # a usable model all the same
    # a budget spent before the fit starts (a build whose index took all of it): every phase's shortest run
    spent = dataclasses.replace(config, max_seconds=0.001)
    model, metrics = fit_qa(kg, read_qa_file(toy_ws / "questions.txt", kg), scorer=load_scorer(ws.kge_dir),
                            config=spent, progress=False)
    assert metrics["budget"]["skip_encoder"] and metrics["path_head"] is None
    assert metrics["path_head_warmup"]["steps"] >= 1 and metrics["path_head_warmup"]["stopped_by_budget"]
    assert metrics["answer_scorer"]["stopped_by_budget"]  # its epochs score every entity: they stop with it too


def test_a_relation_the_question_names_is_composed_into_the_likeliest_path(trained: tuple) -> None:
    """Where the likeliest learned path lacks a relation the question names, that relation inserted into it
    (where the graph can walk the result from the topic) competes with it; not where a walkable learned path
    already holds every named relation, nor with ``compose_paths = 0``."""
    from kgagent.training.path_prior import TOPIC

    model, _ = trained
    config = model.config
    source = model.paths.index(("directed_by^-1",))
    probs = np.full(len(model.paths), 1e-6)
    probs[source] = 1.0
    topic = [model.kg.entity_id("Director 2")]
    text = f"what genres are the films directed by {TOPIC}"
    try:
        model.reconfigure(compose_paths=0.5)
        weighed, extra = model._weigh(probs, topic, text)
        paths = [*model.paths, *extra]
        composed = ("directed_by^-1", "has_genre")
        assert composed in paths and all(len(model.index.execute(topic, p)) for p in extra)
        assert weighed[paths.index(composed)] > weighed[source]  # it names "genres": the priors prefer it
        assert abs(weighed.sum() - 1) < 1e-6
        # "films directed by" alone names nothing the likeliest walkable path lacks: nothing is composed
        plain, none = model._weigh(probs, topic, f"what films were directed by {TOPIC}")
        assert none == () and plain.argmax() == source
        model.reconfigure(compose_paths=0.0)
        off, none = model._weigh(probs, topic, text)
        assert none == () and len(off) == len(model.paths)
    finally:
        model.reconfigure(compose_paths=config.compose_paths)


def test_strict_stems_keep_apart_words_that_only_share_a_prefix() -> None:
    from kgagent.training.path_prior import strict_stem

    assert strict_stem("located") == strict_stem("location") and strict_stem("treats") == strict_stem("treat")
    assert strict_stem("procedures") != strict_stem("process") and strict_stem("carries") == strict_stem("carry")


def test_held_out_choices_are_priced_by_ranking_a_few(trained: tuple) -> None:
    """Under a budget the held-out choices rank only the questions their time allows, but never fewer than the
    calibration needs: a spent budget still calibrates the confidence."""
    from kgagent.training.qa.fit import MIN_CALIBRATION_QUESTIONS, MIN_CHOICE_QUESTIONS, choices_that_fit

    model, _ = trained
    kg = model.kg
    prepared = [model.prepare(f"who directed [Film {i}]", (kg.entity_id(f"Film {i}"),)) for i in range(1, 20)]
    assert choices_that_fit(model, prepared, 0.0) == MIN_CHOICE_QUESTIONS >= MIN_CALIBRATION_QUESTIONS
    assert choices_that_fit(model, prepared, 1e6) >= len(prepared)


def test_the_answer_scorer_is_trained_when_the_graph_misses_answers_people_ask(full_kg: KnowledgeGraph) -> None:
    """``answer_scorer = None``: questions people wrote whose answers no path reaches exactly call for the scorer;
    questions synthesized from the graph, answered by their path by construction, never do."""
    from kgagent.training.qa import QAConfig
    from kgagent.training.qa.fit import graph_misses_answers, label_questions
    from kgagent.training.qa_data import QAExample

    kg, e = full_kg, full_kg.entity_id
    index = PathIndex(kg)
    config = QAConfig(val_fraction=0.4, max_train_questions=0)

    def asked(n_wrong: int, source: str = "file") -> list[QAExample]:
        out = []
        for i in range(40):
            film = e(f"Film {i % N_FILMS}")
            gold = tuple(int(a) for a in index.execute([film], ("written_by",)))
            if i < n_wrong:  # an answer the graph does not hold: a writer of another film
                gold = (e(f"Writer {(i + 1) % 5}"),)
            out.append(QAExample(f"who wrote Film {i % N_FILMS} ({i})", (film,), gold, source=source,
                                 qtype="written_by" if source == "synthesized" else None))
        return out

    def misses(examples: list[QAExample]) -> bool:
        data = label_questions(kg, examples, config, None, False)
        return graph_misses_answers(kg, data, data.val_idx)

    assert not misses(asked(0))  # every answer on its path
    assert misses(asked(20))  # half of them beside the graph: an incomplete graph
    assert not misses(asked(0, source="synthesized"))


def test_encoding_from_kept_states_and_vectors_matches_a_full_pass(toy_ws: Path) -> None:
    """What a fit kept of its held-out questions (the frozen layers' states, the similarity vectors) stands in for
    running them again: the same path probabilities, in the input order, with some questions kept and some not."""
    import dataclasses

    import torch

    from kgagent.kg import Workspace
    from kgagent.retrieval.encoder import TextEncoder
    from kgagent.training.path_scorer import PathScorer
    from kgagent.training.qa import QAConfig, load_scorer
    from kgagent.training.qa.fit import build_model, question_features, resolve_fusion
    from kgagent.training.qa.results import bracketed

    ws = Workspace(toy_ws)
    kg = KnowledgeGraph.load(ws.kg_dir)
    scorer = load_scorer(ws.kge_dir)
    config = ws.config("qa", QAConfig)
    config = resolve_fusion(dataclasses.replace(config, encoder=dataclasses.replace(config.encoder, train_layers=1)),
                            scorer)
    vocab = [("directed_by",), ("starred_actors",), ("directed_by", "directed_by^-1"), ("has_genre",)]
    model = build_model(kg, scorer, vocab, config, progress=False)
    assert model.net.encoder.first_trained == 1
    with torch.no_grad():  # the trained layer is no longer the pretrained one, as after a fit
        for p in model.net.encoder.parameters():
            if p.requires_grad and p.ndim == 2:
                p.add_(0.05 * torch.randn_like(p))
    exs = read_qa_file(toy_ws / "questions.txt", kg)[:40]
    prepared = [model.prepare(bracketed(ex), ex.topics) for ex in exs]
    texts = [p[0] for p in prepared]
    similarity = TextEncoder(config.similarity_encoder)
    rng = np.random.default_rng(0)
    model.path_scorer = PathScorer(rng.normal(size=(len(vocab), similarity.dim)).astype(np.float32),
                                   similarity.name, similarity)
    lower: dict[int, object] = {}
    question_features(model.net, prepared, progress=False, lower=lower)
    assert sorted(lower) == list(range(len(prepared)))
    def log_probs(encoded: list) -> np.ndarray:  # the priors leave most mass on one path: compare the logs
        return np.log(np.stack([e.path_probs for e in encoded]))

    full = log_probs(model.encode(prepared))
    some = [lower[i] if i % 3 else None for i in range(len(prepared))]
    vectors = [v if i % 2 else None for i, v in enumerate(similarity.encode(texts))]
    kept = log_probs(model.encode(prepared, lower=some, vectors=vectors))
    np.testing.assert_allclose(kept, full, atol=0.02)  # the kept states are fp16
    assert (kept.argmax(1) == full.argmax(1)).all()
    # and they are what is read: other states, other vectors, other probabilities
    other = log_probs(model.encode(prepared, lower=[torch.zeros_like(lower[i]) for i in range(len(prepared))]))
    assert np.abs(other - full).max() > 0.1
    moved = log_probs(model.encode(prepared, vectors=list(rng.normal(size=(len(texts), similarity.dim)))))
    assert np.abs(moved - full).max() > 0.1

