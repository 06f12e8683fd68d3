"""The bundled Lumora demo domain: shipped files, their consistency with the KG, and the generator."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

import kgagent.kg.demo.generate as gen
from kgagent.kg import InputError, KnowledgeGraph
from kgagent.kg.demo import (
    demo_aliases_path,
    demo_descriptions_path,
    demo_dir,
    demo_intents_path,
    demo_kg_path,
    demo_qtype_path,
    demo_questions_path,
    load_demo_kg,
)

FILES = ("lumora.tsv", "aliases.tsv", "descriptions.tsv", "intents.jsonl", "questions.txt",
         "questions_qtype.txt")


def _tsv(path: Path) -> list[list[str]]:
    return [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def demo_kg() -> KnowledgeGraph:
    return load_demo_kg()


@pytest.fixture(scope="module")
def questions() -> list[tuple[str, list[str], list[str]]]:
    """(question, answers, relation path) per line of the shipped files."""
    qs = [line.split("\t") for line in demo_questions_path().read_text(encoding="utf-8").splitlines()]
    paths = demo_qtype_path().read_text(encoding="utf-8").splitlines()
    assert len(qs) == len(paths), "questions.txt and questions_qtype.txt must be line-aligned"
    return [(q, a.split("|"), p.split("|")) for (q, a), p in zip(qs, paths, strict=True)]


def _follow_labels(kg: KnowledgeGraph, topic: str, path: list[str]) -> set[str]:
    return {kg.labels[e] for e in kg.follow([kg.entity_id(topic)], path)}


# ------------------------------------------------------------------------------------------ shipped files
def test_paths_point_into_the_package_data_folder():
    root = demo_dir()
    getters = (demo_kg_path, demo_aliases_path, demo_descriptions_path, demo_intents_path,
               demo_questions_path, demo_qtype_path)
    assert sorted(g().name for g in getters) == sorted(FILES)
    for g in getters:
        assert g().parent == root and g().is_file()


def test_kg_file_has_header_and_enough_distinct_triples(demo_kg):
    rows = _tsv(demo_kg_path())
    assert rows[0] == ["head", "relation", "tail"]
    body = rows[1:]
    assert all(len(r) == 3 and all(r) for r in body)
    assert len(set(map(tuple, body))) == len(body), "duplicate triples in lumora.tsv"
    assert demo_kg.num_triples == len(body) >= 1000
    assert demo_kg.num_entities >= 300


def test_relation_names_are_snake_case_and_read_as_phrases(demo_kg):
    assert demo_kg.num_relations >= 30
    for r in demo_kg.relations:
        assert re.fullmatch(r"[a-z]+(_[a-z]+)*", r), r


def test_entity_keys_hold_no_separators(demo_kg):
    # answers are joined with "|" and topics bracketed in questions.txt; commas split answers in some readers
    bad = [e for e in demo_kg.entities if re.search(r"[\t|,\[\]]", e) or e != e.strip()]
    assert bad == []


def test_aliases_and_descriptions_refer_to_kg_entities(demo_kg):
    alias_rows = _tsv(demo_aliases_path())
    desc_rows = _tsv(demo_descriptions_path())
    assert all(len(r) >= 2 and all(r) for r in alias_rows)
    assert all(len(r) == 2 and r[1] for r in desc_rows)
    for row in alias_rows + desc_rows:
        assert demo_kg.has_entity(row[0]), f"{row[0]!r} is in no triple"
    assert len(demo_kg.aliases) == len(alias_rows) >= 150
    # most entities have a description; every product, accessory, store, plan and procedure does
    assert len(desc_rows) >= 0.6 * demo_kg.num_entities
    described = {r[0] for r in desc_rows}
    for rel in ("is_a", "stocked_at", "eligible_for_plan", "has_first_step", "resolved_by", "located_in"):
        rid = demo_kg.relation_id(rel)
        heads = {demo_kg.entities[h] for h in demo_kg.triples[demo_kg.triples[:, 1] == rid, 0]}
        assert heads <= described, (rel, sorted(heads - described)[:5])


def test_model_numbers_and_abbreviations_are_aliases(demo_kg):
    names = demo_kg.names(demo_kg.entity_id("Aurora X12 Pro"))
    assert {"X12 Pro", "X12P", "LM-A12P"} <= set(names)


def test_nova_is_the_one_deliberate_ambiguity(demo_kg):
    owners: dict[str, set[str]] = defaultdict(set)
    for i in range(demo_kg.num_entities):
        for name in demo_kg.names(i):
            owners[gen.normalize(name)].add(demo_kg.entities[i])
    shared = {n: o for n, o in owners.items() if len(o) > 1}
    assert shared == {"nova": {"Nova phone", "Nova speaker"}}
    kinds = {k: _follow_labels(demo_kg, k, ["is_a"]) for k in ("Nova phone", "Nova speaker")}
    assert kinds == {"Nova phone": {"smartphone"}, "Nova speaker": {"portable speaker"}}


def test_intents_cover_the_required_set_with_varied_examples():
    rows = [json.loads(line) for line in demo_intents_path().read_text(encoding="utf-8").splitlines()]
    assert all(set(r) == {"text", "intent"} and r["text"].strip() for r in rows)
    per_intent = Counter(r["intent"] for r in rows)
    assert set(gen.REQUIRED_INTENTS) <= set(per_intent)
    assert len(per_intent) >= 12
    assert min(per_intent.values()) >= 25, per_intent
    texts = [gen.normalize(r["text"]) for r in rows]
    assert len(set(texts)) == len(texts), "the same example appears twice"
    # varied, not templated: lengths spread, and few examples share their first three words
    lengths = [len(r["text"].split()) for r in rows]
    assert min(lengths) <= 2 and max(lengths) >= 12
    for intent in per_intent:
        mine = [gen.normalize(r["text"]) for r in rows if r["intent"] == intent]
        openings = Counter(" ".join(t.split()[:3]) for t in mine)
        assert openings.most_common(1)[0][1] <= 0.2 * per_intent[intent], (intent, openings.most_common(3))
    # shuffled: the first fifth of the file already holds every intent
    assert {r["intent"] for r in rows[: len(rows) // 5]} == set(per_intent)


def test_questions_span_one_to_three_hops(questions):
    assert len(questions) >= 60
    hops = Counter(len(p) for _, _, p in questions)
    assert set(hops) == {1, 2, 3} and min(hops.values()) >= 10, hops
    assert any(step.endswith("^-1") for _, _, p in questions for step in p)


def test_question_answers_equal_what_the_kg_returns(demo_kg, questions):
    for q, answers, path in questions:
        topics = re.findall(r"\[([^\]]+)\]", q)
        assert len(topics) == 1, q
        assert demo_kg.has_entity(topics[0]), q
        assert set(answers) == _follow_labels(demo_kg, topics[0], path), q
        assert len(answers) == len(set(answers)), q


def test_answers_match_the_standard_loader_when_present(questions):
    loaders = pytest.importorskip("kgagent.kg.loaders", reason="kg.loaders not written yet")
    kg, _ = loaders.load_kg(demo_kg_path(), aliases=demo_aliases_path(),
                            descriptions=demo_descriptions_path())
    assert kg.num_triples == load_demo_kg().num_triples
    assert set(kg.aliases[kg.entity_id("Nova phone")]) >= {"Nova"}
    for q, answers, path in questions:
        topic = re.search(r"\[([^\]]+)\]", q).group(1)
        assert set(answers) == _follow_labels(kg, topic, path), q


def test_a_few_facts_hold_as_authored(demo_kg):
    """Spot checks that the generator wires the catalog the way the questions describe it."""
    battery = demo_kg.relation_id("has_battery_capacity")
    phones = _follow_labels(demo_kg, "smartphone", ["is_a^-1"])
    mah = {}
    for p in phones:
        (t,) = demo_kg.edges(demo_kg.entity_id(p), battery)
        mah[p] = int(demo_kg.labels[demo_kg.triples[t, 2]].split()[0])
    assert max(mah, key=mah.get) == "Kite 5 Plus"
    assert _follow_labels(demo_kg, "Slate 11 Pro", ["bundled_with", "covered_by_warranty"]) == {
        "Lumora Limited Warranty"}
    assert "Lumora 140W Charger" in _follow_labels(demo_kg, "Vertex 16 Pro", ["compatible_with^-1"])
    assert "Lumora 20W USB-C Charger" not in _follow_labels(demo_kg, "Vertex 16 Pro", ["compatible_with^-1"])
    assert _follow_labels(demo_kg, "Aurora X14", ["successor_of", "successor_of"]) == {"Aurora X12"}
    # every store repairs the Aurora series; only flagships repair TVs
    stores = _follow_labels(demo_kg, "Lisbon", ["located_in^-1"]) | _follow_labels(demo_kg, "Porto",
                                                                                   ["located_in^-1"])
    assert stores <= _follow_labels(demo_kg, "Aurora series", ["repairs^-1"])
    assert "Lumora Store Porto" not in _follow_labels(demo_kg, "Lumen series", ["repairs^-1"])


# ------------------------------------------------------------------------------------------ generator
def test_generator_is_deterministic_and_matches_the_shipped_files(tmp_path):
    a = gen.write_demo(tmp_path / "a")
    b = gen.write_demo(tmp_path / "b")
    assert sorted(a) == sorted(b) == sorted(FILES)
    for name in FILES:
        data = (tmp_path / "a" / name).read_bytes()
        assert data == (tmp_path / "b" / name).read_bytes(), name
        assert data == (demo_dir() / name).read_bytes(), f"{name} is stale: run `python -m kg.demo.generate`"


def test_another_seed_changes_only_the_random_assignments(tmp_path):
    gen.write_demo(tmp_path, seed=gen.DEFAULT_SEED + 1)
    assert (tmp_path / "aliases.tsv").read_bytes() == demo_aliases_path().read_bytes()
    assert (tmp_path / "lumora.tsv").read_bytes() != demo_kg_path().read_bytes()


def test_bad_catalog_input_fails_before_writing(tmp_path, monkeypatch):
    gen.write_demo(tmp_path)
    before = {n: (tmp_path / n).read_bytes() for n in FILES}
    monkeypatch.setattr(gen, "QUESTIONS", (*gen.QUESTIONS, ("who makes the [Nokia 3310]", "made_by")))
    with pytest.raises(InputError, match=r"texts\.py.*QUESTIONS\[\d+\].*Nokia 3310"):
        gen.write_demo(tmp_path)
    assert {n: (tmp_path / n).read_bytes() for n in FILES} == before


@pytest.mark.parametrize(("patch", "message"), [
    ({"QUESTIONS": (("what does the [Kite 6] weigh", "has_weight"),)}, "unknown relation 'has_weight'"),
    ({"QUESTIONS": (("which stores stock the [Pulse Max]", "has_price|has_price"),)}, "0 answers"),
    ({"INTENTS": {"greeting": ("hi",) * 30}}, "repeats"),
    ({"INTENTS": {"greeting": tuple(f"hello {i}" for i in range(5))}}, "5 examples"),
    ({"AMBIGUOUS": ()}, "unexpected shared names"),
])
def test_cli_reports_bad_input_in_one_line(tmp_path, monkeypatch, capsys, patch, message):
    for name, value in patch.items():
        monkeypatch.setattr(gen, name, value)
    assert gen.main(["--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_cli_writes_every_file(tmp_path, capsys):
    assert gen.main(["--out", str(tmp_path)]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(FILES)
    assert "triples" in capsys.readouterr().out
