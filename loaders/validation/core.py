"""SHACL validation, reported in plain words at the place each fact came from (the caller's :data:`Locator`;
:func:`.places.line_of` finds a partner file's line).

The ``hybrid`` engine splits the shapes three ways: the SHACL-SPARQL constraints pyoxigraph can run
(:mod:`.sparql_constraints`), the common SHACL Core components on simple paths compiled to SPARQL
(:mod:`.core_sparql`, the list is its docstring) or judged in Python over the values pyoxigraph reads
(:mod:`.core_values`), and the rest, which pySHACL validates (nothing of the data shapes). All write one pySHACL
results graph."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import lru_cache

import pyoxigraph as ox
import pyshacl
import rdflib.plugin
from rdflib import RDF, BNode, Graph, Literal
from rdflib.namespace import SH
from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.processor import SPARQLProcessor
from rdflib.query import Processor
from rdflib.term import Node

from ..problems import Place, Problem
from .core_sparql import compile_core, needs_pyshacl, run_core_checks
from .sparql_constraints import Split, split_shapes
from .sparql_results import Result, add_results, run_checks, store_of_graph, store_of_store

# Where a SHACL result's focus node came from, given the result's path and value (None where it has none).
Locator = Callable[[Node, Node | None, Node | None], Place]


@lru_cache(maxsize=1024)
def _translated(text: str, base: str | None, namespaces: tuple[tuple[str, str], ...]):
    return translateQuery(parseQuery(text), base, dict(namespaces) or None)


class PreparedSPARQLProcessor(SPARQLProcessor):
    """rdflib's SPARQL processor, remembering each query's parse.

    pySHACL runs a SHACL-SPARQL constraint once per focus node with the same text and new bindings, and
    rdflib parses the text every time: parsing was 11.7 s of 15 s validating the curated graph. A
    translated query is reusable with other bindings (that is what ``prepareQuery`` is for).
    """

    def query(self, strOrQuery, initBindings=None, initNs=None, base=None, DEBUG=False):
        if isinstance(strOrQuery, str):
            namespaces = tuple(sorted((k, str(v)) for k, v in (initNs or {}).items()))
            strOrQuery = _translated(strOrQuery, base, namespaces)
        return super().query(strOrQuery, initBindings, initNs, base, DEBUG)


# Registered under rdflib's own name, so every Graph.query in this process (pySHACL's included) uses it.
rdflib.plugin.register("sparql", Processor, __name__, "PreparedSPARQLProcessor")


@dataclass
class ValidationReport:
    conforms: bool
    problems: list[Problem] = field(default_factory=list)
    graph: Graph = field(default_factory=Graph)

    @property
    def violations(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "Violation"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity != "Violation"]

    def summary(self) -> str:
        verdict = "conforms" if self.conforms else "does NOT conform"
        return f"SHACL: {verdict} ({len(self.violations)} violation(s), {len(self.warnings)} warning(s))"


def _short(node: Node | None, graph: Graph) -> str:
    if node is None:
        return ""
    try:
        return node.n3(graph.namespace_manager)
    except Exception:  # a term rdflib cannot shorten is shown whole
        return str(node)


ENGINES = ("hybrid", "pyshacl")


def validate(data: Graph | Callable[[], Graph], shapes: Graph, locate: Locator, *,
             store: ox.Store | None = None, engine: str = "hybrid",
             namespaces: Graph | None = None) -> ValidationReport:
    """Validate ``data`` (asserted + inferred + ontology, one graph) against ``shapes``.

    Inference is off: the loader has already materialised the OWL RL closure, so targets by class see
    subclass members without pySHACL running its own (slower) RDFS pass.

    ``engine``: ``pyshacl`` runs every constraint in pySHACL (the reference); ``hybrid`` (the default) runs
    the SHACL-SPARQL constraints and the compiled SHACL Core components in pyoxigraph and the rest in pySHACL,
    with the same report (see :mod:`.sparql_constraints`, :mod:`.core_sparql`). ``store``: a pyoxigraph store
    holding the same triples as ``data`` (in any of its graphs); without one they are copied from ``data``.
    ``data`` may be a function that makes the graph: it is then called after the queries have run and their
    copy of the store is gone, so the two copies of a large graph are never in memory together. It is not
    called at all when nothing is left for pySHACL (:func:`.core_sparql.needs_pyshacl`) and ``namespaces``
    (a graph with the prefixes ``data`` binds, which the report shortens its terms by) is given.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if engine == "pyshacl":
        data = data() if callable(data) else data
        conforms, results = _pyshacl(data, shapes)
        return report_from_results(conforms, results, data, shapes, locate)
    prepared = prepare(shapes)
    if store is None:
        data = data() if callable(data) else data
    union = store_of_store(store) if store is not None else store_of_graph(data)
    found = prepared.rebind(run_checks(union, prepared.split.checks)
                            + run_core_checks(union, prepared.compiled, data if store is None else None), shapes)
    del union
    if prepared.needs_pyshacl:
        data = data() if callable(data) else data
        conforms, results = _pyshacl(data, prepared.core)
    else:
        data = namespaces if callable(data) and namespaces is not None else data() if callable(data) else data
        conforms, results = True, empty_results(prepared.core)
    conforms = add_results(results, found) and conforms
    return report_from_results(conforms, results, data, shapes, locate)


@dataclass(frozen=True)
class Prepared:
    """A shapes graph split for the hybrid engine: the checks pyoxigraph runs and what is left to pySHACL."""

    split: Split
    core: Graph  # what pySHACL validates
    compiled: list
    needs_pyshacl: bool
    shapes: Graph  # the graph it was made from (its blank nodes are the checks')

    def rebind(self, found: list[Result], shapes: Graph) -> list[Result]:
        """``found`` naming the blank nodes of ``shapes`` (another parse of the same content) where results name
        one: a path (``sh:resultPath``) or a SPARQL constraint (``sh:sourceConstraint``) of a named shape."""
        if shapes is self.shapes:
            return found
        out = []
        for r in found:
            if isinstance(r.path, BNode) and not isinstance(r.shape, BNode):
                r = replace(r, path=shapes.value(r.shape, SH.path))
            if isinstance(r.constraint, BNode) and not isinstance(r.shape, BNode):
                select = self.shapes.value(r.constraint, SH.select)
                r = replace(r, constraint=next((c for c in shapes.objects(r.shape, SH.sparql)
                                                if shapes.value(c, SH.select) == select), r.constraint))
            out.append(r)
        return out


_PREPARED: dict[frozenset, Prepared] = {}


def _content_key(shapes: Graph) -> frozenset | None:
    """The triples of ``shapes`` with each blank node written as the tree of what it holds (so two parses of the
    same files have one key), or None if a blank node is shared or in a cycle (then nothing is remembered)."""
    held: dict[Node, list[tuple[Node, Node]]] = {}
    for s, p, o in shapes:
        if isinstance(s, BNode):
            held.setdefault(s, []).append((p, o))
    signatures: dict[Node, object] = {}
    used: set[Node] = set()

    def signature(node: Node, depth: int = 0):
        if not isinstance(node, BNode):
            return node
        if node in used or depth > 400:
            raise ValueError("shared or cyclic blank node")
        used.add(node)
        signatures[node] = frozenset((p, signature(o, depth + 1)) for p, o in held.get(node, ()))
        return signatures[node]

    try:
        top = frozenset((s, p, signature(o)) for s, p, o in shapes if not isinstance(s, BNode))
    except (ValueError, RecursionError):
        return None
    return top if used >= held.keys() else None  # every blank node is reached from a named one


def prepare(shapes: Graph) -> Prepared:
    """:func:`.sparql_constraints.split_shapes` and :func:`.core_sparql.compile_core` of ``shapes``, remembered
    by content (a write loads the shapes again each time; splitting them costs 0.5-2 s)."""
    key = _content_key(shapes)
    if key is not None and key in _PREPARED:
        return _PREPARED[key]
    split = split_shapes(shapes)
    core, compiled = compile_core(split.core)
    prepared = Prepared(split, core, compiled, needs_pyshacl(core), shapes)
    if key is not None:
        if len(_PREPARED) >= 4:
            _PREPARED.pop(next(iter(_PREPARED)))
        _PREPARED[key] = prepared
    return prepared


def hybrid_results(data: Graph, shapes: Graph) -> tuple[bool, Graph]:
    """The hybrid engine's results graph for a small in-memory ``data`` graph (a write's focus subgraph)."""
    prepared = prepare(shapes)
    union = store_of_graph(data)
    found = prepared.rebind(run_checks(union, prepared.split.checks)
                            + run_core_checks(union, prepared.compiled, data), shapes)
    if prepared.needs_pyshacl:
        conforms, results = _pyshacl(data, prepared.core)
    else:
        conforms, results = True, empty_results(prepared.core)
    return add_results(results, found) and conforms, results


def empty_results(shapes: Graph) -> Graph:
    """The results graph pySHACL writes for a conforming graph (its prefixes are the shapes graph's)."""
    results = Graph(bind_namespaces="core")
    for prefix, namespace in shapes.namespace_manager.namespaces():
        results.namespace_manager.bind(prefix, namespace)
    report = BNode()
    results.add((report, RDF.type, SH.ValidationReport))
    results.add((report, SH.conforms, Literal(True)))
    return results


def _pyshacl(data: Graph, shapes: Graph) -> tuple[bool, Graph]:
    conforms, results, _ = pyshacl.validate(
        data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True,
        abort_on_first=False,
    )
    return bool(conforms), results


def _order(problem: Problem) -> tuple[bool, str, int, str, str]:
    """Violations first, then by place; a place without a line or field sorts before one with them (a Place
    cannot be compared with ``<`` when only one of the two has a line)."""
    place = problem.place
    return (problem.severity != "Violation", place.file, -1 if place.line is None else place.line,
            place.field or "", problem.message)


def report_from_results(conforms: bool, results: Graph, data: Graph, shapes: Graph,
                        locate: Locator) -> ValidationReport:
    """A pySHACL results graph in plain words, each result placed where its focus node came from."""
    problems = []
    for result in results.subjects(SH.resultSeverity, None):
        focus = results.value(result, SH.focusNode)
        path = results.value(result, SH.resultPath)
        severity = results.value(result, SH.resultSeverity)
        # one message of several, the same whichever engine wrote them first: English, else the first in order
        message = min(results.objects(result, SH.resultMessage), default=None,
                      key=lambda m: (getattr(m, "language", None) not in ("en", None), str(m)))
        value = results.value(result, SH.value)
        shape = results.value(result, SH.sourceShape)
        text = str(message) if message is not None else f"fails {_short(shape, shapes)}"
        details = [f"on {_short(focus, data)}"]
        if value is not None and value != focus:
            details.append(f"value {_short(value, data)}")
        details.append(f"shape {_short(shape, shapes)}")
        problems.append(Problem(
            place=locate(focus, path if path is not None and not isinstance(path, Graph) else None, value),
            message=f"{text} ({'; '.join(details)})",
            severity=str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation",
        ))
    problems.sort(key=_order)
    return ValidationReport(conforms=bool(conforms), problems=problems, graph=results)
