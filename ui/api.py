"""The server's request and response bodies: OpenAI's chat-completions shapes and the native ``/v1/answer``.

Pydantic models, so FastAPI validates requests and documents every body in its OpenAPI schema. Fields OpenAI
clients send that the agent has no use for (temperature, max_tokens, ...) are accepted and ignored.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kgagent.agent.session import Reply

THREAD_HEADER = "X-Thread-Id"
MAX_THREAD_ID = 128


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: str
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        """The message's text (the text parts of multi-part content)."""
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type", "text") == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """OpenAI's request. The agent answers the last user message; earlier turns live in the thread's memory."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(description="The workspace to ask (see GET /v1/models).")
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    user: str | None = Field(default=None, max_length=MAX_THREAD_ID,
                             description=f"Conversation thread id (else the {THREAD_HEADER} header, else a new one).")

    def question(self) -> str:
        return next((m.text().strip() for m in reversed(self.messages) if m.role == "user"), "")


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"


class ChatCompletion(BaseModel):
    """OpenAI's response, plus ``thread_id`` (also in the ``X-Thread-Id`` header) to continue the conversation."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    thread_id: str


class AnswerRequest(BaseModel):
    question: str = Field(min_length=1, max_length=4000)
    thread_id: str | None = Field(default=None, max_length=MAX_THREAD_ID,
                                  description=f"Continue this conversation (or the {THREAD_HEADER} header).")


class Answer(BaseModel):
    id: int
    label: str
    score: float


class Triple(BaseModel):
    triple: int
    head: str
    relation: str
    tail: str


class Option(BaseModel):
    id: int
    label: str
    hint: str = ""


class AnswerResponse(BaseModel):
    """The structured outcome of one turn."""

    thread_id: str
    text: str = Field(description="The reply as the chat shows it.")
    act: str = Field(description="question, smalltalk, out_of_scope, handoff or clarify.")
    intent: str
    answers: list[Answer] = Field(description="Answer entities, best first.")
    answer_count: int
    confidence: float
    unsure: bool
    relation_path: list[str]
    evidence: list[Triple] = Field(description="The triples the answers rest on.")
    options: list[Option] = Field(description="Choices of a clarifying question (reply with a number or a detail).")
    latency_ms: float

    @classmethod
    def from_reply(cls, reply: Reply) -> AnswerResponse:
        act = "clarify" if reply.options else reply.act
        return cls(thread_id=reply.thread_id, text=reply.text, act=act, intent=reply.intent,
                   answers=[Answer(id=a["id"], label=a["label"], score=a["score"]) for a in reply.answers],
                   answer_count=reply.answer_count, confidence=reply.confidence, unsure=reply.unsure,
                   relation_path=reply.relation_path, evidence=[Triple(**t) for t in reply.evidence],
                   options=[Option(**o) for o in reply.options], latency_ms=reply.latency_ms)


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "kgagent"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


def new_completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


def completion(reply: Reply, model: str, completion_id: str) -> ChatCompletion:
    return ChatCompletion(id=completion_id, created=int(time.time()), model=model,
                          choices=[Choice(message=AssistantMessage(content=reply.text))], thread_id=reply.thread_id)


def sse_chunk(completion_id: str, model: str, thread_id: str, delta: dict[str, Any],
              finish_reason: str | None = None) -> str:
    """One server-sent event in OpenAI's ``chat.completion.chunk`` format."""
    body = {"id": completion_id, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "thread_id": thread_id, "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]}
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


SSE_DONE = "data: [DONE]\n\n"


def error_body(message: str, type_: str, code: str | None = None) -> dict[str, Any]:
    """OpenAI's error shape, which its clients turn into typed exceptions."""
    return {"error": {"message": message, "type": type_, "code": code, "param": None}}
