"""KG file loaders: one registry of formats, one front door (:func:`load_kg`), strict validation.

Every loader streams its file line by line through :func:`iter_lines`, which checks UTF-8 and line length and
counts lines, so a bad file is reported as ``file:line: what is wrong`` (:class:`~kg.errors.InputError`).

>>> kg, report = load_kg("kb.txt")  # doctest: +SKIP
>>> report.as_dict()["triples"]  # doctest: +SKIP
133582

Adding a format is one entry: ``LOADERS["myfmt"] = my_loader`` (a callable ``(path, **options) -> ParsedKG``),
plus ``EXTENSIONS[".ext"] = "myfmt"`` to pick it by extension.
"""

from __future__ import annotations

import codecs
import csv
import json
import logging
import math
import re
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import unquote

from kgagent.kg.config import make_config
from kgagent.kg.errors import ConfigError, InputError
from kgagent.kg.graph import INVERSE, KnowledgeGraph, inverse_message

log = logging.getLogger(__name__)

MAX_LINE_BYTES = 1 << 20  # a longer line is almost surely not a triple file (or a wrong delimiter)
ROLES = ("head", "relation", "tail")


# ----------------------------------------------------------------- results
@dataclass
class ParsedKG:
    """A loader's output: string triples (duplicates kept, to be counted) and annotations by entity key."""

    triples: list[tuple[str, str, str]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)
    literals: set[str] = field(default_factory=set)
    lines: int = 0  # physical lines read


@dataclass(frozen=True)
class LoadReport:
    """What :func:`load_kg` found; ``as_dict()`` is what ``kgagent kg load`` prints and records."""

    path: str
    format: str
    triples: int  # distinct triples kept
    duplicates: int  # repeated triples dropped
    entities: int
    relations: int
    literals: int  # entities that are RDF literal values
    seconds: float
    aliases: int = 0  # entities with at least one alias
    descriptions: int = 0  # entities with a description

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Loader(Protocol):
    """A format: parse ``path`` (with format-specific keyword options) into a :class:`ParsedKG`."""

    def __call__(self, path: Path, **options: Any) -> ParsedKG: ...


# ----------------------------------------------------------------- streaming lines
def iter_lines(path: Path, *, desc: str | None = None) -> Iterator[tuple[int, str]]:
    """Yield ``(line_number, text)`` (1-based, newline removed) of a UTF-8 file, with a progress bar.

    Raises :class:`InputError` at the first invalid UTF-8 byte or line longer than ``MAX_LINE_BYTES``.
    Reads each line with a size cap, so a file without newlines never gets loaded whole.
    """
    from tqdm.auto import tqdm

    size = path.stat().st_size
    with open(path, "rb") as f, tqdm(total=size, unit="B", unit_scale=True, leave=False, disable=None,
                                     desc=desc or f"reading {path.name}") as bar:
        n = done = 0
        while raw := f.readline(MAX_LINE_BYTES + 2):
            n += 1
            done += len(raw)
            if not n & 0x3FFF:  # refresh every 16k lines: tqdm per line would cost more than the parsing
                bar.update(done - bar.n)
            if raw.endswith(b"\n"):
                raw = raw[:-2] if raw.endswith(b"\r\n") else raw[:-1]
            if len(raw) > MAX_LINE_BYTES:
                raise InputError(f"line longer than {MAX_LINE_BYTES // (1 << 20)} MB; is this a triple file?",
                                 path=path, line=n)
            if n == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise InputError(f"invalid UTF-8 (byte 0x{raw[e.start]:02x} at column {e.start + 1}); "
                                 "save the file as UTF-8", path=path, line=n) from None
            yield n, text
        bar.update(done - bar.n)


# ----------------------------------------------------------------- names
# NUL, C0/C1 control characters (a terminal escape sequence starts with ESC or CSI), DEL and lone surrogates: in a
# name they rewrite terminals, break tables and cannot be saved as UTF-8. Descriptions keep newlines and tabs.
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_TEXT = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def check_name(text: str, *, path: Path, line: int | None = None, field: str = "name") -> str:
    """``text`` when it is a usable name; else an :class:`InputError` naming the character, file and line."""
    m = _BAD_NAME.search(text)
    if m:
        raise InputError(f"control character U+{ord(m.group()):04X} in the {field} {text[:40]!a} (NULs and "
                         "terminal escape sequences are not allowed in names)", path=path, line=line, field=field)
    return text


def check_triple(h: str, r: str, t: str, *, path: Path, line: int | None = None) -> None:
    """Names of one triple are usable, and the relation is not written like an inverse step."""
    if _BAD_NAME.search(h + r + t):
        for role, text in zip(ROLES, (h, r, t), strict=True):
            check_name(text, path=path, line=line, field=role)
    if r.endswith(INVERSE):
        raise InputError(inverse_message(r), path=path, line=line, field="relation")


def clean_text(text: str) -> str:
    """A description without control characters (newlines and tabs kept)."""
    return _BAD_TEXT.sub("", text) if _BAD_TEXT.search(text) else text


# ----------------------------------------------------------------- delimited text: tsv, csv, pipe
_ROLE_NAMES = {
    "head": {"head", "h", "subject", "s", "source", "src", "from", "head_entity", "subject_label"},
    "relation": {"relation", "r", "predicate", "p", "rel", "relation_type", "edge", "property", "type"},
    "tail": {"tail", "t", "object", "o", "target", "dst", "to", "tail_entity", "object_label"},
}
_HEADER_NAMES = set().union(*_ROLE_NAMES.values())


def _norm(cell: str) -> str:
    return cell.strip().strip("#:").strip().lower().replace(" ", "_").replace("-", "_")


@dataclass
class DelimitedOptions:
    """Options of the ``tsv``/``csv``/``pipe`` loaders.

    ``columns`` picks the head, relation and tail columns, as 0-based indices or header names
    (``(0, 2, 1)``, ``"subject,predicate,object"``). By default a header with recognizable names says which
    column is which; else the first three columns are used, and every row must have exactly three fields.
    """

    delimiter: str | None = None  # None: the format's own (tab, comma, |)
    columns: Sequence[int | str] | str | None = None
    header: bool | None = None  # None: a first row with known names (head/relation/tail...) is a header

    def __post_init__(self) -> None:
        if self.delimiter is not None:
            if self.delimiter in ("\\t", "tab"):
                self.delimiter = "\t"
            if len(self.delimiter) != 1 or self.delimiter in "\r\n\"":
                raise ConfigError(f"delimiter: one character, not a quote or newline: {self.delimiter!r}")
        if self.columns is not None:
            cols = self.columns.split(",") if isinstance(self.columns, str) else list(self.columns)
            parsed: list[int | str] = []
            for c in cols:
                if isinstance(c, str):
                    c = c.strip()
                    c = int(c) if c.isdigit() else c
                if (isinstance(c, int) and c < 0) or c == "":
                    raise ConfigError(f"columns: {c!r} is not a column index (>= 0) or header name")
                parsed.append(c)
            if len(parsed) != 3 or len(set(parsed)) != 3:
                raise ConfigError(f"columns: need 3 distinct ones (head, relation, tail): {self.columns!r}")
            if self.header is False and any(isinstance(c, str) for c in parsed):
                raise ConfigError("columns: header names given but header=False")
            self.columns = tuple(parsed)


class DelimitedLoader:
    """Delimited triples, one per line; ``quoted`` uses the csv module (quotes, fields spanning lines)."""

    def __init__(self, delimiter: str, *, quoted: bool = False) -> None:
        self.delimiter = delimiter
        self.quoted = quoted

    def __call__(self, path: Path, **options: Any) -> ParsedKG:
        opts = make_config(DelimitedOptions, options, where=f"{path}: loader options")
        delim = opts.delimiter or self.delimiter
        out = ParsedKG()
        rows = self._rows(path, delim, out)
        first = next(rows, None)
        if first is None:
            return out
        n0, cells0 = first
        header = opts.header
        if header is None:
            hits = sum(_norm(c) in _HEADER_NAMES for c in cells0)
            named = isinstance(opts.columns, tuple) and any(isinstance(c, str) for c in opts.columns)
            stripped = [c.strip() for c in cells0]
            header = hits >= 2 or (named and all(c in stripped for c in opts.columns if isinstance(c, str)))
        cols, width = self._columns(path, opts, cells0 if header else None, len(cells0), n0)
        hi, ri, ti = cols
        triples = out.triples
        append = triples.append
        if not header:
            rows = _chain(first, rows)
        for n, cells in rows:
            if len(cells) != width:
                raise InputError(f"wrong column count: expected {width}, got {len(cells)}"
                                 + _delimiter_hint(delim, cells), path=path, line=n)
            h, r, t = cells[hi].strip(), cells[ri].strip(), cells[ti].strip()
            if not (h and r and t):
                role = ROLES[(h, r, t).index("")]
                raise InputError(f"empty {role} field", path=path, line=n, field=role)
            if "\n" in h or "\n" in r or "\n" in t:  # csv: a quoted field spans lines
                raise InputError("a quoted field runs over several lines from here: is a quote left open?",
                                 path=path, line=n)
            check_triple(h, r, t, path=path, line=n)
            append((h, r, t))
        return out

    def _rows(self, path: Path, delim: str, out: ParsedKG) -> Iterator[tuple[int, list[str]]]:
        """Non-blank rows as ``(line_number, cells)``; counts lines into ``out.lines``."""
        lines = iter_lines(path)
        if self.quoted:
            counted = _Counted(lines, out)
            reader = csv.reader(counted, delimiter=delim, strict=True)  # strict: a quote open at the end fails
            start = 1  # a quoted field may span lines: report the line where the record starts
            try:
                for cells in reader:
                    if cells and any(c.strip() for c in cells):
                        yield start, cells
                    start = counted.n + 1
            except csv.Error as e:
                if "end of data" in str(e):  # strict mode: the file ends inside quotes opened in this record
                    raise InputError("a quote left open: the quoted field starting here is never closed",
                                     path=path, line=start) from None
                raise InputError(f"invalid CSV: {e}", path=path, line=counted.n) from None
            return
        for n, line in lines:
            out.lines = n
            if line and not line.isspace():
                yield n, line.split(delim)

    @staticmethod
    def _columns(path: Path, opts: DelimitedOptions, header: list[str] | None, width: int,
                 line: int) -> tuple[tuple[int, int, int], int]:
        """(head, relation, tail) column indices and the expected row width."""
        if opts.columns is None:
            if header is not None:
                names = [_norm(c) for c in header]
                found = [next((i for i, c in enumerate(names) if c in _ROLE_NAMES[role]), None)
                         for role in ROLES]
                if None not in found and len(set(found)) == 3:
                    return (found[0], found[1], found[2]), width
                if width != 3:
                    raise InputError(f"the header has {width} columns; say which hold head, relation, tail "
                                     "with columns= (--columns)", path=path, line=line, field="columns")
            return (0, 1, 2), 3
        idx: list[int] = []
        names = [h.strip() for h in header] if header is not None else []
        for c in opts.columns:
            if isinstance(c, str):
                if c not in names:
                    raise InputError(f"no column named {c!r} in the header {names or '(none)'}", path=path,
                                     line=line, field="columns")
                idx.append(names.index(c))
            else:
                if c >= width:
                    raise InputError(f"column {c} asked for, but the first row has {width} columns",
                                     path=path, line=line, field="columns")
                idx.append(c)
        return (idx[0], idx[1], idx[2]), width


class _Counted:
    """Feeds lines (with newlines) to ``csv.reader`` and remembers the last line number read."""

    def __init__(self, lines: Iterator[tuple[int, str]], out: ParsedKG) -> None:
        self.lines, self.out, self.n = lines, out, 0

    def __iter__(self) -> Iterator[str]:
        for n, line in self.lines:
            self.n = self.out.lines = n
            yield line + "\n"


Row = tuple[int, list[str]]  # (line number, cells)


def _chain(first: Row, rest: Iterator[Row]) -> Iterator[Row]:
    yield first
    yield from rest


def _delimiter_hint(delim: str, cells: list[str]) -> str:
    if any("\n" in c for c in cells):
        return " (a quoted field runs over several lines from here: is a quote left open?)"
    if len(cells) != 1:
        return ""
    candidates = (("\t", "tabs"), ("|", "'|'"), (",", "commas"), (";", "';'"))
    seen = [name for d, name in candidates if d in cells[0]]
    return f" (delimiter is {delim!r}; the line has {seen[0]}: try --format or delimiter=)" if seen else ""


# ----------------------------------------------------------------- JSON lines
@dataclass
class JsonLinesOptions:
    """Options of the ``jsonl`` loader: the keys that hold the head, relation and tail."""

    head: str = "head"
    relation: str = "relation"
    tail: str = "tail"

    def __post_init__(self) -> None:
        if len({self.head, self.relation, self.tail}) != 3:
            raise ConfigError("head/relation/tail: the three keys must differ")


def load_jsonl(path: Path, **options: Any) -> ParsedKG:
    """One JSON object per line: ``{"head": ..., "relation": ..., "tail": ...}`` (numbers allowed)."""
    opts = make_config(JsonLinesOptions, options, where=f"{path}: loader options")
    keys = (opts.head, opts.relation, opts.tail)
    out = ParsedKG()
    for n, line in iter_lines(path):
        out.lines = n
        if not line or line.isspace():
            continue
        try:
            obj = json.loads(line, parse_constant=_no_constant)
        except json.JSONDecodeError as e:
            raise InputError(f"invalid JSON: {e.msg} (column {e.colno})", path=path, line=n) from None
        except RecursionError:
            raise InputError("invalid JSON: nested too deeply", path=path, line=n) from None
        if not isinstance(obj, dict):
            raise InputError(f"expected a JSON object with keys {', '.join(keys)}", path=path, line=n)
        values = []
        for role, key in zip(ROLES, keys, strict=True):
            v = obj.get(key)
            if v is None:
                raise InputError(f"missing key {key!r}", path=path, line=n, field=key)
            if isinstance(v, bool) or not isinstance(v, str | int | float):
                raise InputError(f"{role} must be a string or number, got {type(v).__name__}", path=path,
                                 line=n, field=key)
            if isinstance(v, float) and not math.isfinite(v):
                raise InputError(f"{role} is {v}, not a name or a finite number", path=path, line=n, field=key)
            v = str(v).strip()
            if not v:
                raise InputError(f"empty {role} field", path=path, line=n, field=key)
            values.append(v)
        check_triple(values[0], values[1], values[2], path=path, line=n)
        out.triples.append((values[0], values[1], values[2]))
    return out


def _no_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a name or a finite number", name, 0)


# ----------------------------------------------------------------- RDF: nt, ttl, rdf/xml (rdflib)
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
# annotation predicate -> (what it gives, preference rank among its kind); these are not KG edges
ANNOTATIONS: dict[str, tuple[str, int]] = {
    SKOS + "prefLabel": ("label", 0),
    RDFS + "label": ("label", 1),
    SKOS + "altLabel": ("alias", 0),
    RDFS + "comment": ("description", 0),
}


@dataclass
class RdfOptions:
    """Options of the RDF loaders: the preferred language of labels and descriptions."""

    language: str = "en"

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*", self.language):
            raise ConfigError(f"language: not a language tag: {self.language!r}")


class RdfLoader:
    """RDF through rdflib. IRIs keep their IRI as key and get a readable label; literals become entities."""

    def __init__(self, rdflib_format: str) -> None:
        self.rdflib_format = rdflib_format

    def __call__(self, path: Path, **options: Any) -> ParsedKG:
        opts = make_config(RdfOptions, options, where=f"{path}: loader options")
        out = ParsedKG()
        statements = self._ntriples(path, out) if self.rdflib_format == "nt" else self._document(path, out)
        _rdf_to_parsed(statements, opts, out)
        for h, r, t in out.triples:  # rdflib unescapes \u001b and the like: check what it produced
            check_triple(h, r, t, path=path)
        for k, label in out.labels.items():
            check_name(label, path=path, field=f"label of {k[:60]}")
        for k, names in out.aliases.items():
            for a in names:
                check_name(a, path=path, field=f"alias of {k[:60]}")
        out.descriptions = {k: clean_text(v) for k, v in out.descriptions.items()}
        return out

    @staticmethod
    def _ntriples(path: Path, out: ParsedKG) -> list[tuple[Any, Any, Any]]:
        """Parse N-Triples one line at a time, so an error carries its line and duplicates can be counted."""
        from rdflib.exceptions import ParserError
        from rdflib.plugins.parsers.ntriples import W3CNTriplesParser

        sink = _Sink()
        parser = W3CNTriplesParser(sink=sink)
        for n, line in iter_lines(path):
            out.lines = n
            parser.line = line
            try:
                parser.parseline()
            except ParserError as e:
                msg = str(e)
                if msg.startswith("Failed to eat"):  # rdflib names the regex it tried; the text is what helps
                    msg = f"cannot parse {msg.rsplit(' at ', 1)[-1]!r}"
                raise InputError(f"invalid N-Triples: {_short(msg)}", path=path, line=n) from None
        return sink.rows

    def _document(self, path: Path, out: ParsedKG) -> Iterable[tuple[Any, Any, Any]]:
        """Turtle / RDF-XML: validated lines joined and parsed by rdflib; its errors translated to lines."""
        import xml.sax

        import rdflib
        from rdflib.exceptions import Error as RdflibError

        class _Recorder(rdflib.Graph):
            """Keeps statements in parse order (a Graph's own order follows hashing, so ids would vary)."""

            def __init__(self) -> None:
                super().__init__()
                self.rows: list[tuple[Any, Any, Any]] = []

            def add(self, triple: Any) -> _Recorder:
                self.rows.append(triple)
                return self

            def addN(self, quads: Iterable[Any]) -> _Recorder:  # rdflib's name
                self.rows.extend(q[:3] for q in quads)
                return self

        lines = [line for _, line in iter_lines(path)]
        out.lines = len(lines)
        last = max((i + 1 for i, line in enumerate(lines) if line.strip()), default=1)  # last non-blank line
        if self.rdflib_format == "xml":
            _refuse_entities(path, lines)
        graph = _Recorder()
        try:
            graph.parse(data="\n".join(lines), format=self.rdflib_format, publicID=path.resolve().as_uri())
        except xml.sax.SAXParseException as e:
            raise InputError(f"invalid RDF/XML: {e.getMessage()}", path=path,
                             line=e.getLineNumber()) from None
        except SyntaxError as e:  # rdflib's notation3 BadSyntax: 0-based line in .lines, reason in ._why
            line = getattr(e, "lines", None)
            why = getattr(e, "_why", None) or str(e)
            # past the end: the parser counts the line it would read next
            line = min(line + 1, last) if isinstance(line, int) else None
            raise InputError(f"invalid {self.rdflib_format}: {_short(why)}", path=path, line=line) from None
        except (IndexError, AssertionError):  # rdflib's turtle parser runs off the end of a cut-off statement
            raise InputError(f"invalid {self.rdflib_format}: the file ends inside a statement or a quoted "
                             "literal (cut off, or a quote left open)", path=path, line=last) from None
        except (AttributeError, TypeError, KeyError) as e:  # rdflib's own failure on malformed input ("?\0")
            raise InputError(f"invalid {self.rdflib_format}: the parser could not read it ({type(e).__name__}); "
                             "check the file's syntax", path=path) from None
        except (RdflibError, ValueError) as e:
            m = re.search(r":(\d+):\d+:", str(e))  # RDF/XML errors embed "source:line:column:"
            raise InputError(f"invalid {self.rdflib_format}: {_short(str(e))}", path=path,
                             line=int(m.group(1)) if m else None) from None
        return graph.rows


# A DTD can declare entities that expand to each other (billion laughs: a kilobyte file, hours of CPU) or read
# local files (external entities). RDF/XML has no need of either, so declarations are refused before parsing.
_DECLARATION = re.compile(r"<!(DOCTYPE|ENTITY)\b", re.IGNORECASE)


def _refuse_entities(path: Path, lines: list[str]) -> None:
    for n, line in enumerate(lines, start=1):
        m = _DECLARATION.search(line)
        if m:
            raise InputError(f"RDF/XML with a <!{m.group(1).upper()}> declaration is refused (entity expansion "
                             "can exhaust the machine or read local files); remove the DTD", path=path, line=n)


class _Sink:
    def __init__(self) -> None:
        self.rows: list[tuple[Any, Any, Any]] = []

    def triple(self, s: Any, p: Any, o: Any) -> None:
        self.rows.append((s, p, o))


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def local_name(iri: str) -> str:
    """The readable end of an IRI: after ``#``, else after the last ``/`` (or ``:``), percent-decoded."""
    stripped = iri.rstrip("/#")
    for sep in ("#", "/", ":"):
        i = stripped.rfind(sep)
        if i >= 0 and i < len(stripped) - 1:
            return unquote(stripped[i + 1:])
    return unquote(stripped) or iri


def _lang_rank(lang: str | None, preferred: str) -> int:
    if lang and lang.lower().split("-")[0] == preferred.lower().split("-")[0]:
        return 0
    return 1 if not lang else 2


def _rdf_to_parsed(statements: Iterable[tuple[Any, Any, Any]], opts: RdfOptions, out: ParsedKG) -> None:
    """RDF terms -> string triples, appended to ``out``.

    Keys: IRIs as they are, blank nodes ``_:b<i>`` in first-seen order, literals their lexical form (quoted
    when that equals a resource key). Label/altLabel/comment triples become annotations, not edges.
    """
    from rdflib import BNode, Literal

    term_kinds: dict[type, int] = {}  # type -> 0 IRI, 1 blank node, 2 literal: isinstance via ABCs is slow

    def kind(node: Any) -> int:
        k = term_kinds.get(type(node))
        if k is None:
            k = term_kinds[type(node)] = 2 if isinstance(node, Literal) else int(isinstance(node, BNode))
        return k

    bnodes: dict[Any, str] = {}

    def key(node: Any) -> str:
        if kind(node) == 1:
            k = bnodes.get(node)
            if k is None:
                k = bnodes[node] = f"_:b{len(bnodes)}"
            return k
        return str(node)

    label_cands: dict[str, list[tuple[tuple[int, int, int], str]]] = {}
    desc_cands: dict[str, tuple[tuple[int, int], str]] = {}
    aliases: dict[str, list[str]] = {}
    resources: dict[str, None] = {}  # IRI/blank-node keys in first-seen order, so the output order is stable
    edges: list[tuple[str, str, str, bool]] = []  # (head key, predicate, tail key or lexical form, literal?)
    seq = 0
    for s, p, o in statements:
        pred, is_literal = str(p), kind(o) == 2
        ann = ANNOTATIONS.get(pred)
        if ann is not None and is_literal:
            what, rank = ann
            k, text = key(s), str(o).strip()
            if not text:
                continue
            lang = _lang_rank(o.language, opts.language)
            if what == "label":
                seq += 1
                label_cands.setdefault(k, []).append(((rank, lang, seq), text))
            elif what == "alias":
                aliases.setdefault(k, []).append(text)
            elif k not in desc_cands or (rank, lang) < desc_cands[k][0]:
                desc_cands[k] = ((rank, lang), text)
            continue
        h = key(s)
        resources[h] = None
        if is_literal:
            edges.append((h, pred, str(o), True))
        else:
            t = key(o)
            resources[t] = None
            edges.append((h, pred, t, False))

    rel_names = _relation_names(p for _, p, _, _ in edges)
    triples = out.triples
    for h, p, t, is_literal in edges:
        if is_literal:
            if not t.strip():
                continue  # an empty literal carries no fact worth an entity
            lex, t = t, f'"{t}"' if t in resources else t  # literal keys never collide with IRIs
            out.literals.add(t)
            out.labels.setdefault(t, lex)
        triples.append((h, rel_names[p], t))

    for k in resources:
        cands = label_cands.get(k)
        if cands:
            cands.sort()
            label = cands[0][1]
            extra = [text for _, text in cands[1:]]
        elif k.startswith("_:"):
            label, extra = k, []
        else:
            label = local_name(k)
            spaced = label.replace("_", " ")
            extra = [spaced] if spaced != label else []  # "Ridley_Scott" is also found as "Ridley Scott"
        out.labels[k] = label
        names = [a for a in dict.fromkeys([*extra, *aliases.get(k, ())]) if a != label]
        if names:
            out.aliases[k] = names
    out.descriptions.update({k: text for k, (_, text) in desc_cands.items()})


def _relation_names(predicates: Iterable[str]) -> dict[str, str]:
    """Predicate IRI -> its local name; a second IRI with the same local name gets ``_2``, ``_3``..."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for p in predicates:
        if p in names:
            continue
        base = name = local_name(p)
        i = 1
        while name in taken:
            i += 1
            name = f"{base}_{i}"
        if name != base:
            log.warning("predicates %s and another share the local name %r; using %r", p, base, name)
        names[p] = name
        taken.add(name)
    return names


# ----------------------------------------------------------------- registry
LOADERS: dict[str, Loader] = {
    "tsv": DelimitedLoader("\t"),
    "csv": DelimitedLoader(",", quoted=True),
    "pipe": DelimitedLoader("|"),
    "jsonl": load_jsonl,
    "nt": RdfLoader("nt"),
    "ttl": RdfLoader("turtle"),
    "rdf": RdfLoader("xml"),
    "xml": RdfLoader("xml"),
}
EXTENSIONS: dict[str, str] = {
    ".tsv": "tsv", ".tab": "tsv", ".csv": "csv", ".txt": "pipe", ".jsonl": "jsonl", ".ndjson": "jsonl",
    ".nt": "nt", ".ttl": "ttl", ".turtle": "ttl", ".rdf": "rdf", ".owl": "rdf", ".xml": "xml",
}


def resolve_format(path: str | Path, format: str | None = None) -> str:
    """The loader name for ``path``: ``format`` when given, else by extension.

    A ``.txt`` file is ``pipe`` (MetaQA's ``s|r|o``) unless its first line has tabs and no ``|``.
    """
    path = Path(path)
    if format is not None:
        name = format.lower().lstrip(".")
        if name not in LOADERS:
            raise InputError(f"unknown format {format!r}; known: {', '.join(LOADERS)}", path=path,
                             field="format")
        return name
    ext = path.suffix.lower()
    if ext not in EXTENSIONS:
        raise InputError(f"cannot tell the format from the extension {ext or '(none)'!r}; "
                         f"pass --format, one of: {', '.join(LOADERS)}", path=path)
    name = EXTENSIONS[ext]
    if ext == ".txt" and path.is_file():
        with open(path, "rb") as f:
            first = f.readline(64 * 1024)
        if b"\t" in first and b"|" not in first:
            name = "tsv"
    return name


def _check_file(path: Path, what: str = "KG file") -> None:
    if not path.exists():
        raise InputError(f"{what} not found", path=path)
    if not path.is_file():
        raise InputError(f"{what} is not a regular file", path=path)
    if path.stat().st_size == 0:
        raise InputError(f"{what} is empty", path=path)


# ----------------------------------------------------------------- aliases / descriptions side files
def read_side_file(path: str | Path, kind: str) -> list[tuple[int, str, list[str]]]:
    """Rows ``(line, entity, values)`` of an aliases (``entity<TAB>alias...``) or descriptions
    (``entity<TAB>description``) file. A first row ``entity<TAB>alias``/``description`` is a header."""
    if kind not in ("aliases", "descriptions"):
        raise ValueError(f"kind must be 'aliases' or 'descriptions', not {kind!r}")
    path = Path(path)
    _check_file(path, f"{kind} file")
    rows: list[tuple[int, str, list[str]]] = []
    for n, line in iter_lines(path):
        if not line or line.isspace():
            continue
        cells = [c.strip() for c in line.split("\t")]
        if not rows and n <= 1 and _norm(cells[0]) in ("entity", "key", "id") and len(cells) > 1 \
                and _norm(cells[1]) in ("alias", "aliases", "description", "descriptions"):
            continue
        if len(cells) < 2 or (kind == "descriptions" and len(cells) != 2):
            want = "2 (entity<TAB>description)" if kind == "descriptions" \
                else "at least 2 (entity<TAB>alias...)"
            raise InputError(f"wrong column count: expected {want}, got {len(cells)}", path=path, line=n)
        if "" in cells:
            raise InputError(f"empty field in column {cells.index('') + 1}", path=path, line=n)
        if kind == "descriptions":
            cells[1] = clean_text(cells[1])
        for c in cells[: 1 if kind == "descriptions" else None]:
            check_name(c, path=path, line=n, field="entity" if c is cells[0] else "alias")
        rows.append((n, cells[0], cells[1:]))
    if not rows:
        raise InputError(f"no {kind} found", path=path)
    return rows


def _apply_side_file(kg: KnowledgeGraph, path: Path, kind: str) -> None:
    """Attach aliases/descriptions by entity key (or, failing that, by label); unknown entities are logged."""
    by_label: dict[str, int] = {}
    for i, lab in enumerate(kg.labels):
        by_label.setdefault(lab, i)
    unknown: list[tuple[int, str]] = []
    for n, name, values in read_side_file(path, kind):
        i = kg.entity_id(name) if kg.has_entity(name) else by_label.get(name)
        if i is None:
            unknown.append((n, name))
            continue
        if kind == "descriptions":
            kg.descriptions[i] = values[0]
        else:
            have = kg.names(i)
            new = [v for v in dict.fromkeys(values) if v not in have]
            if new:
                kg.aliases.setdefault(i, []).extend(new)
    if unknown:
        log.warning("%s: %d %s name no entity of the KG (first: line %d, %r)", path, len(unknown), kind,
                    *unknown[0])


# ----------------------------------------------------------------- front door
def load_kg(
    path: str | Path,
    *,
    format: str | None = None,
    aliases: str | Path | None = None,
    descriptions: str | Path | None = None,
    **options: Any,
) -> tuple[KnowledgeGraph, LoadReport]:
    """Load and validate a KG file into a :class:`KnowledgeGraph`.

    ``format`` is a key of :data:`LOADERS` (default: by extension); ``options`` go to that loader (for
    ``tsv``/``csv``/``pipe``: ``delimiter``, ``columns``, ``header``). Duplicate triples are dropped, counted.
    Bad input raises :class:`~kg.errors.InputError` naming the file and line.
    """
    t0 = time.perf_counter()
    path = Path(path)
    _check_file(path)
    name = resolve_format(path, format)
    side = [(Path(p), kind) for p, kind in ((aliases, "aliases"), (descriptions, "descriptions"))
            if p is not None]
    for p, kind in side:  # fail before the (long) parse, not after
        _check_file(p, f"{kind} file")
    parsed = LOADERS[name](path, **options)
    if not parsed.triples:
        raise InputError(f"no triples found in {parsed.lines} line(s)", path=path)
    kg = KnowledgeGraph.from_triples(parsed.triples, labels=parsed.labels, aliases=parsed.aliases,
                                     descriptions=parsed.descriptions, literals=parsed.literals)
    for p, kind in side:
        _apply_side_file(kg, p, kind)
    report = LoadReport(
        path=str(path), format=name, triples=kg.num_triples, duplicates=len(parsed.triples) - kg.num_triples,
        entities=kg.num_entities, relations=kg.num_relations, literals=int(kg.literal.sum()),
        seconds=round(time.perf_counter() - t0, 3), aliases=len(kg.aliases),
        descriptions=len(kg.descriptions),
    )
    if report.duplicates:
        log.info("%s: dropped %d duplicate triple(s)", path, report.duplicates)
    return kg, report
