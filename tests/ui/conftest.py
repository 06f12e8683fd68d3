"""Fixtures for the UI tests: the demo workspace, the real agent over it, a live app server, and Chromium.

The demo workspace is built once per session into a temp folder. By default it holds the demo KG with its aliases
and descriptions (a second or two); the agent then runs its own stand-ins for the parts the workspace lacks.
``KGAGENT_TEST_DEMO_WS=path`` points the tests at a fully built demo workspace instead (``kgagent demo`` leaves
one in ``.cache/demo-ws``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "ui"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def demo_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo workspace: ``$KGAGENT_TEST_DEMO_WS`` (copied, so tests never write into it), else the demo KG."""
    from kgagent.agent.build import load_step
    from kgagent.kg import demo
    from kgagent.ui.demo import write_ui_section

    target = tmp_path_factory.mktemp("ui") / "demo-ws"
    given = os.environ.get("KGAGENT_TEST_DEMO_WS")
    if given:
        shutil.copytree(given, target, ignore=shutil.ignore_patterns("checkpoints.sqlite*", "feedback.jsonl"))
    else:
        load_step(demo.demo_kg_path(), target, aliases=demo.demo_aliases_path(),
                  descriptions=demo.demo_descriptions_path())
    write_ui_section(target)
    return target


@pytest.fixture(scope="session")
def agent_graph(demo_ws: Path):
    """The real agent graph over the demo workspace, with in-memory conversation memory."""
    from kgagent.agent import build_agent

    return build_agent(demo_ws, checkpointer="memory")


@pytest.fixture(scope="session")
def server(demo_ws: Path, agent_graph) -> Iterator[str]:
    """The app on the demo workspace, served on a free 127.0.0.1 port in this process; yields its URL."""
    from kgagent.ui import create_app, launch
    from kgagent.ui.config import UIConfig
    from kgagent.ui.demo import DESCRIPTION, TITLE, demo_examples

    config = UIConfig(title=TITLE, description=DESCRIPTION, examples=[[e.text, e.note] for e in demo_examples()],
                      upload_root=str(demo_ws.parent / "uploads"))
    app = launch(create_app(agent_graph, demo_ws, config=config), port=free_port(), block=False, quiet=True)
    try:
        yield app.local_url.rstrip("/")
    finally:
        app.close()


def _ensure_chromium() -> None:
    """Install Debian's chromium when it is missing and we may (root, apt-get); else skip with the reason."""
    if Path(CHROMIUM).exists():
        return
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip(f"{CHROMIUM} is missing and cannot be installed here (needs root and apt-get): "
                    "install Debian's chromium to run the browser tests")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
        if done.returncode != 0:
            pytest.skip(f"`{' '.join(cmd)}` failed ({done.returncode}): {done.stderr.strip()[-300:]}")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"apt-get installed chromium but {CHROMIUM} is missing")


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """Headless Chromium driven by Playwright (Debian's binary; Playwright cannot download browsers here)."""
    pytest.importorskip("playwright")
    _ensure_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def open_page(browser, server: str, request: pytest.FixtureRequest) -> Iterator:
    """``open_page()`` -> a fresh page (own browser context, so own session) on the app; screenshots on teardown."""
    contexts = []

    def make(width: int = 1280, height: int = 960):
        ctx = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(20_000)
        page.goto(server, wait_until="load")  # Gradio keeps a connection open: "networkidle" never comes
        page.locator("#kg-input textarea").wait_for()
        return page

    yield make
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for i, ctx in enumerate(contexts):
        for page in ctx.pages:
            # animations="disabled" ends CSS transitions first: a panel still opening would show empty
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}-{i}.png"), full_page=True, animations="disabled")
        ctx.close()


# ----------------------------------------------------------------- the HTTP server's fixtures
@pytest.fixture(scope="session")
def port_finder():
    """``port_finder()`` -> a free 127.0.0.1 port."""
    return free_port


SERVE_TRIPLES: tuple[tuple[str, str, str], ...] = (
    ("Alien", "directed_by", "Ridley Scott"),
    ("Gladiator", "directed_by", "Ridley Scott"),
    ("Blade Runner", "directed_by", "Ridley Scott"),
    ("Alien", "starred_actors", "Sigourney Weaver"),
    ("Aliens", "directed_by", "James Cameron"),
    ("Aliens", "starred_actors", "Sigourney Weaver"),
    ("Titanic", "directed_by", "James Cameron"),
    ("Nova (1998)", "directed_by", "Jane Roe"),  # two films both labelled "Nova": the agent asks which one
    ("Nova (2009)", "directed_by", "John Doe"),
)


@pytest.fixture(scope="session")
def movies_ws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A KG-only workspace named ``movies`` (the agent's rule intents and relation matching answer)."""
    from kgagent.kg import KnowledgeGraph, Workspace

    root = tmp_path_factory.mktemp("serve") / "movies"
    kg = KnowledgeGraph.from_triples(SERVE_TRIPLES, labels={"Nova (1998)": "Nova", "Nova (2009)": "Nova"},
                                     descriptions={"Nova (1998)": "A 1998 thriller.", "Nova (2009)": "A 2009 comedy."})
    kg.save(Workspace(root).kg_dir)
    return root


def _postgres_bin() -> Path | None:
    """The folder of Debian's PostgreSQL programs (initdb, pg_ctl), the newest version first."""
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).resolve().parent
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
                   key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0, reverse=True)
    return found[0].parent if found else None


@pytest.fixture(scope="session")
def postgres_uri() -> Iterator[str]:
    """A private PostgreSQL cluster on a free 127.0.0.1 port for this session (``initdb`` into a temp folder);
    skipped when PostgreSQL is not installed or does not start. As root it runs as the ``postgres`` user."""
    import tempfile

    bindir = _postgres_bin()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql); the replica test needs it")
    as_user: list[str] = []
    folder = Path(tempfile.mkdtemp(prefix="kgagent-pg-"))
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # initdb refuses to run as root
        if not shutil.which("runuser"):
            pytest.skip("running as root without runuser: cannot start PostgreSQL as another user")
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no postgres user to run PostgreSQL as")
        os.chown(folder, user.pw_uid, user.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = folder / "data", free_port()

    def run(*cmd: str) -> subprocess.CompletedProcess:
        return subprocess.run([*as_user, *cmd], capture_output=True, text=True, timeout=120)

    done = run(str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"initdb failed: {done.stderr.strip()[-300:]}")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60"
    done = run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start")
    if done.returncode != 0:
        log = (folder / "log").read_text(errors="replace")[-300:] if (folder / "log").exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"PostgreSQL did not start: {done.stderr.strip()[-200:]} {log}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)
