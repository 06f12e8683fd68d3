"""The agent commands: ask, chat --cli, eval agent, train generator."""

from __future__ import annotations

import io
import json

import pytest

from kgagent.agent.cli import _spread_multi_values, main


def test_ask_prints_answer_evidence_and_latency(movie_ws, capsys) -> None:
    assert main(["ask", str(movie_ws), "who directed Alien?"]) == 0
    out = capsys.readouterr().out
    assert "Alien was directed by Ridley Scott." in out and "(Alien, directed_by, Ridley Scott)" in out
    assert "latency:" in out


def test_ask_json(movie_ws, capsys) -> None:
    assert main(["ask", str(movie_ws), "who directed Alien?", "--json"]) == 0
    reply = json.loads(capsys.readouterr().out)
    assert reply["answer"].startswith("Alien was directed by Ridley Scott.")
    assert reply["answers"][0]["label"] == "Ridley Scott" and reply["evidence"][0]["head"] == "Alien"
    assert reply["latency_ms"] > 0


def test_ask_bad_workspace_is_one_line_exit_2(tmp_path, capsys) -> None:
    assert main(["ask", str(tmp_path / "nope"), "hi"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and len(err.strip().splitlines()) == 1


def test_chat_cli_keeps_history_across_sessions(fresh_ws, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("who starred in Alien?\n/evidence\n/thread\n/quit\n"))
    assert main(["chat", str(fresh_ws), "--cli", "--thread", "me"]) == 0
    out = capsys.readouterr().out
    assert "agent> Alien starred" in out and "(Alien, starred_actors, Sigourney Weaver)" in out
    assert "you> me\n" in out
    # a new process-like session on the same thread continues the conversation
    monkeypatch.setattr("sys.stdin", io.StringIO("who directed it?\n"))
    assert main(["chat", str(fresh_ws), "--cli", "--thread", "me"]) == 0
    out = capsys.readouterr().out
    assert "continuing: 2 earlier messages" in out and "Alien was directed by Ridley Scott." in out


def test_eval_agent_json(movie_ws, tmp_path, capsys) -> None:
    data = tmp_path / "qa.txt"
    data.write_text("who directed [Alien]\tRidley Scott\nwho directed [Titanic]\tJames Cameron\n"
                    "what films did [Sam Peck] direct\tWestern 3\nwhen was [Aliens] released\t1999\n")
    out = tmp_path / "agent.json"
    assert main(["eval", "agent", str(movie_ws), "--data", str(data), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert {"hits_at_1", "n", "latency_ms_p50", "latency_ms_p99"} <= set(result)
    # the top answer of "what films did Sam Peck direct" is one of 15 films; a wrong year is a miss
    assert result["n"] == 4 and result["hits_at_1"] in (0.5, 0.75)
    assert 0 < result["latency_ms_p50"] <= result["latency_ms_p99"]


@pytest.mark.slow
def test_train_generator_command(fresh_ws, tiny_gpt2, tmp_path, capsys) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text("\n".join(json.dumps({"question": f"q{i}", "evidence": ["a | r | b"], "answer": "b"})
                              for i in range(4)))
    assert main(["train", "generator", str(fresh_ws), "--data", str(data), "--model", tiny_gpt2, "--epochs", "1"]) == 0
    assert (fresh_ws / "models" / "generator" / "adapter_config.json").is_file()
    manifest = json.loads((fresh_ws / "manifest.json").read_text())
    assert manifest["steps"]["generator"]["metrics"]["dialogues"] == 4
    # generator = "hf" picks the trained adapter up without further settings
    from kgagent.agent.workspace import AgentWorkspace

    ctx = AgentWorkspace(fresh_ws).context(generator="hf")
    assert ctx.generator_kwargs["adapter"].endswith("generator")


def test_multi_value_options_spread_into_repeated_flags(tmp_path) -> None:
    a, b, kb = (tmp_path / n for n in ("a.txt", "b.txt", "kb.txt"))
    for f in (a, b, kb):
        f.write_text("x\n")
    ws = tmp_path / "ws"
    ws.mkdir()
    # `build FILE --questions a b -w WS`: every file after the flag, up to the next option
    assert _spread_multi_values(["build", str(kb), "--questions", str(a), str(b), "-w", str(ws)]) == [
        "build", str(kb), "--questions", str(a), "--questions", str(b), "-w", str(ws)]
    # a folder is never a question file (the workspace argument may follow), and other commands are untouched
    assert _spread_multi_values(["train", "qa", "--data", str(a), str(ws)]) == ["train", "qa", "--data", str(a),
                                                                                str(ws)]
    assert _spread_multi_values(["eval", "qa", str(ws), "--data", str(a), str(b)]) == [
        "eval", "qa", str(ws), "--data", str(a), str(b)]
    # a missing file stays where it was, so click reports it
    assert _spread_multi_values(["build", str(kb), "--questions", str(a), "nope.txt"])[-1] == "nope.txt"
