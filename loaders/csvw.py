"""Curated CSV tables → RDF quads, driven by a CSVW metadata file (one mapping per table, no code per row).

Implements the part of CSV on the Web (https://www.w3.org/TR/tabular-metadata/ and
https://www.w3.org/TR/csv2rdf/) that ``docs/tables.md`` lists, plus two documented extensions: prefixed
names from ``docs/model.md`` in ``propertyUrl``/``valueUrl``/``aboutUrl``, and ``reekg:graphColumn``,
which puts each row's triples in the named graph of the row's first source.

Every triple remembers the CSV cell it came from, so a SHACL result on a subject and predicate can be
reported as ``data/mines.csv:7:country``.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from urllib.parse import quote

from rdflib import Literal, URIRef
from rdflib.namespace import XSD
from rdflib.term import Node

from reekg.errors import LoadError

from .namespaces import Namespaces
from .problems import Place, Problem

Quad = tuple[Node, Node, Node, Node]

_TEMPLATE_VAR = re.compile(r"\{(\+?)([A-Za-z_][A-Za-z0-9_]*)\}")
_UNRESERVED = "-._~"
_RESERVED = ":/?#[]@!$&'()*+,;="


@dataclass
class MappedTables:
    """The quads of all tables, with where each came from."""

    quads: list[Quad] = field(default_factory=list)
    origins: dict[tuple[Node, Node], Place] = field(default_factory=dict)
    subjects: dict[Node, Place] = field(default_factory=dict)
    referrers: dict[Node, Place] = field(default_factory=dict)  # IRI → the first cell that links to it
    rows: Counter = field(default_factory=Counter)


# --- datatypes -------------------------------------------------------------------------------------

def _parse_date(text: str) -> dt.date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError("expected a date as YYYY-MM-DD")
    return dt.date.fromisoformat(text)


def _parse_gyear(text: str) -> str:
    if not re.fullmatch(r"-?\d{4}", text):
        raise ValueError("expected a year as YYYY")
    return text


def _parse_boolean(text: str) -> bool:
    if text not in {"true", "false"}:
        raise ValueError("expected true or false")
    return text == "true"


def _parse_uri(text: str) -> str:
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", text):
        raise ValueError("expected an absolute IRI")
    return text


_PARSERS: dict[str, tuple[Callable[[str], Any], URIRef]] = {
    "string": (str, XSD.string),
    "integer": (int, XSD.integer),
    "decimal": (Decimal, XSD.decimal),
    "boolean": (_parse_boolean, XSD.boolean),
    "date": (_parse_date, XSD.date),
    "gYear": (_parse_gyear, XSD.gYear),
    "anyURI": (_parse_uri, XSD.anyURI),
}


@dataclass(frozen=True)
class Datatype:
    base: str = "string"
    format: str | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None

    @classmethod
    def from_json(cls, spec: Any, where: str) -> Datatype:
        if spec is None:
            return cls()
        if isinstance(spec, str):
            spec = {"base": spec}
        base = spec.get("base", "string")
        if base not in _PARSERS:
            raise ValueError(f"{where}: unsupported datatype {base!r}")
        bound = lambda key: None if spec.get(key) is None else Decimal(str(spec[key]))  # noqa: E731
        return cls(base, spec.get("format"), bound("minimum"), bound("maximum"))

    def literal(self, text: str, lang: str | None) -> Literal:
        """Check ``text`` against this datatype and return the RDF literal; ValueError says why not."""
        parse, xsd = _PARSERS[self.base]
        if self.format and not re.fullmatch(self.format, text):
            raise ValueError(f"does not match the pattern {self.format}")
        try:
            value = parse(text)
        except (ValueError, InvalidOperation) as exc:
            detail = str(exc) if self.base in {"date", "gYear", "boolean", "anyURI"} else ""
            raise ValueError(detail or f"is not a valid xsd:{self.base}") from None
        if isinstance(value, int | Decimal) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                raise ValueError(f"is below the minimum {self.minimum}")
            if self.maximum is not None and value > self.maximum:
                raise ValueError(f"is above the maximum {self.maximum}")
        if self.base == "string":
            return Literal(text, lang=lang) if lang else Literal(text)
        return Literal(text, datatype=xsd)


# --- columns and tables -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Column:
    name: str
    title: str
    datatype: Datatype
    required: bool = False
    nulls: tuple[str, ...] = ("",)
    separator: str | None = None
    lang: str | None = None
    property_url: str | None = None
    value_url: str | None = None
    about_url: str | None = None
    virtual: bool = False
    suppress: bool = False


@dataclass(frozen=True)
class Table:
    url: str
    about_url: str | None
    primary_key: str | None
    graph_column: str | None
    columns: tuple[Column, ...]


def _read_metadata(path: Path) -> tuple[Table, ...]:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise LoadError([Problem(Place(str(path), exc.lineno), f"not valid JSON: {exc.msg}")]) from None
    tables = []
    for t_index, spec in enumerate(meta.get("tables", [])):
        where = f"{path.name}: tables[{t_index}]"
        schema = spec.get("tableSchema", {})
        columns = []
        for c_index, col in enumerate(schema.get("columns", [])):
            name = col.get("name") or col.get("titles")
            if not name:
                raise LoadError([Problem(Place(str(path)), f"{where}.columns[{c_index}] has no name")])
            nulls = col.get("null", "")
            try:
                datatype = Datatype.from_json(col.get("datatype"), f"{where}.{name}")
            except ValueError as exc:
                raise LoadError([Problem(Place(str(path)), str(exc))]) from None
            title = col.get("titles", name)
            columns.append(Column(
                name=name,
                title=title[0] if isinstance(title, list) else title,
                datatype=datatype,
                required=bool(col.get("required", False)),
                nulls=tuple(nulls) if isinstance(nulls, list) else (nulls,),
                separator=col.get("separator"),
                lang=col.get("lang"),
                property_url=col.get("propertyUrl"),
                value_url=col.get("valueUrl"),
                about_url=col.get("aboutUrl"),
                virtual=bool(col.get("virtual", False)),
                suppress=bool(col.get("suppressOutput", False)),
            ))
        primary_key = schema.get("primaryKey")
        tables.append(Table(
            url=spec["url"],
            about_url=schema.get("aboutUrl"),
            primary_key=primary_key[0] if isinstance(primary_key, list) else primary_key,
            graph_column=spec.get("reekg:graphColumn"),
            columns=tuple(columns),
        ))
    return tuple(tables)


class _Expander:
    """URI templates (RFC 6570 levels 1–2) and prefixed names, resolved under one base."""

    def __init__(self, ns: Namespaces):
        self.ns = ns
        self.prefixes = ns.prefixes()

    def iri(self, template: str, cells: dict[str, Any]) -> URIRef | None:
        """Expand a template; None when it needs a cell that is empty (CSVW: no triple)."""
        missing = False

        def substitute(match: re.Match) -> str:
            nonlocal missing
            value = cells.get(match.group(2))
            if value is None:
                missing = True
                return ""
            safe = _UNRESERVED + (_RESERVED if match.group(1) else "")
            return quote(str(value), safe=safe)

        expanded = _TEMPLATE_VAR.sub(substitute, template)
        if missing:
            return None
        return URIRef(self.ns.rebase(self.expand_prefix(expanded)))

    def expand_prefix(self, text: str) -> str:
        prefix, sep, rest = text.partition(":")
        if sep and prefix in self.prefixes and not rest.startswith("//"):
            return self.prefixes[prefix] + rest
        return text


def map_tables(metadata_path: Path, ns: Namespaces, *, display_root: Path | None = None,
               on_row: Callable[[], None] | None = None) -> MappedTables:
    """Map every table the metadata names. Raises LoadError listing every bad cell, header or key."""
    tables = _read_metadata(metadata_path)
    root = metadata_path.parent
    display_root = display_root or root.parent
    expander = _Expander(ns)
    out = MappedTables()
    problems: list[Problem] = []
    for table in tables:
        path = root / table.url
        try:
            shown = str(path.relative_to(display_root))
        except ValueError:
            shown = str(path)
        for problem in _map_table(table, path, shown, expander, out, on_row):
            problems.append(problem)
    if problems:
        raise LoadError(problems, f"{len(problems)} problem(s) in the tables")
    return out


def _map_table(table: Table, path: Path, shown: str, expander: _Expander, out: MappedTables,
               on_row: Callable[[], None] | None) -> Iterator[Problem]:
    if not path.exists():
        yield Problem(Place(shown), "the metadata names this table but the file does not exist")
        return
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        expected = [c.title for c in table.columns if not c.virtual]
        if sorted(header) != sorted(expected):
            missing = [t for t in expected if t not in header]
            extra = [h for h in header if h not in expected]
            yield Problem(Place(shown, 1),
                          f"header does not match the metadata (missing {missing}, unexpected {extra})")
            return
        seen_keys: dict[str, int] = {}
        for record in reader:
            line = reader.line_num
            out.rows[shown] += 1
            if on_row:
                on_row()
            if None in record:  # more fields than the header
                fields = len(header) + len(record[None])
                yield Problem(Place(shown, line), f"row has {fields} fields, header has {len(header)}")
                continue
            cells, literals, bad = _read_cells(table, record, shown, line)
            yield from bad
            if bad:
                continue
            if table.primary_key:
                key = cells.get(table.primary_key)
                if key in seen_keys:
                    yield Problem(Place(shown, line, table.primary_key),
                                  f"duplicate id {key!r} (first on line {seen_keys[key]})")
                    continue
                seen_keys[str(key)] = line
            yield from _emit_row(table, cells, literals, expander, out, shown, line)


def _read_cells(table: Table, record: dict[str, str], shown: str, line: int):
    """Typed values per column: ``cells`` (raw text or list, for templates) and ``literals`` (RDF)."""
    cells: dict[str, Any] = {"_row": line - 1}
    literals: dict[str, list[Literal]] = {}
    problems = []
    for col in table.columns:
        if col.virtual:
            continue
        raw = (record.get(col.title) or "").strip()
        if raw in col.nulls:
            if col.required:
                problems.append(Problem(Place(shown, line, col.name), "a value is required here"))
            continue
        items = [i.strip() for i in raw.split(col.separator)] if col.separator else [raw]
        items = [i for i in items if i not in col.nulls]
        values = []
        for item in items:
            try:
                values.append(col.datatype.literal(item, col.lang))
            except ValueError as exc:
                problems.append(Problem(Place(shown, line, col.name), f"{item!r} {exc}"))
        cells[col.name] = items if col.separator else items[0]
        literals[col.name] = values
    return cells, literals, problems


def _row_graph(table: Table, cells: dict[str, Any], ns: Namespaces) -> URIRef | None:
    """The named graph of the row's first source (the ontology graph for a table without a graph column);
    None when the table places rows by source and this row has none."""
    if not table.graph_column:
        return ns.ontology_graph
    value = cells.get(table.graph_column)
    if isinstance(value, list):
        value = value[0] if value else None
    if value is None:
        return None
    return ns.source_graph(value) if value else ns.ontology_graph


def _column_objects(col: Column, cells: dict[str, Any], scalar_cells: dict[str, Any],
                    literals: dict[str, list[Literal]], expander: _Expander) -> list[Node]:
    """The objects of a column's triples: an IRI per item from ``valueUrl``, else the cell's literals."""
    if not col.value_url:
        return list(literals.get(col.name, []))
    items = cells.get(col.name)
    expanded = (expander.iri(col.value_url, {**scalar_cells, col.name: item})
                for item in (items if isinstance(items, list) else [items]))
    return [obj for obj in expanded if obj is not None]


def _outputs(col: Column, cells: dict[str, Any]) -> bool:
    """Whether the column makes triples in this row: not suppressed, mapped to a property, and not a null cell."""
    return not col.suppress and col.property_url is not None and (col.virtual or col.name in cells)


def _emit_row(table: Table, cells: dict[str, Any], literals: dict[str, list[Literal]], expander: _Expander,
              out: MappedTables, shown: str, line: int) -> Iterator[Problem]:
    graph = _row_graph(table, cells, expander.ns)
    if graph is None:
        yield Problem(Place(shown, line, table.graph_column), "a source is required to place the row's triples")
        return
    scalar_cells = {k: (v[0] if isinstance(v, list) and v else v) for k, v in cells.items()}
    row_subject = expander.iri(table.about_url, scalar_cells) if table.about_url else None
    if row_subject is not None:
        out.subjects.setdefault(row_subject, Place(shown, line))
    for col in table.columns:
        if not _outputs(col, cells):
            continue
        subject = expander.iri(col.about_url, scalar_cells) if col.about_url else row_subject
        predicate = expander.iri(col.property_url, scalar_cells) if subject is not None else None
        if predicate is None:
            continue
        objects = _column_objects(col, cells, scalar_cells, literals, expander)
        if col.value_url and not col.virtual:
            for obj in objects:
                out.referrers.setdefault(obj, Place(shown, line, col.name))
        for obj in objects:
            out.quads.append((subject, predicate, obj, graph))
            out.origins.setdefault((subject, predicate), Place(shown, line, col.name))
