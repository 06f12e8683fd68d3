"""Sessions, feedback, auth, settings, examples and the demo workspace helpers."""

from __future__ import annotations

import json
import re
import threading
import tomllib
from pathlib import Path

import pytest

from kgagent.kg.errors import ConfigError, InputError, KgAgentError
from kgagent.ui.config import UIConfig
from kgagent.ui.examples import Example, from_question_files, hops, toml_section, workspace_examples
from kgagent.ui.launch import AUTH_ENV, check_exposure, parse_auth, resolve_auth
from kgagent.ui.session import FeedbackLog, GraphPool, Session


def test_sessions_get_their_own_threads():
    a, b = Session("ws"), Session("ws")
    assert a.thread_id != b.thread_id
    again = a.restart()
    assert again.thread_id != a.thread_id and again.workspace == "ws" and not again.turns
    assert a.restart("other").workspace == "other"
    assert a.config == {"configurable": {"thread_id": a.thread_id}}


def test_a_conversation_chooses_its_replies(demo_ws):
    from kgagent.ui.app import _App

    app = _App(GraphPool(lambda ws: object()), str(demo_ws), UIConfig())
    session = Session(str(demo_ws))
    assert app.run_context(session) == {}  # the workspace's own [agent] generator
    session = app.set_replies("hf", session)
    ctx = app.run_context(session)["context"]
    assert ctx.generator == "hf"
    assert session.restart().generator == "hf"  # a new conversation keeps the choice


def test_graph_pool_builds_once_per_workspace_and_reload_reopens_its_models(tmp_path, demo_ws):
    from kgagent.agent import build_agent

    built = []
    pool = GraphPool(lambda ws: built.append(ws) or object())
    threads = [threading.Thread(target=pool.get, args=(tmp_path,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert built == [str(tmp_path.resolve())]
    pool = GraphPool(lambda ws: built.append(ws) or build_agent(ws, checkpointer="memory"))
    graph = pool.get(demo_ws)
    kg = pool.opened(demo_ws).kg
    assert pool.opened(demo_ws) is graph.workspace  # the app reads the KG the graph answers from
    pool.reload(demo_ws)  # after a rebuild or retraining
    assert pool.get(demo_ws) is graph and len(built) == 2  # same graph (and conversation memory) ...
    assert graph.workspace.kg is not kg  # ... whose next turn loads the models anew


def test_feedback_lines_stay_whole_under_concurrent_writers(tmp_path):
    def write(i: int) -> None:
        for j in range(25):
            FeedbackLog.append(tmp_path, {"thread_id": f"t{i}", "n": j, "answer": "x" * 500, "liked": j % 2 == 0})

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = [json.loads(line) for line in (tmp_path / "feedback.jsonl").read_text().splitlines()]
    assert len(rows) == 200 and all(set(r) >= {"time", "thread_id", "liked"} for r in rows)


def test_auth_from_a_file_or_the_environment_never_argv(tmp_path):
    assert parse_auth(None) is None and parse_auth("") is None
    f = tmp_path / "users.txt"
    f.write_text("# who may sign in\nada:one\n\nbob:two:with:colons\n")
    assert parse_auth(f) == [("ada", "one"), ("bob", "two:with:colons")]
    assert resolve_auth(None, {AUTH_ENV: "ada:one\nbob:two"}) == [("ada", "one"), ("bob", "two")]
    assert resolve_auth(f, {AUTH_ENV: "eve:x"})[0] == ("ada", "one")  # the file wins
    assert resolve_auth(None, {}) is None
    f.write_text("ada:one\nbob\n")
    with pytest.raises(InputError, match=r"users\.txt:2: expected user:password"):
        parse_auth(f)
    with pytest.raises(InputError, match="process list"):  # a password in argv is refused
        parse_auth("ada:s3cret")
    with pytest.raises(InputError, match="no such file"):
        parse_auth("nopassword")


@pytest.mark.parametrize(("host", "auth", "insecure", "ok"), [
    ("127.0.0.1", None, False, True), ("localhost", None, False, True), ("::1", None, False, True),
    ("0.0.0.0", None, False, False), ("192.168.1.5", None, False, False), ("0.0.0.0", [("a", "b")], False, True),
    ("0.0.0.0", None, True, True)])
def test_a_public_address_needs_a_login_or_insecure(host, auth, insecure, ok):
    if ok:
        check_exposure(host, auth, insecure)
    else:
        with pytest.raises(KgAgentError, match="--insecure"):
            check_exposure(host, auth, insecure)


def test_kgagent_chat_refuses_0000_without_auth(demo_ws, capsys):
    from kgagent.agent.cli import main

    assert main(["chat", str(demo_ws), "--host", "0.0.0.0", "--memory"]) == 2
    assert "--insecure" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [{"concurrency": 0}, {"max_examples": 0}, {"examples": "one question"},
                                 {"examples": [["q", 3]]}])
def test_ui_config_rejects_bad_values(bad):
    with pytest.raises(ConfigError, match=r"\[ui\]"):
        UIConfig(**bad)


def test_examples_come_a_few_per_hop_count(tmp_path):
    q = tmp_path / "qa.txt"
    q.write_text("what does [A] cost\tx\nwho makes [A]\ty\nwhich chargers fit [B] and cost\tz\n"
                 "where is the store of the maker of [C]\tw\n")
    (tmp_path / "qa_qtype.txt").write_text("has_price\nmade_by\nfits^-1|has_price\nmade_by|has_store|in_city\n")
    found = from_question_files([q], per_hop=1)
    assert [(e.text, e.note) for e in found] == [("What does A cost?", "1-hop"),
                                                 ("Which chargers fit B and cost?", "2-hop"),
                                                 ("Where is the store of the maker of C?", "3-hop")]
    assert hops("actor_to_movie_to_year") == 2 and hops("r1|r2^-1") == 2 and hops("has_price") == 1


@pytest.mark.parametrize(("relation", "question"), [
    ("has_price", "What is the price of Kite 5?"), ("directed_by", "What is Kite 5 directed by?"),
    ("releaseYear", "What is the release year of Kite 5?"), ("compatible_with", "What is Kite 5 compatible with?"),
    ("is_a", "What kind of thing is Kite 5?")])
def test_questions_made_from_relation_names_read_as_english(relation, question):
    from kgagent.agent.generators.template import relation_words
    from kgagent.ui.examples import relation_question

    assert relation_question(relation_words(relation), "Kite 5") == question


def test_examples_section_round_trips_through_toml(tmp_path):
    examples = [Example('Is the "Nova" \\ waterproof?', "clarification"), Example("Hi", "")]
    text = toml_section(examples, title="Lumora — support")
    cfg = UIConfig(**tomllib.loads(text)["ui"])
    assert cfg.title == "Lumora — support"
    assert [Example.parse(e) for e in cfg.examples] == examples


def test_workspace_examples_prefer_settings_then_question_files_then_the_kg(demo_ws, tmp_path):
    import shutil

    from kgagent.kg import Workspace
    from kgagent.kg.demo import demo_questions_path

    ws = tmp_path / "ws"
    shutil.copytree(demo_ws / "kg", ws / "kg")
    assert workspace_examples(ws, [["how much is [X]", "1-hop"]]) == [Example("How much is X", "1-hop")]
    made = workspace_examples(ws, [], limit=3)  # no settings, no recorded question files: from the KG
    # the demo KG's three commonest relations: compatible_with, stocked_at, available_in_colour
    assert len(made) == 3 and all(re.fullmatch(r"What is \S.* (compatible with|stocked at|available in colour)\?",
                                               e.text) for e in made), made
    Workspace(ws).record("qa", metrics={"question_files": [str(demo_questions_path())]})
    found = workspace_examples(ws, [])
    assert [e.note for e in found] == ["1-hop", "2-hop", "3-hop"] and all(e.text.endswith("?") for e in found)


def test_demo_ui_section_is_written_once_and_keeps_other_settings(tmp_path):
    from kgagent.ui.demo import SHOWCASE, TITLE, is_complete, write_ui_section

    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "kgagent.toml").write_text('[kge]\nmodel = "RotatE"\n')
    write_ui_section(ws)
    write_ui_section(ws)
    config = tomllib.loads((ws / "kgagent.toml").read_text())
    assert config["kge"] == {"model": "RotatE"} and config["ui"]["title"] == TITLE
    notes = [e[1] for e in config["ui"]["examples"]]
    assert {"1-hop", "2-hop", "3-hop"} <= set(notes) and {e.note for e in SHOWCASE} <= set(notes)
    assert not is_complete(ws)
    assert not is_complete(Path(tmp_path / "absent"))


def test_import_ui_does_not_import_gradio():
    import subprocess
    import sys

    code = "import sys, ui; print('gradio' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_loss_curves_come_from_the_step_results():
    """The tab plots what the steps return: one curve (KGE per epoch, intents per step) or one per QA phase."""
    from kgagent.ui.training import loss_curves_of

    assert loss_curves_of("KG embeddings", {"mrr": 0.4, "losses": [3, 2.5, 2]}) == {"KG embeddings": [3.0, 2.5, 2.0]}
    qa = {"losses": {"qa: path head (frozen features)": [1.0, 0.5], "qa: answer scorer": [], "qa: x": [2]}}
    assert loss_curves_of("QA", qa) == {"QA: qa: path head (frozen features)": [1.0, 0.5], "QA: qa: x": [2.0]}
    assert loss_curves_of("Intents", {"accuracy": 0.9}) == {}


def test_kge_training_gives_the_tab_one_loss_per_epoch(tmp_path):
    """The training tab's KGE run (the same step as `kgagent train kge`) hands back its loss curve."""
    from kgagent.kg import KnowledgeGraph
    from kgagent.ui.training import TrainInputs, run_training

    ws = tmp_path / "ws"
    n = 16
    KnowledgeGraph.from_triples([(f"p{i}", r, f"p{(i + k) % n}") for i in range(n)
                                 for r, k in (("next", 1), ("prev", -1), ("partner", n // 2))]).save(ws / "kg")
    (ws / "kgagent.toml").write_text('[kge]\nmodel = "TransE"\ndim = 8\nearly_stopping = false\n')
    result, curves = run_training("KG embeddings", ws, TrainInputs(epochs=3))
    losses = curves["KG embeddings"]
    assert len(losses) == result["epochs"] == 3 and all(x > 0 for x in losses)


def test_demo_workspace_is_reused_once_complete(tmp_path, demo_ws):
    import shutil

    from kgagent.kg import Workspace
    from kgagent.ui.demo import BUILD_STEPS, ensure_demo_workspace, is_complete

    ws = tmp_path / "demo"
    shutil.copytree(demo_ws / "kg", ws / "kg")
    for step in BUILD_STEPS:  # what a finished build leaves in the manifest
        Workspace(ws).record(step, metrics={})
    assert is_complete(ws)
    assert ensure_demo_workspace(ws) == {"built": False, "workspace": str(ws)}
    assert "[ui]" in (ws / "kgagent.toml").read_text()  # the examples are added to a reused workspace too
