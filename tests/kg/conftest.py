"""Fixtures for the kg tests: writers that put the same triples into every supported file format."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

import pytest

EX = "http://example.org/"
Triples = Sequence[tuple[str, str, str]]


def _iri(name: str) -> str:
    return EX + quote(name.replace(" ", "_"), safe="_")


def _rdf(triples: Triples, fmt: str) -> str:
    import rdflib

    g = rdflib.Graph()
    g.bind("ex", EX)
    for h, r, t in triples:
        g.add((rdflib.URIRef(_iri(h)), rdflib.URIRef(EX + r), rdflib.URIRef(_iri(t))))
    return g.serialize(format=fmt)


def _csv(triples: Triples) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["head", "relation", "tail"])
    writer.writerows(triples)
    return buf.getvalue()


# format -> triples as that format's text; RDF entities are IRIs whose local name is the name with "_" for " "
WRITERS: dict[str, Callable[[Triples], str]] = {
    "tsv": lambda ts: "".join(f"{h}\t{r}\t{t}\n" for h, r, t in ts),
    "csv": _csv,
    "pipe": lambda ts: "".join(f"{h}|{r}|{t}\n" for h, r, t in ts),
    "jsonl": lambda ts: "".join(json.dumps({"head": h, "relation": r, "tail": t}) + "\n" for h, r, t in ts),
    "nt": lambda ts: _rdf(ts, "nt"),
    "ttl": lambda ts: _rdf(ts, "turtle"),
    "rdf": lambda ts: _rdf(ts, "xml"),
    "xml": lambda ts: _rdf(ts, "xml"),
}
SUFFIX = {"tsv": ".tsv", "csv": ".csv", "pipe": ".txt", "jsonl": ".jsonl", "nt": ".nt", "ttl": ".ttl",
          "rdf": ".rdf", "xml": ".xml"}


@pytest.fixture
def write_kg(tmp_path: Path) -> Callable[[str, Triples], Path]:
    """``write_kg(format, triples)`` -> a file of that format (extension chosen to match) in ``tmp_path``."""

    def write(fmt: str, triples: Triples, name: str = "kb") -> Path:
        path = tmp_path / f"{name}{SUFFIX[fmt]}"
        path.write_text(WRITERS[fmt](triples), encoding="utf-8")
        return path

    return write


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, str | bytes], Path]:
    """``write_file(name, content)`` -> the path; ``str`` is written as UTF-8, ``bytes`` as they are."""

    def write(name: str, content: str | bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return write


@pytest.fixture
def named_triples() -> Callable[..., set[tuple[str, str, str]]]:
    """``named_triples(kg)``: its triples as ``(label, relation, label)``, "_" read as " " (as the RDF writers
    encode names)."""

    def named(kg) -> set[tuple[str, str, str]]:
        texts = map(kg.triple_text, range(kg.num_triples))
        return {(h.replace("_", " "), r, t.replace("_", " ")) for h, r, t in texts}

    return named


MOVIE_TTL = """\
@prefix ex: <http://example.org/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .

ex:Alien ex:directed_by ex:Ridley_Scott ;
    ex:release_year "1979"^^xsd:gYear ;
    rdfs:label "Alien, le huitième passager"@fr , "Alien"@en ;
    skos:altLabel "Alien (1979)" ;
    rdfs:comment "A 1979 science-fiction horror film."@en .
ex:Ridley_Scott ex:born_in <http://example.org/place#South%20Shields> ;
    skos:prefLabel "Sir Ridley Scott" ;
    rdfs:label "Ridley Scott" .
ex:Blade_Runner ex:directed_by ex:Ridley_Scott ;
    ex:release_year "1982" ;
    ex:homepage "http://example.org/Alien" ;
    ex:budget "" .
"""


@pytest.fixture(scope="session")
def movie_ttl() -> str:
    """A small Turtle KG with labels (two languages), a prefLabel, an altLabel, a comment and literals."""
    return MOVIE_TTL
