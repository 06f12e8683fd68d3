"""Checkpointer choice, context checks and the workspace cache."""

from __future__ import annotations

import pytest

from kgagent.agent import Context, make_checkpointer, open_workspace
from kgagent.kg.errors import ConfigError, WorkspaceError


def test_checkpointer_specs(tmp_path) -> None:
    from langgraph.checkpoint.memory import InMemorySaver
    from langgraph.checkpoint.sqlite import SqliteSaver

    assert isinstance(make_checkpointer("memory"), InMemorySaver)
    assert isinstance(make_checkpointer(None, tmp_path), SqliteSaver)
    assert isinstance(make_checkpointer(tmp_path / "x.sqlite"), SqliteSaver)
    saver = InMemorySaver()
    assert make_checkpointer(saver) is saver
    with pytest.raises(ConfigError, match="checkpointer"):
        make_checkpointer("redis")


@pytest.mark.parametrize(("field", "value"), [("top_k", -1), ("answer_threshold", 1.5), ("max_listed", 0),
                                             ("generator", "gpt9"), ("generator_kwargs", "x")])
def test_context_checks_name_the_field(field: str, value) -> None:
    with pytest.raises(ConfigError, match=field):
        Context(**{field: value})


def test_context_from_workspace_toml(fresh_ws) -> None:
    toml = '[agent]\ntop_k = 7\n[agent.templates]\ndirected_by = "{tail} made {head}"\n'
    (fresh_ws / "kgagent.toml").write_text(toml)
    ctx = open_workspace(fresh_ws).context()
    assert ctx.top_k == 7 and ctx.templates == {"directed_by": "{tail} made {head}"}
    (fresh_ws / "kgagent.toml").write_text("[agent]\ntop_kk = 7\n")
    with pytest.raises(ConfigError, match="top_kk"):
        open_workspace(fresh_ws).context()


def test_graphs_share_the_workspace_they_are_given(movie_ws) -> None:
    """No process-wide cache: a graph is bound to the workspace object it was built on, and two graphs share one
    only when given the same object."""
    from kgagent.agent import build_agent

    ws = open_workspace(movie_ws)
    assert open_workspace(ws) is ws and open_workspace(movie_ws) is not ws
    a, b = build_agent(ws, checkpointer="memory"), build_agent(ws, checkpointer="memory")
    assert a.workspace is ws and b.workspace is ws
    assert build_agent(movie_ws, checkpointer="memory").workspace is not ws
    with pytest.raises(WorkspaceError, match="no such workspace"):
        open_workspace(movie_ws / "missing")


def test_reload_makes_the_next_turn_read_the_rebuilt_workspace(fresh_ws) -> None:
    from kgagent.agent import ask, build_agent
    from kgagent.kg import KnowledgeGraph, Workspace

    graph = build_agent(fresh_ws, checkpointer="memory")
    assert ask(graph, "who directed Alien?", thread_id="a").answers[0]["label"] != "Somebody Else"
    KnowledgeGraph.from_triples([("Alien", "directed_by", "Somebody Else")]).save(Workspace(fresh_ws).kg_dir)
    assert graph.workspace.changed
    # the turn's first node sees the change on disk and reloads (an update from another process)
    assert ask(graph, "who directed Alien?", thread_id="b").answers[0]["label"] == "Somebody Else"
    assert not graph.workspace.changed
    graph.workspace.reload()  # explicit reloads stay possible and harmless
    assert ask(graph, "who directed Alien?", thread_id="c").answers[0]["label"] == "Somebody Else"
