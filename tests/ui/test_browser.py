"""The app in a real browser (Debian's Chromium through Playwright) on the demo workspace and the real agent.

Screenshots of every page land in ``test-artifacts/ui/`` (git-ignored).
"""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.browser
expect = pytest.importorskip("playwright.sync_api").expect

QUESTION = "What is the battery capacity of the Kite 5 Plus?"


def ask(page, text: str) -> None:
    """Type ``text``, send it, and wait until its turn is finished (the steps panel shows its time)."""
    done_before = page.locator("#kg-chat").get_by_text(re.compile(r"^Steps · \d+ ms$")).count()
    page.locator("#kg-input textarea").fill(text)
    page.locator("#kg-input textarea").press("Enter")
    wait_turns(page, done_before + 1)


def wait_turns(page, n: int) -> None:
    page.locator("#kg-chat").get_by_text(re.compile(r"^Steps · \d+ ms$")).nth(n - 1).wait_for()


def chat_text(page) -> str:
    return page.locator("#kg-chat").inner_text()


def test_answer_streams_in_with_its_evidence_and_a_follow_up_uses_it(open_page):
    page = open_page()
    ask(page, QUESTION)
    chat = page.locator("#kg-chat")
    # expect(...) waits: the evidence panel's HTML can render a moment after the turn's last update
    expect(chat.get_by_text("Kite 5 Plus has battery capacity 6000 mAh", exact=False).first).to_be_visible()
    # the evidence panel: the answer path, a picture of the subgraph, the triples
    expect(chat.get_by_text(re.compile(r"^Evidence · 1 triple"))).to_be_visible()
    expect(chat.locator("svg.kg-graph").first).to_be_visible()
    expect(chat.locator("svg.kg-graph .kg-topic text").first).to_have_text("Kite 5 Plus")
    expect(chat.locator("svg.kg-graph .kg-answer text").first).to_have_text("6000 mAh")
    expect(chat.locator(".kg-paths").first).to_contain_text("has_battery_capacity")

    ask(page, "And what is its price?")
    expect(chat).to_contain_text("Kite 5 Plus has price 349 USD")
    # each answer has its own evidence panel; the earlier one folds up and opens again on a click
    expect(chat.locator("svg.kg-graph")).to_have_count(1)
    expect(chat.locator("svg.kg-graph .kg-answer text").first).to_have_text("349 USD")
    chat.get_by_text(re.compile(r"^Evidence · ")).first.click()
    expect(chat.locator("svg.kg-graph")).to_have_count(2)


def test_two_browsers_keep_separate_histories(open_page):
    alice, bob = open_page(), open_page()
    ask(alice, QUESTION)
    ask(bob, "What is the battery capacity of the Nova phone?")
    ask(bob, "And what is its price?")  # resolved against Bob's thread, not Alice's
    ask(alice, "And what is its price?")
    a, b = chat_text(alice), chat_text(bob)
    assert "Kite 5 Plus has price 349 USD" in a and "Nova phone" not in a
    assert "Nova phone has price" in b and "Kite 5 Plus" not in b


def test_clarifying_question_offers_clickable_choices(open_page):
    page = open_page()
    page.locator("#kg-examples").get_by_text("What is the price of the Nova?").click()
    wait_turns(page, 1)
    expect(page.locator("#kg-chat")).to_contain_text("Which Nova do you mean?")
    expect(page.locator("#kg-chat button.option")).to_have_count(2)  # one per candidate
    choice = page.locator("#kg-chat button.option", has_text="Nova speaker")
    choice.click()
    wait_turns(page, 2)
    # the click was sent as the user's reply, and the agent went on with the chosen entity
    expect(page.locator("#kg-chat").get_by_text(re.compile(r"^Option 2: Nova speaker")).first).to_be_visible()
    assert "Nova speaker" in chat_text(page).split("Steps ·")[-1]  # the last reply is about it
    expect(page.locator("#kg-chat svg.kg-graph .kg-topic text").first).to_have_text("Nova speaker")
    expect(page.locator("#kg-chat button.option")).to_have_count(0)


def test_thumbs_append_feedback_to_the_workspace(open_page, demo_ws):
    path = demo_ws / "feedback.jsonl"
    before = path.read_text().splitlines() if path.exists() else []
    page = open_page()
    ask(page, QUESTION)
    page.locator("#kg-chat").get_by_role("button", name="Dislike").last.click()
    page.get_by_text("feedback saved").wait_for()
    rows = [json.loads(line) for line in path.read_text().splitlines()[len(before):]]
    assert len(rows) == 1
    assert rows[0]["liked"] is False and rows[0]["question"] == QUESTION
    assert rows[0]["answers"][0]["label"] == "6000 mAh" and rows[0]["evidence"][0]["tail"] == "6000 mAh"


def test_new_conversation_starts_a_fresh_thread(open_page):
    page = open_page()
    ask(page, QUESTION)
    page.locator("#kg-new").click()
    page.locator("#kg-chat").get_by_text(QUESTION).wait_for(state="detached")
    ask(page, "And what is its price?")  # nothing to refer back to any more
    assert "349 USD" not in chat_text(page)


def test_malformed_kg_upload_shows_the_error_with_its_line(open_page, tmp_path):
    bad = tmp_path / "broken_kg.tsv"
    bad.write_text("head\trelation\ttail\nKite 5\thas_price\t349 USD\nKite 6\thas_price\n")
    page = open_page()
    page.get_by_role("tab", name="Knowledge").click()
    # the tab's content renders after the click: expect(...) waits for it
    expect(page.locator("#kg-stats")).to_contain_text("triples")
    expect(page.locator("#kg-degree img")).to_be_visible()  # the degree histogram
    page.locator("#kg-upload input[type=file]").set_input_files(str(bad))
    expect(page.locator("#kg-upload")).to_contain_text("broken_kg", timeout=60_000)  # the upload is done
    page.locator("#kg-build").click()
    error = page.locator("#kg-status .kg-status-error")
    error.wait_for()
    text = error.inner_text()
    assert "broken_kg.tsv" in text and "line 3" in text and "/tmp" not in text
