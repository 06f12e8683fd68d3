"""Schema induction: relation names in every common style, stored inverse twins, answer types and question words."""

from __future__ import annotations

import pytest

from kgagent.kg import KnowledgeGraph
from kgagent.kg.schema import induce_schema, relation_name


@pytest.mark.parametrize(("name", "kind", "noun", "domain", "inverse"), [
    ("directed_by", "passive", "directed", None, False),
    ("has_genre", "noun", "genre", None, False),
    ("releaseYear", "noun", "release year", None, False),
    ("http://example.org/onto#inLanguage", "noun", "language", None, False),
    ("https://schema.example/vocab/birthPlace", "noun", "birth place", None, False),
    ("isCapitalOf", "of", "capital", None, False),
    ("/film/film/cinematographer", "noun", "cinematographer", "film", False),
    ("film.film.cinematographer", "noun", "cinematographer", "film", False),
    ("__film__cinematographer__film", "noun", "film", "cinematographer", False),
    ("treats", "verb", "treats", None, False),
    ("interacts_with", "verb", "interacts with", None, False),
    ("exports3", "verb", "exports", None, False),
    ("parent_of_inverse", "of", "parent", None, True),
    ("child_of^-1", "of", "child", None, True),
    ("starred_actors", "noun", "starred actors", None, False),
    ("located-in", "state", "located", None, False),
    ("isLocatedIn", "state", "located", None, False),
    ("wasBornIn", "state", "born", None, False),
    ("compatible_with", "state", "compatible", None, False),
    ("actedIn", "verb", "acted in", None, False),  # an intransitive past, not a state
    ("is_a", "type", "type", None, False),
    ("rdf:type", "type", "type", None, False),
])
def test_relation_names_in_any_style(name: str, kind: str, noun: str, domain: str | None, inverse: bool) -> None:
    r = relation_name(name)
    assert (r.kind, r.noun, r.domain, r.inverse) == (kind, noun, domain, inverse)


def test_states_and_verbs_with_objects() -> None:
    colour = relation_name("available_in_colour")
    assert (colour.noun, colour.prep, colour.obj) == ("available", "in", "colour")
    warranty = relation_name("covered_by_warranty")
    assert (warranty.kind, warranty.prep, warranty.obj) == ("state", "by", "warranty")
    assert relation_name("directed_by").kind == "passive"  # "by" with no object: a passive
    assert relation_name("offers_service").obj == "service"
    assert relation_name("graduatedFrom").past and relation_name("graduatedFrom").verb == "graduate from"


def test_verb_base_form() -> None:
    assert relation_name("treats").verb == "treat"
    assert relation_name("interacts_with").verb == "interact with"
    assert relation_name("diagnoses").verb == "diagnose"


def _people_kg() -> KnowledgeGraph:
    triples = []
    for i in range(12):
        p, q = f"Person {i}", f"Person {(i + 1) % 12}"
        triples += [(p, "parentOf", q), (q, "parentOf_inverse", p),  # stored in both directions
                    (p, "bornIn", f"City {i % 3}"), (p, "birthYear", str(1950 + i)),
                    (p, "rdf:type", "Person"), (f"City {i % 3}", "rdf:type", "City"),
                    (f"Film {i}", "directed_by", p)]
    return KnowledgeGraph.from_triples(triples, literals=[str(1950 + i) for i in range(12)])


def test_twins_are_found_in_the_data_and_the_inverse_named_one_folds() -> None:
    schema = induce_schema(_people_kg())
    assert schema.twins == {"parentOf_inverse": "parentOf"}
    assert schema.canonical("parentOf_inverse") == "parentOf^-1"
    assert schema.canonical("parentOf_inverse^-1") == "parentOf"
    assert schema.canonical("bornIn") == "bornIn"


def test_twins_by_data_alone_and_not_for_look_alikes() -> None:
    # "follows" is "followedBy" read backwards though neither name says so; "likes" has the same count only
    triples = [(f"u{i}", "follows", f"u{i + 1}") for i in range(10)]
    triples += [(f"u{i + 1}", "followedBy", f"u{i}") for i in range(10)]
    triples += [(f"u{i}", "likes", f"u{(i * 3) % 10}") for i in range(10)]
    schema = induce_schema(KnowledgeGraph.from_triples(triples))
    assert len(schema.twins) == 1 and set(next(iter(schema.twins.items()))) == {"follows", "followedBy"}


def test_answer_types_and_question_words() -> None:
    schema = induce_schema(_people_kg())
    assert schema.type_relations == ("rdf:type",)
    assert schema.steps["birthYear"].qword == "when" and schema.steps["birthYear"].literal == "year"
    assert schema.steps["bornIn"].nouns[0] == "city"  # the class that rdf:type names
    assert schema.steps["parentOf"].nouns[0] == "person"
    assert schema.steps["directed_by"].qword == "who"  # a passive "by" relation reaches its agent
    assert schema.steps["directed_by^-1"].qword == "what"


def test_twin_search_is_bounded() -> None:
    # many relations of equal size: the comparisons stop at the budget instead of growing quadratically
    triples = [(f"e{i}", f"rel_{r}", f"e{i + 1}") for r in range(300) for i in range(3)]
    kg = KnowledgeGraph.from_triples(triples)
    assert induce_schema(kg, max_pairs=500).comparisons == 500
    assert induce_schema(kg).comparisons == 20_000 < 300 * 299 // 2  # the default budget, not all pairs


@pytest.mark.parametrize(("noun", "person"), [
    ("actor", True), ("starred actors", True), ("writers", True), ("people", True), ("parents", True),
    ("genres", False), ("numbers", False), ("cities", False), ("languages", False), ("boss", False)])
def test_person_nouns_singular_and_plural(noun: str, person: bool) -> None:
    from kgagent.kg.schema import is_person_noun

    assert is_person_noun(noun) is person


def test_who_is_sure_only_with_a_person_word() -> None:
    kg = KnowledgeGraph.from_triples([("Film 1", "directed_by", "Ann Lee"), ("Phone 1", "powered_by", "Chip 9"),
                                      ("Film 1", "starred_actors", "Bo Chan")])
    steps = induce_schema(kg).steps
    assert (steps["directed_by"].qword, steps["directed_by"].guessed) == ("who", False)  # a person verb
    assert (steps["starred_actors"].qword, steps["starred_actors"].guessed) == ("who", False)  # a person noun
    assert (steps["powered_by"].qword, steps["powered_by"].guessed) == ("who", True)  # passive: only a guess


def test_entity_names_tell_a_class() -> None:
    triples = []
    for i, city in enumerate(["Lisbon", "Milan", "Oslo", "Porto"]):
        triples += [(f"Acme Store {city}", "located_in", city), (f"Phone {i}", "stocked_at", f"Acme Store {city}"),
                    (f"Phone {i}", "made_by", "Acme"), (f"Phone {i}", "has_price", f"{100 + i} USD")]
    steps = induce_schema(KnowledgeGraph.from_triples(triples)).steps
    assert steps["stocked_at"].nouns[0] == "store"  # "Acme" leads the names: a brand, not a class
    assert steps["located_in^-1"].nouns[0] == "store"
    assert not steps["has_price"].nouns or steps["has_price"].nouns[0] != "usd"  # a unit is no class
    assert not steps["located_in"].nouns  # city names share no word
