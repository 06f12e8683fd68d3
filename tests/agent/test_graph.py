"""The conversation graph end to end: follow-ups, clarification, small talk, memory, isolation and streaming."""

from __future__ import annotations

import sqlite3
import uuid

import pytest
from langchain_core.messages import AIMessageChunk

from kgagent.agent import Context, ask, build_agent
from kgagent.agent.nodes.routes import route_turn


def new_thread() -> str:
    return uuid.uuid4().hex


def chat(graph, *turns: str, thread: str | None = None):
    thread = thread or new_thread()
    return [ask(graph, t, thread_id=thread) for t in turns]


# ----------------------------------------------------------------- single questions
def test_kg_question_answer_with_evidence(graph) -> None:
    r = ask(graph, "who directed Alien?", thread_id=new_thread())
    assert r.act == "question" and r.answers[0]["label"] == "Ridley Scott"
    assert r.text.startswith("Alien was directed by Ridley Scott.")
    assert "(Alien, directed_by, Ridley Scott)" in r.text  # cites its evidence
    assert r.evidence == [{"triple": r.evidence[0]["triple"], "head": "Alien", "relation": "directed_by",
                           "tail": "Ridley Scott"}]
    assert r.subgraph and r.relation_path == ["directed_by"]


def test_long_answer_lists_are_summarized(graph) -> None:
    r = ask(graph, "which films were directed by Sam Peck?", thread_id=new_thread())
    assert r.answer_count == 15
    assert "and 10 more were directed by Sam Peck." in r.text


# ----------------------------------------------------------------- follow-ups (dialogue memory)
def test_pronoun_follow_ups_resolve_against_earlier_turns(graph) -> None:
    starred, else_, directed, genre = chat(graph, "who starred in Alien?", "what else did she star in?",
                                           "who directed it?", "and what genre is that?")
    assert {a["label"] for a in starred.answers} == {"Sigourney Weaver", "Tom Skerritt"}
    top = starred.answers[0]["label"]
    # "she" is the last answer; "else" leaves out the film already discussed
    assert else_.question == f"what else did {top} star in?" or top == "Tom Skerritt"
    if top == "Sigourney Weaver":
        assert {a["label"] for a in else_.answers} == {"Aliens", "Gorillas in the Mist"}
        film = else_.answers[0]["label"]
        # "it" is the film just named; a remembered person has no director
        assert directed.question == f"who directed {film}?"
        assert directed.answers[0]["label"] in {"James Cameron", "Michael Apted"}
    assert genre.act == "question"


def test_pronoun_skips_entities_the_question_does_not_fit(graph) -> None:
    year, director = chat(graph, "when was Alien released?", "who directed it?")
    assert year.answers[0]["label"] == "1979"
    # the last answer is a literal year; "it" falls back to the last topic
    assert director.answers[0]["label"] == "Ridley Scott" and director.question == "who directed Alien?"


def test_elliptical_question_reuses_the_previous_relation(graph) -> None:
    _, again = chat(graph, "who directed Alien?", "what about Aliens?")
    assert again.question == "who directed Aliens?"
    assert again.answers[0]["label"] == "James Cameron"


# ----------------------------------------------------------------- clarification
@pytest.mark.parametrize("reply", ["2", "the first one", "the 2009 comedy", "the thriller", "#1"])
def test_ambiguous_entity_asks_and_the_next_turn_resolves(graph, reply: str) -> None:
    ask_, answer = chat(graph, "who directed Nova?", reply)
    assert ask_.act == "clarify" and not ask_.answers
    lines = ask_.text.splitlines()
    assert lines[0] == "Which Nova do you mean?"
    assert lines[1].startswith("1. Nova (") and lines[2].startswith("2. Nova (")
    # each option carries its description, so the numbered choice can be checked against it
    by_number = {n: ("John Doe" if "2009" in lines[n] else "Jane Roe") for n in (1, 2)}
    expected = {"2": by_number[2], "the first one": by_number[1], "#1": by_number[1],
                "the 2009 comedy": "John Doe", "the thriller": "Jane Roe"}[reply]
    assert answer.act == "question" and answer.question == "who directed Nova?"
    assert answer.answers[0]["label"] == expected


@pytest.mark.parametrize("text", ["which comedy did Owen Wilson star in?", "tell me the comedy films of Owen Wilson"])
def test_a_new_question_after_a_clarification_is_a_new_turn(graph, text: str) -> None:
    ask_, again = chat(graph, "who directed Nova?", text)
    assert ask_.act == "clarify"
    # a word of it ("comedy") fits an option, but it asks something of its own: not a pick
    assert again.question == text
    assert "Nova" not in {e["label"] for e in again.entities}


def test_namesakes_the_question_tells_apart_are_not_asked_about(graph) -> None:
    config = {"configurable": {"thread_id": new_thread()}}
    steps = [next(iter(u)) for u in graph.stream({"messages": [("user", "what films did Owen Wilson star in?")]},
                                                  config, stream_mode="updates")]
    assert steps == ["understand", "retrieve", "reason", "respond"]
    state = graph.get_state(config).values
    assert state["entities"][0]["label"] == "Owen Wilson" and state["clarification"] is None
    assert [a["label"] for a in state["answers"]] == ["Wedding Crashers"]


def test_namesakes_both_fitting_the_question_are_asked_about(graph) -> None:
    config = {"configurable": {"thread_id": new_thread()}}
    steps = [next(iter(u)) for u in graph.stream({"messages": [("user", "who directed Nova?")]}, config,
                                                  stream_mode="updates")]
    assert steps == ["understand", "retrieve", "reason", "clarify"]


def test_a_reply_that_picks_nothing_is_a_new_turn(graph) -> None:
    _, other = chat(graph, "who directed Nova?", "who directed Titanic?")
    assert other.answers[0]["label"] == "James Cameron"


# ----------------------------------------------------------------- small talk, out of scope, handoff
@pytest.mark.parametrize(("text", "act", "intent", "expect"), [
    ("hello", "smalltalk", "greeting", "Hello"),
    ("thanks!", "smalltalk", "thanks", "welcome"),
    ("bye", "smalltalk", "goodbye", "Goodbye"),
    ("can I talk to a human please", "handoff", "human_handoff", "human colleague"),
    ("what's the weather like tomorrow?", "out_of_scope", "question", "I answer questions about"),
])
def test_small_talk_out_of_scope_and_handoff(graph, text: str, act: str, intent: str, expect: str) -> None:
    r = ask(graph, text, thread_id=new_thread())
    assert (r.act, r.intent) == (act, intent)
    assert expect in r.text and not r.answers


def test_out_of_scope_reply_says_what_it_can_do(fresh_ws) -> None:
    (fresh_ws / "kgagent.toml").write_text('[agent]\ndomain = "films, their directors and casts"\n')
    r = ask(build_agent(fresh_ws, checkpointer="memory"), "book me a flight", thread_id="t")
    assert r.act == "out_of_scope" and "films, their directors and casts" in r.text


def test_small_talk_does_not_leak_the_previous_answer(graph) -> None:
    _, thanks = chat(graph, "who directed Alien?", "thanks")
    assert thanks.answers == [] and thanks.evidence == []


def test_routes_are_pure_functions_of_state() -> None:
    assert route_turn({"act": "question"}) == "retrieve"
    assert route_turn({"act": "clarify"}) == "clarify"
    assert route_turn({}) == "out_of_scope"


# ----------------------------------------------------------------- memory: persistence and isolation
def test_conversation_survives_a_restart(fresh_ws) -> None:
    first = build_agent(fresh_ws)  # default: SQLite in the workspace
    ask(first, "who starred in Alien?", thread_id="user-1")
    assert (fresh_ws / "checkpoints.sqlite").is_file()
    del first
    second = build_agent(fresh_ws)  # a new graph object over the same file
    r = ask(second, "who directed it?", thread_id="user-1")
    assert r.answers[0]["label"] == "Ridley Scott"
    history = second.get_state({"configurable": {"thread_id": "user-1"}}).values["messages"]
    assert [m.type for m in history] == ["human", "ai", "human", "ai"]
    rows = sqlite3.connect(fresh_ws / "checkpoints.sqlite").execute(
        "select count(distinct thread_id) from checkpoints").fetchone()
    assert rows == (1,)


def test_threads_are_isolated(graph) -> None:
    a, b = new_thread(), new_thread()
    ask(graph, "who directed Titanic?", thread_id=a)
    ask(graph, "who starred in Gorillas in the Mist?", thread_id=b)
    ra = ask(graph, "what else did he direct?", thread_id=a)
    assert {x["label"] for x in ra.answers} == {"Aliens"}  # James Cameron, not thread b's actress
    msgs = graph.get_state({"configurable": {"thread_id": b}}).values["messages"]
    assert len(msgs) == 2 and "Titanic" not in " ".join(m.content for m in msgs)


# ----------------------------------------------------------------- context at run time
def test_run_time_context_overrides_defaults(graph) -> None:
    config = {"configurable": {"thread_id": new_thread()}}
    out = graph.invoke({"messages": [("user", "which films were directed by Sam Peck?")]}, config,
                       context=Context(max_listed=2, templates={"directed_by": "{tail} directed {head}"}))
    assert out["messages"][-1].content.startswith("Sam Peck directed Western 1, Western 2 and 13 more.")


# ----------------------------------------------------------------- streaming
def test_stream_updates_show_each_step(graph) -> None:
    config = {"configurable": {"thread_id": new_thread()}}
    steps = [next(iter(chunk)) for chunk in graph.stream({"messages": [("user", "who directed Alien?")]}, config,
                                                         stream_mode="updates")]
    assert steps == ["understand", "retrieve", "reason", "respond"]


def test_stream_messages_emits_the_reply(graph) -> None:
    config = {"configurable": {"thread_id": new_thread()}}
    events = list(graph.stream({"messages": [("user", "who directed Alien?")]}, config, stream_mode="messages"))
    texts = [(m.content, meta["langgraph_node"]) for m, meta in events]
    assert texts and texts[-1][1] == "respond" and texts[-1][0].startswith("Alien was directed by")


def test_llm_tokens_stream_through_messages_mode(movie_ws, fake_openai) -> None:
    ctx = Context(generator="openai", generator_kwargs={"base_url": fake_openai.url, "model": "m"})
    g = build_agent(movie_ws, context=ctx, checkpointer="memory")
    config = {"configurable": {"thread_id": "s"}}
    chunks = [m for mode, (m, meta) in g.stream({"messages": [("user", "who directed Alien?")]}, config,
                                                 stream_mode=["messages"])
              if isinstance(m, AIMessageChunk) and m.content and meta["langgraph_node"] == "respond"]
    assert len(chunks) >= 3 and "".join(c.content for c in chunks) == "Ridley Scott directed Alien."
    final = g.get_state(config).values["messages"][-1]
    assert final.content == "Ridley Scott directed Alien."
    # the model was grounded on the evidence, and saw the question
    body = fake_openai.requests[-1]["body"]
    assert "Alien | directed_by | Ridley Scott" in body["messages"][0]["content"]
    assert body["messages"][-1] == {"role": "user", "content": "who directed Alien?"}
    # without an answer the template speaks: the model gets no chance to guess
    n = len(fake_openai.requests)
    r = ask(g, "who directed Nova?", thread_id="s2")
    assert r.act == "clarify" and len(fake_openai.requests) == n


def test_hf_generator_in_the_graph(movie_ws, tiny_gpt2) -> None:
    ctx = Context(generator="hf", generator_kwargs={"model": tiny_gpt2, "max_new_tokens": 5})
    g = build_agent(movie_ws, context=ctx, checkpointer="memory")
    events = list(g.stream({"messages": [("user", "who directed Alien?")]}, {"configurable": {"thread_id": "h"}},
                           stream_mode="messages"))
    assert sum(isinstance(m, AIMessageChunk) for m, _ in events) >= 2


def test_astream_streams_llm_tokens_too(movie_ws, fake_openai) -> None:
    import asyncio

    ctx = Context(generator="openai", generator_kwargs={"base_url": fake_openai.url})
    g = build_agent(movie_ws, context=ctx, checkpointer="memory")

    async def run() -> list[str]:
        out = []
        async for m, _meta in g.astream({"messages": [("user", "who directed Alien?")]},
                                       {"configurable": {"thread_id": "as"}}, stream_mode="messages"):
            if isinstance(m, AIMessageChunk) and m.content:
                out.append(m.content)
        return out

    pieces = asyncio.run(run())
    assert len(pieces) >= 3 and "".join(pieces) == "Ridley Scott directed Alien."
