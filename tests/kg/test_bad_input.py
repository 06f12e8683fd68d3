"""Every kind of bad input: an ``InputError`` whose one-line message names the file and the line."""

from __future__ import annotations

import pytest

from kgagent.kg import InputError, load_kg

GOOD_TSV = "a\tr\tb\n"
MB = 1 << 20
XML_HEAD = '<?xml version="1.0"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" ' \
           'xmlns:ex="http://example.org/">\n'

# id, file name, content (None: no file), load_kg keywords, expected line (None: none), message fragment
CASES = [
    ("missing file", "kb.tsv", None, {}, None, "not found"),
    ("empty file", "kb.tsv", b"", {}, None, "is empty"),
    ("blank lines only", "kb.tsv", b"\n  \n\t\n", {}, None, "no triples found in 3 line"),
    ("header only", "kb.csv", b"head,relation,tail\n", {}, None, "no triples"),
    ("tsv too few columns", "kb.tsv", b"a\tr\tb\nc\tr\n", {}, 2, "wrong column count: expected 3, got 2"),
    ("tsv too many columns", "kb.tsv", b"a\tr\tb\tx\n", {}, 1, "expected 3, got 4"),
    ("wrong delimiter", "kb.dat", b"a\tr\tb\n", {"format": "pipe"}, 1, "the line has tabs"),
    ("csv quote left open", "kb.csv", b'a,r,b\n"c,r,d\ne,r,f\n', {}, 2, "quote left open"),
    ("empty relation", "kb.tsv", b"a\tr\tb\nc\t\tb\n", {}, 2, "empty relation field"),
    ("blank tail", "kb.txt", b"a|r|b\na|r|  \n", {}, 2, "empty tail field"),
    ("invalid utf-8", "kb.txt", b"a|r|b\nc|r|\xff\n", {}, 2, "invalid UTF-8 (byte 0xff at column 5)"),
    ("truncated utf-8", "kb.tsv", b"a\tr\tb\nc\tr\td\n\xc3(\tr\tb\n", {}, 3, "invalid UTF-8"),
    ("line over 1 MB", "kb.tsv", b"a\tr\tb\n" + b"x" * (MB + 1) + b"\tr\tb\n", {}, 2, "longer than 1 MB"),
    ("1 MB without newline", "kb.tsv", b"y" * (MB + 5), {}, 1, "longer than 1 MB"),
    ("csv column name absent", "kb.csv", b"head,relation,tail\na,r,b\n", {"columns": "s,p,o"}, 1,
     "no column named 's'"),
    ("csv header without roles", "kb.csv", b"head,relation,foo,bar\na,r,b,c\n", {}, 1, "say which hold"),
    ("csv column index too big", "kb.csv", b"a,r,b\n", {"columns": (0, 1, 5)}, 1, "column 5"),
    ("nt bad literal", "kb.nt", b'<http://e/a> <http://e/r> <http://e/b> .\n<http://e/a> <http://e/r> "x .\n',
     {}, 2, "invalid N-Triples"),
    ("nt missing dot", "kb.nt", b"\n<http://e/a> <http://e/r> <http://e/b>\n", {}, 2, "invalid N-Triples"),
    ("nt invalid utf-8", "kb.nt", b'<http://e/a> <http://e/r> "caf\xe9" .\n', {}, 1, "invalid UTF-8"),
    ("ttl unbound prefix", "kb.ttl", b"@prefix ex: <http://e/> .\nex:a ex:r ex:b .\nfoo:a ex:r ex:b .\n", {},
     3,
     "not bound"),
    ("ttl extra term", "kb.ttl", b"@prefix ex: <http://e/> .\n\nex:a ex:r ex:b ex:c .\n", {}, 3,
     "invalid turtle"),
    ("ttl invalid utf-8", "kb.ttl", b"@prefix ex: <http://e/> .\nex:a ex:r \"\xff\" .\n", {}, 2,
     "invalid UTF-8"),
    ("rdf/xml mismatched tag", "kb.rdf", XML_HEAD.encode() + b"<rdf:Description>\n</rdf:RDFx>\n", {}, 4,
     "mismatched tag"),
    ("rdf/xml two objects", "kb.rdf", XML_HEAD.encode() + b'<rdf:Description rdf:about="http://e/x">\n'
     b"<ex:p><ex:q/><ex:r/></ex:p></rdf:Description>\n</rdf:RDF>\n", {}, 4, "invalid xml"),
    ("jsonl bad json", "kb.jsonl", b'{"head": "a", "relation": "r", "tail": "b"}\n{"head": "a",\n', {}, 2,
     "invalid JSON"),
    ("jsonl missing key", "kb.jsonl",
     b'{"head": "a", "relation": "r", "tail": "b"}\n{"head": "a", "relation": "r"}\n',
     {}, 2, "missing key 'tail'"),
    ("jsonl not an object", "kb.jsonl", b'["a", "r", "b"]\n', {}, 1, "expected a JSON object"),
    ("jsonl empty head", "kb.jsonl", b'{"head": " ", "relation": "r", "tail": "b"}\n', {}, 1,
     "empty head field"),
    ("unknown extension", "kb.parquet", GOOD_TSV.encode(), {}, None, "pass --format"),
    ("unknown format", "kb.tsv", GOOD_TSV.encode(), {"format": "parquet"}, None, "unknown format 'parquet'"),
]


@pytest.mark.parametrize(("name", "content", "kwargs", "line", "fragment"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_kg_file(tmp_path, name, content, kwargs, line, fragment):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(InputError) as err:
        load_kg(path, **kwargs)
    message = str(err.value)
    assert fragment in message
    assert message.startswith(str(path) + (f":{line}" if line else "")), message
    assert err.value.path == str(path) and err.value.line == line
    assert "\n" not in message and len(message) < 400  # one readable line, never a dump of the file


# side files: which one is bad, its content, expected line, fragment
SIDE_CASES = [
    ("aliases one column", "aliases", b"a\tA1\nb\n", 2, "wrong column count"),
    ("aliases empty alias", "aliases", b"a\t\tA2\n", 1, "empty field in column 2"),
    ("aliases invalid utf-8", "aliases", b"a\tA\xe9\n", 1, "invalid UTF-8"),
    ("aliases empty file", "aliases", b"", None, "is empty"),
    ("aliases header only", "aliases", b"entity\talias\n", None, "no aliases found"),
    ("descriptions three columns", "descriptions", b"a\ttext\tmore\n", 1, "expected 2"),
    ("descriptions empty text", "descriptions", b"a\tdesc\nb\t \n", 2, "empty field"),
    ("descriptions missing", "descriptions", None, None, "not found"),
]


@pytest.mark.parametrize(("kind", "content", "line", "fragment"), [c[1:] for c in SIDE_CASES],
                         ids=[c[0] for c in SIDE_CASES])
def test_bad_side_file(tmp_path, kind, content, line, fragment):
    kb = tmp_path / "kb.tsv"
    kb.write_text(GOOD_TSV, encoding="utf-8")
    side = tmp_path / f"{kind}.tsv"
    if content is not None:
        side.write_bytes(content)
    with pytest.raises(InputError) as err:
        load_kg(kb, **{kind: side})
    message = str(err.value)
    assert fragment in message and message.startswith(str(side) + (f":{line}" if line else "")), message
    assert err.value.line == line
