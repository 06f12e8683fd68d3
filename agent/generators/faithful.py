"""Faithfulness before fluency: a model's reply is shown only when it names no entity beyond the answers and the
evidence, and drops none of the answers; otherwise the template reply is.

The check is string matching over the graph's entity labels (normalized like the linker's names): cheap, and
strict where it matters. Single-word names count only where written capitalized and not at a sentence start, and
names made only of common words ("Her", "Up") are not looked for, so ordinary words are not mistaken for titles.

>>> names = EntityNames(["Alien", "Ridley Scott", "Tony Scott", "Horror"])
>>> request = ResponseRequest("who directed Alien?", answers=[AnswerView("Ridley Scott", 1.0)],
...                           evidence=[Fact("Alien", "directed_by", "Ridley Scott")])
>>> check_reply("Alien was directed by Ridley Scott.", request, names).faithful
True
>>> check_reply("Alien, a Horror film, was directed by Tony Scott.", request, names)
Verdict(faithful=False, foreign=('horror', 'tony scott'), missing=('Ridley Scott',))
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from kgagent.agent.generators.base import AnswerView, Fact, Generator, ResponseRequest  # noqa: F401  (doctest)
from kgagent.retrieval.text import FUNCTION_WORDS, QUESTION_WORDS, name_key, tokenize

log = logging.getLogger(__name__)
_COMMON = FUNCTION_WORDS | QUESTION_WORDS


class EntityNames:
    """The graph's entity names as normalized token tuples, for spotting them in text."""

    def __init__(self, names: Iterable[str]) -> None:
        keys = {name_key(n) for n in names}
        # names of only common words or one character are everywhere in text, not evidence of an entity
        self.keys = frozenset(k for k in keys if k and not all(w in _COMMON for w in k) and len("".join(k)) > 1)
        self.max_len = max((len(k) for k in self.keys), default=0)

    @classmethod
    def of_kg(cls, kg: Any) -> EntityNames:
        """Every label and alias of a ``KnowledgeGraph``."""
        return cls(n for e in range(kg.num_entities) for n in kg.names(e))

    def find(self, text: str, skip: set[int] = frozenset()) -> list[tuple[str, ...]]:  # type: ignore[assignment]
        """Names occurring in ``text`` (longest first at each position), not touching tokens in ``skip``."""
        tokens = tokenize(text)
        words = [t.norm for t in tokens]
        found, i = [], 0
        while i < len(words):
            hit = None
            for j in range(min(len(words), i + self.max_len), i, -1):
                key = tuple(words[i:j])
                if key in self.keys and not skip.intersection(range(i, j)):
                    single = j - i == 1
                    start = i == 0 or text[tokens[i - 1].end: tokens[i].start].strip() in (".", "!", "?", ":")
                    if not single or (tokens[i].capitalized and not start):
                        hit = key
                        break
            if hit:
                found.append(hit)
                i += len(hit)
            else:
                i += 1
        return found


@dataclass(frozen=True)
class Verdict:
    """``foreign``: graph entities the reply names beyond the answers and evidence; ``missing``: answers it
    leaves out."""

    faithful: bool
    foreign: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


def check_reply(reply: str, request: ResponseRequest, names: EntityNames, *, required: int = 5) -> Verdict:
    """Whether ``reply`` keeps to ``request``: each of its first ``required`` answers named, no other entity."""
    allowed = [a.label for a in request.answers] + [x for f in request.evidence for x in (f.head, f.tail)]
    allowed += list(request.topic)
    tokens = [t.norm for t in tokenize(reply)]
    covered: set[int] = set()
    for key in {name_key(a) for a in allowed if a}:
        for i in range(len(tokens) - len(key) + 1):
            if tuple(tokens[i: i + len(key)]) == key:
                covered.update(range(i, i + len(key)))
    text_keys = " " + " ".join(tokens) + " "
    missing = tuple(a.label for a in request.answers[:required]
                    if f" {' '.join(name_key(a.label))} " not in text_keys)
    foreign = tuple(sorted({" ".join(k) for k in names.find(reply, covered)}))
    return Verdict(not missing and not foreign, foreign, missing)


class FaithfulGenerator(Generator):
    """A model generator whose reply is checked before it is shown; the fallback's reply replaces a failed one.

    The model's pieces are held until the whole reply has passed (a reply cannot be taken back once shown), then
    passed on as they came.
    """

    streaming = True

    def __init__(self, model: Generator, fallback: Generator, names: EntityNames) -> None:
        self.model, self.fallback, self.names = model, fallback, names

    def generate(self, request: ResponseRequest) -> str:
        return "".join(self.stream(request)).strip()

    def stream(self, request: ResponseRequest) -> Iterator[str]:
        pieces = list(self.model.stream(request))
        verdict = check_reply("".join(pieces), request, self.names)
        if verdict.faithful:
            yield from pieces
            return
        log.info("model reply replaced by the template one (foreign %s, missing %s)", verdict.foreign,
                 verdict.missing)
        yield self.fallback.generate(request)
