"""The graph over a workspace with real trained models (tiny BERT): the agent says what the models decide."""

from __future__ import annotations

import uuid

import pytest

from kgagent.agent import ask, build_agent, open_workspace


@pytest.fixture(scope="module")
def real(trained_ws):
    ws = open_workspace(trained_ws)
    return ws, build_agent(ws, checkpointer="memory")


def test_workspace_loads_the_real_models(real) -> None:
    from kgagent.training.intents import IntentModel
    from kgagent.training.qa import QAModel

    ws, _ = real
    assert isinstance(ws.intents, IntentModel) and isinstance(ws.qa, QAModel)
    assert ws.qa.kg is ws.kg  # one KG in memory, shared with the linker
    assert ws.load_seconds is not None


@pytest.mark.parametrize(("question", "topic"), [("who directed Alien", "Alien"),
                                               ("what films did Ridley Scott direct", "Ridley Scott"),
                                               ("when was Aliens released", "Aliens")])
def test_answers_are_the_qa_models(real, question: str, topic: str) -> None:
    ws, graph = real
    r = ask(graph, question, thread_id=uuid.uuid4().hex)
    pred = ws.intents.predict([question])[0]
    if r.act != "question":  # a briefly trained intent model may call it something else: then no QA ran
        assert not r.answers
        return
    ids = [e["id"] for e in r.entities]
    assert [ws.kg.labels[t] for t in ids] == [topic]  # linked by the agent itself
    qa = ws.qa.answer(r.question, topic=ids)
    ctx = ws.context()
    floor = ctx.answer_ratio * max(0.0, max((a.score for a in qa.answers), default=0.0))
    expected = [a.entity for a in qa.answers if a.entity not in ids and a.score >= floor]
    assert [a["id"] for a in r.answers] == expected[: len(r.answers)]
    assert r.relation_path == list(qa.relation_path)
    assert r.confidence == pytest.approx(qa.confidence, abs=1e-4)
    assert r.unsure == (not expected or qa.confidence < ctx.answer_threshold)
    for a in r.answers:  # evidence paths are real triples ending at the answer
        for path in a["paths"]:
            h, _, t = ws.kg.triples[path[-1][0]]
            assert a["id"] in (int(h), int(t))
    assert pred.intent in ws.intents.labels


@pytest.mark.parametrize("text", ["hello", "thanks", "talk to a human", "book a flight"])
def test_routes_follow_the_intent_model(real, text: str) -> None:
    ws, graph = real
    pred = ws.intents.predict([text])[0]
    r = ask(graph, text, thread_id=uuid.uuid4().hex)
    assert r.intent == pred.intent
    if pred.confidence >= 0.5 and pred.intent in ("greeting", "thanks", "goodbye"):
        assert r.act == "smalltalk"
    elif pred.confidence >= 0.5 and pred.intent == "human_handoff":
        assert r.act == "handoff"
    elif pred.out_of_scope and pred.confidence >= 0.5:
        assert r.act == "out_of_scope"


@pytest.fixture(scope="module")
def indexed_ws(tmp_path_factory, workspace_factory):
    """A KG-only workspace with real FAISS indexes (names and passages) from the bundled MiniLM encoder."""
    from kgagent.agent.build import index_step

    root = workspace_factory(tmp_path_factory.mktemp("indexed-ws"))
    index_step(root)
    return root


def test_retrieve_returns_passages_with_sources(indexed_ws) -> None:
    from kgagent.agent import Context

    graph = build_agent(indexed_ws, checkpointer="memory")
    assert ask(graph, "who directed Gorillas in the Mist?", thread_id="q").passages == []  # template: not read
    graph = build_agent(indexed_ws, context=Context(passage_search="always"), checkpointer="memory")
    r = ask(graph, "who directed Gorillas in the Mist?", thread_id="p")
    assert r.answers[0]["label"] == "Michael Apted"
    assert len(r.passages) == 3 and all(p["source"] for p in r.passages)
    assert any("Gorillas in the Mist" in p["text"] for p in r.passages)
    # the neighbourhood subgraph holds the film's triples
    kg = open_workspace(indexed_ws).kg
    film = kg.entity_id("Gorillas in the Mist")
    assert {int(t) for t in kg.edges(film)} <= set(r.subgraph)


def test_build_agent_and_a_question_leave_the_process_alone(trained_ws) -> None:
    """Library calls keep torch's thread count and determinism setting as the caller left them (the serving
    commands set threads themselves, scoped); a training run asks for deterministic kernels only while it runs."""
    import torch

    from kgagent.agent import Context

    before = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    odd = 3 if before[0] != 3 else 2  # a count build_agent's torch_threads (1) would visibly change
    torch.set_num_threads(odd)
    try:
        graph = build_agent(trained_ws, context=Context(torch_threads=1), checkpointer="memory")
        ask(graph, "who directed Alien", thread_id=uuid.uuid4().hex)
        assert torch.get_num_threads() == odd
        assert torch.are_deterministic_algorithms_enabled() == before[1]
    finally:
        torch.set_num_threads(before[0])


def test_cli_ask_scopes_its_threads(trained_ws, capsys) -> None:
    """`kgagent ask` answers on [agent] torch_threads threads and gives the calling process its count back."""
    import torch

    from kgagent.agent.cli import main

    before = torch.get_num_threads()
    assert main(["ask", str(trained_ws), "who directed Alien", "--json"]) == 0
    assert torch.get_num_threads() == before and '"answer"' in capsys.readouterr().out


def test_index_step_reads_the_toml_and_records_the_manifest(indexed_ws, tmp_path) -> None:
    """Workspace I/O lives in the build layer: [index] of kgagent.toml in, a manifest entry out."""
    import json
    import shutil

    from kgagent.agent.build import BUILD_STEPS, index_step
    from kgagent.kg.errors import ConfigError

    step = json.loads((indexed_ws / "manifest.json").read_text())["steps"]["index"]
    assert "index/entities/index.faiss" in step["checksums"] and step["metrics"]["passages"] > 0
    ws = tmp_path / "ws"
    shutil.copytree(indexed_ws, ws, ignore=shutil.ignore_patterns("index"))
    (ws / "kgagent.toml").write_text('[index]\npassages = ["tweets"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"kgagent\.toml \[index\].*tweets"):
        index_step(ws)
    assert list(BUILD_STEPS) == ["kg", "kge", "index", "ner", "intents", "qa"]


def test_intents_step_reports_each_steps_loss_live_and_in_its_result(fresh_ws, intents_jsonl, tiny_bert_dir) -> None:
    """The build step hands back the loss of every step (what the training tab plots) and reports each one as it
    comes through on_step; the manifest keeps the metrics without the curves."""
    import json

    from kgagent.agent.build import intents_step

    seen: list[tuple[str, int, float]] = []
    result = intents_step(fresh_ws, intents_jsonl, on_step=lambda *a: seen.append(a), base_model=tiny_bert_dir,
                          finetune="full", fusion="none", epochs=1, min_steps=4, batch_size=8, val_fraction=0.0)
    assert [s for _, s, _ in seen] == list(range(1, len(seen) + 1)) and len(seen) >= 4
    assert result["losses"] == [round(x, 5) for _, _, x in seen]
    step = json.loads((fresh_ws / "manifest.json").read_text())["steps"]["intents"]
    assert "losses" not in step["metrics"] and step["metrics"]["steps"] == len(seen)
