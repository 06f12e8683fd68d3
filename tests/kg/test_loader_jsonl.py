"""The ``jsonl`` loader: one ``{"head", "relation", "tail"}`` object per line."""

from __future__ import annotations

import pytest

from kgagent.kg import InputError, load_kg
from kgagent.kg.errors import ConfigError


def test_objects_numbers_blank_lines_and_extra_keys(write_file):
    path = write_file("kb.jsonl",
                      '{"head": "Alien", "relation": "release_year", "tail": 1979, "source": "x"}\n'
                      "\n"
                      '{"head": "Amélie", "relation": "has_imdb_rating", "tail": 8.3}\n')
    kg, report = load_kg(path)
    assert report.format == "jsonl" and report.triples == 2
    assert kg.triple_text(0) == ("Alien", "release_year", "1979")
    assert kg.triple_text(1) == ("Amélie", "has_imdb_rating", "8.3")


def test_custom_keys(write_file):
    path = write_file("kb.ndjson", '{"s": "a", "p": "r", "o": "b"}\n')
    kg, _ = load_kg(path, head="s", relation="p", tail="o")
    assert kg.triple_text(0) == ("a", "r", "b")


def test_default_keys_missing_under_custom_names(write_file):
    with pytest.raises(InputError, match=r"kb.jsonl:1 \[head\]: missing key 'head'"):
        load_kg(write_file("kb.jsonl", '{"s": "a", "p": "r", "o": "b"}\n'))


def test_keys_must_differ(write_file):
    with pytest.raises(ConfigError):
        load_kg(write_file("kb.jsonl", '{"s": "a"}\n'), head="s", relation="s", tail="o")


@pytest.mark.parametrize("value", ["true", "null", "[1]", '{"a": 1}'])
def test_non_scalar_values_are_rejected(write_file, value):
    with pytest.raises(InputError, match=r"kb.jsonl:2"):
        load_kg(write_file("kb.jsonl", '{"head": "a", "relation": "r", "tail": "b"}\n'
                                       f'{{"head": "a", "relation": "r", "tail": {value}}}\n'))
