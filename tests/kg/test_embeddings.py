"""KG embeddings: real PyKEEN training on a tiny KG, the saved form, scoring, the id check, the CLI."""

from __future__ import annotations

import json
import re
from dataclasses import replace

import numpy as np
import pytest

from kgagent.kg import ConfigError, InputError, KnowledgeGraph, Workspace, WorkspaceError
from kgagent.kg.embeddings import FILES, KGEConfig, KGEmbeddings, id_hash, train_embeddings

# Small, fast settings: 8 dims, a handful of epochs, validation every 2 epochs.
FAST = {"dim": 8, "epochs": 6, "frequency": 2, "batch_size": 32, "eval_batch_size": 16}


def ring_triples(n: int = 16) -> list[tuple[str, str, str]]:
    """A regular KG (~4n triples): successor/predecessor rings, a fixed partner, and a parity class."""
    rows = []
    for i in range(n):
        rows.append((f"p{i}", "next", f"p{(i + 1) % n}"))
        rows.append((f"p{i}", "prev", f"p{(i - 1) % n}"))
        rows.append((f"p{i}", "partner", f"p{(i + n // 2) % n}"))
        rows.append((f"p{i}", "in_class", f"class{i % 2}"))
    return rows


@pytest.fixture(scope="module")
def ring_kg() -> KnowledgeGraph:
    return KnowledgeGraph.from_triples(ring_triples())


@pytest.fixture(scope="module")
def complex_run(ring_kg, tmp_path_factory):
    """The default model (ComplEx, 1-N scoring over inverse triples), trained and saved once."""
    out = tmp_path_factory.mktemp("kge") / "kge"
    cfg = KGEConfig(**{**FAST, "epochs": 10, "lr": 0.05})
    return train_embeddings(ring_kg, config=cfg, out_dir=out, progress=False), out


@pytest.fixture(scope="module")
def transh_run(ring_kg):
    """A model with two relation representations, negative sampling, and no inverse relations."""
    cfg = KGEConfig(model="TransH", training_loop="slcwa", loss="marginranking", inverse_triples=False,
                    negatives=4, **FAST)
    return train_embeddings(ring_kg, config=cfg, progress=False)


# -------------------------------------------------------------------------------------------------- training
def test_training_learns_and_reports_metrics(complex_run, ring_kg) -> None:
    result = complex_run[0]
    m = result.metrics
    assert {"mrr", "hits_at_1", "hits_at_3", "hits_at_10", "model", "epochs", "seconds"} <= m.keys()
    assert m["model"] == "complex" and 1 <= m["epochs"] <= 10
    assert 0 <= m["hits_at_1"] <= m["hits_at_3"] <= m["hits_at_10"] <= 1 and 0 < m["mrr"] <= 1
    assert m["n_train"] + m["n_valid"] + m["n_test"] == ring_kg.num_triples and m["n_valid"] > 0 < m["n_test"]
    assert result.losses[-1] < result.losses[0]  # it trained
    # a random ranking of 18 entities has MRR ~0.2; the ring structure is learnable
    assert m["mrr"] > 0.3


def test_split_keeps_every_held_out_entity_and_relation_in_train(ring_kg) -> None:
    from kgagent.kg.embeddings import _split

    train, valid, test, note = _split(ring_kg, KGEConfig(**FAST))
    assert note is None  # PyKEEN's own split
    tr = train.mapped_triples.numpy()
    seen_e, seen_r = set(tr[:, [0, 2]].ravel()), set(tr[:, 1])
    for part in (valid, test):
        held = part.mapped_triples.numpy()
        assert set(held[:, [0, 2]].ravel()) <= seen_e and set(held[:, 1]) <= seen_r
    parts = [tr, valid.mapped_triples.numpy(), test.mapped_triples.numpy()]
    all_rows = {tuple(x) for x in np.concatenate(parts)}
    assert all_rows == {tuple(x) for x in ring_kg.triples}


def sparse_triples() -> list[tuple[str, str, str]]:
    """More entities than triples: a small connected core; the rest are leaves of hubs and isolated pairs."""
    core = [(f"hub{i}", "linked", f"hub{(i + k) % 6}") for k in (1, 2) for i in range(6)]
    leaves = [(f"hub{i % 6}", f"rel{i % 3}", f"leaf{i}") for i in range(30)]
    pairs = [(f"a{i}", "paired_with", f"b{i}") for i in range(20)]
    return core + leaves + pairs


def test_sparse_kg_holds_out_only_covered_triples() -> None:
    """PyKEEN's split cannot cover 76 entities with 62 triples; the fallback holds out what the rest covers."""
    from kgagent.kg.embeddings import _split

    kg = KnowledgeGraph.from_triples(sparse_triples())
    assert kg.num_entities > kg.num_triples
    train, valid, test, note = _split(kg, KGEConfig(**FAST))
    assert note is not None and "cannot cover every entity" in note and "held out" in note
    tr = train.mapped_triples.numpy()
    held = np.concatenate([valid.mapped_triples.numpy(), test.mapped_triples.numpy()])
    assert len(valid.mapped_triples) > 0 < len(test.mapped_triples)
    assert set(tr[:, [0, 2]].ravel()) == set(range(kg.num_entities)) and set(tr[:, 1]) == set(range(5))
    assert {tuple(x) for x in np.concatenate([tr, held])} == {tuple(x) for x in kg.triples}
    # only the core's hub-to-hub triples can be held out: a leaf or a pair has a single triple
    names = {kg.entities[int(e)] for e in held[:, [0, 2]].ravel()}
    assert names and all(n.startswith("hub") for n in names)


def test_sparse_kg_trains_and_evaluates_what_it_can(tmp_path) -> None:
    kg = KnowledgeGraph.from_triples(sparse_triples())
    result = train_embeddings(kg, config=KGEConfig(**FAST), out_dir=tmp_path / "kge", progress=False)
    m = result.metrics
    assert m["evaluated"] and "cannot cover every entity" in m["split_note"] and 0 < m["mrr"] <= 1
    assert m["n_train"] + m["n_valid"] + m["n_test"] == kg.num_triples
    assert KGEmbeddings.load(tmp_path / "kge").entity_vectors.shape[0] == kg.num_entities


def test_a_star_kg_trains_on_everything_unevaluated(tmp_path) -> None:
    """No triple can be held out without losing an entity: all train, nothing is evaluated, and it says why."""
    kg = KnowledgeGraph.from_triples([("hub", f"r{i % 2}", f"leaf{i}") for i in range(12)])
    result = train_embeddings(kg, config=KGEConfig(**FAST), out_dir=tmp_path / "kge", progress=False)
    m = result.metrics
    assert m["evaluated"] is False and m["mrr"] is None and "not evaluated" in m["split_note"]
    assert m["n_train"] == kg.num_triples and m["n_valid"] == m["n_test"] == 0
    assert json.loads((tmp_path / "kge" / "metrics.json").read_text())["evaluated"] is False


def test_saved_files_and_no_pickle(complex_run, ring_kg) -> None:
    result, out = complex_run
    assert sorted(p.name for p in out.iterdir()) == sorted(FILES)
    info = json.loads((out / "config.json").read_text())
    assert info["model"] == "complex" and info["inverse_triples"] is True
    assert info["kge_config"]["dim"] == 8 and info["entity_dim"] == 16  # complex: real + imaginary
    assert (out / "id_hash").read_text().strip() == id_hash(ring_kg) == info["id_hash"]
    assert json.loads((out / "metrics.json").read_text())["mrr"] == pytest.approx(result.metrics["mrr"])
    from safetensors import safe_open

    with safe_open(str(out / "embeddings.safetensors"), "pt") as f:
        # complex (n, d) stored as real (n, d, 2)
        assert f.get_slice("entity.0").get_shape() == [ring_kg.num_entities, 8, 2]
        assert f.get_slice("relation_inverse.0").get_shape() == [ring_kg.num_relations, 8, 2]


def test_load_round_trip_gives_identical_scores(complex_run, ring_kg) -> None:
    result, out = complex_run
    loaded = KGEmbeddings.load(out)
    assert loaded.config == result.config and loaded.metrics == result.metrics
    assert loaded.entity_vectors.shape == (ring_kg.num_entities, 16)
    assert loaded._interaction is None  # vectors alone never build the PyKEEN interaction
    assert loaded.inverse_relation_vectors.shape == (ring_kg.num_relations, 16)
    assert not np.allclose(loaded.inverse_relation_vectors, loaded.relation_vectors)
    np.testing.assert_array_equal(loaded.entity_vectors, result.embeddings.entity_vectors)
    np.testing.assert_array_equal(loaded.relation_vectors, result.embeddings.relation_vectors)
    h, r = ring_kg.triples[:5, 0], ring_kg.triples[:5, 1]
    np.testing.assert_array_equal(loaded.score_all(h, r), result.embeddings.score_all(h, r))
    assert loaded.entity_vectors.dtype == np.float32
    assert loaded.entity_vectors.shape == (ring_kg.num_entities, 16)
    assert loaded.entity_vector(3).shape == (16,) and loaded.entity_vector([1, 2]).shape == (2, 16)
    assert loaded.relation_vector([0, 1, 2]).shape == (3, 16)
    loaded.check(KnowledgeGraph.from_triples(ring_triples()))  # same KG: passes


def _model_scores(model, hrt: np.ndarray) -> np.ndarray:
    import torch

    with torch.inference_mode():
        return model.predict_hrt(torch.as_tensor(hrt)).reshape(-1).numpy()


@pytest.mark.parametrize("run", ["complex_run", "transh_run"])
def test_scores_agree_with_the_trained_model(run, request, ring_kg) -> None:
    import torch

    result = request.getfixturevalue(run)
    result = result[0] if isinstance(result, tuple) else result
    emb, model = result.embeddings, result.model
    hrt = ring_kg.triples
    ours = np.array([emb.score(int(h), int(r), [int(t)])[0] for h, r, t in hrt])
    np.testing.assert_allclose(ours, _model_scores(model, hrt), rtol=1e-4, atol=1e-5)
    # batched: (b,) heads and relations, (k,) tails -> (b, k)
    tails = np.arange(5)
    batched = emb.score(hrt[:3, 0], hrt[:3, 1], tails)
    assert batched.shape == (3, 5)
    np.testing.assert_allclose(batched[1], emb.score(hrt[1, 0], hrt[1, 1], tails), rtol=1e-5, atol=1e-6)
    # score_all over every entity equals PyKEEN's own tail and head prediction
    hr = torch.as_tensor(hrt[:6, :2])
    rt = torch.as_tensor(hrt[:6, 1:])
    with torch.inference_mode():
        tail_scores = model.predict_t(hr).numpy()
        head_scores = model.predict_h(rt).numpy()
    np.testing.assert_allclose(emb.score_all(hrt[:6, 0], hrt[:6, 1]), tail_scores, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(emb.score_all(hrt[:6, 2], hrt[:6, 1], inverse=True), head_scores,
                               rtol=1e-4, atol=1e-5)
    # chunking over entities changes nothing
    np.testing.assert_allclose(emb.score_all(hrt[:6, 0], hrt[:6, 1], chunk_size=5),
                               emb.score_all(hrt[:6, 0], hrt[:6, 1]), rtol=1e-5, atol=1e-6)
    assert emb.score_all(int(hrt[0, 0]), int(hrt[0, 1])).shape == (ring_kg.num_entities,)


def test_score_all_vectors_is_differentiable_and_matches_ids(complex_run, ring_kg) -> None:
    import torch

    emb = complex_run[0].embeddings
    h, r = ring_kg.triples[:4, 0], ring_kg.triples[:4, 1]
    rel = torch.tensor(emb.relation_vector(r), requires_grad=True)  # (4, d_r) flat layout
    scores = emb.score_all_vectors(h, rel)  # (4, n_e)
    np.testing.assert_allclose(scores.detach().numpy(), emb.score_all(h, r), rtol=1e-5, atol=1e-6)
    scores[:, 0].sum().backward()
    assert rel.grad is not None and rel.grad.abs().sum() > 0


def test_true_tails_outrank_most_entities(complex_run, ring_kg) -> None:
    emb = complex_run[0].embeddings
    r = ring_kg.relation_id("next")
    heads = np.array([ring_kg.entity_id(f"p{i}") for i in range(16)])
    tails = np.array([ring_kg.entity_id(f"p{(i + 1) % 16}") for i in range(16)])
    scores = emb.score_all(heads, np.full(16, r))  # (16, n_e)
    ranks = (scores > scores[np.arange(16), tails][:, None]).sum(axis=1) + 1
    assert np.median(ranks) <= 3


# -------------------------------------------------------------------------------------------------- checks
def test_id_hash_check_fails_on_a_different_kg(complex_run) -> None:
    emb = KGEmbeddings.load(complex_run[1])
    renamed = [(h.replace("p3", "q3"), r, t) for h, r, t in ring_triples()]
    for other in (KnowledgeGraph.from_triples(renamed), KnowledgeGraph.from_triples(ring_triples()[::-1]),
                  KnowledgeGraph.from_triples([*ring_triples(), ("p0", "likes", "p1")])):
        with pytest.raises(WorkspaceError, match="different KG"):
            emb.check(other)


def test_load_errors_name_the_folder(tmp_path, complex_run) -> None:
    with pytest.raises(WorkspaceError, match="missing"):
        KGEmbeddings.load(tmp_path)
    import shutil

    broken = tmp_path / "kge"
    shutil.copytree(complex_run[1], broken)
    (broken / "id_hash").write_text("0" * 64 + "\n")
    with pytest.raises(WorkspaceError, match="id_hash"):
        KGEmbeddings.load(broken)


@pytest.mark.parametrize(("values", "field"), [
    ({"dim": 0}, "kge.dim"),
    ({"epochs": -3}, "kge.epochs"),
    ({"lr": 0}, "kge.lr"),
    ({"split": (0.5, 0.5, 0.1)}, "kge.split"),
    ({"split": (0.9, 0.1, 0.0)}, "kge.split"),
    ({"split": "80/10/10"}, "kge.split"),
    ({"training_loop": "full"}, "kge.training_loop"),
    ({"max_eval_triples": 0}, "kge.max_eval_triples"),
    ({"patience": -1}, "kge.patience"),
    ({"model_kwargs": {"entity_initializer": object()}}, "kge.model_kwargs"),
    ({"training_kwargs": {"num_epochs": 3}}, "kge.training_kwargs"),
    ({"model": ""}, "kge.model"),
])
def test_config_errors_name_the_field(values, field) -> None:
    with pytest.raises(ConfigError, match=re.escape(field)):
        KGEConfig(**values)


def test_config_from_toml_and_defaults(tmp_path) -> None:
    ws = Workspace(tmp_path)
    ws.config_path.write_text('[kge]\nmodel = "RotatE"\nsplit = [0.7, 0.2, 0.1]\n'
                              "model_kwargs = {scoring_fct_norm = 1}\n")
    cfg = ws.config("kge", KGEConfig, epochs=7, dim=None)
    assert (cfg.model, cfg.epochs, cfg.dim, cfg.split) == ("RotatE", 7, KGEConfig().dim, (0.7, 0.2, 0.1))
    ws.config_path.write_text("[kge]\nepocs = 3\n")
    with pytest.raises(ConfigError, match="epocs"):
        ws.config("kge", KGEConfig)


def test_unknown_model_and_tiny_kg_are_user_errors(ring_kg, tmp_path) -> None:
    with pytest.raises(ConfigError, match=r"kge\.model"):
        train_embeddings(ring_kg, model="NoSuchModel", progress=False)
    with pytest.raises(InputError, match="triples"):
        train_embeddings(KnowledgeGraph.from_triples(ring_triples()[:4]), config=KGEConfig(**FAST),
                         progress=False)


def test_failed_training_leaves_previous_embeddings_intact(complex_run, ring_kg, tmp_path) -> None:
    import shutil

    out = tmp_path / "kge"
    shutil.copytree(complex_run[1], out)
    before = (out / "embeddings.safetensors").read_bytes()
    with pytest.raises(ConfigError):
        train_embeddings(ring_kg, config=KGEConfig(**FAST, loss="no-such-loss"), out_dir=out, progress=False)
    assert (out / "embeddings.safetensors").read_bytes() == before
    assert KGEmbeddings.load(out).metrics == complex_run[0].metrics


# -------------------------------------------------------------------------------------------------- CLI
def test_cli_train_and_eval_kge(tmp_path, capsys) -> None:
    from kgagent.agent.cli import main

    ws = tmp_path / "ws"
    KnowledgeGraph.from_triples(ring_triples()).save(ws / "kg")
    (ws / "kgagent.toml").write_text("[kge]\nfrequency = 2\nbatch_size = 32\neval_batch_size = 16\n")
    assert main(["eval", "kge", str(ws)]) == 2  # not trained yet: one line, exit 2
    assert "kgagent train kge" in capsys.readouterr().err

    assert main(["train", "kge", str(ws), "--epochs", "4", "--dim", "8"]) == 0
    assert "mrr" in capsys.readouterr().out
    out_json = tmp_path / "kge.json"
    assert main(["eval", "kge", str(ws), "--json", str(out_json)]) == 0
    metrics = json.loads(out_json.read_text())
    assert {"mrr", "hits_at_1", "hits_at_10"} <= metrics.keys() and metrics["epochs"] <= 4
    step = json.loads((ws / "manifest.json").read_text())["steps"]["kge"]
    assert step["config"]["dim"] == 8 and step["config"]["frequency"] == 2
    assert "kge/embeddings.safetensors" in step["checksums"]
    KGEmbeddings.load(ws / "kge").check(KnowledgeGraph.load(ws / "kg"))

    assert main(["train", "kge", str(ws), "--model", "NoSuchModel"]) == 2
    assert capsys.readouterr().err.startswith("error: kge.model")



def test_time_budget_ends_training(ring_kg) -> None:
    """No epoch starts after ``max_seconds``: with a budget shorter than an epoch, one epoch of 500 runs."""
    cfg = KGEConfig(**{**FAST, "epochs": 500, "early_stopping": False, "max_seconds": 0.001})
    m = train_embeddings(ring_kg, config=cfg, progress=False).metrics
    assert m["epochs"] == 1 and m["stopped_by_budget"] is True and m["evaluated"]


def test_budget_stops_before_an_epoch_that_would_not_fit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Epochs of 10 s under a 25 s budget: the second ends at 20 s, a third would end at 30 s, so it stops there."""
    from types import SimpleNamespace

    import kgagent.kg.embeddings as emb

    clock = iter([0.0, 10.0, 20.0, 30.0])
    monkeypatch.setattr(emb.time, "perf_counter", lambda: next(clock))
    state: dict[str, bool] = {}
    callback = emb._budget_callback(25.0, state)
    loop = SimpleNamespace(_should_stop=False)
    monkeypatch.setattr(type(callback), "training_loop", property(lambda self: loop), raising=False)
    callback.post_epoch(1, 0.0)
    assert not loop._should_stop
    callback.post_epoch(2, 0.0)
    assert loop._should_stop and state == {"stopped": True}


def test_an_epoch_that_would_not_fit_trains_on_a_sample() -> None:
    """Priced by timing two real batches: under a budget too short for a few epochs of every training triple,
    each epoch trains on a seeded sample, and the entities it left out get vectors from their neighbours."""
    kg = KnowledgeGraph.from_triples(ring_triples(40))
    cfg = KGEConfig(**{**FAST, "batch_size": 8, "epochs": 3, "early_stopping": False, "max_seconds": 0.001})
    result = train_embeddings(kg, config=cfg, progress=False)
    m = result.metrics
    assert m["seconds_per_triple"] > 0 and m["epoch_triples"] == 8 < m["n_train"]
    assert m["entities_unfitted"] > 0 and m["from_neighbours"] + m["without_neighbours"] == m["entities_unfitted"]
    vectors = result.embeddings.entity_vectors
    assert np.isfinite(vectors).all() and len(np.unique(vectors.round(6), axis=0)) > 8
    unbounded = train_embeddings(kg, config=KGEConfig(**{**FAST, "batch_size": 8, "epochs": 1,
                                                         "max_seconds": None}), progress=False).metrics
    assert unbounded["epoch_triples"] == unbounded["n_train"] and unbounded["seconds_per_triple"] is None


def test_pricing_takes_the_warming_batch_alone_when_it_is_dear(monkeypatch) -> None:
    """Two more batches after the warming one price a triple, unless the warming batch alone took over
    ``WARM_PRICES`` of the limit (on a large graph one batch is a dense step over the whole entity table); PyKEEN's
    sub-batch search, a full extra batch per loop, runs only on a GPU."""
    from kgagent.kg import embeddings
    from kgagent.kg.embeddings import _seconds_per_triple, _split, memory_search

    loops: list[bool] = []
    real = embeddings.training_loop

    def spy(name: str):  # the real loop, counted
        def make(**kwargs):
            loops.append(kwargs["automatic_memory_optimization"])
            return real(name)(**kwargs)
        return make

    monkeypatch.setattr(embeddings, "training_loop", spy)
    kg = KnowledgeGraph.from_triples(ring_triples(40))
    train = _split(kg, KGEConfig(**FAST))[0]
    cfg = KGEConfig(**{**FAST, "batch_size": 8, "training_loop": "slcwa", "negatives": 2})
    kwargs = {"embedding_dim": cfg.dim}
    dear = _seconds_per_triple(replace(cfg, max_seconds=1e-6), kwargs, train)
    assert dear > 0 and len(loops) == 1
    cheap = _seconds_per_triple(replace(cfg, max_seconds=1e6), kwargs, train)
    assert cheap > 0 and len(loops) == 3
    assert memory_search("cpu") is False and loops == [False] * 3


def test_fill_from_neighbours_averages_known_rows_round_by_round() -> None:
    import torch

    from kgagent.kg.kge_extend import fill_from_neighbours

    # a chain 0 - 1 - 2 - 3 and a lone entity 4; only 0 and 1 are known
    x = torch.tensor([[2.0, 0.0], [0.0, 2.0], [9.0, 9.0], [9.0, 9.0], [9.0, 9.0]])
    src, dst = np.array([0, 1, 2, 1, 2, 3]), np.array([1, 2, 3, 0, 1, 2])
    stats = fill_from_neighbours([x], np.array([True, True, False, False, False]), src, dst)
    assert stats == {"from_neighbours": 2, "without_neighbours": 1}
    assert x[2].tolist() == [0.0, 2.0]  # its one known neighbour (1)
    assert x[3].tolist() == [0.0, 2.0]  # reached in the second round, through 2
    assert x[4].tolist() == [1.0, 1.0]  # no neighbour: the mean known row
    assert x[0].tolist() == [2.0, 0.0]  # known rows unchanged


def test_lcwa_batches_sliced_at_once_equal_pykeens(ring_kg) -> None:
    """The LCWA loop's data loader answers a batch with one slice of the sparse targets: the same batches, in the
    same order, as PyKEEN's row-per-pair loader under the same seed."""
    import torch
    from pykeen.training import LCWATrainingLoop
    from pykeen.triples import TriplesFactory

    from kgagent.kg.embeddings import training_loop

    tf = TriplesFactory.from_labeled_triples(np.array(ring_triples(), dtype=str), create_inverse_triples=True)
    cls = training_loop("lcwa")
    assert issubclass(cls, LCWATrainingLoop) and cls is not LCWATrainingLoop
    assert training_loop("slcwa").__name__ == "SLCWATrainingLoop"

    def batches(loop_cls: type) -> list[dict]:
        from pykeen.models import ComplEx

        loop = loop_cls(model=ComplEx(triples_factory=tf, embedding_dim=4), triples_factory=tf)
        torch.manual_seed(0)
        loader = loop._create_training_data_loader(tf, None, batch_size=7, drop_last=False, num_workers=0,
                                                   pin_memory=False, shuffle=True)
        return list(loader)

    ours, theirs = batches(cls), batches(LCWATrainingLoop)
    assert len(ours) == len(theirs) > 1
    for a, b in zip(ours, theirs, strict=True):
        assert set(a) == set(b) == {"pairs", "target"}
        assert torch.equal(torch.as_tensor(a["pairs"]), torch.as_tensor(b["pairs"]))
        assert torch.equal(a["target"], b["target"]) and a["target"].dtype == b["target"].dtype
