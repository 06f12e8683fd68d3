"""Run-time settings of the agent graph (LangGraph's runtime context): never stored in state or checkpoints.

Defaults come from ``[agent]`` in ``WS/kgagent.toml`` (``[agent.templates]`` overrides relation templates); a
``Context`` passed to ``graph.invoke(..., context=Context(top_k=5))`` overrides them for one run.

>>> Context(top_k=5).generator
'template'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from kgagent.kg.config import check_ints, check_range
from kgagent.kg.errors import ConfigError


@dataclass
class Context:
    """What a run may change without rebuilding anything: retrieval sizes, thresholds and the generator."""

    top_k: int = field(default=3, metadata={"help": "Passages retrieved per question (0: none)."})
    passage_search: Literal["auto", "always", "never"] = field(default="auto", metadata={
        "help": "auto: only for LLM generators, which read the passages (the template generator cites triples, "
                "and a passage search costs an encoder pass plus an index scan per turn)"})
    max_hops: int = field(default=1, metadata={"help": "Hops of the topic entities' neighbourhood subgraph."})
    max_subgraph_triples: int = field(default=60, metadata={"help": "Cap on the neighbourhood subgraph."})
    intent_threshold: float = field(default=0.5, metadata={"help": "Below it, the intent is not trusted."})
    link_threshold: float = field(default=0.0, metadata={"help": "Lowest linker score accepted as an entity."})
    mention_ratio: float = field(
        default=0.8, metadata={"help": "Mentions scoring below this share of the best one are ignored."})
    ambiguity_margin: float = field(
        default=0.05, metadata={"help": "Candidates within this score of the best one count as close."})
    answer_threshold: float = field(
        default=0.5, metadata={"help": "QA confidence (calibrated) below which the agent says it is unsure."})
    answer_ratio: float = field(
        default=0.3, metadata={"help": "Answers scoring below this share of the top answer's score are dropped."})
    max_answers: int = field(default=50, metadata={"help": "Answers kept in state per turn."})
    max_listed: int = field(default=5, metadata={"help": "Answers named in a reply before '... and N more'."})
    max_evidence: int = field(default=5, metadata={"help": "Evidence triples cited in a reply."})
    followup_candidates: int = field(
        default=3, metadata={"help": "Remembered entities tried for a pronoun or elliptical follow-up."})
    focus_size: int = field(default=8, metadata={"help": "Remembered salient entities per thread."})
    history_turns: int = field(default=4, metadata={"help": "Earlier turns given to an LLM generator."})
    torch_threads: int = field(default=1, metadata={
        "help": "Intra-op torch threads of a serving process, set by the commands that serve (ask, chat, demo, "
                "eval agent) and by bench/agent.py; 0: leave torch's. One question at a time gains little from "
                "more, and spinning threads stall when the cores are busy. build_agent leaves the process alone."})
    generator: str = field(default="template", metadata={"help": "Generator name: template, hf or openai."})
    generator_kwargs: dict[str, Any] = field(default_factory=dict, metadata={"help": "Passed to the generator."})
    templates: dict[str, str] = field(
        default_factory=dict,
        metadata={"help": "Relation -> sentence template, e.g. {starred_actors = '{head} starred {tail}'}."})
    domain: str = field(default="", metadata={"help": "What the KG is about, for the out-of-scope reply."})
    replies: dict[str, str] = field(default_factory=dict, metadata={"help": "Overrides of the canned replies."})
    smalltalk_intents: tuple[str, ...] = ("greeting", "thanks", "goodbye")
    handoff_intents: tuple[str, ...] = ("human_handoff",)
    out_of_scope_intents: tuple[str, ...] = ("out_of_scope", "oos")

    def __post_init__(self) -> None:
        checks: dict[str, Any] = {"error": ConfigError, "prefix": "[agent] "}
        check_ints(self, "top_k", "max_hops", "max_subgraph_triples", "max_answers", "max_evidence",
                   "followup_candidates", "focus_size", "history_turns", "torch_threads", minimum=0, **checks)
        check_ints(self, "max_listed", **checks)
        check_range(self, "intent_threshold", "answer_threshold", "ambiguity_margin", "mention_ratio",
                    "answer_ratio", high=1.0, **checks)
        if self.passage_search not in ("auto", "always", "never"):
            raise ConfigError(f"[agent] passage_search must be auto, always or never, not {self.passage_search!r}")
        for name in ("smalltalk_intents", "handoff_intents", "out_of_scope_intents"):
            setattr(self, name, tuple(getattr(self, name)))
        if not isinstance(self.templates, dict) or not all(isinstance(v, str) for v in self.templates.values()):
            raise ConfigError("[agent.templates] must map relation names to template strings")
        from kgagent.agent.generators import GENERATORS

        if self.generator not in GENERATORS:
            raise ConfigError(f"[agent] generator: unknown {self.generator!r}; known: {', '.join(sorted(GENERATORS))}")
        if not isinstance(self.generator_kwargs, dict):
            raise ConfigError("[agent] generator_kwargs must be a table of the generator's settings")

    @property
    def searches_passages(self) -> bool:
        """Whether turns search passages: always, never, or (auto) when an LLM generator will read them."""
        return self.top_k > 0 and (self.passage_search == "always"
                                   or (self.passage_search == "auto" and self.generator != "template"))
