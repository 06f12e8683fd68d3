"""Aliases and descriptions side files: matched by entity key (or label), merged with the KG file's own."""

from __future__ import annotations

import logging

from kgagent.kg import load_kg

EX = "http://example.org/"


def test_aliases_and_descriptions_by_key(write_kg, write_file, tiny_triples):
    aliases = write_file("aliases.tsv", "entity\talias\nRidley Scott\tSir Ridley Scott\tR. Scott\n"
                                        "Alien\tAlien (1979)\tAlien\n")
    descriptions = write_file("desc.tsv", "Alien\tA 1979 science-fiction horror film.\n")
    kg, report = load_kg(write_kg("tsv", tiny_triples), aliases=aliases, descriptions=descriptions)
    assert kg.aliases[kg.entity_id("Ridley Scott")] == ["Sir Ridley Scott", "R. Scott"]
    assert kg.aliases[kg.entity_id("Alien")] == ["Alien (1979)"]  # its own name is not repeated as an alias
    assert kg.descriptions == {kg.entity_id("Alien"): "A 1979 science-fiction horror film."}
    assert (report.aliases, report.descriptions) == (2, 1)
    assert kg.names(kg.entity_id("Ridley Scott")) == ["Ridley Scott", "Sir Ridley Scott", "R. Scott"]


def test_rdf_entities_match_by_label_and_merge(write_file, movie_ttl):
    aliases = write_file("aliases.tsv", f"Alien\tAlien 1979\n{EX}Blade_Runner\tBR\n")
    descriptions = write_file("desc.tsv", "Alien\tA film by Ridley Scott.\n")
    kg, _ = load_kg(write_file("movies.ttl", movie_ttl), aliases=aliases, descriptions=descriptions)
    alien = kg.entity_id(EX + "Alien")
    assert kg.aliases[alien] == ["Alien, le huitième passager", "Alien (1979)", "Alien 1979"]
    assert kg.descriptions[alien] == "A film by Ridley Scott."  # the side file overrides rdfs:comment
    assert kg.aliases[kg.entity_id(EX + "Blade_Runner")] == ["Blade Runner", "BR"]


def test_unknown_entities_are_skipped_with_a_warning(write_kg, write_file, tiny_triples, caplog):
    aliases = write_file("aliases.tsv", "Alien\tA\nNobody\tN\n")
    with caplog.at_level(logging.WARNING, logger="kgagent.kg.loaders"):
        kg, report = load_kg(write_kg("tsv", tiny_triples), aliases=aliases)
    assert report.aliases == 1 and not any("N" in v for v in kg.aliases.values())
    assert "aliases.tsv: 1 aliases name no entity" in caplog.text and "line 2, 'Nobody'" in caplog.text
