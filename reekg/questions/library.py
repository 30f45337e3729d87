"""The library of named SPARQL queries (``reekg/questions/sparql/*.rq``), parsed once and bound safely.

Each file starts with a comment header::

    # title: Which elements serve each function?
    # param function: iri (optional) — a reekg:Function; all functions when absent
    # param year: gYear = 2024 — the data year

After the header, each file declares every prefix it uses (``PREFIX reekg: <https://w3id.org/reekg/ontology#>``),
so a saved query runs as written in any client (Jena, rdflib, YASGUI), with nothing predeclared; the IRIs are
written under the default base and moved to the configured one by :func:`library`.

Parameters are bound as typed RDF terms through pyoxigraph's ``substitutions`` (SEP-0007), never by
string formatting, so a hostile value can only ever be a value. pyoxigraph binds a variable only where
it is in scope of the projection, so every parameter a query takes must also be projected (or appear
in a sub-select that projects it); :func:`Query.bind` checks that a parameter name exists.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import pyoxigraph as ox

from reekg.errors import ReekgError
from reekg.loaders.namespaces import Namespaces
from reekg.terms import with_values

_PARAM = re.compile(
    r"^#\s*param\s+(?P<name>\w+)\s*:\s*(?P<kind>\w+)"
    r"(?:\s*=\s*(?P<default>\S+))?(?P<optional>\s*\(optional\))?\s*(?:[—-]+\s*(?P<help>.*))?$")
_XSD = "http://www.w3.org/2001/XMLSchema#"


class QueryParameterError(ReekgError, ValueError):
    """A parameter value that cannot be bound as its declared kind."""

    status = 400

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(f"{name}: {message}", errors=[{"parameter": name, "message": message}])


@dataclass(frozen=True)
class Parameter:
    name: str
    kind: str  # iri | string | integer | decimal | date | gYear | boolean
    default: str | None = None
    optional: bool = False
    help: str = ""

    def term(self, value: Any) -> ox.NamedNode | ox.Literal:
        text = str(value)
        if self.kind == "iri":
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s<>\"{}|\\^`]*", text):
                raise QueryParameterError(self.name, f"{text[:80]!r} is not an IRI")
            return ox.NamedNode(text)
        if self.kind == "string":
            return ox.Literal(text)
        checks = {
            "integer": r"[+-]?\d+", "decimal": r"[+-]?(\d+(\.\d*)?|\.\d+)", "date": r"\d{4}-\d{2}-\d{2}",
            "gYear": r"-?\d{4}", "boolean": r"true|false",
        }
        if self.kind not in checks:
            raise QueryParameterError(self.name, f"unknown parameter kind {self.kind}")
        if not re.fullmatch(checks[self.kind], text):
            raise QueryParameterError(self.name, f"{text[:80]!r} is not a valid xsd:{self.kind}")
        return ox.Literal(text, datatype=ox.NamedNode(_XSD + self.kind))


@dataclass(frozen=True)
class Query:
    name: str
    title: str
    text: str
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)

    def bind(self, ns: Namespaces, **values: Any) -> dict[ox.Variable, ox.NamedNode | ox.Literal]:
        """Typed substitutions for ``values`` (defaults filled in); unknown names are an error."""
        declared = {p.name: p for p in self.parameters}
        unknown = set(values) - set(declared)
        if unknown:
            raise QueryParameterError(sorted(unknown)[0], f"not a parameter of {self.name}")
        bindings = {}
        for param in self.parameters:
            value = values.get(param.name)
            if value is None:
                value = param.default
            if value is None:
                if not param.optional:
                    raise QueryParameterError(param.name, "is required")
                continue
            bindings[ox.Variable(param.name)] = param.term(value)
        return bindings

    def with_values(self, variable: str, iris: list[str]) -> Query:
        """This query with ``VALUES ?variable { <iri> … }`` first in its WHERE group: a list of IRIs bound at
        once (a parameter binds one term), written by :func:`reekg.terms.with_values` from pyoxigraph terms
        (which refuse a malformed IRI), never spliced as text."""
        text = with_values(self.text, variable, [ox.NamedNode(iri) for iri in iris])
        return Query(self.name, self.title, text, self.parameters)

    def run(self, store: ox.Store, ns: Namespaces, **values: Any) -> list[dict[str, Any]]:
        """Run on ``store`` (union default graph) and return rows of pyoxigraph terms."""
        solutions = store.query(self.text, substitutions=self.bind(ns, **values),
                                use_default_graph_as_union=True, prefixes=ns.prefixes(), base_iri=ns.base)
        names = [v.value for v in solutions.variables]
        return [{n: s[n] for n in names} for s in solutions]


def parse(name: str, text: str) -> Query:
    title, params = name, []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("# title:"):
            title = line.split(":", 1)[1].strip()
        elif match := _PARAM.match(line):
            params.append(Parameter(match["name"], match["kind"], match["default"], bool(match["optional"]),
                                    (match["help"] or "").strip()))
    return Query(name, title, text, tuple(params))


_PREFIX_DECL = re.compile(r"^(PREFIX\s+[^\s:]*:\s*<)([^>]*)(>)", re.IGNORECASE | re.MULTILINE)


def rebased(text: str, ns: Namespaces) -> str:
    """``text`` with the IRIs of its PREFIX declarations moved from the default base to ``ns``'s base."""
    return _PREFIX_DECL.sub(lambda m: m.group(1) + ns.rebase(m.group(2)) + m.group(3), text)


@cache
def library(base: str | None = None) -> dict[str, Query]:
    """Every query shipped in ``reekg/questions/sparql``, parsed, its prefixes under ``base`` (by default the default
    base); a syntax error or a prefix a file does not declare fails here, at start-up."""
    ns = Namespaces(base) if base else Namespaces()
    folder = resources.files("reekg.questions") / "sparql"
    queries = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".rq"):
            query = parse(entry.name[:-3], rebased(entry.read_text(encoding="utf-8"), ns))
            ox.Store().query(query.text)  # parse check only (empty store, no predeclared prefixes)
            queries[query.name] = query
    return queries
