"""The ``rdf``/``xml`` loaders: RDF/XML through rdflib gives the same KG as the same graph in Turtle."""

from __future__ import annotations

import pytest
import rdflib

from kgagent.kg import load_kg

EX = "http://example.org/"


@pytest.mark.parametrize(("name", "fmt"),
                         [("movies.rdf", "rdf"), ("movies.xml", "xml"), ("movies.owl", "rdf")])
def test_same_kg_as_turtle(write_file, movie_ttl, name, fmt):
    xml = rdflib.Graph().parse(data=movie_ttl, format="turtle").serialize(format="xml")
    kg, report = load_kg(write_file(name, xml))
    ref, _ = load_kg(write_file("movies.ttl", movie_ttl))
    assert report.format == fmt
    texts = [set(map(g.triple_text, range(g.num_triples))) for g in (kg, ref)]
    assert texts[0] == texts[1]
    for key in (EX + "Alien", EX + "Ridley_Scott", "1979"):
        i, j = kg.entity_id(key), ref.entity_id(key)
        assert (kg.labels[i], set(kg.aliases.get(i, ())), kg.descriptions.get(i), kg.literal[i]) == \
            (ref.labels[j], set(ref.aliases.get(j, ())), ref.descriptions.get(j), ref.literal[j])


def test_relative_iris_resolve_against_the_file(write_file):
    doc = ('<?xml version="1.0"?>\n'
           '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:ex="http://example.org/">\n'
           '  <rdf:Description rdf:about="#Alien">\n'
           '    <ex:directed_by rdf:resource="#Ridley_Scott"/>\n'
           "  </rdf:Description>\n"
           "</rdf:RDF>\n")
    path = write_file("kb.rdf", doc)
    kg, _ = load_kg(path)
    assert kg.entities == [path.resolve().as_uri() + "#Alien", path.resolve().as_uri() + "#Ridley_Scott"]
    assert kg.triple_text(0) == ("Alien", "directed_by", "Ridley_Scott")
