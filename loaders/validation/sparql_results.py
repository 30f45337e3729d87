"""Running SHACL-SPARQL checks on a pyoxigraph store, and writing their results as pySHACL writes them.

The data is read from a store's default graph: :func:`store_of_graph` and :func:`store_of_store` copy a graph or
the union of a store's graphs into one, so a triple held in two named graphs is one triple, as in the rdflib
union pySHACL validates (a ``SUM`` would otherwise count it twice). :func:`run_checks` finds each check's focus
nodes and evaluates its query (once for all of them when the check is a batch, else once per focus node with
``$this`` substituted); :func:`add_results` writes the results into pySHACL's results graph (focus node, source
shape, severity, path, value, message, source constraint and component), so a report cannot tell which engine
found what.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import pyoxigraph as ox
from rdflib import RDF, BNode, Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from reekg.terms import from_oxigraph, to_oxigraph

from .sparql_constraints import SparqlCheck, Targets

_GENERIC_MESSAGE = Literal("Parameterised SHACL Query generated constraint validation reports.")


# --- the data -------------------------------------------------------------------------------------

def store_of_graph(graph: Graph) -> ox.Store:
    """An in-memory pyoxigraph store holding ``graph`` in its default graph."""
    store = ox.Store()
    store.bulk_extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o)) for s, p, o in graph)
    return store


def store_of_store(source: ox.Store) -> ox.Store:
    """An in-memory store whose default graph is the union (a set) of every graph of ``source``."""
    store = ox.Store()
    store.bulk_extend(ox.Quad(q.subject, q.predicate, q.object) for q in source)
    return store


# --- running the checks ---------------------------------------------------------------------------

_CLASS_TARGETS = ("PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
                  "SELECT DISTINCT ?this ?class WHERE { ?this a/rdfs:subClassOf* ?class }")
_SUBJECT_TARGETS = "SELECT DISTINCT ?this ?p WHERE { ?this ?p ?o }"
_OBJECT_TARGETS = "SELECT DISTINCT ?this ?p WHERE { ?s ?p ?this }"


def focus_nodes(store: ox.Store, targets: Targets) -> set[ox.NamedNode | ox.BlankNode | ox.Literal]:
    """The focus nodes of ``targets`` in ``store`` (instances by ``rdf:type/rdfs:subClassOf*``, as pySHACL)."""
    found = {to_oxigraph(n) for n in targets.nodes}
    for query, variable, terms in ((_CLASS_TARGETS, "class", targets.classes),
                                   (_SUBJECT_TARGETS, "p", targets.subjects_of),
                                   (_OBJECT_TARGETS, "p", targets.objects_of)):
        for term in terms:
            found.update(s["this"] for s in store.query(query, substitutions={ox.Variable(variable):
                                                                               to_oxigraph(term)}))
    return found


def _format(message: str, bound: dict[str, Node]) -> str:
    """``{?var}`` and ``{$var}`` in a message replaced by the row's values (pySHACL's own substitution)."""
    for name, value in bound.items():
        message = re.sub(f"{{[?$]{name}}}", str(value), message)
    return message


@dataclass(frozen=True)
class Result:
    """One validation result, with the fields pySHACL writes."""

    shape: Node
    severity: URIRef
    component: URIRef
    focus: Node
    value: Node | None
    path: Node | None
    constraint: Node | None
    messages: tuple[Literal, ...]


def _solutions(store: ox.Store, check: SparqlCheck, focus=None) -> Iterator[dict[str, Node]]:
    """The query's rows with ``$this`` (and ``$value``) pre-bound to ``focus``, or free if ``focus`` is None."""
    bindings = {"this": focus, "value": focus, "currentShape": to_oxigraph(check.shape)}
    solutions = store.query(check.query, substitutions={ox.Variable(n): bindings[n] for n in check.prebound
                                                       if bindings[n] is not None})
    names = [v.value for v in solutions.variables]
    for solution in solutions:
        yield {n: solution[n] for n in names if solution[n] is not None}


def _rows_per_focus(store: ox.Store, check: SparqlCheck, focus: set) -> Iterator[tuple[Node, list[dict]]]:
    if not check.batch:
        for node in focus:
            yield from_oxigraph(node), [{k: from_oxigraph(v) for k, v in row.items()}
                                        for row in _solutions(store, check, node)]
        return
    grouped: dict = {}
    for row in _solutions(store, check):
        if row["this"] in focus:
            grouped.setdefault(row["this"], []).append({k: from_oxigraph(v) for k, v in row.items()})
    for node, rows in grouped.items():
        yield from_oxigraph(node), rows


def _sparql_results(check: SparqlCheck, node: Node, rows: list[dict]) -> Iterator[Result]:
    """``sh:sparql`` (https://www.w3.org/TR/shacl/#sparql-constraints-validation), as pySHACL reports it."""
    seen: list[tuple] = []
    failed = False
    for row in rows:
        if row.pop("failure", None) is not None:
            if failed:
                continue
            failed = True
            yield _result(check, node, node, None, row)
            continue
        path, value, this = row.pop("path", None), row.pop("value", None), row.pop("this", None)
        if path is None and value is None and this is None:
            continue
        key = (this, path, value, row)
        if key in seen:
            continue
        seen.append(key)
        value = node if value is None else value
        bound = {**row, **{k: v for k, v in (("this", this), ("path", path), ("value", value)) if v is not None}}
        yield _result(check, this or node, value, path, bound)


def _result(check: SparqlCheck, focus: Node, value: Node | None, path: Node | None,
            bound: dict[str, Node]) -> Result:
    messages = [Literal(_format(str(m), bound)) for m in check.messages]
    extra = [Literal(_format(str(m), bound)) for m in check.extra_messages if m not in check.messages]
    return Result(check.shape, check.severity, check.component, focus, value, path, check.constraint,
                  tuple(extra + messages))


def _component_results(check: SparqlCheck, node: Node, rows: list[dict]) -> Iterator[Result]:
    """A SPARQL-based constraint component's SELECT node validator
    (https://www.w3.org/TR/shacl/#SPARQLSelectValidator), as pySHACL reports it."""
    found = set()
    for row in rows:
        this, path, value = row.get("this"), row.get("path"), row.get("value")
        if this is not None or path is not None or value is not None:
            found.add((this, path, value))
        elif isinstance(row.get("failure"), Literal) and row["failure"].value:
            found.add((None, None, None))
    for this, path, value in found:
        bound = {**check.parameters, "this": this or node, "value": value if value is not None else node}
        if path is not None:
            bound["path"] = path
        extra = tuple(Literal(_format_first(str(m), bound), lang=m.language)
                      for m in check.extra_messages if m not in check.messages)
        messages = check.messages + extra if (check.messages or extra) else (_GENERIC_MESSAGE,)
        yield Result(check.shape, check.severity, check.component, this or node,
                     value if value is not None else node, path, None, messages)


def _format_first(message: str, bound: dict[str, Node]) -> str:
    """pySHACL binds a validator's message variables once each (the first occurrence)."""
    for name, value in bound.items():
        message = re.sub(r"{[\$\?]" + re.escape(name) + r"}", str(value), message, count=1)
    return message


def run_checks(store: ox.Store, checks: Iterable[SparqlCheck]) -> list[Result]:
    """Every result of ``checks`` on the default graph of ``store``."""
    results: list[Result] = []
    targets: dict[Targets, set] = {}
    for check in checks:
        if check.targets not in targets:
            targets[check.targets] = focus_nodes(store, check.targets)
        evaluate = _sparql_results if check.constraint is not None else _component_results
        for node, rows in _rows_per_focus(store, check, targets[check.targets]):
            results.extend(evaluate(check, node, rows))
    return results


def add_results(results: Graph, found: Iterable[Result]) -> bool:
    """Write ``found`` into a pySHACL results graph; True if none of them is a Violation."""
    report = results.value(None, RDF.type, SH.ValidationReport)
    if report is None:
        report = BNode()
        results.add((report, RDF.type, SH.ValidationReport))
    conforms = True
    for r in found:
        node = BNode()
        results.add((report, SH.result, node))
        results.add((node, RDF.type, SH.ValidationResult))
        results.add((node, SH.sourceShape, r.shape))
        results.add((node, SH.resultSeverity, r.severity))
        results.add((node, SH.sourceConstraintComponent, r.component))
        results.add((node, SH.focusNode, r.focus))
        if r.value is not None:
            results.add((node, SH.value, r.value))
        if r.path is not None:
            results.add((node, SH.resultPath, r.path))
        if r.constraint is not None:
            results.add((node, SH.sourceConstraint, r.constraint))
        for message in r.messages:
            results.add((node, SH.resultMessage, message))
        conforms = conforms and r.severity != SH.Violation
    if not conforms:
        results.set((report, SH.conforms, Literal(False)))
    return conforms
