"""Run a streaming generator as a LangChain chat model, so its tokens reach ``graph.stream(stream_mode="messages")``.

LangGraph's ``messages`` stream listens to chat-model callbacks; wrapping the generator in a minimal
``BaseChatModel`` makes each text piece an ``AIMessageChunk`` event tagged with the node that produced it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from kgagent.agent.generators.base import Generator, ResponseRequest


class GeneratorChatModel(BaseChatModel):
    """A one-shot chat model: replies to ``request`` with ``generator`` (the messages passed in are ignored)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    generator: Any
    request: Any

    @property
    def _llm_type(self) -> str:
        return f"kgagent-{type(self.generator).__name__}"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = self.generator.generate(self.request)
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        for piece in self.generator.stream(self.request):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk


def generate_message(generator: Generator, request: ResponseRequest) -> AIMessage:
    """The reply as an ``AIMessage``; streamed token by token when the graph is streamed in ``messages`` mode."""
    msg = GeneratorChatModel(generator=generator, request=request).invoke(request.question)
    # chunks were joined by LangChain; strip the whitespace a model leaves around its answer
    return AIMessage(content=str(msg.content).strip(), id=msg.id)
