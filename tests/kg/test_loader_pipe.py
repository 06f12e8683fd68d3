"""The ``pipe`` loader: MetaQA's ``subject|relation|object`` lines, the default for ``.txt``."""

from __future__ import annotations

import pytest

from kgagent.kg import InputError, load_kg

METAQA_LINES = (
    "Kismet|directed_by|William Dieterle\n"
    "Kismet|has_tags|bd-r\n"
    "Flags of Our Fathers|release_year|2006\n"
    "Paris, Texas|directed_by|Wim Wenders\n"
    '"Weird Al" Yankovic Live!|starred_actors|"Weird Al" Yankovic\n'
)


def test_txt_defaults_to_pipe(write_file):
    kg, report = load_kg(write_file("kb.txt", METAQA_LINES))
    assert report.format == "pipe" and report.triples == 5 and report.relations == 4
    assert kg.triple_text(3) == ("Paris, Texas", "directed_by", "Wim Wenders")
    assert kg.triple_text(4) == ('"Weird Al" Yankovic Live!', "starred_actors", '"Weird Al" Yankovic')
    assert kg.has_entity("2006") and not kg.literal.any()


def test_spaces_around_pipes_are_trimmed(write_file):
    kg, _ = load_kg(write_file("kb.txt", "Alien | directed_by | Ridley Scott\n"))
    assert kg.triple_text(0) == ("Alien", "directed_by", "Ridley Scott")


def test_explicit_format_for_any_extension(write_file):
    kg, report = load_kg(write_file("kb.dat", "a|r|b\n"), format="pipe")
    assert report.format == "pipe" and kg.num_triples == 1


def test_a_name_with_a_pipe_is_reported_at_its_line(write_file):
    with pytest.raises(InputError, match=r"kb.txt:2: wrong column count: expected 3, got 4"):
        load_kg(write_file("kb.txt", "a|r|b\nAC|DC|r|b\n"))
