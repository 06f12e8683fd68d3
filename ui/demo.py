"""The demo: build the bundled Lumora support workspace once, then open the app on it.

``kgagent demo`` (``make demo``) calls :func:`run_demo`; a later run finds the workspace complete and reuses it.
The examples shown in the chat are written into ``[ui]`` of the workspace's ``kgagent.toml``: one question per
hop count from the demo's authored questions, an ambiguous name (the agent asks which one is meant), a question
outside the domain, and a follow-up that refers back to the previous answer.
"""

from __future__ import annotations

import logging
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kgagent.kg import Workspace
from kgagent.kg.process import torch_threads

# Importing the app creates its gr.Progress(track_tqdm=True) defaults, and Gradio then patches tqdm for the whole
# process; a tqdm bar made before the patch breaks after it. Import it first, so the CLI's bars come after.
from kgagent.ui.app import create_app
from kgagent.ui.examples import Example, from_question_files, toml_section

log = logging.getLogger(__name__)

TITLE = "Lumora support"
DESCRIPTION = ("Questions about Lumora's (fictional) phones, tablets, laptops, accessories, warranties, plans and "
               "stores, answered from a knowledge graph, with the triples each answer rests on.")
# What the demo shows besides the multi-hop questions; the ambiguous name "Nova" is a phone and a speaker.
SHOWCASE = [
    Example("What is the price of the Nova?", "clarification"),
    Example("How big is the screen of the Slate 12 Pro?", "1-hop, then ask the follow-up below"),
    Example("And how much does it cost?", "follow-up (after the question above)"),
    Example("What's the weather like tomorrow?", "out of scope"),
]


def demo_examples() -> list[Example]:
    """1-, 2- and 3-hop questions from the demo's question file, then :data:`SHOWCASE`."""
    from kgagent.kg.demo import demo_questions_path

    return [*from_question_files([demo_questions_path()], per_hop=1, limit=3), *SHOWCASE]


BUILD_STEPS = ("kg", "kge", "intents", "qa")  # what a finished demo build records in its manifest


def is_complete(workspace: str | Path) -> bool:
    """Whether ``workspace`` holds a finished demo build (its manifest records every build step)."""
    try:
        steps = Workspace(workspace).manifest().get("steps", {})
    except Exception:  # a corrupt manifest: rebuild
        return False
    return (Path(workspace) / "kg").is_dir() and set(BUILD_STEPS) <= set(steps)


# The demo trains with the build's defaults. It once trained its QA encoder three epochs (`[qa] epochs = 3`, written
# before the first build): now one gives the same validation Hits@1 (0.905), and the build takes 213 s instead of
# 367 s (BENCHMARKS.md, "Demo").


def write_ui_section(workspace: str | Path) -> None:
    """Add the demo's ``[ui]`` section (title, examples) to ``WS/kgagent.toml`` unless it has one."""
    from kgagent.kg.io import atomic_write_text

    path = Workspace(workspace).config_path
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if "ui" in tomllib.loads(text):
        return
    section = toml_section(demo_examples(), title=TITLE, description=DESCRIPTION)
    atomic_write_text(path, (text.rstrip() + "\n\n" if text.strip() else "") + section)


def ensure_demo_workspace(workspace: str | Path, *, rebuild: bool = False, threads: int = 1,
                          progress: Callable[[float, str], None] | None = None) -> dict[str, Any]:
    """Build the demo workspace at ``workspace`` unless a complete one is there; returns what was done.

    ``threads``: torch threads while building (0: torch's default). One is the default because the demo's models
    are small: measured here with the cores shared, the build took 103 s of CPU with one thread and 756 s with
    torch's default (threads spinning on cores they do not get), for the same models.
    """
    from kgagent.agent.build import BuildOptions, build_workspace
    from kgagent.kg import demo

    workspace = Path(workspace)
    if is_complete(workspace) and not rebuild:
        write_ui_section(workspace)
        return {"built": False, "workspace": str(workspace)}
    t0 = time.perf_counter()
    with torch_threads(threads):
        summary = build_workspace(BuildOptions(
            file=demo.demo_kg_path(), workspace=workspace, aliases=demo.demo_aliases_path(),
            descriptions=demo.demo_descriptions_path(), intents=demo.demo_intents_path(),
            questions=[demo.demo_questions_path()]), progress=progress)
    write_ui_section(workspace)
    return {"built": True, "workspace": str(workspace), "seconds": round(time.perf_counter() - t0, 1), **summary}


def run_demo(workspace: str | Path = ".cache/demo-ws", *, host: str = "127.0.0.1", port: int | None = 7860,
             open_browser: bool = True, rebuild: bool = False, block: bool = True,
             progress: Callable[[float, str], None] | None = None, auth: Any = None, insecure: bool = False) -> Any:
    """Build (first run) or reuse the demo workspace, then serve the app on it (``auth``, ``insecure``: as
    :func:`ui.launch`)."""
    from kgagent.agent import build_agent
    from kgagent.ui.launch import check_exposure, launch

    check_exposure(host, auth, insecure)  # before the (long) first build
    ensure_demo_workspace(workspace, rebuild=rebuild, progress=progress)
    app = create_app(build_agent(workspace), workspace)
    return launch(app, host=host, port=port, open_browser=open_browser, block=block, auth=auth, insecure=insecure)
