"""The ``ttl`` loader (rdflib): readable labels, aliases, descriptions, literal entities, stable ids."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from kgagent.kg import load_kg

EX = "http://example.org/"


@pytest.fixture
def movie(write_file, movie_ttl):
    return load_kg(write_file("movies.ttl", movie_ttl))


def test_counts_and_annotation_triples_are_not_edges(movie):
    kg, report = movie
    assert report.format == "ttl"
    # 6 edges: the label/altLabel/comment triples are annotations, and the empty literal carries nothing
    assert (report.triples, report.entities, report.relations, report.literals) == (6, 7, 4, 3)
    assert set(kg.relations) == {"directed_by", "release_year", "born_in", "homepage"}


def test_iri_keys_and_readable_labels(movie):
    kg, _ = movie
    alien = kg.entity_id(EX + "Alien")
    assert kg.labels[alien] == "Alien"  # the English rdfs:label wins over the French one
    assert kg.aliases[alien] == ["Alien, le huitième passager", "Alien (1979)"]  # other labels + altLabel
    assert kg.descriptions[alien] == "A 1979 science-fiction horror film."
    ridley = kg.entity_id(EX + "Ridley_Scott")
    assert kg.labels[ridley] == "Sir Ridley Scott"  # skos:prefLabel wins over rdfs:label
    assert kg.aliases[ridley] == ["Ridley Scott"]
    # no label: the local name (after '#', percent-decoded), and the '_'-free spelling as an alias
    assert kg.labels[kg.entity_id(EX + "place#South%20Shields")] == "South Shields"
    runner = kg.entity_id(EX + "Blade_Runner")
    assert kg.labels[runner] == "Blade_Runner" and kg.aliases[runner] == ["Blade Runner"]


def test_literals_are_flagged_entities_keyed_by_lexical_form(movie):
    kg, _ = movie
    year = kg.entity_id("1979")
    assert kg.literal[year] and kg.labels[year] == "1979"
    assert kg.follow([kg.entity_id(EX + "Alien")], ["release_year"]).keys() == {year}
    assert not kg.literal[kg.entity_id(EX + "Alien")]
    # a literal spelled like an IRI of the graph gets a quoted key, so it is a different entity
    quoted = kg.entity_id(f'"{EX}Alien"')
    assert kg.literal[quoted] and kg.labels[quoted] == EX + "Alien" and quoted != kg.entity_id(EX + "Alien")


def test_preferred_language_option(write_file, movie_ttl):
    kg, _ = load_kg(write_file("movies.ttl", movie_ttl), language="fr")
    assert kg.labels[kg.entity_id(EX + "Alien")] == "Alien, le huitième passager"


def test_same_local_name_from_two_namespaces_stays_two_relations(write_file):
    path = write_file("kb.ttl", "@prefix a: <http://a.org/> . @prefix b: <http://b.org/> .\n"
                                "a:x a:name a:y . a:x b:name a:z .\n")
    kg, _ = load_kg(path)
    assert kg.relations == ["name", "name_2"]


def test_blank_nodes_get_stable_keys(write_file):
    kg, _ = load_kg(write_file("kb.ttl", "@prefix ex: <http://example.org/> .\n"
                                         "ex:x ex:knows [ ex:knows ex:y ] .\n"))
    assert "_:b0" in kg.entities and kg.num_triples == 2


def test_ids_do_not_depend_on_hash_seed(write_file, movie_ttl):
    """rdflib's Graph iterates in hash order; the loader must keep the file's order instead."""
    path = write_file("movies.ttl", movie_ttl)
    code = ("import sys; from kg import load_kg; kg, _ = load_kg(sys.argv[1]); "
            "print(kg.entities, kg.relations, kg.triples.tolist(), kg.aliases)")
    outs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run([sys.executable, "-c", code, str(path)], env=env, capture_output=True,
                              text=True, check=True)
        outs.add(done.stdout)
    assert len(outs) == 1
