"""The Gradio app: a chat over the agent graph, a knowledge tab (upload a KG, build, stats) and a training tab.

Callbacks stay thin: the chat callback streams the graph and hands each event to :class:`ui.translate.ChatTranslator`;
the knowledge and training tabs call the same build steps as the command line (``agent.build``).
"""

from __future__ import annotations

import html
import logging
import re
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr

from kgagent.agent.inputs import clean_message
from kgagent.kg import Workspace
from kgagent.kg.errors import InputError, KgAgentError
from kgagent.kg.paths import safe_child, safe_name
from kgagent.ui.config import UIConfig
from kgagent.ui.examples import Example, workspace_examples
from kgagent.ui.plots import degree_histogram, loss_curves, relation_bars
from kgagent.ui.render import evidence_html
from kgagent.ui.session import FeedbackLog, GraphPool, Session
from kgagent.ui.training import TRAINING, TrainInputs, run_training
from kgagent.ui.translate import EVIDENCE, ChatItem, ChatTranslator

log = logging.getLogger(__name__)

CSS = """
.kg-header h1 { margin-bottom: 0 !important; font-weight: 600 !important; }
.kg-header p { color: var(--body-text-color-subdued); margin-top: 2px !important; }
.kg-badge { font-size: 0.85em; color: var(--body-text-color-subdued); }
.kg-badge code { font-size: 0.95em; }
.kg-evidence { font-size: 0.92em; }
.kg-evidence .kg-h { font-weight: 600; margin: 10px 0 4px; color: var(--body-text-color); }
.kg-evidence ul { margin: 0 0 0 1.1em; padding: 0; }
.kg-evidence .kg-rel { color: #4338ca; font-family: var(--font-mono); font-size: 0.9em; }
.kg-evidence .kg-answer { color: #b45309; }
.kg-evidence .kg-more, .kg-evidence .kg-src { color: var(--body-text-color-subdued); font-size: 0.9em; }
.kg-evidence .kg-picture { overflow-x: auto; border: 1px solid var(--border-color-primary);
  border-radius: 8px; padding: 6px; background: #ffffff; }
.kg-evidence .kg-picture svg { max-width: 100%; height: auto; }
.kg-evidence table.kg-triples { border-collapse: collapse; width: 100%; }
.kg-evidence table.kg-triples th, .kg-evidence table.kg-triples td { border-bottom: 1px solid
  var(--border-color-primary); padding: 3px 8px; text-align: left; }
.kg-evidence details.kg-details { margin-top: 8px; }
.kg-evidence details.kg-details summary { cursor: pointer; font-weight: 600; }
.kg-status-error { border-left: 4px solid #dc2626; background: #fef2f2; padding: 10px 14px; border-radius: 6px;
  color: #7f1d1d; }
.kg-status-ok { border-left: 4px solid #16a34a; background: #f0fdf4; padding: 10px 14px; border-radius: 6px;
  color: #14532d; }
.kg-status-error code, .kg-status-ok code { background: transparent; }
.kg-counts { display: flex; gap: 12px; flex-wrap: wrap; }
.kg-count { flex: 1 1 0; border: 1px solid var(--border-color-primary); border-radius: 8px; padding: 8px 12px;
  min-width: 84px; background: var(--block-background-fill); }
.kg-count b { display: block; font-size: 1.4em; }
.kg-count span { color: var(--body-text-color-subdued); font-size: 0.85em; }
footer { display: none !important; }
"""


def theme() -> gr.themes.Base:
    """Gradio's Soft theme with fonts bundled in gradio itself, so the page needs nothing from the internet."""
    local = gr.themes.LocalFont
    return gr.themes.Soft(primary_hue="indigo", secondary_hue="amber", neutral_hue="slate",
                          font=(local("IBM Plex Sans", weights=(400, 600)), "ui-sans-serif", "system-ui", "sans-serif"),
                          font_mono=(local("IBM Plex Mono"), "ui-monospace", "monospace"))


def create_app(graph: Any = None, workspace: str | Path = ".", *, config: UIConfig | None = None,
               graph_factory: Callable[[str], Any] | None = None) -> gr.Blocks:
    """The app over ``graph`` (a compiled agent graph; built from ``workspace`` when None).

    ``config`` defaults to ``[ui]`` of ``WS/kgagent.toml``. ``graph_factory(workspace)`` builds the graph of a
    workspace the user switches to (default: ``agent.build_agent``). Launch with :func:`ui.launch`.
    """
    workspace = str(Path(workspace).resolve())
    config = config or Workspace(workspace).config("ui", UIConfig)
    pool = GraphPool(graph_factory)
    if graph is not None:
        pool.add(workspace, graph)
    else:  # load the models now, not on the first user's first question
        pool.get(workspace)
    return _App(pool, workspace, config).build()


class _App:
    """The callbacks, bound to the graph pool and the settings; each one is a thin translation."""

    def __init__(self, pool: GraphPool, workspace: str, config: UIConfig) -> None:
        self.pool, self.workspace, self.config = pool, workspace, config

    # ----------------------------------------------------------------- layout
    def build(self) -> gr.Blocks:
        cfg = self.config
        examples = self.examples(self.workspace)
        with gr.Blocks(title=cfg.title, fill_width=False) as demo:
            session = gr.State(None)
            with gr.Row(elem_classes="kg-header"):
                gr.Markdown(f"# {html.escape(cfg.title)}\n{cfg.description}")
            badge = gr.Markdown(self.badge(self.workspace), elem_classes="kg-badge")
            with gr.Tabs():
                with gr.Tab("Chat", id="chat"), gr.Row(equal_height=False):
                    with gr.Column(scale=3, min_width=480):
                        chatbot = gr.Chatbot(
                            label="Conversation", elem_id="kg-chat", height=620, layout="bubble",
                            feedback_options=("Like", "Dislike"), buttons=["copy", "copy_all"],
                            placeholder="**Ask a question about the knowledge graph.**<br>"
                                        "Answers come with the triples and paths they rest on.")
                        with gr.Row():
                            textbox = gr.Textbox(show_label=False, placeholder="Ask a question…", scale=6,
                                                 autofocus=True, submit_btn=False, elem_id="kg-input",
                                                 max_lines=4)
                            send = gr.Button("Send", variant="primary", scale=1, min_width=90,
                                             elem_id="kg-send")
                    with gr.Column(scale=1, min_width=260):
                        new = gr.Button("New conversation", elem_id="kg-new")
                        replies = gr.Radio([("Template (exact)", "template"), ("Local model", "hf")],
                                           value="template", label="Replies", elem_id="kg-replies",
                                           info="The model's reply is shown only when it keeps to the evidence.")
                        example_list = gr.Dataset(
                            label="Examples", components=[gr.Textbox(visible=False), gr.Textbox(visible=False)],
                            headers=["question", "shows"], samples=_samples(examples), layout="table",
                            samples_per_page=cfg.max_examples, elem_id="kg-examples")
                        gr.Markdown("The thumbs under an answer save feedback to the workspace for later training.",
                                    elem_classes="kg-badge")
                with gr.Tab("Knowledge", id="knowledge"), gr.Row(equal_height=False):
                    with gr.Column(scale=2, min_width=320):
                        gr.Markdown("### Load a knowledge graph\nTSV/CSV, pipe-delimited (`s|r|o`), N-Triples, "
                                    "Turtle, RDF/XML or JSON lines. It is validated, embedded, indexed and the "
                                    "models are trained; the chat then switches to it.")
                        kg_file = gr.File(label="KG file", file_count="single", elem_id="kg-upload")
                        fmt = gr.Dropdown(["auto", *_formats()], value="auto", label="Format")
                        with gr.Accordion("Optional files", open=False):
                            aliases = gr.File(label="Aliases (TSV: entity, alias, …)")
                            descriptions = gr.File(label="Descriptions (TSV: entity, description)")
                            intents = gr.File(label="Intent examples (JSON lines, CSV or CLINC JSON)")
                            questions = gr.File(label="QA questions (MetaQA format)", file_count="multiple")
                        build = gr.Button("Validate and build", variant="primary", elem_id="kg-build")
                        status = gr.HTML(elem_id="kg-status")
                        with gr.Accordion("Update the current graph", open=False):
                            gr.Markdown("Add or remove the triples of a file (any format above) without a rebuild; "
                                        "the chat answers from the change at once.")
                            update_file = gr.File(label="Triples", file_count="single", elem_id="kg-update-file")
                            with gr.Row():
                                add = gr.Button("Add triples", elem_id="kg-add")
                                remove = gr.Button("Remove triples", elem_id="kg-remove")
                            update_status = gr.HTML(elem_id="kg-update-status")
                    with gr.Column(scale=3, min_width=420):
                        degree, relations = self.plots(self.workspace)
                        counts = gr.HTML(self.counts_html(self.workspace), elem_id="kg-stats")
                        degree_plot = gr.Plot(degree, label="Degree histogram", format="png", elem_id="kg-degree")
                        relation_plot = gr.Plot(relations, label="Relations", format="png")
                        with gr.Accordion("All relations", open=False):
                            relation_table = gr.Dataframe(self.relation_rows(self.workspace),
                                                          headers=["relation", "triples", "share"],
                                                          interactive=False, max_height=360)
                with gr.Tab("Training", id="training"), gr.Row(equal_height=False):
                    with gr.Column(scale=2, min_width=320):
                        gr.Markdown("### Train on the current workspace\nRetrains the chosen parts; the chat "
                                    "uses the new models from its next turn.")
                        parts = gr.CheckboxGroup(list(TRAINING), value=["KG embeddings"], label="Train")
                        with gr.Row():
                            kge_model = gr.Textbox(label="KGE model", placeholder="workspace setting (e.g. RotatE)")
                            epochs = gr.Number(label="Epochs (0: workspace setting)", value=0, minimum=0,
                                               precision=0)
                        with gr.Accordion("Training data (default: as the workspace was built)", open=False):
                            train_intents = gr.File(label="Intent examples", height=110)
                            train_questions = gr.File(label="QA questions (MetaQA format)", file_count="multiple",
                                                      height=110)
                        train = gr.Button("Train", variant="primary", elem_id="kg-train")
                        train_status = gr.HTML(elem_id="kg-train-status")
                    with gr.Column(scale=3, min_width=420):
                        metrics = gr.JSON(label="Metrics")
                        loss_plot = gr.Plot(loss_curves({}), label="Loss", format="png")

            # ----------------------------------------------------------------- events
            chat_io = {"concurrency_limit": cfg.concurrency, "concurrency_id": "chat"}
            ask = [textbox, chatbot, session]
            out = [textbox, chatbot, session]
            send.click(self.chat, ask, out, api_name="chat", **chat_io)
            textbox.submit(self.chat, ask, out, api_name=False, **chat_io)
            chatbot.option_select(self.choose, [chatbot, session], out, api_name=False, **chat_io)
            example_list.click(self.example, [example_list, chatbot, session], out, api_name=False, **chat_io)
            chatbot.like(self.feedback, [session], None, api_name=False)
            new.click(self.new_conversation, [session], [textbox, chatbot, session], api_name="new_conversation")
            replies.change(self.set_replies, [replies, session], [session], api_name="set_replies")
            build.click(self.build_workspace, [kg_file, fmt, aliases, descriptions, intents, questions, session],
                        [status, session, chatbot, counts, degree_plot, relation_plot, relation_table, example_list,
                         badge],
                        api_name="build_workspace", concurrency_limit=1, concurrency_id="build")
            refreshed = [update_status, counts, degree_plot, relation_plot, relation_table]
            for button, handler in ((add, self.add_triples), (remove, self.remove_triples)):
                button.click(handler, [update_file, fmt, session], refreshed, concurrency_limit=1,
                             concurrency_id="build")
            train.click(self.train, [parts, kge_model, epochs, train_intents, train_questions, session],
                        [train_status, metrics, loss_plot, counts], api_name="train",
                        concurrency_limit=1, concurrency_id="build")
        demo.queue(default_concurrency_limit=cfg.concurrency, max_size=cfg.max_queue)
        return demo

    # ----------------------------------------------------------------- chat
    def session(self, session: Session | None) -> Session:
        return session if isinstance(session, Session) else Session(self.workspace)

    def chat(self, message: str, history: list | None, session: Session | None) -> Iterator[tuple]:
        """Stream one turn: the user's message, then the agent's steps, reply and evidence as they come."""
        session = self.session(session)
        history = list(history or [])
        message = clean_message(message or "")
        if not message:
            yield "", history, session
            return
        for m in history:  # earlier evidence panels fold up; the newest answer's opens below
            meta = m.get("metadata") or {}
            if str(meta.get("title", "")).startswith(EVIDENCE):
                m["metadata"] = {**meta, "status": "done"}
        history.append({"role": "user", "content": message})
        translator = ChatTranslator(lambda view: evidence_html(
            view, max_picture_triples=self.config.max_picture_triples))
        yield "", history + _messages(translator.items()), session
        try:
            graph = self.pool.get(session.workspace)
            # durability="exit": the thread's checkpoint is written once, when the turn ends
            events = graph.stream({"messages": [("user", message)]}, config=session.config,
                                  stream_mode=["updates", "messages"], durability="exit", **self.run_context(session))
            shown = time.perf_counter()
            for event in events:
                # at most one screen update per interval: a fast turn shows once, a slow one streams
                if translator.feed(event) and time.perf_counter() - shown >= self.config.stream_interval:
                    shown = time.perf_counter()
                    yield "", history + _messages(translator.items()), session
            translator.finish()
        except KgAgentError as e:
            translator.fail(public(str(e)))
        except Exception as e:  # shown in the chat; the server goes on serving others
            log.exception("turn failed on thread %s", session.thread_id)
            translator.fail(f"Something went wrong ({type(e).__name__}: {public(str(e))}).")
        first = len(history)
        history += _messages(translator.items())
        record = {"thread_id": session.thread_id, "workspace": session.workspace, **translator.view.record()}
        for i in range(first, len(history)):  # a like may point at any message of the turn
            session.turns[i] = record
        yield "", history, session

    def choose(self, history: list | None, session: Session | None, choice: gr.SelectData) -> Iterator[tuple]:
        """A clicked clarification choice is the user's next message."""
        yield from self.chat(str(choice.value), history, session)

    def example(self, sample: list, history: list | None, session: Session | None) -> Iterator[tuple]:
        yield from self.chat(sample[0] if isinstance(sample, list | tuple) else str(sample), history, session)

    def feedback(self, session: Session | None, like: gr.LikeData) -> None:
        session = self.session(session)
        index = like.index[0] if isinstance(like.index, list | tuple) else like.index
        turn = session.turns.get(int(index))
        if turn is None:
            return
        liked = like.liked if isinstance(like.liked, bool) else str(like.liked)
        FeedbackLog.append(session.workspace, {**turn, "liked": liked})
        gr.Info("Thanks — feedback saved.")

    def set_replies(self, generator: str, session: Session | None) -> Session:
        """Template or model replies for this conversation."""
        session = self.session(session)
        session.generator = generator
        return session

    @staticmethod
    def run_context(session: Session) -> dict[str, Any]:
        """``context=`` for the graph when the conversation chose its own reply generator."""
        if session.generator is None:
            return {}
        from kgagent.agent.workspace import open_workspace

        return {"context": open_workspace(session.workspace).context(generator=session.generator)}

    def new_conversation(self, session: Session | None) -> tuple:
        return "", [], self.session(session).restart()

    # ----------------------------------------------------------------- workspace views
    def examples(self, workspace: str) -> list[Example]:
        configured = self.config.examples if workspace == self.workspace else []
        return workspace_examples(workspace, configured, limit=self.config.max_examples)

    def badge(self, workspace: str) -> str:
        try:
            s = self.pool.opened(workspace).kg.stats()
            counts = f" · {s['entities']:,} entities · {s['relations']:,} relations · {s['triples']:,} triples"
        except KgAgentError:
            counts = ""
        return f"Workspace `{Path(workspace).name}`{counts}"

    def counts_html(self, workspace: str) -> str:
        try:
            s = self.pool.opened(workspace).kg.stats()
        except KgAgentError as e:
            return _status(html.escape(public(str(e))), ok=False)
        cells = [("triples", s["triples"]), ("entities", s["entities"]), ("relations", s["relations"]),
                 ("mean degree", f"{s['degree']['mean']:.1f}"), ("max degree", s["degree"]["max"]),
                 ("isolated", s["degree"]["isolated"])]
        boxes = "".join(f'<div class="kg-count"><b>{v if isinstance(v, str) else f"{v:,}"}</b><span>{k}</span></div>'
                        for k, v in cells)
        return f'<div class="kg-h"><b>{html.escape(Path(workspace).name)}</b></div><div class="kg-counts">{boxes}</div>'

    def relation_rows(self, workspace: str) -> list[list[Any]]:
        try:
            s = self.pool.opened(workspace).kg.stats()
        except KgAgentError:
            return []
        total = max(s["triples"], 1)
        return [[r, n, f"{n / total:.1%}"] for r, n in s["relation_frequencies"].items()]

    def plots(self, workspace: str) -> tuple[Any, Any]:
        try:
            kg = self.pool.opened(workspace).kg
        except KgAgentError:
            return None, None
        return degree_histogram(kg.triples, kg.num_entities), relation_bars(kg.stats()["relation_frequencies"])

    # ----------------------------------------------------------------- knowledge tab
    def build_workspace(self, kg_file: Any, fmt: str, aliases: Any, descriptions: Any, intents: Any,
                        questions: Any, session: Session | None,
                        progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple:
        """Validate and build a workspace from the uploaded files, then switch this session's chat to it."""
        from kgagent.agent.build import BuildOptions, build_workspace

        session = self.session(session)
        keep = (gr.update(),) * 7
        if kg_file is None:
            return _status("Choose a KG file first.", ok=False), session, *keep
        src = Path(_path(kg_file))
        target = self.upload_target(session, src.name)
        options = BuildOptions(file=src, workspace=target, format=None if fmt == "auto" else fmt,
                               aliases=_opt_path(aliases), descriptions=_opt_path(descriptions),
                               intents=_opt_path(intents), questions=[Path(_path(q)) for q in questions or []])
        t0 = time.perf_counter()
        try:
            if self.config.upload_config:  # the build reads its settings from the target's kgagent.toml
                target.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(self.config.upload_config, Workspace(target).config_path)
            build_workspace(options, progress=lambda frac, msg: progress(frac, desc=msg))
        except InputError as e:
            return _status(_input_error(e), ok=False), session, *keep
        except KgAgentError as e:
            return _status(html.escape(public(str(e))), ok=False), session, *keep
        except Exception as e:  # a failed build leaves the previous workspace as it was; say so and go on serving
            log.exception("building %s failed", target)
            return _status(f"The build failed ({html.escape(type(e).__name__)}: {html.escape(public(str(e)))}); "
                           "the previous workspace is unchanged.", ok=False), session, *keep
        self.pool.reload(target)
        session = session.restart(str(target.resolve()))
        ws = session.workspace
        msg = (f"Built <code>{html.escape(target.name)}</code> from <code>{html.escape(src.name)}</code> in "
               f"{time.perf_counter() - t0:.0f} s. The chat now uses it (new conversation).")
        return (_status(msg, ok=True), session, [], self.counts_html(ws), *self.plots(ws), self.relation_rows(ws),
                gr.Dataset(samples=_samples(self.examples(ws))), self.badge(ws))

    def upload_target(self, session: Session, filename: str) -> Path:
        """Where an upload named ``filename`` is built: one folder per browser session (unguessable), one workspace
        per file name in it, the name made safe, so no upload reaches another session's workspace or outside."""
        return safe_child(self.upload_root() / session.uploads, Path(safe_name(filename)).stem, default="kg")

    def add_triples(self, file: Any, fmt: str, session: Session | None,
                    progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple:
        """Add the uploaded file's triples to the session's workspace (``agent.update``)."""
        return self._update("add", file, fmt, session, progress)

    def remove_triples(self, file: Any, fmt: str, session: Session | None,
                       progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple:
        """Remove the uploaded file's triples from the session's workspace."""
        return self._update("remove", file, fmt, session, progress)

    def _update(self, action: str, file: Any, fmt: str, session: Session | None, progress: Any) -> tuple:
        from kgagent.agent.update import update_workspace

        ws = self.session(session).workspace
        if file is None:
            return _status("Choose a file of triples first.", ok=False), *(gr.update(),) * 4
        try:
            result = update_workspace(ws, Path(_path(file)), action, format=None if fmt == "auto" else fmt,
                                      progress=lambda frac, msg: progress(frac, desc=msg))
        except InputError as e:
            return _status(_input_error(e), ok=False), *(gr.update(),) * 4
        except KgAgentError as e:
            return _status(html.escape(str(e)), ok=False), *(gr.update(),) * 4
        self.pool.reload(ws)
        return (_status(html.escape(result.message.replace("WS", Path(ws).name)), ok=not result.retrain_qa),
                self.counts_html(ws), *self.plots(ws), self.relation_rows(ws))

    def upload_root(self) -> Path:
        root = self.config.upload_root
        return Path(root) if root else Path(self.workspace).with_name(Path(self.workspace).name + "-uploads")

    # ----------------------------------------------------------------- training tab
    def train(self, parts: list[str], kge_model: str, epochs: float | None, intents: Any, questions: Any,
              session: Session | None, progress: gr.Progress = gr.Progress(track_tqdm=True)) -> tuple:
        """Run the chosen training steps on the session's workspace; show their metrics and loss curves."""
        session = self.session(session)
        ws = session.workspace
        if not parts:
            return _status("Choose what to train.", ok=False), None, None, gr.update()
        given = TrainInputs(model=(kge_model or "").strip() or None, epochs=int(epochs) if epochs else None,
                            intents=_opt_path(intents), questions=[Path(_path(q)) for q in questions or []])
        results: dict[str, Any] = {}
        curves: dict[str, list[float]] = {}
        try:
            for i, name in enumerate(parts):
                progress(i / len(parts), desc=f"training {name}…")

                def live(phase: str, step: int, loss: float, i: int = i, name: str = name) -> None:
                    if step % 10 == 0:  # the loss as it comes, without flooding the page
                        progress(i / len(parts), desc=f"training {name}: {phase}, step {step}, loss {loss:.4f}")

                results[name], found = run_training(name, ws, given, on_step=live)
                curves.update(found)
        except KgAgentError as e:
            return _status(html.escape(public(str(e))), ok=False), _scalars(results) or None, None, gr.update()
        except Exception as e:  # shown in the tab; the server goes on serving
            log.exception("training %s on %s failed", parts, ws)
            return (_status(f"Training failed ({html.escape(type(e).__name__)}: {html.escape(public(str(e)))}).",
                            ok=False),
                    _scalars(results) or None, None, gr.update())
        finally:
            self.pool.reload(ws)  # the next turn loads what was trained
        return (_status(f"Trained {', '.join(parts)} on <code>{html.escape(Path(ws).name)}</code>.", ok=True),
                _scalars(results), loss_curves(curves), self.counts_html(ws))


def _scalars(result: Any) -> Any:
    """The result without loss curves and validation histories (they are plotted instead) or other long lists."""
    if isinstance(result, dict):
        return {k: _scalars(v) for k, v in result.items()
                if k not in ("losses", "history") and not (isinstance(v, list) and len(v) > 10)}
    return result


# ----------------------------------------------------------------- helpers
def _messages(items: list[ChatItem]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        msg = item.as_message()
        if item.html:
            msg["content"] = gr.HTML(item.html, padding=False)
        out.append(msg)
    return out


def _samples(examples: list[Example]) -> list[list[str]]:
    return [[e.text, e.note] for e in examples]


def _formats() -> list[str]:
    try:
        from kgagent.kg.loaders import LOADERS
    except ImportError:
        return []
    return list(LOADERS)


def _path(file: Any) -> str:
    return file if isinstance(file, str) else getattr(file, "name", str(file))


def _opt_path(file: Any) -> Path | None:
    return Path(_path(file)) if file else None


def _input_error(e: InputError) -> str:
    """The error with the uploaded file's own name (not the server's temp path) and its line, in plain words."""
    name = Path(e.path).name if e.path else "the file"
    where = f"<code>{html.escape(name)}</code>" + (f", line {e.line}" if e.line is not None else "")
    if e.field:
        where += f" [{html.escape(e.field)}]"
    prefix = (e.path or "") + (f":{e.line}" if e.line is not None else "") + (f" [{e.field}]" if e.field else "")
    message = str(e).removeprefix(prefix + ": ") if prefix else str(e)
    return f"<b>Could not load {where}:</b> {html.escape(public(message))}"


# an absolute path (POSIX or Windows) down to its last component
_PATH = re.compile(r"(?<![\w:/.])(?:[A-Za-z]:)?[\\/](?:[^\s\\/'\"`<>;,()\[\]]+[\\/])+[^\s\\/'\"`<>;,()\[\]:]*")


def public(message: str) -> str:
    """``message`` as a browser may see it: every server path cut to its last component (no folder layout,
    no user names, no upload folders of other sessions).

    >>> public("/srv/ws-uploads/3f2a/films/kg: not a saved KG")
    'kg: not a saved KG'
    """
    return _PATH.sub(lambda m: m.group().replace("\\", "/").rstrip("/").rsplit("/", 1)[-1], message)


def _status(message: str, *, ok: bool) -> str:
    return f'<div class="kg-status-{"ok" if ok else "error"}">{message}</div>'
