"""Response generation: a registry of generators that turn answers and evidence into a reply.

- ``template`` (default): fluent sentences from relation templates, no model, always cites the evidence.
- ``hf``: a local transformers causal LM with an optional LoRA adapter, streaming tokens.
- ``openai``: any OpenAI-compatible HTTP endpoint, streaming over SSE.

>>> make_generator("template").generate(ResponseRequest("hi?", problem="no_entity")).startswith("I couldn't")
True
"""

from __future__ import annotations

from typing import Any

from kgagent.agent.generators import hf, openai_compat, template  # noqa: F401  (registers the generators)
from kgagent.agent.generators.base import (
    GENERATORS,
    AnswerView,
    Fact,
    Generator,
    GeneratorError,
    ResponseRequest,
    register_generator,
)
from kgagent.agent.generators.template import TemplateGenerator


def make_generator(name: str = "template", **kwargs: Any) -> Generator:
    """Build the generator registered as ``name`` with ``kwargs`` (its constructor's arguments)."""
    if name not in GENERATORS:
        raise GeneratorError(f"[agent] generator: unknown {name!r}; known: {', '.join(sorted(GENERATORS))}")
    try:
        return GENERATORS[name](**kwargs)
    except TypeError as e:
        raise GeneratorError(f"[agent] generator_kwargs for {name!r}: {e}") from e


__all__ = [
    "GENERATORS",
    "AnswerView",
    "Fact",
    "Generator",
    "GeneratorError",
    "ResponseRequest",
    "TemplateGenerator",
    "make_generator",
    "register_generator",
]
