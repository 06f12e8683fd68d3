"""Mention taggers as the linker sees them: anything with ``tag(texts) -> [[Span]]``.

The linker asks a tagger only when its dictionary match is not confident; the tagger proposes where the mentions
are (and of what type), the linker's own candidate sources say which entity each one names. The trained tagger
lives in ``training.ner`` (``NERModel``); this layer knows only the protocol, so retrieval never imports training.

>>> class Capitals:
...     def tag(self, texts):
...         return [[Span(0, len(t.split()[0]), "ENT", 1.0)] for t in texts]
>>> Capitals().tag(["Alien was scary"])[0][0].end
5
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class Span:
    """A tagged mention: characters ``text[start:end]``, its tag (an entity class, or ``ENT``) and a score in
    [0, 1] (the tagger's mean probability over the span's tokens)."""

    start: int
    end: int
    label: str
    score: float = 1.0


@runtime_checkable
class MentionTagger(Protocol):
    """Proposes entity mentions: one list of spans per text, in text order."""

    def tag(self, texts: Sequence[str]) -> list[list[Span]]: ...
