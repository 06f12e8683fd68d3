"""The ``kgagent`` command line. Each command calls the same front-door functions the Python API offers.

Exit codes: 0 success, 2 bad input or usage (one clear line, no traceback), 1 anything else.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

# Offline, quiet defaults; set before any heavy library is imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("PYSTOW_HOME", str(Path.home() / ".cache" / "kgagent" / "pystow"))

from kg.errors import KgAgentError  # noqa: E402

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="kgagent: a knowledge-graph-augmented conversational agent.")
kg_app = typer.Typer(no_args_is_help=True, help="Load and inspect a knowledge graph.")
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
        from kg.io import atomic_write_json

        atomic_write_json(json_path, result)


# ----------------------------------------------------------------- kg
@kg_app.command("load")
def kg_load(
    file: Annotated[Path, typer.Argument(help="KG file: .tsv/.csv/.txt (s|r|o)/.nt/.ttl/.rdf/.jsonl")],
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder to write.")],
    format: Annotated[str | None, typer.Option("--format", "-f", help="Loader name; default: by extension.")] = None,
    aliases: Annotated[Path | None, typer.Option(help="TSV of entity<TAB>alias[<TAB>alias...].")] = None,
    descriptions: Annotated[Path | None, typer.Option(help="TSV of entity<TAB>description.")] = None,
    json_out: JsonOut = None,
) -> None:
    """Validate a KG file and save it into WS/kg/."""
    from agent.build import load_step

    report = load_step(file, workspace, format=format, aliases=aliases, descriptions=descriptions)
    emit(report, json_out, title=f"loaded {file} -> {workspace}/kg")


@kg_app.command("stats")
def kg_stats(workspace: WS, json_out: JsonOut = None) -> None:
    """Counts, relation frequencies and degree statistics of the workspace KG."""
    from kg import KnowledgeGraph, Workspace

    ws = Workspace(workspace)
    emit(KnowledgeGraph.load(ws.require("kg")).stats(), json_out, title=f"KG of {workspace}")


# ----------------------------------------------------------------- build
@app.command("build")
def build(
    file: Annotated[Path, typer.Argument(help="KG file to build a workspace from.")],
    workspace: Annotated[Path, typer.Option("--workspace", "-w", help="Workspace folder to write.")],
    format: Annotated[str | None, typer.Option("--format", "-f")] = None,
    intents: Annotated[Path | None, typer.Option(help="Intent examples (JSON lines, CSV or CLINC JSON).")] = None,
    questions: Annotated[list[Path] | None, typer.Option(help="QA files in MetaQA format (repeatable).")] = None,
    aliases: Annotated[Path | None, typer.Option(help="TSV of entity<TAB>alias[<TAB>alias...].")] = None,
    descriptions: Annotated[Path | None, typer.Option(help="TSV of entity<TAB>description.")] = None,
) -> None:
    """Load, validate and build every artifact of a workspace; a failed build leaves the old one intact."""
    from agent.build import BuildOptions, build_workspace

    result = build_workspace(BuildOptions(file=file, workspace=workspace, format=format, intents=intents,
                                          questions=list(questions or []), aliases=aliases,
                                          descriptions=descriptions))
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
    from agent.build import kge_step

    emit(kge_step(workspace, model=model, epochs=epochs, dim=dim), None, title=f"trained KGE for {workspace}")


@eval_app.command("kge")
def eval_kge(workspace: WS, json_out: JsonOut = None) -> None:
    """The KGE's filtered rank metrics on its held-out test split."""
    from kg import Workspace
    from kg.embeddings import KGEmbeddings

    metrics = KGEmbeddings.load(Workspace(workspace).require("kge")).metrics
    emit(metrics, json_out, title=f"KGE metrics of {workspace}")


# ----------------------------------------------------------------- retrieval commands (index, search, eval linking)
# ----------------------------------------------------------------- training commands (intents, qa)
# ----------------------------------------------------------------- agent commands (ask, chat, eval agent, demo)


# ----------------------------------------------------------------- entry point
def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a ``KgAgentError`` becomes one line on stderr and exit code 2."""
    logging.basicConfig(level=os.environ.get("KGAGENT_LOG", "WARNING"), format="%(levelname)s %(name)s: %(message)s")
    try:
        app(args=argv, standalone_mode=False)
    except KgAgentError as e:
        typer.echo(f"error: {e}", err=True)
        return 2
    except (typer.Abort, KeyboardInterrupt):
        typer.echo("aborted", err=True)
        return 1
    except Exception as e:  # click usage errors carry exit code 2
        import click

        if isinstance(e, click.exceptions.ClickException):
            e.show()
            return e.exit_code
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
