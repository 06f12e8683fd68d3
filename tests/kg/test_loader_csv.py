"""The ``csv`` loader: quoting through the csv module, header detection, column choice, line numbers."""

from __future__ import annotations

import pytest

from kgagent.kg import InputError, load_kg


def test_quoted_fields_keep_commas_and_quotes(write_file):
    path = write_file("kb.csv", 'head,relation,tail\n"Paris, Texas",directed_by,Wim Wenders\n'
                                '"The ""Great"" One",has_tags,"a, b"\n')
    kg, report = load_kg(path)
    assert report.format == "csv" and report.triples == 2
    assert kg.triple_text(0) == ("Paris, Texas", "directed_by", "Wim Wenders")
    assert kg.triple_text(1) == ('The "Great" One', "has_tags", "a, b")


def test_no_header_is_data(write_file):
    kg, report = load_kg(write_file("kb.csv", "Alien,directed_by,Ridley Scott\n"))
    assert report.triples == 1 and kg.entities == ["Alien", "Ridley Scott"]


def test_columns_by_name_and_extra_columns(write_file):
    path = write_file("kb.csv", "id, object, predicate, subject, weight\n7,b,r,a,0.5\n")
    kg, _ = load_kg(path, columns=("subject", "predicate", "object"))
    assert kg.triple_text(0) == ("a", "r", "b")


def test_semicolon_delimiter(write_file):
    kg, _ = load_kg(write_file("kb.csv", "a;r;\"b;c\"\n"), delimiter=";")
    assert kg.triple_text(0) == ("a", "r", "b;c")


def test_a_field_over_several_lines_is_an_open_quote(write_file):
    """A name never spans lines: a quoted field that does is a quote left open, which would merge the following
    rows into one name (data lost) if it were accepted."""
    with pytest.raises(InputError, match=r"kb.csv:1: .*quote left open") as err:
        load_kg(write_file("kb.csv", 'a,r,"two\nlines"\nc,r,d\n'))
    assert err.value.line == 1
    with pytest.raises(InputError, match=r"kb.csv:2: .*quote left open"):
        load_kg(write_file("kb.csv", 'a,r,b\nc,r,"d\ne,r,f\ng,r,h\n'))
    with pytest.raises(InputError, match=r"kb.csv:2: a quote left open"):  # open at the very end
        load_kg(write_file("kb.csv", 'a,r,b\nc,r,"d\n'))


def test_empty_quoted_field_is_an_error(write_file):
    with pytest.raises(InputError, match=r"kb.csv:2 \[tail\]: empty tail field"):
        load_kg(write_file("kb.csv", 'a,r,b\nc,r,""\n'))
