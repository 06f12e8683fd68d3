"""Any OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp server, hosted APIs), streamed over SSE.

Standard library only: ``POST {base_url}/chat/completions`` with ``"stream": true`` and read ``data:`` lines.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterator

from kgagent.agent.generators.base import Generator, GeneratorError, ResponseRequest, register_generator
from kgagent.agent.generators.prompt import SYSTEM, request_messages


@register_generator("openai")
class OpenAIGenerator(Generator):
    """Chat completions from ``base_url`` (e.g. ``http://127.0.0.1:8000/v1``); the key comes from ``api_key_env``."""

    streaming = True

    def __init__(self, base_url: str = "http://127.0.0.1:8000/v1", model: str = "default",
                 api_key_env: str = "OPENAI_API_KEY", temperature: float = 0.0, max_tokens: int = 256,
                 timeout: float = 60.0, system: str = SYSTEM) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise GeneratorError(f"openai generator: base_url must start with http:// or https://, got {base_url!r}")
        if max_tokens < 1 or temperature < 0 or timeout <= 0:
            raise GeneratorError("openai generator: max_tokens >= 1, temperature >= 0 and timeout > 0 are required")
        self.url = base_url.rstrip("/") + "/chat/completions"
        self.model = model
        self.api_key_env = api_key_env
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout = timeout
        self.system = system

    def generate(self, request: ResponseRequest) -> str:
        return "".join(self.stream(request)).strip()

    def stream(self, request: ResponseRequest) -> Iterator[str]:
        body = {"model": self.model, "messages": request_messages(request, system=self.system), "stream": True,
                "temperature": self.temperature, "max_tokens": self.max_tokens}
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        if key := os.environ.get(self.api_key_env):
            headers["Authorization"] = f"Bearer {key}"
        req = urllib.request.Request(self.url, data=json.dumps(body).encode("utf-8"), headers=headers, method="POST")
        try:
            resp = urllib.request.urlopen(req, timeout=self.timeout)
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")[:200]
            raise GeneratorError(f"openai generator: {self.url} answered HTTP {e.code}: {detail}") from e
        except (urllib.error.URLError, OSError) as e:
            raise GeneratorError(f"openai generator: cannot reach {self.url} ({e}); is the server running?") from e
        with resp:
            yield from self._events(resp)

    def _events(self, resp) -> Iterator[str]:
        """Content deltas of an SSE stream: ``data: {json}`` lines, ending at ``data: [DONE]``."""
        for raw in resp:
            line = raw.decode("utf-8", "replace").strip()
            if not line.startswith("data:"):
                continue  # blank separators, comments, "event:" lines
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                event = json.loads(data)
            except json.JSONDecodeError as e:
                raise GeneratorError(f"openai generator: {self.url} sent a malformed event: {data[:100]}") from e
            if "error" in event:
                raise GeneratorError(f"openai generator: {self.url}: {event['error']}")
            for choice in event.get("choices", ()):
                piece = (choice.get("delta") or {}).get("content")
                if piece:
                    yield piece
