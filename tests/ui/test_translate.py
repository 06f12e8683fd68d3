"""The translator: real agent stream events in, chat items out (no Gradio, no browser)."""

from __future__ import annotations

import json
import uuid

from langchain_core.messages import AIMessage, AIMessageChunk

from kgagent.ui.render import evidence_html
from kgagent.ui.translate import ChatTranslator


def turn(graph, text: str, thread: str) -> ChatTranslator:
    """One real turn streamed through the agent the way the app streams it."""
    events = graph.stream({"messages": [("user", text)]}, config={"configurable": {"thread_id": thread}},
                          stream_mode=["updates", "messages"])
    return ChatTranslator(evidence_html).feed_all(events)


def test_question_gives_steps_reply_and_evidence_panel(agent_graph):
    tr = turn(agent_graph, "What is the battery capacity of the Kite 5 Plus?", uuid.uuid4().hex)
    items = tr.items()
    assert [i.kind for i in items] == ["steps", "answer", "evidence"]
    steps, answer, evidence = items
    assert "6000 mAh" in answer.text
    assert steps.status == "done" and "`understand`" in steps.text and "`reason`" in steps.text
    assert "Kite 5 Plus" in evidence.html and "<svg" in evidence.html and "has_battery_capacity" in evidence.html
    assert evidence.title.startswith("Evidence · 1 triple")
    assert tr.view.answers[0]["label"] == "6000 mAh"


def test_follow_up_resolves_against_the_same_thread(agent_graph):
    thread = uuid.uuid4().hex
    turn(agent_graph, "What is the battery capacity of the Kite 5 Plus?", thread)
    follow = turn(agent_graph, "And what is its price?", thread)
    assert "349 USD" in follow.view.reply
    assert any(t["head"] == "Kite 5 Plus" and t["relation"] == "has_price" for t in follow.view.evidence)
    # another thread has no earlier turn to refer back to
    other = turn(agent_graph, "And what is its price?", uuid.uuid4().hex)
    assert "349 USD" not in other.view.reply


def test_clarification_offers_choices_and_a_choice_resolves_it(agent_graph):
    thread = uuid.uuid4().hex
    tr = turn(agent_graph, "What is the price of the Nova?", thread)
    answer = next(i for i in tr.items() if i.kind == "answer")
    assert len(answer.options) == 2
    values = [v for v, _ in answer.options]
    assert values[0].startswith("Option 1: Nova") and values[1].startswith("Option 2: Nova")
    assert all(len(label) < 80 for _, label in answer.options)
    picked = turn(agent_graph, values[1], thread)  # what a click on the second choice sends
    assert [e["label"] for e in picked.view.state["entities"]][:1] == ["Nova speaker"]
    assert not any(i.options for i in picked.items())


def test_small_talk_and_out_of_scope_have_no_evidence(agent_graph):
    for text in ("thanks!", "What's the weather like tomorrow?"):
        tr = turn(agent_graph, text, uuid.uuid4().hex)
        assert [i.kind for i in tr.items()] == ["steps", "answer"], text
        assert tr.view.reply


def test_token_chunks_accumulate_and_the_whole_message_replaces_them():
    tr = ChatTranslator()
    meta = {"langgraph_node": "respond"}
    tr.feed(("messages", (AIMessageChunk(content="Kite 5 Plus ", id="r1"), meta)))
    assert tr.items()[-1].text == "Kite 5 Plus"
    tr.feed(("messages", (AIMessageChunk(content="costs 349 USD. ", id="r1"), meta)))
    assert tr.view.reply == "Kite 5 Plus costs 349 USD."
    # the node's returned message (same id, cleaned up) comes again in the updates: shown once
    tr.feed(("messages", (AIMessage(content="Kite 5 Plus costs 349 USD.", id="r1"), meta)))
    tr.feed(("updates", {"respond": {"messages": [AIMessage(content="Kite 5 Plus costs 349 USD.", id="r1")]}}))
    tr.finish()
    assert [i.kind for i in tr.items()] == ["steps", "answer"]
    assert tr.items()[1].text == "Kite 5 Plus costs 349 USD."


def test_steps_read_the_state_fields():
    tr = ChatTranslator()
    assert [(i.kind, i.status) for i in tr.items()] == [("steps", "pending")]  # shown before the first event
    assert tr.feed(("updates", {"understand": {"intent": "pricing", "intent_confidence": 0.91,
                                               "entities": [{"id": 3, "label": "Kite 5"}], "answers": []}}))
    assert not tr.feed(("custom", {"anything": 1}))  # modes it does not show change nothing
    line = tr.view.steps[0]
    assert line.startswith("`understand`") and "**pricing** (91%)" in line and "**Kite 5**" in line
    assert "answer" not in line  # empty per-turn fields are not listed
    assert tr.items()[0].title == "Working…" and tr.items()[0].status == "pending"


def test_a_failed_turn_shows_the_error_and_nothing_else():
    tr = ChatTranslator(evidence_html)
    tr.feed(("updates", {"understand": {"intent": "pricing"}}))
    tr.fail("workspace is gone")
    kinds = [i.kind for i in tr.items()]
    assert kinds == ["steps", "error"] and "workspace is gone" in tr.items()[1].text


def test_record_is_json_ready(agent_graph):
    tr = turn(agent_graph, "What is the battery capacity of the Kite 5 Plus?", uuid.uuid4().hex)
    record = json.loads(json.dumps(tr.view.record()))
    assert record["answer"].startswith("Kite 5 Plus") and record["answers"][0]["label"] == "6000 mAh"
    assert record["evidence"][0]["relation"] == "has_battery_capacity"
