"""The ``tsv`` loader: tab-separated triples, header detection, column choice, PyKEEN's shipped datasets."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from kgagent.kg import InputError, load_kg
from kgagent.kg.errors import ConfigError


def test_loads_triples_with_ids_in_first_seen_order(write_kg, tiny_triples):
    kg, report = load_kg(write_kg("tsv", tiny_triples))
    assert report.format == "tsv"
    assert kg.entities[:3] == ["Alien", "Ridley Scott", "Blade Runner"]
    assert kg.relations == ["directed_by", "starred_actors", "release_year"]
    assert kg.triple_text(0) == ("Alien", "directed_by", "Ridley Scott")
    assert (report.triples, report.entities, report.relations, report.duplicates) == (10, 12, 3, 0)
    assert report.literals == 0 and kg.labels == kg.entities


def test_duplicates_are_dropped_and_counted(write_file):
    path = write_file("kb.tsv", "a\tr\tb\nc\tr\td\na\tr\tb\na\tr\tb\n")
    kg, report = load_kg(path)
    assert kg.num_triples == 2 and report.duplicates == 2
    np.testing.assert_array_equal(kg.triples, [[0, 0, 1], [2, 0, 3]])


def test_crlf_bom_whitespace_and_blank_lines(write_file):
    path = write_file("kb.tsv", b"\xef\xbb\xbfa \t r\t b\r\n\r\n\nc\tr\td\r\n\n")
    kg, _ = load_kg(path)
    assert kg.entities == ["a", "b", "c", "d"] and kg.relations == ["r"]


@pytest.mark.parametrize("header", ["head\trelation\ttail", "subject\tpredicate\tobject", "h\tr\tt"])
def test_header_is_detected(write_file, header):
    kg, report = load_kg(write_file("kb.tsv", f"{header}\na\tr\tb\n"))
    assert report.triples == 1 and kg.entities == ["a", "b"]


def test_header_names_the_columns_in_any_order(write_file):
    kg, _ = load_kg(write_file("kb.tsv", "tail\trelation\thead\nb\tr\ta\n"))
    assert kg.triple_text(0) == ("a", "r", "b")


def test_header_false_keeps_a_header_like_first_row(write_file):
    kg, report = load_kg(write_file("kb.tsv", "head\trelation\ttail\na\tr\tb\n"), header=False)
    assert report.triples == 2 and kg.triple_text(0) == ("head", "relation", "tail")


def test_columns_by_index_pick_from_wider_rows(write_file):
    path = write_file("kb.tsv", "1\ta\t0.9\tb\tr\n2\tc\t0.1\td\tr\n")
    kg, _ = load_kg(path, columns=(1, 4, 3))
    assert [kg.triple_text(i) for i in range(2)] == [("a", "r", "b"), ("c", "r", "d")]


def test_columns_by_header_name(write_file):
    path = write_file("kb.tsv", "id\tsrc_name\tweight\tdst_name\tkind\n1\ta\t0.9\tb\tr\n")
    kg, _ = load_kg(path, columns="src_name,kind,dst_name")
    assert kg.triple_text(0) == ("a", "r", "b")


def test_wider_rows_without_columns_name_the_line(write_file):
    with pytest.raises(InputError, match=r"kb.tsv:1: wrong column count: expected 3, got 4"):
        load_kg(write_file("kb.tsv", "a\tr\tb\t0.5\n"))


@pytest.mark.parametrize("options", [{"columns": "0,1"}, {"columns": (0, 0, 1)},
                                     {"columns": "a,b,c", "header": False}, {"delimiter": "::"},
                                     {"delimter": ","}])
def test_bad_options_are_config_errors(write_file, options):
    with pytest.raises(ConfigError):
        load_kg(write_file("kb.tsv", "a\tr\tb\n"), **options)


def test_delimiter_option(write_file):
    kg, _ = load_kg(write_file("kb.tsv", "a;r;b\n"), delimiter=";")
    assert kg.triple_text(0) == ("a", "r", "b")


def _pykeen_file(name: str) -> Path:
    spec = importlib.util.find_spec("pykeen")
    assert spec is not None and spec.submodule_search_locations
    return Path(spec.submodule_search_locations[0]) / "datasets" / name / "train.txt"


@pytest.mark.parametrize(("name", "triples", "entities", "relations"),
                         [("umls", 5216, 135, 46), ("kinships", 8544, 104, 25), ("nations", 1592, 14, 55)])
def test_pykeen_datasets_load_as_user_tsv(name, triples, entities, relations):
    path = _pykeen_file(name)
    kg, report = load_kg(path, format="tsv")
    assert (report.triples, report.entities, report.relations) == (triples, entities, relations)
    # independent check: the file's distinct rows, read with nothing but str.split
    rows = {tuple(line.split("\t")) for line in path.read_text(encoding="utf-8").splitlines() if line}
    assert {kg.triple_text(i) for i in range(kg.num_triples)} == rows


def test_txt_with_tabs_is_read_as_tsv(write_file):
    kg, report = load_kg(write_file("train.txt", "a\tr\tb\n"))
    assert report.format == "tsv" and kg.triple_text(0) == ("a", "r", "b")
