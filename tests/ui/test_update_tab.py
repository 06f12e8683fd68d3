"""The Knowledge tab's "Update the current graph": add and remove triples through the app's HTTP API."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_add_and_remove_triples_through_the_app(demo_ws: Path, tmp_path: Path) -> None:
    from gradio_client import Client, handle_file

    from kgagent.kg import KnowledgeGraph
    from kgagent.ui import create_app, launch
    from kgagent.ui.config import UIConfig

    ws = tmp_path / "ws"
    shutil.copytree(demo_ws, ws, ignore=shutil.ignore_patterns("checkpoints.sqlite*"))
    before = KnowledgeGraph.load(ws / "kg")
    facts = tmp_path / "new.tsv"
    facts.write_text("Kite 9\tmade_by\tLumora\nKite 9\thas_price\t4321 USD\n", encoding="utf-8")
    app = launch(create_app(None, ws, config=UIConfig()), port=_port(), block=False, quiet=True)
    try:
        client = Client(app.local_url, verbose=False)
        status, counts, *_ = client.predict(handle_file(str(facts)), "auto", api_name="/add_triples")
        assert "added 2 triples (2 new entities)" in status and "kg-status-ok" in status
        assert f"{before.num_triples + 2:,}" in counts or str(before.num_triples + 2) in counts
        kg = KnowledgeGraph.load(ws / "kg")
        assert kg.follow([kg.entity_id("Kite 9")], ["made_by"]).keys() == {kg.entity_id("Lumora")}

        _, history = client.predict("what is the price of Kite 9?", [], api_name="/chat")
        assert any("4321 USD" in str(m["content"]) for m in history[1:])

        status, *_ = client.predict(handle_file(str(facts)), "auto", api_name="/remove_triples")
        assert "removed 2 triples" in status
        assert KnowledgeGraph.load(ws / "kg").num_triples == before.num_triples
        bad = tmp_path / "bad.tsv"
        bad.write_text("only\ttwo\n", encoding="utf-8")
        status, *_ = client.predict(handle_file(str(bad)), "tsv", api_name="/add_triples")
        assert "kg-status-error" in status and "bad.tsv" in status
    finally:
        app.close()
