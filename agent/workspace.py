"""The opened workspace: the KG, the entity linker, the passage index, the intent and QA models.

``open_workspace(path)`` opens one (each part loads on first use); ``build_agent`` binds the graph's nodes to the
workspace it opened (``graph.workspace``), so every turn of that graph shares one set of models, and
``reload()`` makes the next turn load what is on disk after a rebuild. Nothing here is ever put into graph
state, and there is no process-wide cache: share the object. Parts a workspace lacks fall back to small
stand-ins (rules for intents, lexical relation matching for QA), so a KG-only workspace still chats.

>>> ws = open_workspace("ws/")  # doctest: +SKIP
>>> ws.kg.num_entities  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from kgagent.agent.context import Context
from kgagent.kg import KnowledgeGraph, Workspace
from kgagent.kg.errors import WorkspaceError
from kgagent.training.intents_oos import IntentPrediction

if TYPE_CHECKING:
    from kgagent.training.qa.results import QAResult

log = logging.getLogger(__name__)


# ----------------------------------------------------------------- what the agent needs from the layers below
Mentions = list[list[tuple[int, int, int]]]  # per text: (char_start, char_end, entity_id)


class IntentPredictor(Protocol):
    """``training.IntentModel`` (or the rules below)."""

    def predict(self, texts: Sequence[str], mentions: Mentions | None = None) -> list[IntentPrediction]: ...


class QuestionAnswerer(Protocol):
    """``training.QAModel`` (or relation-name matching below)."""

    def answer(self, question: str, topic: Sequence[int]) -> QAResult: ...


# ----------------------------------------------------------------- stand-ins for parts a workspace lacks
class RuleIntents:
    """Intent stand-in when the workspace has no intent model: small-talk patterns; anything else is a question.

    The ``understand`` node then treats a turn with a linked (or remembered) entity as a KG question and the rest
    as out of scope.
    """

    PATTERNS: ClassVar[dict[str, re.Pattern[str]]] = {
        "human_handoff": re.compile(r"\b((talk|speak|chat) (to|with) (a |an |some)?(human|person|agent|someone|"
                                    r"operator)|human agent|real person|representative)\b"),
        "goodbye": re.compile(r"^\W*(bye|goodbye|good bye|see you|see ya|farewell|good night)\b"),
        "thanks": re.compile(r"^\W*(thanks|thank you|thx|cheers|much appreciated)\b"),
        "greeting": re.compile(r"^\W*(hi|hello|hey|hiya|howdy|good (morning|afternoon|evening))\b\W*$"),
    }

    def predict(self, texts: Sequence[str], mentions: Mentions | None = None) -> list[IntentPrediction]:
        out = []
        for text in texts:
            low = text.lower().strip()
            hit = next((name for name, pat in self.PATTERNS.items() if pat.search(low)), None)
            out.append(IntentPrediction(hit, 0.9, False) if hit else IntentPrediction("question", 0.5, False))
        return out


_STEM = 4  # crude stemming: "directed"/"director", "star"/"starred" share their first four letters


def _stems(text: str) -> set[str]:
    return {w[:_STEM] for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 2}


class RelationMatchQA:
    """QA stand-in when the workspace has no QA model: the one-hop relation whose name shares most words with the
    question. Its confidence grows with the share of the relation's words found in the question (0.6 to 1)."""

    def __init__(self, kg: KnowledgeGraph) -> None:
        from kgagent.agent.generators.template import relation_words

        self.kg = kg
        self._words = [_stems(relation_words(r)) - {"has", "in"} for r in kg.relations]

    def answer(self, question: str, topic: Sequence[int]) -> QAResult:
        from kgagent.training.qa.results import Answer, QAResult

        q = _stems(question)
        best: tuple[float, str] | None = None
        for e in topic:
            for step, _, _ in self.kg.neighbors(int(e)):
                rid, _ = self.kg.parse_step(step)
                words = self._words[rid]
                score = len(words & q) / len(words) if words else 0.0
                if score > 0 and (best is None or score > best[0]):
                    best = (score, step)
        if best is None:
            return QAResult([], (), 0.0, tuple(topic))
        reached = self.kg.follow(topic, [best[1]])
        conf = 0.6 + 0.4 * best[0]
        answers = [Answer(e, self.kg.labels[e], conf, list(paths)) for e, paths in reached.items()]
        return QAResult(answers, (best[1],), conf, tuple(topic))


# ----------------------------------------------------------------- the opened workspace
class AgentWorkspace:
    """The loaded parts of one workspace. Each part loads on first use; :meth:`load` loads them all."""

    def __init__(self, root: str | Path) -> None:
        self.ws = Workspace(root).recover()
        if not self.ws.root.is_dir():
            raise WorkspaceError(f"{self.ws.root}: no such workspace folder; run `kgagent build FILE --workspace "
                                 f"{self.ws.root}` first")
        self._lock = threading.RLock()
        self._generators: dict[str, Any] = {}
        self.load_seconds: float | None = None
        self.stamp = stamp(self.root)

    @property
    def root(self) -> Path:
        return self.ws.root

    def load(self, *, passage_encoder: bool = True) -> AgentWorkspace:
        """Load every part now (so the first turn is as fast as the others); records ``load_seconds``.

        ``passage_encoder``: also the encoder of passage queries (skip it when passages will not be searched).
        """
        t0 = time.perf_counter()
        with self._lock:
            for part in ("retriever", "intents", "qa"):
                getattr(self, part)
            if passage_encoder and self.passages is not None:
                self.passages.encoder  # noqa: B018  (load the question encoder now, not on the first turn)
        self.load_seconds = time.perf_counter() - t0
        return self

    def prepare(self, ctx: Context) -> AgentWorkspace:
        """Load what turns under ``ctx`` will use (the passage encoder only when passages are searched, an LLM
        generator), so the first turn is as fast as the rest. Process settings (``ctx.torch_threads``) are left to
        the entry points (the ``kgagent`` commands that serve)."""
        self.load(passage_encoder=ctx.searches_passages)
        if ctx.generator != "template":
            self.generator(ctx.generator, dict(ctx.generator_kwargs))
        return self

    _PARTS_LOADED: ClassVar[tuple[str, ...]] = ("retriever", "intents", "qa", "domain")

    @property
    def changed(self) -> bool:
        """The artifacts on disk differ from those this workspace was opened on (a rebuild, a retrained model)."""
        return self.stamp != stamp(self.root)

    def reload(self) -> AgentWorkspace:
        """Forget every loaded part, so the next use loads what is on disk now (after a rebuild or retraining);
        graphs bound to this workspace pick it up on their next turn."""
        with self._lock:
            for part in self._PARTS_LOADED:
                self.__dict__.pop(part, None)
            self._generators.clear()
            self.load_seconds = None
            self.stamp = stamp(self.root)
        return self

    def context(self, **overrides: Any) -> Context:
        """The ``[agent]`` settings of this workspace's ``kgagent.toml`` with ``overrides``.

        ``generator = "hf"`` without a model or adapter uses the adapter ``train generator`` left in
        ``WS/models/generator``.
        """
        ctx = self.ws.config("agent", Context, **overrides)
        adapter = self.ws.models_dir / "generator"
        if ctx.generator == "hf" and not {"model", "adapter"} & set(ctx.generator_kwargs) and adapter.is_dir():
            ctx.generator_kwargs = {**ctx.generator_kwargs, "adapter": str(adapter)}
        return ctx

    # ----------------------------------------------------------------- parts
    @cached_property
    def retriever(self) -> Any:
        """``retrieval``'s retriever: the KG, the entity linker and, when the workspace has them, the indexes."""
        from kgagent.agent.tagger import workspace_tagger
        from kgagent.retrieval import open_retriever

        retriever = open_retriever(self.ws, require_index=False)
        retriever.linker.tagger = workspace_tagger(self.ws)  # WS/models/ner, when trained
        return retriever

    @property
    def kg(self) -> KnowledgeGraph:
        return self.retriever.kg  # one copy of the KG, shared with the linker

    @property
    def linker(self) -> Any:
        """Has ``link(text, context=entity_ids) -> [Mention]``."""
        return self.retriever

    @property
    def passages(self) -> Any | None:
        """The passage retriever, or None when the workspace has no passage index."""
        return self.retriever if getattr(self.retriever, "passages", None) is not None else None

    @cached_property
    def intents(self) -> IntentPredictor:
        folder = self.ws.models_dir / "intents"
        if folder.is_dir():
            from kgagent.training import IntentModel

            # the agent's linker, so a KG-fused model does not build a second one (and a second KG)
            return IntentModel.load(folder, linker=self.retriever)
        log.info("%s: no intent model; using small-talk rules", self.root)
        return RuleIntents()

    @property
    def has_intent_model(self) -> bool:
        return not isinstance(self.intents, RuleIntents)

    @cached_property
    def qa(self) -> QuestionAnswerer:
        folder = self.ws.models_dir / "qa"
        if folder.is_dir():
            from kgagent.training.qa import QAModel

            # share the agent's KG and linker instead of loading a second copy of each
            model = QAModel.load(folder, kg=self.kg)
            model.set_linker(self.retriever.linker)
            return model
        log.info("%s: no QA model; using relation-name matching", self.root)
        return RelationMatchQA(self.kg)

    @cached_property
    def entity_names(self) -> Any:
        """The KG's names for checking a model's replies (``generators.faithful.EntityNames``)."""
        from kgagent.agent.generators.faithful import EntityNames

        return EntityNames.of_kg(self.kg)

    @cached_property
    def domain(self) -> str:
        """What the KG covers, in words: its most frequent relations."""
        import numpy as np

        from kgagent.agent.generators.template import join_names, relation_words

        kg = self.kg
        freq = np.bincount(kg.triples[:, 1], minlength=kg.num_relations) if kg.num_triples else np.zeros(0)
        top = [relation_words(kg.relations[i]) for i in np.argsort(-freq, kind="stable")[:5]]
        return f"the knowledge graph I was given ({join_names(top)})" if top else "the knowledge graph I was given"

    def generator(self, name: str, kwargs: dict[str, Any]) -> Any:
        """The generator ``name`` built with ``kwargs``, built once per distinct settings."""
        import json

        from kgagent.agent.generators import make_generator

        key = name + json.dumps(kwargs, sort_keys=True, default=str)
        gen = self._generators.get(key)
        if gen is None:
            with self._lock:
                gen = self._generators.get(key) or make_generator(name, **kwargs)
                self._generators[key] = gen
        return gen

    def search_passages(self, text: str, k: int) -> list[dict]:
        """Up to ``k`` passages for ``text`` as ``{"text", "score", "source"}`` records (source: a citation)."""
        if k <= 0 or self.passages is None:
            return []
        return [{"text": h.text, "score": round(float(h.score), 4), "source": h.cite()}
                for h in self.passages.search(text, k)]


_PARTS = ("kg", "kge", "index", "models")


def stamp(root: Path) -> tuple:
    """Identity of a workspace's artifacts: each part folder's inode and mtime (a rebuild swaps folders in)."""
    out = []
    for part in _PARTS:
        try:
            st = (root / part).stat()
            out.append((part, st.st_ino, st.st_mtime_ns))
        except FileNotFoundError:
            out.append((part, None, None))
    return tuple(out)


def open_workspace(path: str | Path | AgentWorkspace) -> AgentWorkspace:
    """The workspace at ``path`` (an ``AgentWorkspace`` is returned as it is); parts load on first use."""
    return path if isinstance(path, AgentWorkspace) else AgentWorkspace(Path(path).resolve())
