"""``kgagent kg add`` / ``kg remove``: a built workspace (KG, KGE, both FAISS indexes, intent and QA models) updated
in place without a rebuild; atomic when a step fails or the process is killed."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from kgagent.agent.cli import main

NEW_FACTS = "Arrival\tdirected_by\tDenis Villeneuve\nArrival\tstarred_actors\tAmy Adams\n" \
            "Arrival\trelease_year\t2016\nDune\tdirected_by\tDenis Villeneuve\n"
OLD_QUESTIONS = ["who directed Alien", "who starred in Aliens", "what films did Sam Peck direct",
                 "what genre is Gorillas in the Mist", "who directed Titanic"]


@pytest.fixture(scope="session")
def built_template(trained_ws: Path, agent_bert: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained movie workspace plus a real KGE (PyKEEN) and both FAISS indexes (a tiny BERT encoder)."""
    from kgagent.kg import KnowledgeGraph, Workspace
    from kgagent.retrieval import IndexConfig, TextEncoder, build_index

    root = tmp_path_factory.mktemp("update-template") / "ws"
    shutil.copytree(trained_ws, root)
    ws = Workspace(root)
    seeded_embeddings(KnowledgeGraph.load(ws.kg_dir)).save(ws.kge_dir)
    build_index(KnowledgeGraph.load(ws.kg_dir), out_dir=ws.index_dir, config=IndexConfig(encoder=str(agent_bert)),
                encoder=TextEncoder(agent_bert, batch_size=16), progress=False)
    return root


def seeded_embeddings(kg):
    """DistMult embeddings in the saved layout with seeded random vectors: PyKEEN cannot hold out validation
    triples of this tree-like toy KG (every triple is needed to cover its entities), and the update only needs
    the layout, not trained values."""
    import torch

    from kgagent.kg.embeddings import FORMAT_VERSION, KGEConfig, KGEmbeddings, id_hash

    gen = torch.Generator().manual_seed(0)
    dim = 4
    info = {"format_version": FORMAT_VERSION, "model": "distmult", "model_kwargs": {"embedding_dim": dim},
            "inverse_triples": False, "num_entities": kg.num_entities, "num_relations": kg.num_relations,
            "representations": {"entity": [{"name": "entity.0", "shape": [dim], "complex": False}],
                                "relation": [{"name": "relation.0", "shape": [dim], "complex": False}]},
            "id_hash": id_hash(kg), "kge_config": {**vars(KGEConfig(model="DistMult", dim=dim))}}
    tensors = {"entity.0": torch.randn(kg.num_entities, dim, generator=gen),
               "relation.0": torch.randn(kg.num_relations, dim, generator=gen)}
    return KGEmbeddings(info, tensors, {"mrr": 0.0})


@pytest.fixture
def ws(built_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(built_template, root)
    return root


def snapshot(root: Path) -> dict[str, str]:
    """sha256 of every file of a workspace, by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


def ask(root: Path, question: str, capsys) -> dict:
    assert main(["ask", str(root), question, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def top_answers(root: Path) -> list[list[str]]:
    from kgagent.training.qa import QAModel

    model = QAModel.load(root / "models" / "qa")
    return [[a.label for a in r.answers[:3]] for r in model.answer_many(OLD_QUESTIONS)]


def test_added_fact_is_answered_at_once_and_ids_stay(ws: Path, tmp_path: Path, capsys) -> None:
    from kgagent.kg import KnowledgeGraph
    from kgagent.kg.embeddings import KGEmbeddings
    from kgagent.retrieval import VectorIndex

    old_kg = KnowledgeGraph.load(ws / "kg")
    old_kge = KGEmbeddings.load(ws / "kge")
    old_names = dict(VectorIndex.load(ws / "index" / "entities").items())
    facts = tmp_path / "new.tsv"
    facts.write_text(NEW_FACTS, encoding="utf-8")

    assert main(["kg", "add", str(ws), str(facts), "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "added 4 triples (5 new entities)" in out and "train qa" not in out
    result = json.loads((tmp_path / "r.json").read_text())
    assert set(result["parts"]) == {"kg", "kge", "index"} and not result["retrain_qa"]

    reply = ask(ws, "who directed Arrival?", capsys)
    assert reply["answers"][0]["label"] == "Denis Villeneuve"
    reply = ask(ws, "what films did Denis Villeneuve direct?", capsys)
    assert {a["label"] for a in reply["answers"]} == {"Arrival", "Dune"}

    kg = KnowledgeGraph.load(ws / "kg")
    assert kg.entities[: old_kg.num_entities] == old_kg.entities and kg.relations == old_kg.relations
    np.testing.assert_array_equal(kg.triples[: old_kg.num_triples], old_kg.triples)
    kge = KGEmbeddings.load(ws / "kge")
    kge.check(kg)
    np.testing.assert_array_equal(kge.entity_vectors[: old_kg.num_entities], old_kge.entity_vectors)
    names = dict(VectorIndex.load(ws / "index" / "entities").items())
    assert all(names[i] == rec for i, rec in old_names.items())  # old vector ids keep their records
    assert {r["name"] for i, r in names.items() if i not in old_names} == {"Arrival", "Denis Villeneuve",
                                                                          "Amy Adams", "2016", "Dune"}
    passages = VectorIndex.load(ws / "index" / "passages")
    verbalized = {r["text"]: r["source"] for _, r in passages.items()}
    assert verbalized["Dune — directed by — Denis Villeneuve"] == {"kind": "triple", "triples": [kg.num_triples - 1]}
    manifest = json.loads((ws / "manifest.json").read_text())
    assert manifest["steps"]["update"]["history"][-1]["triples"] == 4


def test_add_then_remove_returns_the_original_answers(ws: Path, tmp_path: Path, capsys) -> None:
    from kgagent.agent.update import add_triples, remove_triples
    from kgagent.kg import KnowledgeGraph
    from kgagent.retrieval import open_retriever

    before = top_answers(ws)
    old_kg = KnowledgeGraph.load(ws / "kg")
    old_hits = [h.text for h in open_retriever(ws).search("Ridley Scott", k=5)]
    facts = tmp_path / "new.tsv"
    facts.write_text(NEW_FACTS, encoding="utf-8")
    assert add_triples(ws, facts).triples == 4
    result = remove_triples(ws, facts)
    assert (result.triples, result.orphaned_entities) == (4, 5)
    assert "removed 4 triples (5 entities left without triples)" in result.message

    kg = KnowledgeGraph.load(ws / "kg")
    np.testing.assert_array_equal(kg.triples, old_kg.triples)
    assert top_answers(ws) == before
    retriever = open_retriever(ws)
    assert [h.text for h in retriever.search("Ridley Scott", k=5)] == old_hits
    assert len(retriever.passages) == old_kg.num_triples + len(old_kg.descriptions)
    arrival = kg.entity_id("Arrival")  # kept id, no triples: no longer linked
    assert all(c.entity != arrival for m in retriever.link("who directed Arrival?") for c in m.candidates)
    assert ask(ws, "who directed Alien?", capsys)["answers"][0]["label"] == "Ridley Scott"
    again = remove_triples(ws, facts)
    assert again.triples == 0 and "nothing removed" in again.message


def test_new_relation_asks_for_qa_retraining(ws: Path, tmp_path: Path, capsys) -> None:
    facts = tmp_path / "new.tsv"
    facts.write_text("Alien\tfilmed_in\tShepperton Studios\n", encoding="utf-8")
    assert main(["kg", "add", str(ws), str(facts)]) == 0
    out = capsys.readouterr().out
    assert f"new relation filmed_in: run `kgagent train qa {ws}` to ask about it" in out
    # the QA model still serves the grown graph
    assert ask(ws, "who directed Alien?", capsys)["answers"][0]["label"] == "Ridley Scott"


def test_failing_step_leaves_workspace_unchanged(ws: Path, tmp_path: Path, monkeypatch) -> None:
    from kgagent.agent import update

    def broken(staged, change, progress):
        raise RuntimeError("index step failed")

    before = snapshot(ws)
    facts = tmp_path / "new.tsv"
    facts.write_text(NEW_FACTS, encoding="utf-8")
    monkeypatch.setitem(update.PARTS, "index", broken)
    with pytest.raises(RuntimeError, match="index step failed"):
        update.add_triples(ws, facts)
    assert snapshot(ws) == before
    assert not [p for p in ws.parent.iterdir() if p.name.endswith(".tmp")]  # no temporary copy left


def test_killed_update_leaves_workspace_unchanged(ws: Path, tmp_path: Path, capsys) -> None:
    before = snapshot(ws)
    facts = tmp_path / "new.tsv"
    facts.write_text(NEW_FACTS, encoding="utf-8")
    # the process kills itself mid-way: after the graph and the KGE were rewritten in the staged copy
    script = (
        "import os, signal, sys\n"
        "from kgagent.agent import update\n"
        "def die(staged, change, progress):\n"
        "    assert (staged.kg_dir / 'triples.npy').is_file()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "update.PARTS['index'] = die\n"
        "update.add_triples(sys.argv[1], sys.argv[2])\n"
    )
    proc = subprocess.run([sys.executable, "-c", script, str(ws), str(facts)], capture_output=True, timeout=300)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert snapshot(ws) == before
    assert ask(ws, "who directed Alien?", capsys)["answers"][0]["label"] == "Ridley Scott"
    assert main(["kg", "add", str(ws), str(facts)]) == 0  # the next update works despite the leftover copy
    assert "added 4 triples" in capsys.readouterr().out


def test_bad_file_is_one_line_exit_2(ws: Path, tmp_path: Path, capsys) -> None:
    before = snapshot(ws)
    bad = tmp_path / "bad.tsv"
    bad.write_text("Arrival\tdirected_by\n", encoding="utf-8")
    assert main(["kg", "add", str(ws), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and "bad.tsv" in err and len(err.strip().splitlines()) == 1
    assert snapshot(ws) == before


def test_running_agent_answers_from_an_update_made_by_another_process(ws: Path, tmp_path: Path) -> None:
    from kgagent.agent import build_agent

    graph = build_agent(ws, checkpointer="memory")

    def reply(question: str, thread: str) -> str:
        out = graph.invoke({"messages": [("user", question)]}, config={"configurable": {"thread_id": thread}})
        return out["messages"][-1].content

    assert "Denis Villeneuve" not in reply("who directed Arrival?", "before")
    facts = tmp_path / "new.tsv"
    facts.write_text(NEW_FACTS, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "kgagent", "kg", "add", str(ws), str(facts)], capture_output=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert "Denis Villeneuve" in reply("who directed Arrival?", "after")
