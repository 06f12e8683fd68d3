"""``kgagent serve``: one ASGI app (FastAPI, run by uvicorn) with an OpenAI-compatible chat API, a native answer
API, health, readiness and Prometheus metrics, and the Gradio UI mounted at ``/``.

    POST /v1/chat/completions   OpenAI's shapes; ``stream: true`` as server-sent events ending in ``data: [DONE]``
    POST /v1/answer             answers with ids, confidence, relation path, evidence, clarification options
    GET  /v1/models             the workspace, as the one model
    GET  /healthz  /readyz      alive / models loaded and the memory reachable
    GET  /metrics               Prometheus text format
    GET  /docs  /openapi.json   FastAPI's own documentation of all of the above

Turns run on a pool of ``max_turns`` threads (torch runs one thread each); the rest wait. A conversation is a
LangGraph thread: ``X-Thread-Id`` header, else the ``user`` field (chat) or ``thread_id`` (answer), else a new
one, returned in the ``X-Thread-Id`` header and the body. Memory is SQLite in the workspace, or PostgreSQL shared
by several replicas (``memory="postgres://..."``).

>>> from kgagent.ui.server import ServeConfig, create_server  # doctest: +SKIP
>>> app = create_server("ws/", ServeConfig(ui=False))  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from kgagent.agent.chat import stream_turn
from kgagent.agent.session import Reply
from kgagent.kg.errors import ConfigError, KgAgentError
from kgagent.ui.access import APIKeys, check_bind
from kgagent.ui.api import (
    MAX_THREAD_ID,
    SSE_DONE,
    THREAD_HEADER,
    AnswerRequest,
    AnswerResponse,
    ChatCompletion,
    ChatCompletionRequest,
    ModelCard,
    ModelList,
    completion,
    error_body,
    new_completion_id,
    sse_chunk,
)
from kgagent.ui.metrics import ServerMetrics

log = logging.getLogger(__name__)
SERVE_ENV = "KGAGENT_SERVE"  # the settings each uvicorn worker process reads (``workers > 1``)
API_PATHS = ("/v1/chat/completions", "/v1/answer", "/v1/models", "/healthz", "/readyz", "/metrics")


@dataclass
class ServeConfig:
    """How the server runs. Keys are not here: they come from a file or the environment (``ui.access``)."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    memory: str | None = None  # None: WS/checkpoints.sqlite; "memory"; a .sqlite path; postgres://...
    quantize: str = "none"  # "int8": dynamic int8 Linear layers in the encoders
    ui: bool = True  # mount the Gradio app at /
    max_turns: int = 4  # turns run at once; the others wait
    insecure: bool = False  # serve beyond loopback without keys
    keys_file: str | None = None
    generator: str | None = None

    def __post_init__(self) -> None:
        from kgagent.training.quantize import QUANTIZERS

        if self.quantize not in QUANTIZERS:
            raise ConfigError(f"--quantize: expected one of {', '.join(QUANTIZERS)}, got {self.quantize!r}")
        for name in ("workers", "max_turns"):
            if getattr(self, name) < 1:
                raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if not 0 <= self.port < 65536:
            raise ConfigError(f"--port must be in 0..65535, got {self.port}")


class AgentService:
    """The loaded agent behind the routes: runs turns on a bounded pool, times them, knows when it is ready."""

    def __init__(self, graph: Any, workspace: Path, config: ServeConfig, metrics: ServerMetrics,
                 load_seconds: float = 0.0) -> None:
        self.graph, self.workspace, self.config, self.metrics = graph, workspace, config, metrics
        self.load_seconds = load_seconds
        metrics.load_seconds.set(load_seconds)
        self.model = workspace.name
        self.created = int(workspace.stat().st_mtime)
        self.pool = ThreadPoolExecutor(max_workers=config.max_turns, thread_name_prefix="kgagent-turn")

    def run_turn(self, question: str, thread_id: str, endpoint: str,
                 write: Callable[[str], None] = lambda piece: None) -> Reply:
        """One turn, on the calling thread (a pool worker); ``write`` receives the reply as it streams."""
        m = self.metrics
        m.waiting.dec()
        m.in_flight.inc()
        t0 = time.perf_counter()
        try:
            reply = stream_turn(self.graph, question, thread_id, write,
                                on_node=lambda node, s: m.node_seconds.labels(node=node).observe(s))
        except Exception as e:
            m.errors.labels(endpoint=endpoint, error=type(e).__name__).inc()
            log.exception("turn failed on thread %s", thread_id)
            raise
        finally:
            m.in_flight.dec()
            m.turn_seconds.labels(endpoint=endpoint).observe(time.perf_counter() - t0)
        m.acts.labels(act="clarify" if reply.options else (reply.act or "none")).inc()
        return reply

    def submit(self, *args: Any) -> asyncio.Future:
        self.metrics.waiting.inc()
        return asyncio.get_running_loop().run_in_executor(self.pool, self.run_turn, *args)

    def ready(self) -> str | None:
        """None when turns can run; else why not (the memory store does not answer)."""
        try:
            self.graph.checkpointer.get_tuple({"configurable": {"thread_id": "readyz", "checkpoint_ns": ""}})
        except Exception as e:
            return f"memory unavailable: {type(e).__name__}: {str(e).strip()[:200]}"
        return None

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        conn = getattr(self.graph.checkpointer, "conn", None)  # a Postgres pool or a SQLite connection
        close = getattr(conn, "close", None)
        if callable(close):
            close()


def load_agent(workspace: str | Path, config: ServeConfig, context: Any = None) -> tuple[Any, float]:
    """The compiled agent over ``workspace`` (models loaded, quantized when asked) and the seconds it took."""
    from kgagent.agent import build_agent
    from kgagent.agent.workspace import open_workspace

    t0 = time.perf_counter()
    ws = open_workspace(workspace)
    graph = build_agent(ws, context=context or ws.context(generator=config.generator), checkpointer=config.memory)
    if config.quantize == "int8":
        log.info("quantized the Linear layers of %d modules to int8", quantize_agent(ws))
    return graph, time.perf_counter() - t0


def quantize_agent(ws: Any) -> int:
    """Quantize (int8, in place) every encoder a turn may run: the intent and QA models', the mention tagger and,
    where the workspace has indexes, the retriever's (loaded now; it would otherwise load unquantized on its first
    query)."""
    from kgagent.training.quantize import quantize_int8

    parts = [ws.intents, ws.qa]
    retriever = ws.retriever
    if retriever.linker.tagger is not None:  # the mention tagger (WS/models/ner)
        parts.append(retriever.linker.tagger)
    if getattr(retriever, "entities", None) is not None or getattr(retriever, "passages", None) is not None:
        parts.append(retriever.encoder)
    return quantize_int8(*parts)


def create_server(workspace: str | Path, config: ServeConfig | None = None, *, keys: APIKeys | None = None,
                  graph: Any = None, context: Any = None) -> FastAPI:
    """The ASGI app over ``workspace``; ``graph``: an agent already built (else loaded here). ``keys``: the
    accepted API keys (else from ``config.keys_file`` or ``$KGAGENT_API_KEYS``)."""
    config = config or ServeConfig()
    keys = keys if keys is not None else APIKeys.load(config.keys_file)
    workspace = Path(workspace).resolve()
    metrics = ServerMetrics()
    load_seconds = 0.0
    if graph is None:
        graph, load_seconds = load_agent(workspace, config, context)
    service = AgentService(graph, workspace, config, metrics, load_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        service.close()

    app = FastAPI(title="kgagent", version=_version(), lifespan=lifespan,
                  description="A knowledge-graph agent behind OpenAI's chat-completions API, with a native answer "
                              "API, metrics and the chat UI at `/`.")
    app.state.service = service
    app.add_middleware(_Metrics, metrics=metrics)
    _add_routes(app, service, keys)
    if config.ui:
        _mount_ui(app, graph, workspace, keys)
    return app


def _add_routes(app: FastAPI, service: AgentService, keys: APIKeys) -> None:
    def require_key(authorization: str | None = Header(default=None, include_in_schema=False)) -> None:
        if keys and not keys.check_header(authorization):
            raise HTTPException(401, "a valid API key is required: Authorization: Bearer KEY",
                                headers={"WWW-Authenticate": "Bearer"})

    guarded = [Depends(require_key)]

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        kind = {401: "authentication_error", 404: "not_found_error", 503: "service_unavailable"}.get(
            exc.status_code, "invalid_request_error")
        return JSONResponse(error_body(str(exc.detail), kind), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body")
        return JSONResponse(error_body(f"{where}: {first.get('msg', 'invalid request')}", "invalid_request_error",
                                       "invalid_request"), status_code=400)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, str]:
        """The process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses={503: {"description": "not ready, with the reason"}})
    def readyz() -> JSONResponse:
        """The workspace is loaded and the conversation memory answers."""
        problem = service.ready()
        body = {"status": "ready" if problem is None else "unavailable", "model": service.model,
                "load_seconds": round(service.load_seconds, 3)}
        return JSONResponse({**body, **({"reason": problem} if problem else {})}, status_code=503 if problem else 200)

    @app.get("/metrics", tags=["health"], dependencies=guarded, response_class=PlainTextResponse)
    def metrics() -> Response:
        """Prometheus metrics: requests, latencies per endpoint and graph node, errors, turns in flight."""
        body, content_type = service.metrics.render()
        return Response(body, media_type=content_type)

    @app.get("/v1/models", tags=["openai"], dependencies=guarded)
    def models() -> ModelList:
        """The one model this server answers as: its workspace."""
        return ModelList(data=[ModelCard(id=service.model, created=service.created)])

    @app.post("/v1/chat/completions", tags=["openai"], dependencies=guarded, response_model=ChatCompletion,
              responses={200: {"content": {"text/event-stream": {}},
                               "description": "A chat.completion, or with `stream` its chunks as server-sent events"}})
    async def chat_completions(body: ChatCompletionRequest,
                               x_thread_id: str | None = Header(default=None, alias=THREAD_HEADER,
                                                                max_length=MAX_THREAD_ID)) -> Response:
        """OpenAI's chat completions: the agent answers the last user message in the conversation's thread."""
        _check_model(body.model, service.model)
        question = body.question()
        if not question:
            raise HTTPException(400, "messages: no user message with text")
        thread_id = x_thread_id or body.user or _new_thread()
        headers = {THREAD_HEADER: thread_id}
        cid = new_completion_id()
        if body.stream:
            return StreamingResponse(_sse(service, question, thread_id, cid), media_type="text/event-stream",
                                     headers={**headers, "Cache-Control": "no-cache"})
        reply = await _turn(service, question, thread_id, "/v1/chat/completions")
        return JSONResponse(completion(reply, service.model, cid).model_dump(), headers=headers)

    @app.post("/v1/answer", tags=["native"], dependencies=guarded, response_model=AnswerResponse)
    async def answer(body: AnswerRequest,
                     x_thread_id: str | None = Header(default=None, alias=THREAD_HEADER,
                                                      max_length=MAX_THREAD_ID)) -> JSONResponse:
        """One turn with its structure: answers with ids, confidence, relation path, evidence, options."""
        thread_id = x_thread_id or body.thread_id or _new_thread()
        reply = await _turn(service, body.question.strip(), thread_id, "/v1/answer")
        return JSONResponse(AnswerResponse.from_reply(reply).model_dump(), headers={THREAD_HEADER: thread_id})


async def _turn(service: AgentService, question: str, thread_id: str, endpoint: str) -> Reply:
    try:
        return await service.submit(question, thread_id, endpoint)
    except KgAgentError as e:
        raise HTTPException(400, str(e)) from e


async def _sse(service: AgentService, question: str, thread_id: str, cid: str) -> AsyncIterator[str]:
    """The turn as OpenAI chunks: the role, the reply's pieces as they come, the stop, then ``[DONE]``."""
    loop = asyncio.get_running_loop()
    pieces: asyncio.Queue[str | None] = asyncio.Queue()

    def write(piece: str) -> None:
        loop.call_soon_threadsafe(pieces.put_nowait, piece)

    def run() -> Reply:
        try:
            return service.run_turn(question, thread_id, "/v1/chat/completions", write)
        finally:
            loop.call_soon_threadsafe(pieces.put_nowait, None)

    service.metrics.waiting.inc()
    future = loop.run_in_executor(service.pool, run)
    model = service.model
    yield sse_chunk(cid, model, thread_id, {"role": "assistant", "content": ""})
    while (piece := await pieces.get()) is not None:
        if piece:
            yield sse_chunk(cid, model, thread_id, {"content": piece})
    try:
        await future
    except Exception as e:  # the headers are sent: the error goes in the stream, where OpenAI clients raise it
        yield f"data: {json.dumps(error_body(f'{type(e).__name__}: {e}', 'server_error'))}\n\n"
        return
    yield sse_chunk(cid, model, thread_id, {}, finish_reason="stop")
    yield SSE_DONE


def _check_model(name: str, served: str) -> None:
    if name != served:
        raise HTTPException(404, f"model {name!r} not found; this server answers as {served!r} (GET /v1/models)")


def _new_thread() -> str:
    return f"api-{uuid.uuid4().hex[:16]}"


def _version() -> str:
    from kgagent import __version__

    return __version__


def _mount_ui(app: FastAPI, graph: Any, workspace: Path, keys: APIKeys) -> None:
    """The Gradio app at ``/``; with API keys, its login takes any user name and a key as the password."""
    import gradio as gr

    from kgagent.ui.app import CSS, create_app, theme

    blocks = create_app(graph, workspace)
    gr.mount_gradio_app(app, blocks, path="/", auth=keys.check_login if keys else None,
                        auth_message="Sign in with an API key as the password" if keys else None,
                        theme=theme(), css=CSS, footer_links=[])


class _Metrics:
    """ASGI middleware counting requests and timing them to the first byte, per API endpoint (``ui`` else)."""

    def __init__(self, app: Any, metrics: ServerMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        endpoint = path if path in API_PATHS else "ui"
        t0 = time.perf_counter()
        status = 500

        async def timed_send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                self.metrics.request_seconds.labels(endpoint=endpoint).observe(time.perf_counter() - t0)
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            self.metrics.requests.labels(endpoint=endpoint, method=scope.get("method", ""), status=str(status)).inc()


# ----------------------------------------------------------------- running it
def check_port_free(host: str, port: int) -> None:
    """Fail with a clear message now rather than from inside uvicorn."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            raise ConfigError(f"cannot serve on {host}:{port} ({e.strerror}); pass another --port") from e


def serve(workspace: str | Path, config: ServeConfig, *, context: Any = None) -> None:
    """Run the server until stopped (an entry point's call). With ``workers > 1`` each uvicorn worker process
    builds its own app from ``$KGAGENT_SERVE``, which the caller sets (:func:`serve_environment`)."""
    import uvicorn

    keys = APIKeys.load(config.keys_file)
    check_bind(config.host, keys, insecure=config.insecure)
    check_port_free(config.host, config.port)
    log_level = os.environ.get("KGAGENT_LOG", "warning").lower()
    if config.workers > 1:
        if os.environ.get(SERVE_ENV) is None:
            raise ConfigError(f"--workers > 1 needs ${SERVE_ENV} (set by `kgagent serve`)")
        uvicorn.run("kgagent.ui.server:app_from_environment", factory=True, host=config.host, port=config.port,
                    workers=config.workers, log_level=log_level, timeout_graceful_shutdown=5)
        return
    app = create_server(workspace, config, keys=keys, context=context)
    uvicorn.run(app, host=config.host, port=config.port, log_level=log_level, timeout_graceful_shutdown=5)


def serve_environment(workspace: str | Path, config: ServeConfig) -> dict[str, str]:
    """What worker processes need in their environment to build the same app."""
    return {SERVE_ENV: json.dumps({"workspace": str(Path(workspace).resolve()), "config": asdict(config)})}


@contextmanager
def serve_in_subprocess(workspace: str | Path, *options: str, host: str = "127.0.0.1", port: int,
                        timeout: float = 300.0, env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    """``kgagent serve WS --host H --port P *options`` in a process of its own; yields ``(url, pid)`` once
    ``/readyz`` answers 200, and stops the process on exit. For tests, benchmarks and scripts."""
    import subprocess
    import sys
    import tempfile
    import urllib.error
    import urllib.request

    cmd = [sys.executable, "-m", "kgagent", "serve", str(workspace), "--host", host, "--port", str(port), *options]
    url = f"http://{host}:{port}"
    with tempfile.TemporaryFile("w+") as out:  # a file, not a pipe: a chatty server never blocks on it
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout
            while True:
                if proc.poll() is not None:
                    out.seek(0)
                    raise RuntimeError(f"kgagent serve exited with {proc.returncode}: {out.read()[-800:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"kgagent serve was not ready within {timeout:.0f} s")
                try:
                    with urllib.request.urlopen(f"{url}/readyz", timeout=2) as r:
                        if r.status == 200:
                            break
                except (urllib.error.URLError, OSError):
                    pass
                time.sleep(0.2)
            yield url, proc.pid
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def app_from_environment() -> FastAPI:
    """The app of one uvicorn worker process, from ``$KGAGENT_SERVE``."""
    data = json.loads(os.environ[SERVE_ENV])
    return create_server(data["workspace"], ServeConfig(**data["config"]))
