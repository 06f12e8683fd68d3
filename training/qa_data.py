"""QA examples: MetaQA-format question files, entity lookup by surface name, and mention masking.

A question file has one question per line, ``question with [topic entity]<TAB>answer1|answer2|...``.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from kgagent.kg.errors import InputError
from kgagent.kg.graph import KnowledgeGraph

log = logging.getLogger(__name__)
_BRACKET = re.compile(r"\[([^\[\]]+)\]")


@dataclass(frozen=True)
class QAExample:
    """One question: text without brackets, the topic mention's char span, topic and gold answer ids.

    ``answer_names`` keeps the gold strings as written, so Hits@1 also counts answers the KG does not know.
    """

    question: str
    topics: tuple[int, ...]
    answers: tuple[int, ...] = ()
    mention: tuple[int, int] | None = None
    answer_names: tuple[str, ...] = ()
    source: str = ""  # "file:line" or "synthesized"
    qtype: str = ""  # question type (MetaQA's *_qtype.txt, or the template family of a synthesized question)
    hops: int | None = None  # gold hop count when known (from the question type or the synthesized path)
    family: str = ""  # a synthesized question's grammar family (training.grammar.FAMILIES)


@dataclass
class NameIndex:
    """Entity ids by surface form: exact key first, then exact label/alias, then a case-folded match."""

    kg: KnowledgeGraph
    _folded: dict[str, list[int]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._folded = {}
        for i in range(self.kg.num_entities):
            for n in self.kg.names(i):
                bucket = self._folded.setdefault(n.casefold(), [])
                if not bucket or bucket[-1] != i:
                    bucket.append(i)

    @cached_property
    def _exact(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for i in range(self.kg.num_entities):
            for n in self.kg.names(i):
                out.setdefault(n, i)
        return out

    def lookup(self, name: str) -> list[int]:
        """Ids named ``name`` (empty when unknown); several ids only for a case-folded tie."""
        name = name.strip()
        if self.kg.has_entity(name):
            return [self.kg.entity_id(name)]
        if name in self._exact:
            return [self._exact[name]]
        return list(self._folded.get(name.casefold(), ()))


def parse_question(text: str) -> tuple[str, tuple[int, int] | None, str | None]:
    """Remove the brackets of ``"who directed [Alien]"`` -> ``("who directed Alien", (13, 18), "Alien")``."""
    m = _BRACKET.search(text)
    if m is None:
        return text.strip(), None, None
    name = m.group(1)
    plain = text[: m.start()] + name + text[m.end():]
    lead = len(plain) - len(plain.lstrip())
    return plain.strip(), (m.start() - lead, m.start() - lead + len(name)), name.strip()


def mask_mention(question: str, mention: tuple[int, int] | None,
                 placeholder: str) -> tuple[str, tuple[int, int] | None]:
    """Replace the mention by ``placeholder`` so a classifier learns the template, not the name.

    Returns the masked text and the placeholder's char span (where the topic's KGE vector is fused).
    """
    if mention is None:
        return question, None
    s, e = mention
    return question[:s] + placeholder + question[e:], (s, s + len(placeholder))


def gold_ids(names: Sequence[str], index: NameIndex) -> tuple[int, ...]:
    """Ids of gold answer names. MetaQA splits a few titles with commas in two answers (``Paris|Texas``):
    adjacent parts that rejoin into a known name count as that entity too."""
    out: dict[int, None] = {}
    for n in names:
        ids = index.lookup(n)
        if ids:
            out.setdefault(ids[0], None)
    for a, b in itertools.pairwise(names):
        ids = index.lookup(f"{a}, {b}")
        if ids:
            out.setdefault(ids[0], None)
    return tuple(out)


def read_qa_file(path: str | Path, kg: KnowledgeGraph, *, index: NameIndex | None = None,
                 require_topic: bool = True, qtypes: str | Path | None = None) -> list[QAExample]:
    """Read a MetaQA-format file into examples with ids of ``kg``.

    A line without a tab or with an empty question raises :class:`InputError` (file and line). Questions whose
    bracketed topic the KG does not know are skipped with a warning. ``qtypes``: a line-aligned file of question
    types (MetaQA's ``qa_*_qtype.txt``); by default the sibling ``<stem>_qtype.txt`` when present.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("question file not found", path=path)
    index = index or NameIndex(kg)
    qtype_path = Path(qtypes) if qtypes is not None else path.with_name(f"{path.stem}_qtype{path.suffix}")
    types = qtype_path.read_text(encoding="utf-8").splitlines() if qtype_path.is_file() else []
    out: list[QAExample] = []
    unknown = 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            if "\t" not in line:
                raise InputError("expected `question with [topic]<TAB>answer1|answer2`", path=path, line=n)
            text, _, ans = line.partition("\t")
            question, mention, name = parse_question(text)
            if not question:
                raise InputError("empty question", path=path, line=n)
            if name is None and require_topic:
                raise InputError("no [topic entity] in brackets", path=path, line=n)
            topics = tuple(index.lookup(name)) if name is not None else ()
            if name is not None and not topics:
                unknown += 1
                continue
            names = tuple(a.strip() for a in ans.split("|") if a.strip())
            qtype = types[n - 1].strip() if n - 1 < len(types) else ""
            out.append(QAExample(question=question, topics=topics, answers=gold_ids(names, index),
                                 mention=mention, answer_names=names, source=f"{path}:{n}", qtype=qtype,
                                 hops=qtype.count("_to_") or None))
    if unknown:
        log.warning("%s: skipped %d question(s) whose [topic] is not an entity of the KG", path, unknown)
    if not out:
        raise InputError("no usable questions (each needs a [topic] the KG knows)", path=path)
    return out


def read_qa_files(paths: Iterable[str | Path], kg: KnowledgeGraph) -> list[QAExample]:
    """All examples of several files (one shared name index)."""
    index = NameIndex(kg)
    return [ex for p in paths for ex in read_qa_file(p, kg, index=index)]
