"""Path rules mined from the graph: confidences, predictions through two-step bodies and same-name links,
save/load, config checks."""

from __future__ import annotations

import numpy as np
import pytest

from kgagent.kg import KnowledgeGraph
from kgagent.kg.rules import SAME_NAME, RuleConfig, RuleSet, mine_rules


@pytest.fixture(scope="module")
def kg() -> KnowledgeGraph:
    triples = []
    for i in range(20):
        film, person = f"Film {i}", f"Person {i}"
        triples.append((film, "written_by", person))
        if i % 4:  # three films in four are directed by their writer
            triples.append((film, "directed_by", person))
        else:
            triples.append((film, "directed_by", f"Other {i}"))
        triples.append((film, "has_tags", f"person {i}"))  # a tag naming the writer, lower-cased as MetaQA's
    triples.append(("Film 99", "written_by", "Person 99"))  # no director: the rules must infer one
    triples.append(("Film 98", "has_tags", "person 98"))
    triples.append(("Person 98", "acted_in", "Film 0"))  # Person 98 exists, reachable by name only
    return KnowledgeGraph.from_triples(triples)


def test_confidence_is_the_share_of_body_pairs_where_the_head_holds(kg: KnowledgeGraph) -> None:
    rules = mine_rules(kg, RuleConfig(min_support=3, smoothing=0))
    by_body = {r.body: r for r in rules.rules["directed_by"]}
    # 20 directed films have a writer; 15 of them were directed by that writer (Film 99 has no directed_by edge)
    assert by_body[("written_by",)].confidence == pytest.approx(15 / 20)
    assert by_body[("written_by",)].support == 15
    assert by_body[("has_tags", SAME_NAME)].confidence == pytest.approx(15 / 20)
    # sorted best first, and the head never explains itself
    confs = [r.confidence for r in rules.rules["directed_by"]]
    assert confs == sorted(confs, reverse=True)
    assert all(r.body != ("directed_by",) for r in rules.rules["directed_by"])


def test_predict_infers_missing_edges_with_their_rule(kg: KnowledgeGraph) -> None:
    rules = mine_rules(kg, RuleConfig(min_support=3))
    ids, conf, used = rules.predict(kg.entity_id("Film 99"), "directed_by")
    assert kg.labels[ids[0]] == "Person 99" and used[0].body == ("written_by",) and 0 < conf[0] < 1
    # through a tag and the same-name link only
    ids, _, used = rules.predict(kg.entity_id("Film 98"), "directed_by")
    assert kg.labels[ids[0]] == "Person 98" and used[0].body == ("has_tags", SAME_NAME)
    # inverse heads are mined too: the films a person directed
    ids, _, _ = rules.predict(kg.entity_id("Person 99"), "directed_by^-1")
    assert kg.labels[ids[0]] == "Film 99"
    empty = rules.predict(kg.entity_id("Film 99"), "no_such_step")
    assert len(empty[0]) == 0 and empty[2] == []


def test_save_load_round_trip(kg: KnowledgeGraph, tmp_path) -> None:
    rules = mine_rules(kg, RuleConfig(min_support=3, max_body=1))
    assert all(len(r.body) == 1 for rs in rules.rules.values() for r in rs)
    rules.save(tmp_path / "rules.json")
    loaded = RuleSet.load(tmp_path / "rules.json", kg)
    assert loaded.rules == rules.rules and loaded.config == rules.config and len(loaded) == len(rules)
    # two-step bodies through same-name links load back too (same_name is no relation of the graph)
    rules = mine_rules(kg, RuleConfig(min_support=3))
    assert any(SAME_NAME in r.body for rs in rules.rules.values() for r in rs)
    rules.save(tmp_path / "rules2.json")
    assert RuleSet.load(tmp_path / "rules2.json", kg).rules == rules.rules


@pytest.mark.parametrize("bad", [{"max_body": 3}, {"min_confidence": 1.5}, {"per_head": 0}])
def test_config_checks(bad: dict) -> None:
    with pytest.raises(ValueError):
        RuleConfig(**bad)


@pytest.fixture(scope="module")
def many_relations_kg(sparse_freebase_triples) -> KnowledgeGraph:
    """200 Freebase-style relations (some stored with explicit inverse twins), fewer triples than entities."""
    return KnowledgeGraph.from_triples(sparse_freebase_triples(200, 2000, seed=1))


def test_many_relations_are_pruned_by_support_before_any_join(many_relations_kg: KnowledgeGraph) -> None:
    import time

    kg = many_relations_kg
    steps = 2 * kg.num_relations + 1
    t0 = time.perf_counter()
    rules = mine_rules(kg)
    seconds = time.perf_counter() - t0
    # every step pair would be ~160,000 bodies; only those with enough paths are joined
    assert rules.stats["candidate_bodies"] < steps**2 / 50 and rules.stats["skipped_bodies"] == 0
    assert seconds < 60  # loose on a shared machine; a few seconds unloaded
    # an explicitly stored inverse twin is found as the rule it is
    counts = np.bincount(kg.triples[:, 1], minlength=kg.num_relations)
    twin = max((r for r in kg.relations if r.endswith("_inverse")), key=lambda r: counts[kg.relation_id(r)])
    base = twin[: -len("_inverse")]
    assert any(rule.body == (twin + "^-1",) and rule.confidence > 0.5 for rule in rules.rules[base])


def test_mining_stops_at_its_budget(many_relations_kg: KnowledgeGraph) -> None:
    full = mine_rules(many_relations_kg).stats["candidate_bodies"]
    capped = mine_rules(many_relations_kg, RuleConfig(max_bodies=40))
    assert capped.stats["mined_bodies"] == 40 and capped.stats["skipped_bodies"] == full - 40
    timed = mine_rules(many_relations_kg, RuleConfig(max_seconds=1e-6))
    assert timed.stats["mined_bodies"] == 0 and len(timed) == 0
    with pytest.raises(ValueError, match="max_seconds"):
        RuleConfig(max_seconds=0)
