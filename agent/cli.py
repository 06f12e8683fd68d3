"""The ``kgagent`` command line. Each command calls the same front-door functions the Python API offers.

Exit codes: 0 success, 2 bad input or usage (one clear line, no traceback), 1 anything else.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from kgagent.kg.errors import KgAgentError
from kgagent.kg.process import fixed_mmap_threshold

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="kgagent: a knowledge-graph-augmented conversational agent.")
kg_app = typer.Typer(no_args_is_help=True, help="Load, inspect and update a knowledge graph.")
train_app = typer.Typer(no_args_is_help=True, help="Train KG embeddings and models on a workspace.")
eval_app = typer.Typer(no_args_is_help=True, help="Evaluate; prints a table and, with --json, writes one JSON object.")
app.add_typer(kg_app, name="kg")
app.add_typer(train_app, name="train")
app.add_typer(eval_app, name="eval")

WS = Annotated[Path, typer.Argument(help="Workspace folder.")]
JsonOut = Annotated[Path | None, typer.Option("--json", help="Write the result as one JSON object here.")]


# ----------------------------------------------------------------- output helpers
def emit(result: dict[str, Any], json_path: Path | None, *, title: str = "") -> None:
    """Print ``result`` as a readable table; write it as JSON to ``json_path`` when given."""
    if title:
        typer.echo(title)
    width = max((len(k) for k in result), default=0)
    for k, v in result.items():
        if isinstance(v, float):
            v = f"{v:.4f}"
        elif isinstance(v, dict | list):
            v = json.dumps(v, ensure_ascii=False)
            v = v if len(v) <= 100 else v[:97] + "..."
        typer.echo(f"  {k:<{width}}  {v}")
    if json_path is not None:
        from kgagent.kg.io import atomic_write_json
        from kgagent.kg.paths import writable_dir

        writable_dir(json_path.parent, what="output")
        atomic_write_json(json_path, result)


# ----------------------------------------------------------------- kg
KgFile = Annotated[Path, typer.Argument(help="KG file: .tsv/.csv/.txt (s|r|o)/.nt/.ttl/.rdf/.jsonl")]
Format = Annotated[str | None, typer.Option("--format", "-f", help="Loader name; default: by extension.")]
Aliases = Annotated[Path | None, typer.Option(help="TSV of entity<TAB>alias[<TAB>alias...].")]
Descriptions = Annotated[Path | None, typer.Option(help="TSV of entity<TAB>description.")]
Delimiter = Annotated[str | None, typer.Option(help="tsv/csv/pipe: the field delimiter.")]
Columns = Annotated[str | None, typer.Option(
    help="tsv/csv/pipe: head,relation,tail columns (indices from 0, or header names): 0,2,1")]
Header = Annotated[bool | None, typer.Option(
    "--header/--no-header", help="tsv/csv/pipe: the first row is a header (default: detected).")]


def _load_options(**given: Any) -> dict[str, Any]:
    """The loader options that were given (None: the loader's default)."""
    return {k: v for k, v in given.items() if v is not None}


@kg_app.command("load")
def kg_load(
    file: KgFile,
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder to write.")],
    format: Format = None, aliases: Aliases = None, descriptions: Descriptions = None,
    delimiter: Delimiter = None, columns: Columns = None, header: Header = None, json_out: JsonOut = None,
) -> None:
    """Validate a KG file and save it into WS/kg/."""
    from kgagent.agent.build import load_step

    options = _load_options(delimiter=delimiter, columns=columns, header=header)
    report = load_step(file, workspace, format=format, aliases=aliases, descriptions=descriptions, **options)
    emit(report, json_out, title=f"loaded {file} -> {workspace}/kg")


def _update(action: str, workspace: Path, file: Path, json_out: Path | None, **given: Any) -> None:
    from kgagent.agent.update import update_workspace

    result = update_workspace(workspace, file, action, **_load_options(**given))
    emit({k: v for k, v in result.as_dict().items() if k != "message"}, json_out,
         title=f"{action} {file} -> {workspace}")
    typer.echo(result.message.replace("WS", str(workspace)))


@kg_app.command("add")
def kg_add(
    workspace: WS, file: KgFile,
    format: Format = None, aliases: Aliases = None, descriptions: Descriptions = None,
    delimiter: Delimiter = None, columns: Columns = None, header: Header = None, json_out: JsonOut = None,
) -> None:
    """Add the triples of FILE to a built workspace, atomically, without a rebuild (graph, KGE, indexes, rules)."""
    _update("add", workspace, file, json_out, format=format, aliases=aliases, descriptions=descriptions,
            delimiter=delimiter, columns=columns, header=header)


@kg_app.command("remove")
def kg_remove(
    workspace: WS, file: KgFile,
    format: Format = None, delimiter: Delimiter = None, columns: Columns = None, header: Header = None,
    json_out: JsonOut = None,
) -> None:
    """Remove the triples of FILE from a built workspace, atomically, without a rebuild."""
    _update("remove", workspace, file, json_out, format=format, delimiter=delimiter, columns=columns,
            header=header)


@kg_app.command("stats")
def kg_stats(workspace: WS, json_out: JsonOut = None) -> None:
    """Counts, relation frequencies and degree statistics of the workspace KG."""
    from kgagent.kg import KnowledgeGraph, Workspace

    ws = Workspace(workspace)
    emit(KnowledgeGraph.load(ws.require("kg")).stats(), json_out, title=f"KG of {workspace}")


# ----------------------------------------------------------------- build
@app.command("build")
def build(
    file: Annotated[Path, typer.Argument(help="KG file to build a workspace from.")],
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder to write.")],
    format: Format = None,
    intents: Annotated[Path | None, typer.Option(help="Intent examples (JSON lines, CSV or CLINC JSON).")] = None,
    questions: Annotated[list[Path] | None, typer.Option(
        help="QA files in MetaQA format (`--questions a.txt b.txt`, or repeated).")] = None,
    aliases: Aliases = None,
    descriptions: Descriptions = None,
    budget: Annotated[str, typer.Option(
        help="Time for the whole build, e.g. 90s, 10m, 1h30m: each training step gets a share of what is left and "
             "stops early within it, keeping its best validated weights; 'none': every step runs to its end.")
    ] = "10m",
) -> None:
    """Load, validate and build every artifact of a workspace; a failed build leaves the old one intact."""
    from kgagent.agent.build import BuildOptions, build_workspace
    from kgagent.kg.budget import parse_duration
    from kgagent.kg.errors import ConfigError

    try:
        seconds = None if budget.strip().lower() == "none" else parse_duration(budget)
    except ValueError as e:
        raise ConfigError(f"--budget: {e}") from e
    result = build_workspace(BuildOptions(file=file, workspace=workspace, format=format, intents=intents,
                                          questions=list(questions or []), aliases=aliases,
                                          descriptions=descriptions, budget=seconds))
    emit(result, None, title=f"built {workspace}")


# ----------------------------------------------------------------- kge (train / eval)
@train_app.command("kge")
def train_kge(
    workspace: WS,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Any PyKEEN model name.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs (early stopping may end sooner).")] = None,
    dim: Annotated[int | None, typer.Option(help="Embedding dimension.")] = None,
) -> None:
    """Train KG embeddings (PyKEEN) on the workspace KG into WS/kge/."""
    from kgagent.agent.build import kge_step

    emit(kge_step(workspace, model=model, epochs=epochs, dim=dim), None, title=f"trained KGE for {workspace}")


@eval_app.command("kge")
def eval_kge(workspace: WS, json_out: JsonOut = None) -> None:
    """The KGE's filtered rank metrics on its held-out test split."""
    from kgagent.kg import Workspace
    from kgagent.kg.embeddings import KGEmbeddings

    metrics = KGEmbeddings.load(Workspace(workspace).require("kge")).metrics
    emit(metrics, json_out, title=f"KGE metrics of {workspace}")


# ----------------------------------------------------------------- retrieval commands (index, search, eval linking)
@app.command("index")
def index(
    workspace: WS,
    encoder: Annotated[str | None, typer.Option(help="Encoder name or path (default: MiniLM).")] = None,
    documents: Annotated[Path | None, typer.Option(help="Folder of .txt/.md documents to index too.")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Only add the names and passages a time-limited build left out (the index is kept).")] = False,
) -> None:
    """Build WS/index/: entity names and aliases, and passages (triples, descriptions, documents)."""
    from kgagent.agent.build import index_step

    if resume:
        from kgagent.retrieval.update import complete_index

        emit(complete_index(workspace), None, title=f"completed the index of {workspace}")
        return
    emit(index_step(workspace, encoder=encoder, documents=documents), None, title=f"indexed {workspace}")


@app.command("search")
def search(
    workspace: WS,
    text: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("--k", "-k", help="Number of hits.", min=1)] = 5,
    entities: Annotated[bool, typer.Option("--entities", help="Search entity names, not passages.")] = False,
) -> None:
    """Print the passages (or entity names) closest to TEXT, each with its source."""
    from kgagent.retrieval import open_retriever

    r = open_retriever(workspace)
    hits = r.search_entities(text, k) if entities else r.search(text, k)
    for h in hits:
        typer.echo(f"{h.score:.3f}  {h.text}  [{h.cite()}]")


@eval_app.command("linking")
def eval_linking(
    workspace: WS,
    data: Annotated[Path, typer.Option("--data", help="MetaQA file: question [entity]<TAB>answers.")],
    json_out: JsonOut = None,
    typos: Annotated[bool, typer.Option(help="One seeded random edit in each mention.")] = False,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.", min=1)] = None,
    tagger: Annotated[bool, typer.Option(help="Use the workspace's mention tagger (WS/models/ner) if any.")] = True,
) -> None:
    """Entity-linking accuracy: brackets removed, the top linked entity must carry the bracketed name."""
    from kgagent.agent.tagger import open_tagged_linker
    from kgagent.retrieval import evaluate_linking

    linker = open_tagged_linker(workspace, tagger=tagger)
    result = evaluate_linking(linker, data, typos=typos, limit=limit, progress=True)
    emit(result.as_dict(), json_out, title=f"entity linking on {data}")


# ----------------------------------------------------------------- training commands (intents, qa)
IntentFile = Annotated[Path, typer.Option(
    "--data", help="Intent examples: JSON lines, text,category CSV, or CLINC JSON.")]


@train_app.command("intents")
def train_intents_cmd(
    workspace: WS,
    data: IntentFile,
    base_model: Annotated[str | None, typer.Option(
        "--base-model", help="Encoder: transformers name or local folder (default: [intents] or MiniLM).")] = None,
    finetune: Annotated[str | None, typer.Option(help="lora, full or frozen.")] = None,
    fusion: Annotated[str | None, typer.Option(help="auto, none, tokens, pooled or both.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs (early stopping may end sooner).")] = None,
    lr: Annotated[float | None, typer.Option(help="Peak learning rate.")] = None,
) -> None:
    """Train the intent classifier (with out-of-scope detection) into WS/models/intents/."""
    from kgagent.agent.build import intents_step

    result = intents_step(workspace, data, base_model=base_model, finetune=finetune, fusion=fusion, epochs=epochs,
                          lr=lr)
    emit(result, None, title=f"trained intents for {workspace} (validation metrics)")


@eval_app.command("intents")
def eval_intents_cmd(workspace: WS, data: IntentFile, json_out: JsonOut = None) -> None:
    """Intent accuracy, in-scope accuracy, OOS recall and macro F1 (CLINC: test, else val, split)."""
    from kgagent.kg import Workspace
    from kgagent.training.intents import IntentModel, evaluate_intents, load_intent_data

    split = load_intent_data(data).evaluation()
    model = IntentModel.load(Workspace(workspace).models_dir / "intents")
    result = {**evaluate_intents(model, split).as_dict(), "threshold": model.threshold}
    emit(result, json_out, title=f"intents on {data}")


QAFiles = Annotated[list[Path] | None, typer.Option(
    "--data", help="Question files in MetaQA format: `question with [topic]<TAB>a1|a2` (`--data a.txt b.txt`, "
    "or repeated).")]


@train_app.command("qa")
def train_qa_cmd(
    workspace: WS,
    data: QAFiles = None,
    synthesize: Annotated[int | None, typer.Option(
        "--synthesize", help="Also train on N questions generated from the graph (default: [qa] synthesize, else, "
        "when the files hold fewer than 1000 questions, as many as the graph's relation paths call for, else "
        "[qa] synthesized_share of the training sample).")] = None,
    feedback: Annotated[bool, typer.Option(
        "--feedback", help="Also train on the liked (and corrected) answers in WS/feedback.jsonl.")] = False,
    base_model: Annotated[str | None, typer.Option(
        "--base-model", help="Encoder: transformers name or local folder (default: [qa] or MiniLM).")] = None,
    fusion: Annotated[str | None, typer.Option(help="none, tokens, pooled or both.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Maximum epochs of the path head.")] = None,
    max_train_questions: Annotated[int | None, typer.Option(
        help="Train the path head on a seeded sample of this many questions (0: all).")] = None,
) -> None:
    """Train the multi-hop QA model (relation paths + KGE answer scorer) into WS/models/qa/."""
    from kgagent.agent.build import qa_step

    result = qa_step(workspace, list(data or []), synthesize, feedback=feedback, base_model=base_model,
                     fusion=fusion, epochs=epochs, max_train_questions=max_train_questions)
    emit(result, None, title=f"trained qa for {workspace} (validation metrics)")


@eval_app.command("qa")
def eval_qa_cmd(
    workspace: WS,
    data: Annotated[Path, typer.Option("--data", help="Question file in MetaQA format.")],
    link: Annotated[bool, typer.Option(
        "--link", help="Drop the brackets and link the topic entity with the entity linker.")] = False,
    limit: Annotated[int | None, typer.Option(help="Evaluate the first N questions only.")] = None,
    json_out: JsonOut = None,
) -> None:
    """Hits@1 of the QA model, with per-hop and per-question-type tables."""
    from kgagent.training.qa import evaluate_qa

    model, linker = _qa_model(workspace, link)
    metrics = evaluate_qa(model, data, link=link, linker=linker, limit=limit)
    emit(metrics.as_dict(), json_out, title=f"qa on {data}{' (linked)' if link else ''}")


@eval_app.command("metaqa")
def eval_metaqa_cmd(
    data: Annotated[Path, typer.Option("--data", help="MetaQA folder with {1,2,3}-hop/qa_<split>.txt.")],
    workspace: Annotated[Path | None, typer.Argument(
        help="Workspace folder (or --workspace, or $KGAGENT_WORKSPACE, else ./ws).")] = None,
    workspace_opt: Annotated[Path | None, typer.Option("--workspace", help="Same as the WS argument.")] = None,
    split: Annotated[str, typer.Option(help="Which question files: test, dev or train.")] = "test",
    link: Annotated[bool, typer.Option(
        "--link", help="Drop the brackets and link the topic entity with the entity linker.")] = False,
    limit: Annotated[int | None, typer.Option(help="Evaluate the first N questions of each hop only.")] = None,
    json_out: JsonOut = None,
) -> None:
    """Hits@1 of the QA model on each hop of a MetaQA folder, and over all of them."""
    from kgagent.kg.errors import InputError
    from kgagent.training.qa import evaluate_qa

    workspace = _default_workspace(workspace or workspace_opt)
    files = {h: data / h / f"qa_{split}.txt" for h in ("1-hop", "2-hop", "3-hop")}
    missing = [str(f) for f in files.values() if not f.is_file()]
    if missing:
        raise InputError(f"no MetaQA question file(s) {', '.join(missing)}", field="data")
    model, linker = _qa_model(workspace, link)
    per_hop = {h: evaluate_qa(model, f, link=link, linker=linker, limit=limit).as_dict() for h, f in files.items()}
    n = sum(m["n"] for m in per_hop.values())
    result = {"hits_at_1": sum(m["hits_at_1"] * m["n"] for m in per_hop.values()) / n, "n": n,
              "questions_per_s": n / sum(m["n"] / m["questions_per_s"] for m in per_hop.values()),
              **{h: {k: m[k] for k in ("hits_at_1", "n", "questions_per_s")} for h, m in per_hop.items()},
              "per_hop_detail": per_hop}
    emit(result, json_out, title=f"MetaQA {split} questions of {data}{' (linked)' if link else ''}")


def _default_workspace(given: Path | None) -> Path:
    """``given``, else ``$KGAGENT_WORKSPACE``, else ``./ws`` when it exists."""
    import os

    from kgagent.kg.errors import InputError

    if given is not None:
        return given
    env = os.environ.get("KGAGENT_WORKSPACE")
    if env:
        return Path(env)
    if Path("ws").is_dir():
        return Path("ws")
    raise InputError("no workspace: give one (kgagent eval metaqa WS --data DIR), or set KGAGENT_WORKSPACE",
                     field="workspace")


def _qa_model(workspace: Path, link: bool) -> tuple[Any, Any]:
    """The workspace's QA model and, with ``link``, its entity linker (with the dense name index if built)."""
    from kgagent.kg import Workspace
    from kgagent.retrieval import open_linker
    from kgagent.training.qa import QAModel

    ws = Workspace(workspace)
    model = QAModel.load(ws.models_dir / "qa")
    return model, open_linker(ws, kg=model.kg) if link else None

# ----------------------------------------------------------------- agent commands (ask, chat, eval agent, demo)
Generator = Annotated[str | None, typer.Option(
    "--generator", "-g", help="template, hf or openai (settings: [agent] generator_kwargs in WS/kgagent.toml).")]


@contextmanager
def _serving(workspace: Path, generator: str | None) -> Iterator[Any]:
    """The agent commands' run-time context (``[agent]`` of ``kgagent.toml``); while the command runs, torch uses
    ``torch_threads`` threads: a process answering one question at a time gains little from more."""
    from kgagent.agent.workspace import open_workspace
    from kgagent.kg.process import torch_threads

    ctx = open_workspace(workspace).context(generator=generator)
    with torch_threads(ctx.torch_threads):
        yield ctx


@app.command("ask")
def ask_cmd(
    workspace: WS,
    question: Annotated[str, typer.Argument(help="The question.")],
    json_flag: Annotated[bool, typer.Option("--json", help="Print the reply as one JSON object.")] = False,
    thread: Annotated[str | None, typer.Option(
        "--thread", help="Continue this conversation (kept in WS/checkpoints.sqlite); default: a one-off.")] = None,
    generator: Generator = None,
) -> None:
    """Ask one question: the answer, its evidence and its latency."""
    import time

    from kgagent.agent import build_agent
    from kgagent.agent.chat import format_evidence
    from kgagent.agent.session import ask

    with _serving(workspace, generator) as ctx:
        t0 = time.perf_counter()
        graph = build_agent(workspace, context=ctx, checkpointer=None if thread else "memory")
        load_ms = 1000 * (time.perf_counter() - t0)
        reply = ask(graph, question, thread_id=thread or "ask")
        if json_flag:
            typer.echo(json.dumps({"answer": reply.text, **reply.as_dict(), "load_ms": round(load_ms, 1)},
                                  ensure_ascii=False))
            return
        typer.echo(reply.text)
        typer.echo(format_evidence(reply) if reply.evidence or reply.passages else "")
        typer.echo(f"latency: {reply.latency_ms:.1f} ms (workspace load {load_ms:.0f} ms)")


Auth = Annotated[Path | None, typer.Option(
    help="Web UI: a file of USER:PASSWORD lines required to log in (or set $KGAGENT_AUTH to such lines).")]
Insecure = Annotated[bool, typer.Option(
    "--insecure", help="Web UI: allow a --host other than 127.0.0.1 without a log-in.")]


def _logins(host: str, auth: Path | None, insecure: bool) -> list[tuple[str, str]] | None:
    from kgagent.ui.launch import check_exposure, resolve_auth

    logins = resolve_auth(auth, os.environ)
    check_exposure(host, logins, insecure)
    return logins


@app.command("chat")
def chat_cmd(
    workspace: WS,
    cli: Annotated[bool, typer.Option("--cli", help="Chat in the terminal instead of the browser.")] = False,
    thread: Annotated[str | None, typer.Option("--thread", help="--cli: continue this conversation.")] = None,
    memory: Annotated[bool, typer.Option("--memory", help="Keep conversations in memory only.")] = False,
    generator: Generator = None,
    host: Annotated[str, typer.Option(help="Web UI: address to bind.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Web UI: port (default: the first free one from 7860).")] = None,
    auth: Auth = None,
    insecure: Insecure = False,
) -> None:
    """Chat with the agent: the Gradio app, or a terminal chat with --cli."""
    from kgagent.agent import build_agent

    if not cli:  # before any loading: a refused address or a bad log-in file fails at once
        logins = _logins(host, auth, insecure)

    with _serving(workspace, generator) as ctx:
        graph = build_agent(workspace, context=ctx, checkpointer="memory" if memory else None)
        if cli:
            from kgagent.agent.chat import run_chat

            thread = run_chat(graph, thread)
            typer.echo(f"bye (thread {thread})")
            return
        # the web UI (package ui/) wraps the compiled graph it is given
        try:
            from kgagent.ui import create_app, launch
        except ImportError as e:
            raise KgAgentError(f"the web UI is not available ({e}); use `kgagent chat {workspace} --cli`") from e
        # no URL here: without --port Gradio takes the first free port from 7860, and prints the URL it serves on
        typer.echo(f"kgagent chat: starting the web UI on {workspace} (Ctrl+C to stop)")
        launch(create_app(graph, workspace), host=host, port=port, auth=logins, insecure=insecure)

@app.command("serve")
def serve_cmd(
    workspace: WS,
    host: Annotated[str, typer.Option(help="Address to bind (beyond loopback only with API keys or --insecure).")
                    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes, each with its own models.", min=1)] = 1,
    keys: Annotated[Path | None, typer.Option(
        "--keys", help="File of API keys, one per line (else $KGAGENT_API_KEYS); clients send Bearer KEY.")] = None,
    memory: Annotated[str | None, typer.Option(
        help="Conversation memory: postgres://... (shared by replicas), a .sqlite path, or memory; "
             "default WS/checkpoints.sqlite.")] = None,
    quantize: Annotated[str, typer.Option(help="none, or int8: dynamic int8 Linear layers in the encoders.")
                        ] = "none",
    max_turns: Annotated[int, typer.Option(help="Turns run at once per worker; the others wait.", min=1)] = 4,
    ui: Annotated[bool, typer.Option("--ui/--no-ui", help="Mount the chat UI at /.")] = True,
    insecure: Annotated[bool, typer.Option(help="Serve beyond loopback without API keys.")] = False,
    generator: Generator = None,
) -> None:
    """Serve the agent over HTTP: OpenAI-compatible /v1/chat/completions, /v1/answer, /metrics and the UI."""
    from kgagent.ui.server import ServeConfig, serve, serve_environment

    config = ServeConfig(host=host, port=port, workers=workers, memory=memory, quantize=quantize, ui=ui,
                         max_turns=max_turns, insecure=insecure, keys_file=str(keys) if keys else None,
                         generator=generator)
    if workers > 1:  # each uvicorn worker process builds the app from these settings
        os.environ.update(serve_environment(workspace, config))
    typer.echo(f"kgagent serve: {workspace} on http://{host}:{port} (API docs at /docs; Ctrl+C to stop)")
    serve(workspace, config)


@app.command("demo")
def demo_cmd(
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Where the demo workspace is built (once).")
                         ] = Path(".cache/demo-ws"),
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(help="Port (default: the first free one from 7860).")] = None,
    no_open: Annotated[bool, typer.Option("--no-open", help="Do not open a browser tab.")] = False,
    rebuild: Annotated[bool, typer.Option("--rebuild", help="Rebuild the demo workspace even if it is complete.")
                       ] = False,
    auth: Auth = None,
    insecure: Insecure = False,
) -> None:
    """Build the bundled demo workspace (first run only) and open the chat app on it."""
    from tqdm import tqdm

    from kgagent.agent.context import Context
    from kgagent.kg import Workspace
    from kgagent.kg.process import torch_threads
    from kgagent.ui.demo import is_complete, run_demo

    logins = _logins(host, auth, insecure)

    if rebuild or not is_complete(workspace):
        typer.echo(f"building the demo workspace in {workspace} (first run only; a few minutes)")
    with tqdm(total=100, unit="%", desc="demo workspace", disable=is_complete(workspace) and not rebuild) as bar:
        def progress(frac: float, msg: str) -> None:
            bar.set_postfix_str(msg)
            bar.update(round(100 * frac) - bar.n)

        # the demo serves one browser at a time: [agent] torch_threads while it runs (building scopes its own)
        with torch_threads(Workspace(workspace).config("agent", Context).torch_threads):
            run_demo(workspace, host=host, port=port, open_browser=not no_open, rebuild=rebuild, progress=progress,
                     auth=logins, insecure=insecure)


@eval_app.command("agent")
def eval_agent(
    workspace: WS,
    data: Annotated[Path, typer.Option("--data", help="MetaQA-format questions: question with [entity]<TAB>answers.")],
    json_out: JsonOut = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    generator: Generator = None,
) -> None:
    """Questions through the whole graph (brackets removed, fresh thread each): Hits@1 and turn latency."""
    from kgagent.agent.evaluate import evaluate_agent

    with _serving(workspace, generator) as ctx:
        result = evaluate_agent(workspace, data, limit=limit, context=ctx)
    emit(result.as_dict(), json_out, title=f"agent on {data}")


@train_app.command("generator")
def train_generator_cmd(
    workspace: WS,
    data: Annotated[Path | None, typer.Option("--data", help="Grounded dialogues, JSON lines: question, evidence, "
                                                "answer; default: written from the workspace KG.")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Causal LM to adapt (local folder); default: "
                                              "the bundled SmolLM2-135M-Instruct.")] = None,
    epochs: Annotated[int | None, typer.Option(help="Passes over the dialogues.")] = None,
    out: Annotated[Path | None, typer.Option(help="Adapter folder; default WS/models/generator.")] = None,
    dialogues: Annotated[int, typer.Option(help="Dialogues written from the KG when no --data is given.",
                                           min=1)] = 400,
) -> None:
    """LoRA fine-tune a causal LM on grounded dialogues; use it with [agent] generator = "hf"."""
    from kgagent.agent.generators.finetune import GeneratorTrainConfig, train_generator
    from kgagent.kg import KnowledgeGraph, Workspace

    ws = Workspace(workspace)
    if data is None:
        from kgagent.agent.generators.dialogues import write_dialogues

        data = ws.root / ".cache" / "dialogues.jsonl"
        write_dialogues(KnowledgeGraph.load(ws.require("kg")), dialogues, data)
    config = ws.config("generator", GeneratorTrainConfig, base_model=model, epochs=epochs)
    out = out or ws.models_dir / "generator"
    metrics = train_generator(data, out, config)
    ws.record("generator", config=config, metrics=metrics, data=str(data), adapter=str(out))
    emit(metrics, None, title=f"generator adapter -> {out}")


# ----------------------------------------------------------------- mention tagger (train / eval)
@train_app.command("ner")
def train_ner_cmd(
    workspace: WS,
    questions: Annotated[int | None, typer.Option(help="Questions synthesized from the graph.", min=1)] = None,
    epochs: Annotated[int | None, typer.Option(help="Passes over the tagged questions.", min=1)] = None,
) -> None:
    """Train the mention tagger (BIO token classification) on questions synthesized from the graph."""
    from kgagent.agent.build import ner_step

    result = ner_step(workspace, questions=questions, epochs=epochs)
    result.pop("losses")
    emit(result, None, title=f"mention tagger -> {workspace}/models/ner")


@eval_app.command("ner")
def eval_ner_cmd(
    workspace: WS,
    data: Annotated[Path, typer.Option("--data", help="MetaQA file: question [entity]<TAB>answers.")],
    json_out: JsonOut = None,
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.", min=1)] = None,
) -> None:
    """Span-level precision, recall and F1 of the mention tagger (gold: the bracketed mention), per tag."""
    from kgagent.agent.tagger import workspace_tagger
    from kgagent.kg import KnowledgeGraph, Workspace
    from kgagent.kg.errors import WorkspaceError
    from kgagent.training.ner import evaluate_ner, report

    model = workspace_tagger(workspace)
    if model is None:
        raise WorkspaceError(f"{workspace}: no mention tagger (models/ner); run `kgagent train ner {workspace}`")
    kg = KnowledgeGraph.load(Workspace(workspace).require("kg"))
    scores = evaluate_ner(model, kg, data, limit=limit, progress=True)
    typer.echo(report(scores))
    result = {**scores["overall"], "tags": {t: s for t, s in scores.items() if t != "overall"}}
    emit(result, json_out, title=f"mention tagging on {data}")


# ----------------------------------------------------------------- entry point
def _process_defaults() -> None:
    """Offline, quiet defaults for this process (an entry point's job, never a library's); the user's own win."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    os.environ.setdefault("PYSTOW_HOME", str(Path.home() / ".cache" / "kgagent" / "pystow"))
    fixed_mmap_threshold()  # large tensors freed go back to the system (the KGE evaluation's peak: 3.0 -> 1.1 GB)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a ``KgAgentError`` becomes one line on stderr and exit code 2."""
    _process_defaults()
    logging.basicConfig(level=os.environ.get("KGAGENT_LOG", "WARNING"), format="%(levelname)s %(name)s: %(message)s")
    argv = _spread_multi_values(list(sys.argv[1:] if argv is None else argv))
    try:
        rc = app(args=argv, prog_name="kgagent", standalone_mode=False)
    except KgAgentError as e:
        typer.echo(f"error: {e}", err=True)
        return 2
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        return 1
    except OSError as e:  # a place the user named cannot be read or written (read-only, a file for a folder, full)
        if e.filename is None:
            raise
        typer.echo(f"error: {e.filename}: {e.strerror or e}", err=True)
        return 2
    except Exception as e:  # usage errors (click's, or typer's vendored click) carry exit code 2
        if _is_usage_error(e):
            e.show()  # type: ignore[attr-defined]
            return int(e.exit_code)  # type: ignore[attr-defined]
        raise
    return rc if isinstance(rc, int) else 0  # typer.Exit(code) comes back as its code


# Options that take several files after one flag (`--questions a.txt b.txt`), per command; click options take one
# value each, so the extra values are spread into repeated flags before parsing.
MULTI_VALUE_OPTIONS: dict[tuple[str, ...], str] = {("build",): "--questions", ("train", "qa"): "--data"}


def _spread_multi_values(argv: list[str]) -> list[str]:
    """``build F --questions a b -w W`` -> ``build F --questions a --questions b -w W``: the values after a
    multi-value flag are the following arguments that are not options and name existing files."""
    flag = next((f for cmd, f in MULTI_VALUE_OPTIONS.items() if argv[: len(cmd)] == list(cmd)), None)
    if flag is None:
        return argv
    out: list[str] = []
    i = 0
    while i < len(argv):
        out.append(argv[i])
        if argv[i] == flag and i + 1 < len(argv):
            out.append(argv[i + 1])
            i += 2
            while i < len(argv) and not argv[i].startswith("-") and Path(argv[i]).is_file():
                out += [flag, argv[i]]
                i += 1
            continue
        i += 1
    return out


def _is_usage_error(e: Exception) -> bool:
    """Click's usage exceptions; newer typer vendors click, whose ClickException derives from TyperException."""
    classes: list[type] = [getattr(typer, "TyperException", ())]  # type: ignore[list-item]
    try:
        import click

        classes.append(click.ClickException)
    except ImportError:
        pass
    return any(isinstance(e, c) for c in classes if c) and hasattr(e, "show") and hasattr(e, "exit_code")


if __name__ == "__main__":
    sys.exit(main())
