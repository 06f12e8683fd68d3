"""``kgagent serve``: a real uvicorn server on 127.0.0.1, spoken to over HTTP by the official ``openai`` client and
``httpx``; API keys, Prometheus metrics, the mounted UI, and two replicas sharing one PostgreSQL database."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

KEY = "test-key-0123456789"


@contextmanager
def running(app, port: int) -> Iterator[str]:
    """``app`` served by uvicorn on a free loopback port in a thread of this process; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def api(movies_ws: Path, port_finder) -> Iterator[str]:
    """The API (no UI) over the movie workspace with one API key and in-memory conversations."""
    from kgagent.ui.access import APIKeys
    from kgagent.ui.server import ServeConfig, create_server

    app = create_server(movies_ws, ServeConfig(ui=False, memory="memory"), keys=APIKeys([KEY]))
    with running(app, port_finder()) as url:
        yield url


@pytest.fixture
def client(api: str):
    from openai import OpenAI

    return OpenAI(base_url=f"{api}/v1", api_key=KEY, max_retries=0, timeout=30)


def ask(client, text: str, **kw):
    return client.chat.completions.create(model="movies", messages=[{"role": "user", "content": text}], **kw)


# ----------------------------------------------------------------- the OpenAI-compatible API
def test_openai_client_chat_and_follow_up_in_the_thread(client) -> None:
    first = ask(client, "who directed Alien?")
    assert first.object == "chat.completion" and first.model == "movies"
    assert first.choices[0].message.role == "assistant" and first.choices[0].finish_reason == "stop"
    assert "Ridley Scott" in first.choices[0].message.content
    thread = first.model_extra["thread_id"]
    assert thread.startswith("api-")
    # the follow-up needs the thread's memory ("he" is Ridley Scott); the client passes the thread as `user`
    follow = ask(client, "what else did he direct?", user=thread)
    assert "Gladiator" in follow.choices[0].message.content and "Blade Runner" in follow.choices[0].message.content
    alone = ask(client, "what else did he direct?")  # a new thread has nothing to refer back to
    assert "Gladiator" not in alone.choices[0].message.content


def test_openai_client_streaming_matches_the_whole_reply(client, api: str) -> None:
    import httpx

    whole = ask(client, "who directed Aliens?").choices[0].message.content
    chunks = list(ask(client, "who directed Aliens?", stream=True))
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == whole
    assert chunks[-1].choices[0].finish_reason == "stop"
    # on the wire: server-sent events ending with OpenAI's sentinel, the thread in a header
    with httpx.stream("POST", f"{api}/v1/chat/completions", headers={"Authorization": f"Bearer {KEY}",
                                                                     "X-Thread-Id": "wire-1"},
                      json={"model": "movies", "stream": True,
                            "messages": [{"role": "user", "content": "who directed Titanic?"}]}) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["x-thread-id"] == "wire-1"
        events = [line for line in r.iter_lines() if line]
    assert events[-1] == "data: [DONE]" and all(e.startswith("data: ") for e in events)
    assert any("James Cameron" in e for e in events)


def test_models_unknown_model_and_bad_requests(client) -> None:
    import openai

    assert [m.id for m in client.models.list().data] == ["movies"]
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="other", messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="movies", messages=[])
    with pytest.raises(openai.BadRequestError, match="no user message"):
        client.chat.completions.create(model="movies", messages=[{"role": "system", "content": "be brief"}])


# ----------------------------------------------------------------- the native API
def test_answer_is_structured(api: str, movies_ws: Path) -> None:
    import httpx

    from kgagent.kg import KnowledgeGraph, Workspace

    kg = KnowledgeGraph.load(Workspace(movies_ws).kg_dir)
    r = httpx.post(f"{api}/v1/answer", json={"question": "who directed Gladiator?"},
                   headers={"Authorization": f"Bearer {KEY}"})
    assert r.status_code == 200
    body = r.json()
    assert r.headers["x-thread-id"] == body["thread_id"]
    assert body["act"] == "question" and body["relation_path"] == ["directed_by"]
    assert [a["id"] for a in body["answers"]] == [kg.entity_id("Ridley Scott")]
    assert body["evidence"] == [{"triple": body["evidence"][0]["triple"], "head": "Gladiator",
                                 "relation": "directed_by", "tail": "Ridley Scott"}]
    assert 0 < body["confidence"] <= 1 and body["latency_ms"] > 0 and body["options"] == []


def test_answer_offers_clarification_options_and_takes_the_choice(api: str, movies_ws: Path) -> None:
    import httpx

    from kgagent.kg import KnowledgeGraph, Workspace

    kg = KnowledgeGraph.load(Workspace(movies_ws).kg_dir)
    auth = {"Authorization": f"Bearer {KEY}", "X-Thread-Id": "nova-1"}
    body = httpx.post(f"{api}/v1/answer", json={"question": "who directed Nova?"}, headers=auth).json()
    assert body["act"] == "clarify" and body["answers"] == []
    assert sorted(o["id"] for o in body["options"]) == sorted([kg.entity_id("Nova (1998)"),
                                                               kg.entity_id("Nova (2009)")])
    pick = next(i for i, o in enumerate(body["options"], start=1) if o["id"] == kg.entity_id("Nova (2009)"))
    chosen = httpx.post(f"{api}/v1/answer", json={"question": str(pick)}, headers=auth).json()
    assert [a["label"] for a in chosen["answers"]] == ["John Doe"] and chosen["options"] == []


# ----------------------------------------------------------------- access control
def test_keys_are_enforced(api: str) -> None:
    import httpx
    import openai

    body = {"model": "movies", "messages": [{"role": "user", "content": "who directed Alien?"}]}
    assert httpx.post(f"{api}/v1/chat/completions", json=body).status_code == 401
    bad = httpx.post(f"{api}/v1/answer", json={"question": "x"}, headers={"Authorization": "Bearer wrong-key-000"})
    assert bad.status_code == 401 and bad.json()["error"]["type"] == "authentication_error"
    assert httpx.get(f"{api}/metrics").status_code == 401
    assert httpx.get(f"{api}/v1/models", headers={"Authorization": KEY}).status_code == 401  # no Bearer
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{api}/v1", api_key="wrong-key-000", max_retries=0).models.list()
    assert httpx.get(f"{api}/healthz").json() == {"status": "ok"}  # probes need no key
    ready = httpx.get(f"{api}/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"


def test_keys_from_a_file_or_the_environment(tmp_path: Path) -> None:
    from kgagent.kg.errors import InputError
    from kgagent.ui.access import APIKeys

    f = tmp_path / "keys.txt"
    f.write_text("# team keys\nalpha-key-1234\n\nbeta-key-5678\n", encoding="utf-8")
    keys = APIKeys.from_file(f)
    assert len(keys) == 2 and keys.check("beta-key-5678") and not keys.check("beta-key-567")
    assert keys.check_header("Bearer alpha-key-1234") and not keys.check_header("Basic alpha-key-1234")
    env = APIKeys.from_env({"KGAGENT_API_KEYS": "alpha-key-1234, gamma-key-9999"})
    assert env.check("gamma-key-9999") and not APIKeys.from_env({})
    f.write_text("alpha-key-1234\nshort\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"keys\.txt:2"):
        APIKeys.from_file(f)


def test_refuses_to_serve_beyond_loopback_without_keys(movies_ws: Path, capsys, monkeypatch, port_finder) -> None:
    from kgagent.agent.cli import main
    from kgagent.kg.errors import ConfigError
    from kgagent.ui.access import APIKeys, check_bind

    monkeypatch.delenv("KGAGENT_API_KEYS", raising=False)
    assert main(["serve", str(movies_ws), "--host", "0.0.0.0", "--port", str(port_finder())]) == 2
    err = capsys.readouterr().err
    assert "refusing to serve on 0.0.0.0 without API keys" in err and "Traceback" not in err
    assert main(["serve", str(movies_ws), "--keys", str(movies_ws / "no-such-keys.txt")]) == 2
    assert "no-such-keys.txt" in capsys.readouterr().err
    assert main(["serve", str(movies_ws), "--quantize", "int4"]) == 2
    with pytest.raises(ConfigError):
        check_bind("192.168.1.10", APIKeys())
    check_bind("127.0.0.1", APIKeys())
    check_bind("::1", APIKeys())
    check_bind("0.0.0.0", APIKeys([KEY]))
    check_bind("0.0.0.0", APIKeys(), insecure=True)


# ----------------------------------------------------------------- metrics, schema, UI
def test_metrics_are_scraped(client, api: str) -> None:
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    ask(client, "who directed Titanic?")
    list(ask(client, "who directed Titanic?", stream=True))
    text = httpx.get(f"{api}/metrics", headers={"Authorization": f"Bearer {KEY}"}).text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for fam in text_string_to_metric_families(text) for s in fam.samples}

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("kgagent_requests_total", endpoint="/v1/chat/completions", method="POST", status="200") >= 2
    assert value("kgagent_turn_seconds_count", endpoint="/v1/chat/completions") >= 2
    for node in ("understand", "retrieve", "reason", "respond"):
        assert value("kgagent_node_seconds_count", node=node) >= 2
        assert value("kgagent_node_seconds_sum", node=node) > 0
    assert value("kgagent_turns_in_flight") == 0
    assert value("kgagent_model_load_seconds") > 0
    assert value("kgagent_requests_total", endpoint="/v1/answer", method="POST", status="401") >= 0


def test_readyz_reports_memory_that_does_not_answer(movies_ws: Path, tmp_path: Path, port_finder) -> None:
    import httpx

    from kgagent.agent import build_agent
    from kgagent.ui.server import ServeConfig, create_server

    graph = build_agent(movies_ws, checkpointer=tmp_path / "memory.sqlite")
    with running(create_server(movies_ws, ServeConfig(ui=False), graph=graph), port_finder()) as url:
        assert httpx.get(f"{url}/readyz").status_code == 200
        graph.checkpointer.conn.close()  # the memory store goes away
        r = httpx.get(f"{url}/readyz")
        assert r.status_code == 503 and r.json()["reason"].startswith("memory unavailable")
        assert httpx.get(f"{url}/healthz").status_code == 200  # alive, not ready


def test_openapi_schema_documents_the_endpoints(api: str) -> None:
    import httpx

    schema = httpx.get(f"{api}/openapi.json").json()
    for path in ("/v1/chat/completions", "/v1/answer", "/v1/models", "/healthz", "/readyz", "/metrics"):
        assert path in schema["paths"]
    assert "AnswerResponse" in schema["components"]["schemas"]


def test_ui_is_mounted_on_the_same_server_and_signs_in_with_an_api_key(movies_ws: Path, port_finder) -> None:
    import httpx

    from kgagent.agent import build_agent
    from kgagent.ui.access import APIKeys
    from kgagent.ui.server import ServeConfig, create_server

    app = create_server(movies_ws, ServeConfig(memory="memory"), keys=APIKeys([KEY]),
                        graph=build_agent(movies_ws, checkpointer="memory"))
    with running(app, port_finder()) as url, httpx.Client(base_url=url) as browser:
        page = browser.get("/")
        assert page.status_code == 200 and "gradio" in page.text.lower()
        assert browser.get("/config").status_code == 401  # Gradio's own routes, behind its login
        assert browser.post("/login", data={"username": "ada", "password": "wrong-key-000"}).status_code >= 400
        assert browser.post("/login", data={"username": "ada", "password": KEY}).status_code == 200
        assert browser.get("/config").json()["title"]
        assert browser.get("/healthz").status_code == 200  # and the API beside it, on the same port


# ----------------------------------------------------------------- replicas sharing PostgreSQL
@contextmanager
def serve_process(workspace: Path, port: int, memory: str) -> Iterator[str]:
    """``kgagent serve`` (no UI, no keys) in a process of its own; yields its URL once /readyz says ready."""
    from kgagent.ui.server import serve_in_subprocess

    env = {k: v for k, v in os.environ.items() if k != "KGAGENT_API_KEYS"}
    with serve_in_subprocess(workspace, "--no-ui", "--memory", memory, port=port, timeout=120, env=env) as (url, _):
        yield url


def test_two_replicas_share_a_conversation_through_postgres(movies_ws: Path, postgres_uri: str, port_finder) -> None:
    from openai import OpenAI

    with serve_process(movies_ws, port_finder(), postgres_uri) as a, \
            serve_process(movies_ws, port_finder(), postgres_uri) as b:
        one = OpenAI(base_url=f"{a}/v1", api_key="unused", max_retries=0, timeout=30)
        two = OpenAI(base_url=f"{b}/v1", api_key="unused", max_retries=0, timeout=30)
        first = ask(one, "who directed Alien?")
        thread = first.model_extra["thread_id"]
        assert "Ridley Scott" in first.choices[0].message.content
        follow = ask(two, "what else did he direct?", user=thread)  # the other replica, the same thread
        assert "Gladiator" in follow.choices[0].message.content
        assert "Gladiator" not in ask(two, "what else did he direct?", user="another-thread").choices[0].message.content
    import psycopg

    with psycopg.connect(postgres_uri) as conn:  # the turns are in the database, not in either process
        rows = conn.execute("SELECT count(*) FROM checkpoints WHERE thread_id = %s", (thread,)).fetchone()
    assert rows[0] >= 2
