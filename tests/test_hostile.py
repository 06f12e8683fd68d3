"""Holes a hostile or careless user could use, each closed at its depth: upload folders, server paths in the
browser, read-only places, the directory swap, labels rendered as Markdown, undecodable chat text."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kgagent.kg import KnowledgeGraph, Workspace
from kgagent.kg.errors import InputError
from kgagent.kg.io import atomic_dir, clean_stale_temps, recover_dir

ROOT = Path(__file__).resolve().parents[1]
HOSTILE_LABELS = ("![x](http://evil.example/p.png)", "<img src=x onerror=alert(1)>", "[click](http://evil.example)",
                  "<script>alert(1)</script>", "http://evil.example/track", "www.evil.example", "# Heading",
                  "- item", "1. first", "**bold** _em_ `code` $x$", "a@evil.example", "<http://evil.example>")


# ----------------------------------------------------------------- uploads (item 1)
@pytest.fixture
def ui_app(tmp_path, tiny_kg):
    from kgagent.ui.app import _App
    from kgagent.ui.config import UIConfig
    from kgagent.ui.session import GraphPool

    ws = tmp_path / "ws"
    tiny_kg.save(Workspace(ws).kg_dir)
    return _App(GraphPool(lambda w: None), str(ws), UIConfig(upload_root=str(tmp_path / "uploads")))


@pytest.mark.parametrize("name", ["..tsv", "...tsv", "../../escape.tsv", "a/../../b.tsv", "/etc/passwd.tsv",
                                  "a\x00b.tsv", "x" * 400 + ".tsv", ".hidden.tsv", "\x1b[2J.tsv", "..", ".tsv"])
def test_an_upload_name_never_leaves_its_session_folder(ui_app, name):
    from kgagent.ui.session import Session

    session = Session(ui_app.workspace)
    own = (ui_app.upload_root() / session.uploads).resolve()
    target = ui_app.upload_target(session, name)
    assert target.parent == own and target.name not in ("", ".", "..") and not target.name.startswith(".")
    assert len(target.name) <= 64 and "\x00" not in str(target) and "\x1b" not in str(target)


def test_two_sessions_uploading_the_same_name_get_two_workspaces(ui_app):
    from kgagent.ui.session import Session

    a, b = Session(ui_app.workspace), Session(ui_app.workspace)
    assert ui_app.upload_target(a, "a.tsv") != ui_app.upload_target(b, "a.tsv")
    assert ui_app.upload_target(a.restart(), "a.tsv") == ui_app.upload_target(a, "a.tsv")  # its own, kept


def test_upload_errors_shown_in_the_browser_carry_no_server_path(ui_app, tmp_path):
    from kgagent.ui.session import Session

    settings = tmp_path / "build.toml"
    settings.write_text('[kge]\nepochs = "many"\n')  # fails at the kge step, with the target's config path
    ui_app.config.upload_config = str(settings)
    kb = tmp_path / "films.tsv"
    kb.write_text("".join(f"Film {i}\tdirected_by\tDirector {i % 3}\n" for i in range(12)))
    status = ui_app.build_workspace(str(kb), "auto", None, None, None, [], Session(ui_app.workspace),
                                    progress=lambda *a, **k: None)[0]
    assert "kg-status-error" in status and "epochs" in status, status
    assert str(tmp_path) not in status and "/tmp/" not in status, status
    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tr\n")
    status = ui_app.build_workspace(str(bad), "auto", None, None, None, [], Session(ui_app.workspace),
                                    progress=lambda *a, **k: None)[0]
    assert "bad.tsv" in status and "line 1" in status and str(tmp_path) not in status, status


# ----------------------------------------------------------------- labels render as text (item 9)
@pytest.mark.parametrize("label", HOSTILE_LABELS)
def test_ui_markdown_shows_a_label_as_the_characters_it_is(label):
    from markdown_it import MarkdownIt

    from kgagent.ui.translate import as_text

    md = MarkdownIt("gfm-like") if _has_linkify() else MarkdownIt("commonmark")
    html = md.render(as_text(f"{label} directed Alien."))
    assert "<img" not in html and "<a " not in html and "<script" not in html and "<h1" not in html, html
    assert "<li" not in html and "<strong" not in html and "<em" not in html and "<code" not in html, html


def _has_linkify() -> bool:
    try:
        import linkify_it  # noqa: F401
    except ImportError:
        return False
    return True


def test_template_reply_escapes_link_and_html_brackets(workspace_factory_tmp):
    from markdown_it import MarkdownIt

    from kgagent.agent import build_agent
    from kgagent.agent.session import ask

    reply = ask(build_agent(workspace_factory_tmp, checkpointer="memory"), "who directed Hostile Film?")
    assert "evil.example" in reply.text  # the label is there, as text
    html = MarkdownIt("commonmark").render(reply.text)
    assert "<img" not in html and "<a " not in html and "<script" not in html, html


@pytest.fixture
def workspace_factory_tmp(tmp_path):
    KnowledgeGraph.from_triples([("Hostile Film", "directed_by", "![x](http://evil.example/p.png)"),
                                 ("Hostile Film", "starred_actors", "<img src=x onerror=alert(1)>")]
                                ).save(Workspace(tmp_path / "hostile").kg_dir)
    return tmp_path / "hostile"


# ----------------------------------------------------------------- undecodable chat text (item 8)
def test_ui_chat_survives_lone_surrogates_and_control_characters(tmp_path, tiny_kg):
    import orjson

    from kgagent.agent import build_agent
    from kgagent.ui.app import _App
    from kgagent.ui.config import UIConfig
    from kgagent.ui.session import GraphPool

    ws = tmp_path / "ws"
    tiny_kg.save(Workspace(ws).kg_dir)
    pool = GraphPool(lambda w: build_agent(w, checkpointer="memory"))
    app = _App(pool, str(ws.resolve()), UIConfig())
    *_, (_, history, _) = app.chat("who directed \udcff Alien?\x1b[2J\x00", [], None)
    # what Gradio sends back: a lone surrogate here used to drop the connection
    orjson.dumps([m["content"] for m in history if isinstance(m["content"], str)])
    assert "Ridley Scott" in json.dumps(history, ensure_ascii=False, default=str)
    assert history[0]["content"] == "who directed \ufffd Alien?[2J"


# ----------------------------------------------------------------- relation names ending in ^-1 (item 7)
def test_a_relation_named_like_an_inverse_step_is_refused():
    with pytest.raises(InputError, match=r"ends with '\^-1'"):
        KnowledgeGraph.from_triples([("a", "directed_by^-1", "b")])


# ----------------------------------------------------------------- the directory swap (items 4, 5)
def _write(folder: Path, text: str) -> None:
    (folder / "data.txt").write_text(text)


def test_a_kill_between_the_two_renames_is_recovered_when_the_workspace_opens(tmp_path, monkeypatch, tiny_kg):
    import kgagent.kg.io as kio

    ws = Workspace(tmp_path / "ws")
    tiny_kg.save(ws.kg_dir)
    monkeypatch.setattr(kio, "_exchange", lambda a, b: False)  # the two-rename path (no renameat2)
    real = os.replace
    calls = []

    def killed_after_first(src, dst):
        calls.append(src)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the process dies here: kg/ is aside, the new one not yet in place
        return real(src, dst)

    monkeypatch.setattr(kio.os, "replace", killed_after_first)
    with pytest.raises(KeyboardInterrupt), atomic_dir(ws.kg_dir) as tmp:
        _write(tmp, "new")
    monkeypatch.setattr(kio.os, "replace", real)
    assert not ws.kg_dir.exists() and (tmp_path / "ws" / ".kg.old").is_dir()
    assert KnowledgeGraph.load(ws.require("kg")).num_triples == tiny_kg.num_triples  # recovered on open


def test_the_whole_workspace_is_recovered_too(tmp_path, tiny_kg):
    from kgagent.agent.workspace import AgentWorkspace

    ws = tmp_path / "ws"
    tiny_kg.save(Workspace(ws).kg_dir)
    os.replace(ws, tmp_path / ".ws.old")  # a build killed mid-swap
    assert AgentWorkspace(ws).kg.num_triples == tiny_kg.num_triples
    assert not recover_dir(ws)  # nothing left to recover


def test_the_swap_is_one_atomic_exchange_where_the_os_has_it(tmp_path):
    from kgagent.kg.io import _exchange

    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    _write(a, "A")
    _write(b, "B")
    if not _exchange(a, b):
        pytest.skip("no renameat2 RENAME_EXCHANGE here")
    assert (a / "data.txt").read_text() == "B" and (b / "data.txt").read_text() == "A"
    with atomic_dir(b) as tmp:
        _write(tmp, "C")
    assert (b / "data.txt").read_text() == "C" and sorted(p.name for p in tmp_path.iterdir()) == ["a", "b"]


def test_temp_folders_of_dead_builds_are_cleaned_and_live_ones_kept(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / f".ws.{dead.pid}.abc123.tmp").mkdir()
    (tmp_path / f".ws.{os.getppid()}.def456.tmp").mkdir()  # a live process (the test runner's parent)
    (tmp_path / ".other.1.x.tmp").mkdir()  # another folder's: not ours to touch
    with atomic_dir(tmp_path / "ws") as tmp:
        _write(tmp, "x")
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == [".other.1.x.tmp", f".ws.{os.getppid()}.def456.tmp", "ws"], left
    assert clean_stale_temps(tmp_path / "ws") == []


def test_a_failed_build_into_a_new_nested_path_leaves_no_empty_folders(tmp_path):
    from kgagent.agent.cli import main

    bad = tmp_path / "bad.tsv"
    bad.write_text("a\tr\n")
    assert main(["kg", "load", str(bad), "--workspace", str(tmp_path / "x" / "y" / "z" / "ws")]) == 2
    assert not (tmp_path / "x").exists()
    with pytest.raises(RuntimeError), atomic_dir(tmp_path / "p" / "q" / "ws"):
        raise RuntimeError
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.tsv"]


# ----------------------------------------------------------------- read-only places (item 4)
def _read_only(root: Path, argv: list[str]) -> list[str]:
    """``kgagent ARGV`` with ``root`` read-only: a read-only bind mount where we are root (root ignores file
    modes), else the folder's modes (set by the fixture)."""
    cmd = [sys.executable, "-m", "kgagent", *argv]
    if os.geteuid() != 0:
        return cmd
    if shutil.which("unshare") is None:
        pytest.skip("root without unshare: no way to make a folder read-only")
    return ["unshare", "-m", "sh", "-c", 'mount --bind -o ro "$0" "$0" && exec "$@"', str(root), *cmd]


@pytest.fixture(scope="module")
def readonly_ws(tmp_path_factory):
    """The movie KG as a workspace under a folder the commands cannot write to."""
    root = tmp_path_factory.mktemp("read-only")
    KnowledgeGraph.from_triples([("Alien", "directed_by", "Ridley Scott")]).save(Workspace(root / "ws").kg_dir)
    (root / "kb.tsv").write_text("a\tr\tb\n")
    for p in [root, *root.rglob("*")]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    yield root
    for p in [root, *root.rglob("*")]:
        p.chmod(0o755 if p.is_dir() else 0o644)


@pytest.mark.parametrize(("args", "says"), [
    (["ask", "{ws}", "who directed Alien?", "--thread", "t1"], "cannot keep conversations"),
    (["chat", "{ws}", "--cli"], "cannot keep conversations"),
    (["kg", "load", "{root}/kb.tsv", "--workspace", "{ws}"], "not writable"),
    (["kg", "stats", "{ws}", "--json", "{ws}/stats.json"], "not writable"),
    (["kg", "load", "{root}/kb.tsv", "--workspace", "{root}/new/ws"], "not writable"),
], ids=["ask-thread", "chat-cli", "kg-load", "kg-stats-json", "kg-load-new"])
def test_read_only_places_give_one_line(readonly_ws, args, says):
    argv = [a.replace("{ws}", str(readonly_ws / "ws")).replace("{root}", str(readonly_ws)) for a in args]
    proc = subprocess.run(_read_only(readonly_ws, argv), input="", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2, proc.stderr[-3000:]
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], proc.stderr[-3000:]
