"""The generator interface: a ``ResponseRequest`` (question, answers, evidence, history) in, text out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import ClassVar

from kgagent.kg.errors import KgAgentError


class GeneratorError(KgAgentError):
    """A generator cannot run as configured (missing model path, unreachable endpoint, bad option)."""


@dataclass(frozen=True)
class Fact:
    """An evidence triple in words."""

    head: str
    relation: str
    tail: str

    def __str__(self) -> str:
        return f"({self.head}, {self.relation}, {self.tail})"


@dataclass
class AnswerView:
    """An answer with its best evidence path (hop by hop)."""

    label: str
    score: float
    path: list[Fact] = field(default_factory=list)


@dataclass
class ResponseRequest:
    """Everything a generator may say something about; built by the ``respond`` node from the state."""

    question: str
    answers: list[AnswerView] = field(default_factory=list)
    total_answers: int = 0  # answers found in all; ``answers`` may hold only the best of them
    topic: list[str] = field(default_factory=list)
    relation_path: list[str] = field(default_factory=list)
    evidence: list[Fact] = field(default_factory=list)
    passages: list[str] = field(default_factory=list)
    history: list[tuple[str, str]] = field(default_factory=list)  # (role, text), oldest first
    confidence: float = 0.0
    unsure: bool = False
    problem: str = ""  # "", "no_entity", "no_answer", "low_confidence"

    def __post_init__(self) -> None:
        self.total_answers = max(self.total_answers, len(self.answers))


class Generator(ABC):
    """Turns a ``ResponseRequest`` into a reply. ``streaming`` generators yield text pieces as they come."""

    streaming: ClassVar[bool] = False

    @abstractmethod
    def generate(self, request: ResponseRequest) -> str:
        """The whole reply."""

    def stream(self, request: ResponseRequest) -> Iterator[str]:
        """The reply in pieces (one piece unless the generator streams)."""
        yield self.generate(request)


GENERATORS: dict[str, type[Generator]] = {}


def register_generator(name: str) -> Callable[[type[Generator]], type[Generator]]:
    """Class decorator: make a generator available by ``name`` (``Context.generator``)."""

    def deco(cls: type[Generator]) -> type[Generator]:
        GENERATORS[name] = cls
        return cls

    return deco


def cut_at_stops(pieces: Iterable[str], stops: tuple[str, ...]) -> Iterator[str]:
    """Pass text pieces through until one of ``stops`` appears; text that may start a stop is held back."""
    if not stops:
        yield from pieces
        return
    held = ""
    longest = max(len(s) for s in stops)
    for piece in pieces:
        held += piece
        hits = [i for i in (held.find(s) for s in stops) if i >= 0]
        if hits:
            if held[: min(hits)]:
                yield held[: min(hits)]
            return
        # keep the tail that could still be the beginning of a stop string
        keep = 0
        for k in range(1, min(longest, len(held)) + 1):
            if any(s.startswith(held[-k:]) for s in stops):
                keep = k
        if len(held) > keep:
            yield held[: len(held) - keep]
            held = held[len(held) - keep:]
    if held:
        yield held
