"""What the app keeps between callbacks: one :class:`Session` per browser tab (in ``gr.State``), the agent graphs
per workspace (:class:`GraphPool`, shared), and the feedback log.

A session holds only plain data (its thread id, its workspace path, what each reply was about), so Gradio can
copy it and no session ever sees another's conversation: the agent keeps history per thread id.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)
FEEDBACK_FILE = "feedback.jsonl"


@dataclass
class Session:
    """One browser tab: its conversation thread and the workspace its chat talks to."""

    workspace: str
    thread_id: str = field(default_factory=lambda: f"ui-{uuid.uuid4().hex[:16]}")
    turns: dict[int, dict[str, Any]] = field(default_factory=dict)  # chat index of a reply -> what it answered
    # this tab's folder under the upload root: unguessable, so no other session can build into or read it
    uploads: str = field(default_factory=lambda: uuid.uuid4().hex)
    generator: str | None = None  # who phrases the replies ("template", "hf"); None: the workspace's [agent]

    def restart(self, workspace: str | None = None) -> Session:
        """A fresh conversation (new thread), on ``workspace`` when given; the same upload folder and reply choice."""
        return Session(workspace=workspace or self.workspace, uploads=self.uploads, generator=self.generator)

    @property
    def config(self) -> dict[str, Any]:
        """The LangGraph run config of this session's thread."""
        return {"configurable": {"thread_id": self.thread_id}}


class GraphPool:
    """One compiled agent graph per workspace, built on first use and shared by every session on it."""

    def __init__(self, factory: Callable[[str], Any] | None = None) -> None:
        self._factory = factory or _build_agent
        self._graphs: dict[str, Any] = {}
        self._lock = threading.Lock()

    def add(self, workspace: str | Path, graph: Any) -> None:
        self._graphs[_key(workspace)] = graph

    def get(self, workspace: str | Path) -> Any:
        key = _key(workspace)
        graph = self._graphs.get(key)
        if graph is None:
            with self._lock:  # two sessions switching at once build it once
                graph = self._graphs.get(key)
                if graph is None:
                    graph = self._graphs[key] = self._factory(key)
        return graph

    def opened(self, workspace: str | Path) -> Any:
        """The opened workspace (``agent.AgentWorkspace``) the graph of ``workspace`` is bound to: the app reads
        its KG from there instead of loading a second copy."""
        graph = self.get(workspace)
        opened = getattr(graph, "workspace", None)  # graphs from a custom factory may carry none
        if opened is None:
            from kgagent.agent.workspace import open_workspace

            opened = open_workspace(_key(workspace))
        return opened

    def reload(self, workspace: str | Path) -> None:
        """Make the graph of ``workspace`` load its models anew (after it was rebuilt or retrained).

        The graph itself stays, with its checkpointer (so conversations go on): its nodes are bound to the
        opened workspace, whose ``reload()`` makes the next turn load what is on disk now.
        """
        graph = self._graphs.get(_key(workspace))
        opened = getattr(graph, "workspace", None)
        if opened is not None:
            opened.reload()


def _key(workspace: str | Path) -> str:
    return str(Path(workspace).resolve())


def _build_agent(workspace: str) -> Any:
    from kgagent.agent import build_agent

    return build_agent(workspace)


class FeedbackLog:
    """Appends thumbs up/down records to ``WS/feedback.jsonl`` (one JSON object per line, for later training)."""

    _lock = threading.Lock()

    @staticmethod
    def append(workspace: str | Path, record: dict[str, Any]) -> Path:
        path = Path(workspace) / FEEDBACK_FILE
        line = json.dumps({"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **record}, ensure_ascii=False) + "\n"
        with FeedbackLog._lock:
            # one write() of one line on an O_APPEND file: lines from several processes never interleave
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
            try:
                os.write(fd, line.encode("utf-8"))
            finally:
                os.close(fd)
        return path
