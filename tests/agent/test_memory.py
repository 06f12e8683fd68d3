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


def test_workspace_opens_once_per_path(movie_ws) -> None:
    assert open_workspace(movie_ws) is open_workspace(str(movie_ws))
    with pytest.raises(WorkspaceError, match="no such workspace"):
        open_workspace(movie_ws / "missing")


def test_a_rebuilt_workspace_is_reopened(fresh_ws) -> None:
    from kgagent.agent import ask, build_agent
    from kgagent.kg import KnowledgeGraph, Workspace

    assert ask(build_agent(fresh_ws, checkpointer="memory"), "who directed Alien?", thread_id="a").answers
    first = open_workspace(fresh_ws)
    KnowledgeGraph.from_triples([("Alien", "directed_by", "Somebody Else")]).save(Workspace(fresh_ws).kg_dir)
    r = ask(build_agent(fresh_ws, checkpointer="memory"), "who directed Alien?", thread_id="b")
    assert open_workspace(fresh_ws) is not first
    assert r.answers[0]["label"] == "Somebody Else"
