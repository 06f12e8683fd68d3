"""Label-free QA parts: the path similarity to each path's questions, the walk prior, abstention, the lexicon."""

from __future__ import annotations

import numpy as np
import pytest

from kgagent.kg import InputError, KnowledgeGraph
from kgagent.kg.schema import induce_schema
from kgagent.training.qa.config import Fallback, QAConfig
from kgagent.training.qa.ranking import Encoded, Ranker
from kgagent.training.qa_data import mask_mention
from kgagent.training.synthesize import SynthesisConfig, synthesize_questions


@pytest.fixture(scope="module")
def people() -> KnowledgeGraph:
    triples = []
    for i in range(30):
        triples += [(f"Person {i}", "spouse", f"Person {(i + 7) % 30}"),
                    (f"Person {i}", "nationality", f"Country {i % 5}"),
                    (f"Person {i}", "birth_place", f"City {i % 9}"), (f"Person {i}", "employer", f"Company {i % 4}")]
    triples.append(("Person 30", "birth_place", "City 1"))  # knows no spouse, nationality or employer
    return KnowledgeGraph.from_triples(triples)


@pytest.fixture(scope="module")
def scorer(people: KnowledgeGraph):
    from kgagent.retrieval.encoder import TextEncoder
    from kgagent.training.path_scorer import PathScorer

    qs = synthesize_questions(people, 400, config=SynthesisConfig(max_hops=1, seed=0))
    paths = sorted({tuple(q.qtype.split("/")) for q in qs})
    texts = [mask_mention(q.question, q.mention, "[MASK]")[0] for q in qs]
    return PathScorer.fit(TextEncoder(), texts, [tuple(q.qtype.split("/")) for q in qs], paths), paths


@pytest.mark.parametrize(("question", "relation"), [
    ("who is [MASK]'s wife", "spouse"),  # words the synthesized questions never use
    ("who is [MASK] married to", "spouse"),
    ("what nation is [MASK] from", "nationality"),
    ("which company does [MASK] work for", "employer"),
    ("where was [MASK] born", "birth_place"),
])
def test_unseen_wordings_find_their_relation(scorer, question: str, relation: str) -> None:
    ps, paths = scorer
    best = paths[int(ps.similarity([question])[0].argmax())]
    assert best[0].removesuffix("^-1") == relation


def test_prototypes_round_trip(scorer, tmp_path) -> None:
    from kgagent.training.path_scorer import PathScorer

    ps, paths = scorer
    ps.save(tmp_path)
    back = PathScorer.load(tmp_path, len(paths), encoder=ps.encoder)
    np.testing.assert_array_equal(back.prototypes, ps.prototypes)
    assert PathScorer.load(tmp_path / "nothing", len(paths)) is None
    from kgagent.kg.errors import WorkspaceError

    with pytest.raises(WorkspaceError, match="prototypes"):
        PathScorer.load(tmp_path, len(paths) + 1)


def test_prototypes_reuse_the_untrained_qa_encoders_features(scorer) -> None:
    """Before training, the QA encoder (LoRA and fusion start as the identity) gives the sentence encoder's own
    vectors, so the prototypes take them instead of encoding the same questions again."""
    import torch

    from kgagent.training.fused import EncoderConfig, FusedEncoder
    from kgagent.training.path_scorer import PathScorer

    ps, paths = scorer
    texts = ["who is [MASK] married to", "what nation is [MASK] from", "where was [MASK] born"]
    labels = [("spouse",), ("nationality",), ("birth_place",)]
    enc = FusedEncoder(EncoderConfig(finetune="lora", fusion="tokens"), torch.randn(31, 8)).eval()
    with torch.inference_mode():
        batch = enc.tokenize(texts, [[(8, 14, 3)]] * len(texts))
        feats = enc(**batch).numpy()
    assert enc.config.model_path == ps.encoder.name
    ref = ps.encoder.encode(texts)
    np.testing.assert_allclose(feats / np.linalg.norm(feats, axis=1, keepdims=True), ref, atol=1e-5)
    fresh = PathScorer.fit(ps.encoder, texts, labels, paths)
    reused = PathScorer.fit(ps.encoder, texts, labels, paths, vectors={0: feats[0], 2: feats[2]})
    np.testing.assert_allclose(reused.prototypes, fresh.prototypes, atol=1e-5)
    assert not reused.prototypes[paths.index(("employer",))].any()  # a path without questions: zero


def _encoded(ranker: Ranker, topic: int, probs: dict[tuple[str, ...], float]) -> Encoded:
    p = np.full(len(ranker.paths), 1e-6)
    for path, v in probs.items():
        p[ranker.paths.index(path)] = v
    return Encoded((topic,), p / p.sum(), None)


def test_the_walk_prior_reads_a_path_the_right_way_round(people: KnowledgeGraph) -> None:
    paths = [("nationality",), ("nationality^-1",), ("spouse",), ("employer",)]
    ranker = Ranker(people, paths, QAConfig())
    person = people.entity_id("Person 3")
    # the head prefers the inverse reading, which a person cannot walk: the forward one answers
    r = ranker.rank(_encoded(ranker, person, {("nationality^-1",): 0.7, ("nationality",): 0.25}), "none", 0.0)
    assert r.relation_path == ("nationality",) and r.answers[0].label == "Country 3" and not r.missing
    # with a fallback the graph may lack edges: the most likely path is kept as it is
    chosen, missing = ranker.choose(_encoded(ranker, person, {("nationality^-1",): 0.7}), Fallback.SOFT)
    assert chosen[0][0] == ("nationality^-1",) and missing is None


def test_both_walkable_directions_rank_by_their_own_probability() -> None:
    kg = KnowledgeGraph.from_triples([(f"Model {i + 1}", "successor_of", f"Model {i}") for i in range(5)])
    ranker = Ranker(kg, [("successor_of",), ("successor_of^-1",)], QAConfig())
    middle = kg.entity_id("Model 2")  # it has a successor and a predecessor
    for probs, want in (((0.3, 0.7), "Model 3"), ((0.7, 0.3), "Model 1")):
        r = ranker.rank(Encoded((middle,), np.array(probs), None), "none", 0.0)
        assert r.answers[0].label == want and r.answers[0].score > r.answers[1].score


def test_abstains_when_the_topic_lacks_the_asked_relation(people: KnowledgeGraph) -> None:
    paths = [("nationality",), ("birth_place",), ("spouse",)]
    ranker = Ranker(people, paths, QAConfig())
    lonely = people.entity_id("Person 30")
    enc = _encoded(ranker, lonely, {("nationality",): 0.9, ("birth_place",): 0.05})
    ranker.abstain_ratio = 0.2
    r = ranker.rank(enc, "none", 0.0)
    assert r.missing and r.answers == [] and r.relation_path == ("nationality",)  # not the birth place instead
    assert ranker.rank(enc, "none", 0.0, ratio=0.01).answers[0].label == "City 1"  # a looser ratio answers
    # "blocked" pretends the asked step is missing: how abstention is measured on the held-out split
    person = people.entity_id("Person 4")
    assert ranker.rank(_encoded(ranker, person, {("nationality",): 0.9}), "none", 0.0, blocked="nationality").missing


def test_the_lexicon_enters_synthesized_questions(people: KnowledgeGraph) -> None:
    schema = induce_schema(people, lexicon={"spouse": ["husband or wife", "married to"]})
    qs = synthesize_questions(people, 300, config=SynthesisConfig(max_hops=1, seed=1), schema=schema)
    spouse = [q.question for q in qs if q.qtype.startswith("spouse")]
    assert any("husband or wife" in q or "married to" in q for q in spouse)
    assert any("spouse" in q for q in spouse)  # the relation's own name stays


def test_a_lexicon_naming_no_relation_is_an_error(people: KnowledgeGraph) -> None:
    from kgagent.training.qa import train_qa

    with pytest.raises(InputError, match="lexicon"):
        train_qa(people, [], kge=None, synthesize=10, lexicon={"spuose": ["wife"]})


def test_path_search_is_breadth_first_and_bounded() -> None:
    from kgagent.training.qa_paths import PathIndex, label_paths

    # a dense graph: 12 entities, 40 relations, each relation a shuffled ring (paths explode with length)
    rng = np.random.default_rng(0)
    triples = [(f"e{i}", f"r{r}", f"e{j}") for r in range(40)
               for i, j in enumerate(rng.permutation(12))]
    kg = KnowledgeGraph.from_triples(triples)
    index = PathIndex(kg)
    paths = [p for p, _ in index.enumerate([0], max_hops=3, budget=500)]
    assert len(paths) == 500 and [len(p) for p in paths] == sorted(len(p) for p in paths)
    assert sum(len(p) == 1 for p in paths) == len({p for p in paths if len(p) == 1})  # every one-step path first
    gold = index.execute([0], ("r3", "r5^-1"))
    (label,) = label_paths(kg, [([0], gold.tolist())], budget=2_000)
    # on a graph this dense a shorter path often reaches the same entity: every label reaches exactly the gold
    assert label.f1 == 1.0 and all(set(index.execute([0], p).tolist()) == set(gold.tolist()) for p in label.paths)
