"""Settings of the Gradio app: the ``[ui]`` section of ``WS/kgagent.toml``, overridable by ``create_app`` arguments.

>>> UIConfig(title="Support").concurrency
4
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kgagent.kg.config import check_ints, check_range
from kgagent.kg.errors import ConfigError


@dataclass
class UIConfig:
    """What the app shows and how much work it takes on at once."""

    title: str = field(default="kgagent", metadata={"help": "Title shown at the top of the app."})
    description: str = field(default="", metadata={"help": "One line under the title (Markdown)."})
    examples: list[str | list[str]] = field(
        default_factory=list,
        metadata={"help": 'Example questions, "text" or ["text", "note"]; empty: drawn from the workspace.'})
    max_examples: int = field(default=8, metadata={"help": "Example questions shown at most."})
    concurrency: int = field(
        default=4, metadata={"help": "Chat turns run at once (the rest wait in Gradio's queue)."})
    max_queue: int = field(default=256, metadata={"help": "Requests waiting in the queue before new ones are refused."})
    upload_root: str = field(
        default="", metadata={"help": "Where workspaces built from uploads go; empty: beside the workspace."})
    upload_config: str = field(
        default="", metadata={"help": "A kgagent.toml for workspaces built from uploads (their build settings)."})
    stream_interval: float = field(
        default=0.1, metadata={"help": "Seconds between screen updates while a reply streams in."})
    max_picture_triples: int = field(default=24, metadata={"help": "Triples drawn in an evidence picture."})

    def __post_init__(self) -> None:
        check_ints(self, "max_examples", "concurrency", "max_queue", "max_picture_triples", error=ConfigError,
                   prefix="[ui] ")
        check_range(self, "stream_interval", error=ConfigError, prefix="[ui] ")
        ok = not isinstance(self.examples, str) and all(
            isinstance(e, str) or (isinstance(e, list | tuple) and e and all(isinstance(x, str) for x in e))
            for e in self.examples)
        if not ok:
            raise ConfigError('[ui] examples must be a list of "question" strings or ["question", "note"] lists')
        self.examples = list(self.examples)
