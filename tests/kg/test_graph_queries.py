"""KnowledgeGraph queries on the ten-triple movie KG and on random graphs checked against brute force."""

from __future__ import annotations

import random

import numpy as np
import pytest

from kgagent.kg import KgAgentError, KnowledgeGraph, Step

# triple ids of the tiny KG (see tests/conftest.py), in file order
ALIEN_DIRECTED, RUNNER_DIRECTED, ALIEN_STARRED, ALIENS_STARRED = 0, 1, 2, 3
RUNNER_STARRED, ALIEN_YEAR = 6, 7


@pytest.fixture
def ids(tiny_kg):
    return {name: tiny_kg.entity_id(name) for name in tiny_kg.entities}


def test_construction_dedups_and_numbers_in_first_seen_order():
    kg = KnowledgeGraph.from_triples([("a", "r", "b"), ("b", "s", "c"), ("a", "r", "b")])
    assert kg.entities == ["a", "b", "c"] and kg.relations == ["r", "s"]
    np.testing.assert_array_equal(kg.triples, [[0, 0, 1], [1, 1, 2]])
    with pytest.raises(KgAgentError, match="out of range"):
        KnowledgeGraph(entities=["a"], relations=["r"], triples=[[0, 0, 1]])


def test_neighbors_by_direction(tiny_kg, ids):
    alien, ridley = ids["Alien"], ids["Ridley Scott"]
    assert tiny_kg.neighbors(alien, direction="out") == [
        ("directed_by", ridley, ALIEN_DIRECTED), ("starred_actors", ids["Sigourney Weaver"], ALIEN_STARRED),
        ("release_year", ids["1979"], ALIEN_YEAR)]
    assert tiny_kg.neighbors(ridley, direction="in") == [
        ("directed_by^-1", alien, ALIEN_DIRECTED), ("directed_by^-1", ids["Blade Runner"], RUNNER_DIRECTED)]
    assert tiny_kg.neighbors(ridley, direction="out") == []
    assert tiny_kg.neighbors(ridley) == tiny_kg.neighbors(ridley, direction="in")
    assert tiny_kg.neighbors(alien, "starred_actors") == [
        ("starred_actors", ids["Sigourney Weaver"], ALIEN_STARRED)]
    with pytest.raises(KgAgentError, match="direction"):
        tiny_kg.neighbors(alien, direction="up")
    with pytest.raises(KgAgentError, match="unknown relation 'produced_by'"):
        tiny_kg.neighbors(alien, "produced_by")


def test_follow_forward_and_inverse_with_evidence(tiny_kg, ids):
    alien = ids["Alien"]
    assert tiny_kg.follow([alien], ["directed_by"]) == {ids["Ridley Scott"]: [(Step(ALIEN_DIRECTED, True),)]}
    # "other films by Alien's director": the inverse step walks tail -> head and never returns to Alien
    assert tiny_kg.follow([alien], ["directed_by", "directed_by^-1"]) == {
        ids["Blade Runner"]: [(Step(ALIEN_DIRECTED, True), Step(RUNNER_DIRECTED, False))]}
    co_star = tiny_kg.follow([alien], ["starred_actors", "starred_actors^-1", "directed_by"])
    assert co_star.keys() == {ids["James Cameron"]}
    assert tiny_kg.follow([alien], []) == {alien: [()]}


def test_follow_never_returns_to_the_start_but_may_pass_a_node_twice(tiny_kg, ids):
    alien, scott = ids["Alien"], ids["Ridley Scott"]
    # "films by Alien's director" excludes Alien itself
    assert alien not in tiny_kg.follow([alien], ["directed_by", "directed_by^-1"])
    # "the director of films by Alien's director" is Ridley Scott again, through Blade Runner (MetaQA semantics)
    again = tiny_kg.follow([alien], ["directed_by", "directed_by^-1", "directed_by"])
    assert again == {scott: [(Step(ALIEN_DIRECTED, True), Step(RUNNER_DIRECTED, False),
                              Step(RUNNER_DIRECTED, True))]}


def test_follow_caps_paths_per_entity_and_rejects_unknown_relations():
    fan = [("a", "r", f"x{i}") for i in range(5)] + [(f"x{i}", "r", "b") for i in range(5)]
    kg = KnowledgeGraph.from_triples(fan)
    reached = kg.follow([kg.entity_id("a")], ["r", "r"], max_paths_per_entity=3)
    assert reached.keys() == {kg.entity_id("b")} and len(reached[kg.entity_id("b")]) == 3
    assert len(kg.follow([kg.entity_id("a")], ["r", "r"], max_paths_per_entity=10)[kg.entity_id("b")]) == 5
    with pytest.raises(KgAgentError, match="unknown relation 'q'"):
        kg.follow([0], ["q^-1"])


def test_paths_on_the_movie_kg(tiny_kg, ids):
    alien, ford = ids["Alien"], ids["Harrison Ford"]
    assert tiny_kg.paths(alien, ford, max_hops=2) == []
    assert tiny_kg.paths(alien, ford, max_hops=3) == [
        (Step(ALIEN_DIRECTED, True), Step(RUNNER_DIRECTED, False), Step(RUNNER_STARRED, True))]
    assert tiny_kg.paths(ford, alien, max_hops=3)[0][0] == Step(RUNNER_STARRED, False)
    assert tiny_kg.paths(alien, alien) == [] and tiny_kg.paths(alien, ids["Wim Wenders"], 5) == []


Walk = tuple[tuple[int, bool], ...]  # (triple id, forward) per step


def _brute_force_paths(kg: KnowledgeGraph, a: int, b: int, max_hops: int) -> set[Walk]:
    """Every simple path a -> b of at most max_hops edges, walked either way, by plain depth-first search."""
    found: set[Walk] = set()

    def walk(node: int, path: Walk, seen: frozenset[int]) -> None:
        if len(path) == max_hops:
            return
        for t, (h, _, tl) in enumerate(kg.triples.tolist()):
            for forward, src, dst in ((True, h, tl), (False, tl, h)):
                if src == node and dst not in seen:
                    if dst == b:
                        found.add((*path, (t, forward)))
                    else:
                        walk(dst, (*path, (t, forward)), seen | {dst})

    walk(a, (), frozenset({a}))
    return found


@pytest.mark.parametrize("seed", range(4))
def test_paths_match_brute_force_and_come_shortest_first(seed):
    rng = random.Random(seed)
    triples = {(f"e{rng.randrange(14)}", f"r{rng.randrange(3)}", f"e{rng.randrange(14)}") for _ in range(30)}
    kg = KnowledgeGraph.from_triples(sorted(t for t in triples if t[0] != t[2]))
    for _ in range(15):
        a, b = rng.randrange(kg.num_entities), rng.randrange(kg.num_entities)
        for hops in (1, 2, 3):
            got = kg.paths(a, b, hops, limit=10_000)
            assert {tuple((s.triple, s.forward) for s in p) for p in got} == (
                _brute_force_paths(kg, a, b, hops) if a != b else set())
            assert [len(p) for p in got] == sorted(len(p) for p in got)
            assert len(kg.paths(a, b, hops, limit=2)) == min(2, len(got))


def test_subgraph_hops_and_cap(tiny_kg, ids):
    alien = ids["Alien"]
    assert set(tiny_kg.subgraph([alien], hops=1).tolist()) == {ALIEN_DIRECTED, ALIEN_STARRED, ALIEN_YEAR}
    two = tiny_kg.subgraph([alien], hops=2)
    assert set(two.tolist()) == {ALIEN_DIRECTED, ALIEN_STARRED, ALIEN_YEAR, RUNNER_DIRECTED, ALIENS_STARRED}
    assert len(set(two.tolist())) == len(two)  # no triple twice
    capped = tiny_kg.subgraph([alien], hops=3, max_triples=4)
    assert len(capped) == 4 and set(capped.tolist()) <= set(tiny_kg.subgraph([alien], hops=3).tolist())
    assert len(tiny_kg.subgraph([alien], hops=0)) == 0
    assert tiny_kg.subgraph([alien], hops=2).dtype == np.int64


def test_to_networkx(tiny_kg, ids):
    g = tiny_kg.to_networkx()
    assert g.number_of_nodes() == 12 and g.number_of_edges() == 10
    alien, ridley = ids["Alien"], ids["Ridley Scott"]
    assert g.nodes[alien]["label"] == "Alien"
    assert g.edges[alien, ridley, "directed_by"] == {"relation": "directed_by", "triple": ALIEN_DIRECTED}
    part = tiny_kg.to_networkx([ALIEN_DIRECTED, RUNNER_DIRECTED])
    assert set(part.nodes) == {alien, ridley, ids["Blade Runner"]} and part.number_of_edges() == 2
    assert tiny_kg.graph.number_of_edges() == 10


def test_stats(tiny_kg):
    stats = tiny_kg.stats()
    assert (stats["triples"], stats["entities"], stats["relations"], stats["literals"]) == (10, 12, 3, 0)
    assert list(stats["relation_frequencies"].items()) == [
        ("directed_by", 5), ("starred_actors", 3), ("release_year", 2)]
    assert stats["degree"] == {"mean": 20 / 12, "median": 1.5, "max": 3, "isolated": 0}


def test_names_and_triple_text(tiny_kg, ids):
    assert tiny_kg.names(ids["Ridley Scott"]) == ["Ridley Scott", "Sir Ridley Scott"]
    assert tiny_kg.triple_text(RUNNER_STARRED) == ("Blade Runner", "starred_actors", "Harrison Ford")
