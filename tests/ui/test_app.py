"""The app through its HTTP API (``gradio_client``, as the load benchmark uses it) and the ``kgagent chat`` command."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

QUESTION = "What is the battery capacity of the Kite 5 Plus?"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def texts(message: dict) -> list[str]:
    return [c.get("text", "") for c in message["content"] if isinstance(c, dict) and c.get("type") == "text"]


def test_chat_endpoint_returns_the_turn_with_its_evidence(server):
    from gradio_client import Client

    client = Client(server, verbose=False)
    box, history = client.predict(QUESTION, [], api_name="/chat")
    assert box == ""
    assert [m["role"] for m in history] == ["user", "assistant", "assistant", "assistant"]
    steps, answer, evidence = history[1:]
    assert steps["metadata"]["title"].startswith("Steps · ")
    assert any("6000 mAh" in t for t in texts(answer))
    html = evidence["content"][0]
    assert html["component"] == "html" and "<svg" in html["value"] and "has_battery_capacity" in html["value"]
    # the history goes back in with the next message, as the browser sends it
    _, history = client.predict("And what is its price?", history, api_name="/chat")
    assert any("349 USD" in t for m in history[4:] for t in texts(m))


def test_api_clients_are_separate_sessions(server):
    from gradio_client import Client

    alice, bob = Client(server, verbose=False), Client(server, verbose=False)
    alice.predict(QUESTION, [], api_name="/chat")
    _, history = bob.predict("And what is its price?", [], api_name="/chat")  # Bob has nothing to refer back to
    assert not any("349 USD" in t for m in history for t in texts(m))
    _, history = alice.predict("And what is its price?", [], api_name="/chat")
    assert any("349 USD" in t for m in history for t in texts(m))


def slow_graph():
    """A two-node LangGraph graph whose reply streams word by word (as an LLM generator's would)."""
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.graph import END, START, StateGraph

    from kgagent.agent.generators.base import Generator, ResponseRequest
    from kgagent.agent.generators.streaming import generate_message
    from kgagent.agent.state import State

    class Words(Generator):
        streaming = True

        def generate(self, request: ResponseRequest) -> str:
            return "one two three four five six"

        def stream(self, request: ResponseRequest):
            for word in self.generate(request).split():
                time.sleep(0.15)
                yield word + " "

    def understand(state: State) -> dict:
        return {"intent": "question", "intent_confidence": 0.9}

    def respond(state: State) -> dict:
        return {"messages": [generate_message(Words(), ResponseRequest("q"))]}

    g = StateGraph(State)
    g.add_node("understand", understand)
    g.add_node("respond", respond)
    g.add_edge(START, "understand")
    g.add_edge("understand", "respond")
    g.add_edge("respond", END)
    return g.compile(checkpointer=InMemorySaver())


def test_reply_streams_in_as_it_is_generated(demo_ws):
    from gradio_client import Client

    from kgagent.ui import create_app, launch

    app = launch(create_app(slow_graph(), demo_ws), port=free_port(), block=False, quiet=True)
    try:
        job = Client(app.local_url, verbose=False).submit("hello", [], api_name="/chat")
        job.result(timeout=60)
        replies = []
        for _, history in job.outputs():
            answer = [t for m in history[1:] if not (m.get("metadata") or {}).get("title") for t in texts(m)]
            replies.append(answer[0] if answer else "")
    finally:
        app.close()
    grown = [r for r in dict.fromkeys(replies) if r]
    assert len(grown) >= 3, replies  # the reply was shown several times while it grew
    assert all(a in b for a, b in itertools.pairwise(grown))
    assert grown[-1] == "one two three four five six"


@pytest.mark.slow
def test_kgagent_chat_serves_the_app(demo_ws, tmp_path):
    port = free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
    proc = subprocess.Popen([sys.executable, "-m", "kgagent.agent.cli", "chat", str(demo_ws), "--port", str(port),
                             "--memory"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline, page = time.time() + 90, ""
        while time.time() < deadline and not page:
            assert proc.poll() is None, proc.stdout.read().decode()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as r:
                    page = r.read().decode()
            except OSError:
                time.sleep(0.5)
        assert "Lumora support" in page  # the title from the workspace's [ui] settings
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_kgagent_chat_rejects_a_bad_auth_spec(demo_ws):
    from kgagent.agent.cli import main

    assert main(["chat", str(demo_ws), "--auth", "no-password", "--memory"]) == 2


TINY_BUILD = """
[kge]
model = "TransE"
dim = 16
epochs = 4
early_stopping = false

[qa]
synthesize = 60
epochs = 0
head_warmup_epochs = 2
answer_scorer = false
max_hops = 2

[ner]
questions = 40
variants = 0
epochs = 1
"""


@pytest.mark.slow
def test_uploaded_kg_is_built_and_the_chat_switches_to_it(tmp_path, demo_ws):
    """The knowledge tab's build through the API: a small valid KG, tiny build settings, then a question on it."""
    from gradio_client import Client, handle_file

    from kgagent.agent import build_agent
    from kgagent.ui import create_app, launch
    from kgagent.ui.config import UIConfig

    kg_file = tmp_path / "films.tsv"
    kg_file.write_text("head\trelation\ttail\n" + "".join(
        f"Film {i}\tdirected_by\tDirector {i % 4}\nFilm {i}\treleased_in\t{1990 + i % 5}\n" for i in range(30)))
    settings = tmp_path / "build.toml"
    settings.write_text(TINY_BUILD)
    config = UIConfig(upload_root=str(tmp_path / "uploads"), upload_config=str(settings))
    app = launch(create_app(build_agent(demo_ws, checkpointer="memory"), demo_ws, config=config),
                 port=free_port(), block=False, quiet=True)
    try:
        client = Client(app.local_url, verbose=False)
        out = client.predict(handle_file(str(kg_file)), "auto", None, None, None, [], api_name="/build_workspace")
        status, counts, badge = out[0], out[2], out[-1]
        assert "kg-status-ok" in status and "films" in status, status
        assert "60" in counts and "films" in badge  # 60 triples, and the badge names the new workspace
        _, history = client.predict("When was Film 3 released?", [], api_name="/chat")
        assert any("1993" in t for m in history for t in texts(m))
    finally:
        app.close()
    assert len(list((tmp_path / "uploads").glob("*/films/kge"))) == 1  # in this session's own upload folder
