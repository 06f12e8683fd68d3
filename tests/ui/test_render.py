"""The evidence panel and the figures: layout, escaping, paths walked both ways."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from kgagent.ui.plots import degree_histogram, loss_curves, relation_bars
from kgagent.ui.render import evidence_html, path_html, subgraph_svg
from kgagent.ui.translate import TurnView

TRIPLES = [
    {"triple": 0, "head": "Nova phone", "relation": "compatible_with", "tail": "30W Charger"},
    {"triple": 1, "head": "30W Charger", "relation": "has_price", "tail": "29 USD"},
    {"triple": 2, "head": "Nova phone", "relation": "compatible_with", "tail": "MagDot Puck"},
    {"triple": 3, "head": "MagDot Puck", "relation": "has_price", "tail": "39 USD"},
]


def node_x(svg: str) -> dict[str, float]:
    """Centre x of each node box, by label."""
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    out = {}
    for g in root.iter(f"{ns}g"):
        if "kg-node" in g.get("class", ""):
            text = g.find(f"{ns}text")
            out[text.text] = float(text.get("x"))
    return out


def test_picture_puts_topic_first_and_answers_after_their_hops():
    svg = subgraph_svg(TRIPLES, topic=["Nova phone"], answers=["29 USD", "39 USD"])
    x = node_x(svg)
    assert x["Nova phone"] < x["30W Charger"] < x["29 USD"]
    assert x["30W Charger"] == x["MagDot Puck"] and x["29 USD"] == x["39 USD"]
    assert svg.count('class="kg-node kg-answer"') == 2 and svg.count('class="kg-node kg-topic"') == 1
    assert svg.count('class="kg-edge"') == 4


def test_picture_escapes_labels_and_caps_its_size():
    evil = [{"triple": 0, "head": "<script>alert(1)</script>", "relation": "r&d", "tail": 'a "quoted" name'}]
    svg = subgraph_svg(evil)
    ET.fromstring(svg)  # well-formed XML
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    many = [{"triple": i, "head": "hub", "relation": "r", "tail": f"leaf {i}"} for i in range(100)]
    assert subgraph_svg(many, topic=["hub"], max_triples=10).count('class="kg-edge"') == 10
    assert subgraph_svg([]) == ""


def test_parallel_edges_share_a_line_and_same_column_edges_bend():
    both = [{"triple": 0, "head": "A", "relation": "r1", "tail": "B"},
            {"triple": 1, "head": "A", "relation": "r2", "tail": "B"},
            {"triple": 2, "head": "A", "relation": "r3", "tail": "C"},
            {"triple": 3, "head": "B", "relation": "r4", "tail": "C"}]
    svg = subgraph_svg(both, topic=["A"])
    assert svg.count('class="kg-edge"') == 3 and "r1, r2" in svg
    assert re.search(r'd="M[\d.]+,[\d.]+ C', svg)  # B -> C sit in one column: a curve


@pytest.mark.parametrize(("path", "expected"), [
    ([[0, True], [1, True]], ["Nova phone", "—compatible_with→", "30W Charger", "—has_price→", "29 USD"]),
    ([[1, False], [0, False]], ["29 USD", "←has_price—", "30W Charger", "←compatible_with—", "Nova phone"]),
])
def test_paths_read_in_walking_order(path, expected):
    by_id = {t["triple"]: t for t in TRIPLES}
    text = re.sub(r"<[^>]+>", "", path_html(path, by_id))
    positions = [text.index(part) for part in expected]  # each part present, in walking order
    assert positions == sorted(positions)
    assert path_html([[99, True]], by_id) == ""  # a triple the evidence lacks: no half path


def test_evidence_panel_lists_paths_picture_and_triples():
    view = TurnView(state={
        "entities": [{"id": 0, "label": "Nova phone"}], "evidence": TRIPLES,
        "answers": [{"id": 5, "label": "29 USD", "score": 0.9, "paths": [[[0, True], [1, True]]]},
                    {"id": 6, "label": "39 USD", "score": 0.8, "paths": [[[2, True], [3, True]]]}],
        "passages": [{"text": "The 30W Charger fits the Nova.", "score": 0.7, "source": "triple:0"}]})
    page = evidence_html(view, max_rows=2)
    assert page.count("<li>") == 3  # two answer paths, one passage
    assert "<svg" in page and "4 evidence triples" in page and "… and 2 more triples" in page
    assert page.count("<tr>") == 1 + 2 + 1  # header, two rows, the "more" row


def test_figures():
    triples = np.array([[0, 0, 1], [0, 0, 2], [0, 1, 3], [4, 1, 0]])
    fig = degree_histogram(triples, num_entities=6)  # entity 5 is isolated: left out of a log axis
    assert fig.axes[0].get_xscale() == "log" and sum(p.get_height() for p in fig.axes[0].patches) == 5
    assert len(relation_bars({"compatible_with": 10, "has_price": 3}).axes[0].patches) == 2
    assert len(loss_curves({"kge": [1.0, 0.5], "qa": [2.0, 1.0, 0.7]}).axes[0].lines) == 2
    assert loss_curves({}).axes[0].texts  # says there is nothing to plot
