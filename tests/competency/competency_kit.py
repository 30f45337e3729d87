"""What the competency tests share: IRIs of the curated instances, numbers and text of terms, and running a
library query on pyoxigraph or on rdflib's engine (the ``store`` fixture is in conftest.py)."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal

import pyoxigraph as ox
from rdflib import Literal, URIRef

from reekg.loaders.namespaces import Namespaces
from reekg.questions.core import Answers
from reekg.questions.library import library

NS = Namespaces()
ID = NS.base + "id/"


def iri(kind: str, ident: str) -> str:
    return f"{ID}{kind}/{ident}"


def num(term) -> Decimal | None:
    """A numeric literal's value (pyoxigraph or rdflib term), whatever its lexical form."""
    if term is None:
        return None
    return Decimal(str(term.value if isinstance(term, ox.Literal) else term))


def text(term) -> str | None:
    if term is None:
        return None
    return term.value if isinstance(term, (ox.Literal, ox.NamedNode)) else str(term)


def symbols(rows, column="symbol") -> set[str]:
    return {text(r[column]) for r in rows}


def run(store, name: str, **params):
    return library()[name].run(store, NS, **params)


def run_rdflib(dataset, name: str, **params):
    """The same query text and typed bindings, evaluated by rdflib's own SPARQL engine."""
    query = library()[name]
    bindings = {}
    for var, term in query.bind(NS, **params).items():
        bindings[var.value] = (URIRef(term.value) if isinstance(term, ox.NamedNode)
                               else Literal(term.value, datatype=URIRef(term.datatype.value)))
    result = dataset.query(query.text, initNs=NS.prefixes(), initBindings=bindings, base=NS.base)
    names = [str(v) for v in result.vars]
    return [dict(zip(names, row, strict=True)) for row in result]


def statuses(rows) -> dict[str, set[str]]:
    """yes / no / unknown → the symbols with that answer."""
    found = defaultdict(set)
    for row in rows:
        found[text(row["inForce"])].add(text(row["symbol"]))
    return found


def details(rows) -> dict[str | None, set[str]]:
    """The statement's reason (announced, in-force, suspended, …) → the symbols."""
    found = defaultdict(set)
    for row in rows:
        found[None if row["statusDetail"] is None else text(row["statusDetail"]).rsplit("/", 1)[1]].add(
            text(row["symbol"]))
    return found


def store_answers(store: ox.Store) -> Answers:
    """The analyst questions over ``store`` in this process, each query run by pyoxigraph with its parameters
    as substitutions (the saved query's own text)."""
    def runner(query, params):
        result = store.query(query.text, substitutions=query.bind(NS, **params), use_default_graph_as_union=True,
                             prefixes=NS.prefixes(), base_iri=NS.base)
        return json.loads(result.serialize(format=ox.QueryResultsFormat.JSON))["results"]["bindings"], "build"

    return Answers(runner, NS)
