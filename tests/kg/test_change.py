"""Graph changes: ``add_triples``/``remove_triples`` keep ids stable; ``GraphChange`` maps old triples to new ones;
``extend_embeddings`` keeps old rows and estimates new ones from their neighbours."""

from __future__ import annotations

import numpy as np
import pytest

from kgagent.kg import GraphChange, KnowledgeGraph

BASE = [("Alien", "directed_by", "Ridley Scott"), ("Alien", "release_year", "1979"),
        ("Gladiator", "directed_by", "Ridley Scott"), ("Titanic", "directed_by", "James Cameron")]
NEW = [("Arrival", "directed_by", "Denis Villeneuve"), ("Arrival", "starred_actors", "Amy Adams"),
       ("Alien", "directed_by", "Ridley Scott"),  # already present
       ("Dune", "directed_by", "Denis Villeneuve")]


@pytest.fixture
def base() -> KnowledgeGraph:
    return KnowledgeGraph.from_triples(BASE, aliases={"Ridley Scott": ["Sir Ridley"]}, literals=["1979"])


def test_add_keeps_ids_and_appends(base: KnowledgeGraph) -> None:
    delta = KnowledgeGraph.from_triples(NEW, aliases={"Amy Adams": ["Amy Lou Adams"], "Alien": ["Alien (1979)"]},
                                        descriptions={"Arrival": "A 2016 film."})
    new = base.add_triples(delta)
    assert new.entities[: base.num_entities] == base.entities
    assert new.relations == [*base.relations, "starred_actors"]
    np.testing.assert_array_equal(new.triples[: base.num_triples], base.triples)
    assert new.num_triples == base.num_triples + 3  # the duplicate is skipped
    assert new.entities[base.num_entities:] == ["Arrival", "Denis Villeneuve", "Amy Adams", "Dune"]
    assert new.aliases[new.entity_id("Amy Adams")] == ["Amy Lou Adams"]
    assert new.aliases[new.entity_id("Alien")] == ["Alien (1979)"]  # an existing entity gains an alias
    assert new.aliases[new.entity_id("Ridley Scott")] == ["Sir Ridley"]
    assert new.descriptions[new.entity_id("Arrival")] == "A 2016 film."
    assert new.literal[new.entity_id("1979")] and not new.literal[new.entity_id("Dune")]
    assert set(new.follow([new.entity_id("Denis Villeneuve")], ["directed_by^-1"])) == \
        {new.entity_id("Arrival"), new.entity_id("Dune")}
    assert base.num_triples == 4 and base.num_entities == 6  # the original graph is not changed


def test_remove_round_trip_and_change_map(base: KnowledgeGraph) -> None:
    delta = KnowledgeGraph.from_triples(NEW)
    added = base.add_triples(delta)
    change = GraphChange.between(base, added)
    assert change.kept.tolist() == [0, 1, 2, 3]
    assert change.added.tolist() == [4, 5, 6]
    assert change.new_relations == ["starred_actors"] and list(change.new_entities) == [6, 7, 8, 9]

    back = added.remove_triples(KnowledgeGraph.from_triples(NEW[:2] + NEW[3:]))
    np.testing.assert_array_equal(back.triples, base.triples)
    assert back.entities == added.entities  # ids stay; the new entities are left without triples
    assert sorted(back.degrees()[base.num_entities:]) == [0, 0, 0, 0]
    change = GraphChange.between(added, back)
    assert change.removed.tolist() == [4, 5, 6] and change.orphaned.tolist() == [6, 7, 8, 9]


def test_remove_renumbers_later_triples(base: KnowledgeGraph) -> None:
    new = base.remove_triples(KnowledgeGraph.from_triples([BASE[1], ("Nope", "directed_by", "Nobody")]))
    change = GraphChange.between(base, new)
    assert change.kept.tolist() == [0, -1, 1, 2]
    assert base.find_triples(KnowledgeGraph.from_triples([BASE[3], BASE[0]])).tolist() == [0, 3]
    assert not GraphChange.between(base, base.remove_triples(KnowledgeGraph.from_triples([("x", "y", "z")]))).changed


def test_between_rejects_unrelated_graphs(base: KnowledgeGraph) -> None:
    from kgagent.kg.errors import KgAgentError

    with pytest.raises(KgAgentError, match="ids"):
        GraphChange.between(base, KnowledgeGraph.from_triples(NEW))


def test_extend_embeddings_keeps_old_rows_and_uses_neighbours(tmp_path) -> None:
    from kgagent.kg.embeddings import KGEConfig, KGEmbeddings, train_embeddings
    from kgagent.kg.kge_extend import extend_embeddings

    base = KnowledgeGraph.from_triples([(f"p{i}", rel, f"p{(i + k) % 8}") for i in range(8)
                                        for rel, k in (("next", 1), ("prev", 7), ("partner", 4))])
    cfg = KGEConfig(model="ComplEx", dim=4, epochs=2, early_stopping=False, batch_size=32, eval_batch_size=16)
    kge = train_embeddings(base, config=cfg, out_dir=tmp_path / "kge", progress=False).embeddings
    new = base.add_triples(KnowledgeGraph.from_triples(
        [("q", "next", "p0"), ("q", "prev", "p1"), ("q", "has_tag", "tag"), ("lone", "other", "island")]))
    ext = extend_embeddings(kge, GraphChange.between(base, new))
    ext.check(new)
    ev = ext.entity_vectors  # (n_e, 2 * dim): complex parts
    np.testing.assert_array_equal(ev[: base.num_entities], kge.entity_vectors)
    np.testing.assert_array_equal(ext.relation_vectors[: base.num_relations], kge.relation_vectors)
    assert ext.relation_vectors.shape[0] == new.num_relations == base.num_relations + 2
    # a new entity with old neighbours: their mean; one reached only through a new entity: estimated next round
    want = kge.entity_vector([base.entity_id("p0"), base.entity_id("p1")]).mean(0)
    np.testing.assert_allclose(ev[new.entity_id("q")], want, rtol=1e-5)
    np.testing.assert_allclose(ev[new.entity_id("tag")], ev[new.entity_id("q")], rtol=1e-5)
    assert ext.info["extended"][-1]["without_neighbours"] == 2  # "lone" and "island" touch no known entity
    ext.save(tmp_path / "kge2")
    again = KGEmbeddings.load(tmp_path / "kge2")
    again.check(new)
    assert np.isfinite(again.score(new.entity_id("q"), new.relation_id("has_tag"), [new.entity_id("tag")])).all()
