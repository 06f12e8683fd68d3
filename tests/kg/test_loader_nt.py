"""The ``nt`` loader: N-Triples parsed one line at a time (rdflib's parser), duplicates counted."""

from __future__ import annotations

import rdflib

from kgagent.kg import load_kg

EX = "http://example.org/"


def test_same_kg_as_the_turtle_it_was_written_from(write_file, movie_ttl):
    nt = rdflib.Graph().parse(data=movie_ttl, format="turtle").serialize(format="nt")
    from_nt, report = load_kg(write_file("movies.nt", nt))
    from_ttl, _ = load_kg(write_file("movies.ttl", movie_ttl))
    assert report.format == "nt"
    assert _texts(from_nt) == _texts(from_ttl)
    alien_nt, alien_ttl = from_nt.entity_id(EX + "Alien"), from_ttl.entity_id(EX + "Alien")
    assert from_nt.labels[alien_nt] == "Alien"
    # the serializer may reorder statements, so alternative labels may come in another order
    assert set(from_nt.aliases[alien_nt]) == set(from_ttl.aliases[alien_ttl])
    assert from_nt.descriptions[alien_nt] == "A 1979 science-fiction horror film."
    assert int(from_nt.literal.sum()) == 3


def _texts(kg) -> set[tuple[str, str, str]]:
    return {kg.triple_text(i) for i in range(kg.num_triples)}


def test_comments_escapes_duplicates_and_blank_nodes(write_file):
    path = write_file("kb.nt", "# a comment\n"
                               f"<{EX}a> <{EX}r> <{EX}b> .\n"
                               "\n"
                               f'<{EX}a> <{EX}says> "caf\\u00E9 \\"au lait\\""@fr .\n'
                               f"<{EX}a> <{EX}r> <{EX}b> .\n"
                               f"_:n1 <{EX}r> <{EX}a> .\n"
                               f"_:n1 <{EX}r> _:n2 .\n")
    kg, report = load_kg(path)
    assert report.duplicates == 1 and report.triples == 4
    assert kg.has_entity('café "au lait"') and kg.literal[kg.entity_id('café "au lait"')]
    assert kg.has_entity("_:b0") and kg.has_entity("_:b1")  # blank nodes numbered in file order
    assert kg.triple_text(kg.num_triples - 1) == ("_:b0", "r", "_:b1")
