"""Example questions for the chat, drawn from the workspace.

In order: ``[ui] examples`` of ``WS/kgagent.toml``; else the QA question files the workspace was built with
(MetaQA format, a few per hop count); else simple questions made from the KG's most common relations.

>>> Example.parse(["how much is the [Kite 5]", "1-hop"]).text
'How much is the Kite 5'
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kgagent.kg import Workspace

_BRACKETS = re.compile(r"\[([^\]]+)\]")


@dataclass(frozen=True)
class Example:
    """One example question and a short note on what it shows (``"2-hop"``, ``"clarification"``)."""

    text: str
    note: str = ""

    @classmethod
    def parse(cls, value: str | list[str] | tuple[str, ...]) -> Example:
        """From ``"question"`` or ``["question", "note"]``; MetaQA brackets are removed."""
        text, note = (value, "") if isinstance(value, str) else (value[0], value[1] if len(value) > 1 else "")
        text = _BRACKETS.sub(r"\1", text).strip()
        return cls(text[:1].upper() + text[1:] if text else text, note)

    @classmethod
    def question(cls, text: str, note: str = "") -> Example:
        """A MetaQA question as a user would type it: brackets removed, capitalized, with a question mark."""
        e = cls.parse([text, note])
        return e if not e.text or e.text[-1] in "?.!" else cls(e.text + "?", note)


def hops(qtype: str) -> int:
    """Hops of a question type: ``"r1|r2^-1"`` (relation path) or MetaQA's ``"actor_to_movie_to_year"``."""
    if "|" in qtype:
        return qtype.count("|") + 1
    return max(1, qtype.count("_to_"))


def from_question_files(paths: Iterable[str | Path], *, per_hop: int = 1, limit: int = 6) -> list[Example]:
    """A few questions of each hop count from MetaQA-format files (``question<TAB>answers``); hop counts come from
    a line-aligned ``*_qtype.txt`` beside the file when there is one."""
    by_hops: dict[int, list[Example]] = defaultdict(list)
    for path in paths:
        path = Path(path)
        if not path.is_file():
            continue
        qtype = path.with_name(path.stem + "_qtype" + path.suffix)
        types = qtype.read_text(encoding="utf-8").splitlines() if qtype.is_file() else []
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
            question = line.split("\t", 1)[0].strip()
            if not question:
                continue
            n = hops(types[i]) if i < len(types) else 1
            if len(by_hops[n]) < per_hop:
                by_hops[n].append(Example.question(question, f"{n}-hop"))
    out = [e for n in sorted(by_hops) for e in by_hops[n]]
    return out[:limit]


def from_kg(workspace: str | Path, *, limit: int = 4) -> list[Example]:
    """Questions made from the KG itself: for the most common relations, one well-connected entity each."""
    import numpy as np

    from kgagent.agent.generators.template import relation_words
    from kgagent.agent.workspace import open_workspace

    kg = open_workspace(workspace).kg
    if not kg.num_triples:
        return []
    freq = np.bincount(kg.triples[:, 1], minlength=kg.num_relations)
    deg = np.bincount(kg.triples[:, 0], minlength=kg.num_entities)
    out: list[Example] = []
    for rel in np.argsort(-freq, kind="stable")[:limit]:
        heads = kg.triples[kg.triples[:, 1] == rel, 0]
        head = int(heads[np.argmax(deg[heads])])
        out.append(Example(relation_question(relation_words(kg.relations[rel]), kg.labels[head]), "1-hop"))
    return out


_PREPOSITIONS = frozenset({"by", "in", "at", "on", "of", "to", "for", "from", "with", "into", "as"})


def relation_question(words: str, label: str) -> str:
    """A question for one relation of ``label``, from the relation's words (``"has price"``, ``"directed by"``).

    >>> relation_question("has price", "Kite 5"), relation_question("directed by", "Alien")
    ('What is the price of Kite 5?', 'What is Alien directed by?')
    """
    noun = re.sub(r"^(has|have|is|was) ", "", words)
    if noun in ("a", "an", "type", "kind"):  # is_a / type
        return f"What kind of thing is {label}?"
    if _PREPOSITIONS & set(words.split()):  # "directed by", "compatible with": "the directed by of X" is no English
        return f"What is {label} {noun}?"
    return f"What is the {noun} of {label}?"


def _recorded_question_files(workspace: str | Path) -> list[Path]:
    """Question files named in the manifest's ``qa`` step (whatever key the step stored them under)."""
    steps = Workspace(workspace).manifest().get("steps", {})
    found: list[Path] = []

    def walk(value: Any) -> None:
        if isinstance(value, str) and value.endswith(".txt") and Path(value).is_file():
            found.append(Path(value))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(steps.get("qa", {}))
    return list(dict.fromkeys(found))


SOURCES: list[Callable[[str | Path, list], list[Example]]] = [
    lambda ws, configured: [Example.parse(e) for e in configured],
    lambda ws, configured: from_question_files(_recorded_question_files(ws)),
    lambda ws, configured: from_kg(ws),
]


def workspace_examples(workspace: str | Path, configured: list | None = None, *, limit: int = 8) -> list[Example]:
    """The first source in :data:`SOURCES` that gives any example, at most ``limit`` of them."""
    for source in SOURCES:
        try:
            found = source(workspace, list(configured or []))
        except Exception:  # an example source is a nicety: a workspace that lacks one falls through to the next
            found = []
        if found:
            return found[:limit]
    return []


def toml_section(examples: Iterable[Example], **fields: Any) -> str:
    """A ``[ui]`` TOML section holding ``examples`` (and scalar ``fields``), for ``WS/kgagent.toml``."""
    # JSON string escapes are valid TOML basic-string escapes
    lines = ["[ui]"] + [f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in fields.items()]
    lines.append("examples = [")
    lines += [f"  {json.dumps([e.text, e.note], ensure_ascii=False)}," for e in examples]
    lines.append("]")
    return "\n".join(lines) + "\n"
