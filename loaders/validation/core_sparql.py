"""SHACL Core constraints compiled to SPARQL and run by pyoxigraph (issue 13: full validation at 10^6 triples).

pySHACL walks every focus node and value node in Python; here the commonest constraint components become one
query each over the store the SHACL-SPARQL checks use (:mod:`.sparql_results`), whose rows are the violations.
:func:`compile_core` takes them out of (a copy of) the shapes graph pySHACL sees and returns them as
:class:`CoreCheck`; :func:`run_core_checks` gives :class:`.sparql_results.Result` as pySHACL writes them (focus node,
path, value, source shape, component, severity, the shape's ``sh:message``). ``tests/loaders/test_shacl_sparql.py``
holds the hybrid report to pySHACL's.

What is compiled, and only where plainly equivalent:

* the shape is a node shape that :func:`.sparql_constraints._standalone_node_shape` accepts (its focus nodes
  are its targets: ``sh:targetClass`` with ``rdf:type/rdfs:subClassOf*`` as pySHACL, ``sh:targetNode``,
  ``sh:targetSubjectsOf``, ``sh:targetObjectsOf``), or a property shape with an IRI ``sh:path`` that one such
  node shape alone reaches by ``sh:property``; neither is ``sh:deactivated``, and the shape has ``sh:message``
  (pySHACL's generated messages stay its own);
* components with one value each: ``sh:class`` (``rdf:type/rdfs:subClassOf*`` in the data, which holds the
  ontology and the inferred closure), ``sh:nodeKind``, ``sh:minCount``, ``sh:maxCount``, ``sh:in`` (terms compared
  with ``sameTerm``, as rdflib's ``==``), ``sh:datatype`` (a literal of the datatype is checked again in Python
  for ill-typed lexical forms with pySHACL's own test) and ``sh:pattern`` without ``sh:flags`` (rows that
  XPath's regex rejects are checked again with Python's ``re``, pySHACL's engine).

The other components of those shapes, and every component of property shapes on inverse or alternative
paths, are judged in Python over the values pyoxigraph reads (:mod:`.core_values`); property shapes with
targets of their own that no shape refers to are compiled too. What neither takes (complex paths, shapes
other shapes refer to, components without ``sh:message``) stays with pySHACL, the reference, and
:func:`needs_pyshacl` tells whether anything is left for it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal

import pyoxigraph as ox
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, SH, XSD
from rdflib.term import Node

from reekg.terms import from_oxigraph, to_oxigraph

from .core_values import ValueCheck, judge, read_path, run_value_checks, simple
from .sparql_constraints import Targets, _severity, _standalone_node_shape, _targets, copy_shapes
from .sparql_results import Result, focus_nodes

_TYPE_PATH = f"<{RDF.type}>/<{RDFS.subClassOf}>*"
_NODE_KINDS = {
    SH.IRI: "isIRI(?value)", SH.BlankNode: "isBlank(?value)", SH.Literal: "isLiteral(?value)",
    SH.BlankNodeOrIRI: "!isLiteral(?value)", SH.BlankNodeOrLiteral: "!isIRI(?value)",
    SH.IRIOrLiteral: "!isBlank(?value)",
}
_COMPILED = (SH["class"], SH.nodeKind, SH.minCount, SH.maxCount, SH["in"], SH.datatype, SH.pattern)
# pySHACL's _assert_actual_datatype: the Python type rdflib must give a well-typed literal's value.
_VALUE_TYPES = {XSD.string: (str, bytes), XSD.integer: int, XSD.float: float, XSD.decimal: Decimal,
                XSD.boolean: bool, XSD.date: date, XSD.time: time, XSD.dateTime: datetime}


@dataclass(frozen=True)
class CoreCheck:
    """One compiled constraint of one shape: ``query`` returns ``?this`` (and ``?value``) per violation."""

    shape: Node
    severity: URIRef
    component: URIRef
    messages: tuple[Literal, ...]
    targets: Targets
    path: URIRef | None
    query: str
    reports_value: bool  # the result carries sh:value (not for the counts)
    recheck: Callable[[Node], bool] | None = None  # True if the value really violates (pySHACL's own test)
    count: tuple[str, int] | None = None  # sh:minCount ("<", n) or sh:maxCount (">", n): run with its kind


def _term(node: Node) -> str:
    return str(to_oxigraph(node))


def _targets_pattern(targets: Targets) -> str:
    """A sub-select of the distinct focus nodes of ``targets``."""
    parts = [f"{{ ?this {_TYPE_PATH} {_term(c)} }}" for c in sorted(targets.classes)]
    parts += [f"{{ VALUES ?this {{ {_term(n)} }} }}" for n in sorted(targets.nodes)]
    parts += [f"{{ ?this {_term(p)} ?target_o }}" for p in sorted(targets.subjects_of)]
    parts += [f"{{ ?target_s {_term(p)} ?this }}" for p in sorted(targets.objects_of)]
    return "{ SELECT DISTINCT ?this WHERE { " + " UNION ".join(parts) + " } }"


def _datatype_ok(value: Node, datatype: URIRef) -> bool:
    """pySHACL 0.40's DatatypeConstraintComponent for a literal whose datatype is ``datatype``."""
    if not isinstance(value, Literal) or getattr(value, "ill_typed", None) is True:
        return False
    expected = _VALUE_TYPES.get(datatype)
    return expected is None or isinstance(value.value, expected)


def _pattern_fails(pattern: str) -> Callable[[Node], bool]:
    matcher = re.compile(pattern)
    return lambda value: isinstance(value, BNode) or not matcher.search(str(value))


def _value_test(component: URIRef, parameter: Node, shapes: Graph) -> tuple[str, Callable | None] | None:
    """A SPARQL fragment keeping the rows of ``?value`` that may violate, and the Python re-check, or None."""
    if component == SH["class"] and isinstance(parameter, URIRef):
        return f"MINUS {{ ?value {_TYPE_PATH} {_term(parameter)} }}", None
    if component == SH.nodeKind and parameter in _NODE_KINDS:
        return f"FILTER (!({_NODE_KINDS[parameter]}))", None
    if component == SH["in"] and isinstance(parameter, BNode):
        members = list(Collection(shapes, parameter))
        if any(isinstance(m, BNode) for m in members):
            return None
        return "MINUS { VALUES ?value { " + " ".join(_term(m) for m in members) + " } }", None
    if component == SH.datatype and isinstance(parameter, URIRef) and parameter not in (RDFS.Literal,
                                                                                         RDFS.Datatype):
        if parameter == XSD.string:  # a simple literal is always well typed
            return f"FILTER (!isLiteral(?value) || DATATYPE(?value) != {_term(parameter)})", None
        datatype = parameter
        return "", lambda v: not (isinstance(v, Literal) and v.datatype == datatype and _datatype_ok(v, datatype))
    if component == SH.pattern and isinstance(parameter, Literal):
        text = _term(Literal(str(parameter)))
        return f"FILTER (isBlank(?value) || !REGEX(STR(?value), {text}))", _pattern_fails(str(parameter))
    return None


def _count_query(targets: str, path: URIRef, component: URIRef, parameter: Node) -> str | None:
    if not isinstance(parameter, Literal) or not isinstance(parameter.value, int):
        return None
    op = "<" if component == SH.minCount else ">"
    return (f"SELECT ?this WHERE {{ {{ SELECT ?this (COUNT(DISTINCT ?v) AS ?n) WHERE {{ {targets} "
            f"OPTIONAL {{ ?this {_term(path)} ?v }} }} GROUP BY ?this }} FILTER (?n {op} {int(parameter)}) }}")


def _shape_checks(shapes: Graph, shape: Node, targets: Targets, path: URIRef | None) -> list[tuple[CoreCheck,
                                                                                                   URIRef]]:
    """The compiled checks of ``shape`` (with the parameter each removes), none if it has no ``sh:message``."""
    messages = tuple(shapes.objects(shape, SH.message))
    if not messages or (shape, SH.flags, None) in shapes:
        return []
    focus = _targets_pattern(targets)
    found = []
    for component in _COMPILED:
        parameters = list(shapes.objects(shape, component))
        if len(parameters) != 1:
            continue
        count = None
        if component in (SH.minCount, SH.maxCount):
            if path is None:
                continue
            query, recheck = _count_query(focus, path, component, parameters[0]), None
            if query is not None:
                count = ("<" if component == SH.minCount else ">", int(parameters[0]))
        else:
            test = _value_test(component, parameters[0], shapes)
            if test is None:
                continue
            filter_, recheck = test
            values = f"?this {_term(path)} ?value ." if path is not None else "BIND (?this AS ?value)"
            query = f"SELECT ?this ?value WHERE {{ {focus} {values} {filter_} }}"
        if query is None:
            continue
        name = str(component).rsplit("#", 1)[-1]
        found.append((CoreCheck(shape=shape, severity=_severity(shapes, shape),
                                component=SH[name[0].upper() + name[1:] + "ConstraintComponent"],
                                messages=messages, targets=targets, path=path, query=query,
                                reports_value=component not in (SH.minCount, SH.maxCount), recheck=recheck,
                                count=count),
                      component))
    return found


def _active(shapes: Graph, shape: Node) -> bool:
    return not any(bool(getattr(d, "value", False)) for d in shapes.objects(shape, SH.deactivated))


def _property_shapes(shapes: Graph, node_shape: Node) -> Iterable[tuple[Node, Node]]:
    """The property shapes only ``node_shape`` reaches, with paths :func:`.core_values.read_path` reads."""
    for prop in shapes.objects(node_shape, SH.property):
        path = shapes.value(prop, SH.path)
        if (read_path(shapes, path) is not None and _active(shapes, prop)
                and set(shapes.subject_predicates(prop)) == {(node_shape, SH.property)}):
            yield prop, path


def _standalone_property_shape(shapes: Graph, shape: Node) -> Targets | None:
    """The targets of a property shape with an IRI path that has targets of its own and that no shape refers to."""
    if not isinstance(shapes.value(shape, SH.path), URIRef) or (None, None, shape) in shapes or not _active(
            shapes, shape):
        return None
    return _targets(shapes, shape)


def _owned(shapes: Graph) -> Iterable[tuple[Node, URIRef | None, Targets]]:
    """Every shape whose focus nodes are its targets' (a standalone node shape, the property shapes only it
    reaches, a standalone targeted property shape), with its IRI path (None for a node shape)."""
    node_shapes = set(shapes.subjects(RDF.type, SH.NodeShape)) | set(shapes.subjects(SH.property, None))
    for node_shape in sorted(node_shapes):
        targets = _standalone_node_shape(shapes, node_shape)
        if targets is None or not (targets.classes or targets.nodes or targets.subjects_of or targets.objects_of):
            continue
        yield node_shape, None, targets
        for prop, path in _property_shapes(shapes, node_shape):
            yield prop, path, targets
    for prop in sorted(set(shapes.subjects(SH.path, None))):
        targets = _standalone_property_shape(shapes, prop)
        if targets is not None and (targets.classes or targets.nodes or targets.subjects_of or targets.objects_of):
            yield prop, shapes.value(prop, SH.path), targets


# The parameters that come with a judged one and go with it.
_COMPANIONS = {SH.qualifiedValueShape: (SH.qualifiedMinCount, SH.qualifiedMaxCount, SH.qualifiedValueShapesDisjoint)}


def _value_checks(shapes: Graph, shape: Node, targets: Targets, path: Node | None, compiled: set[URIRef]
                  ) -> list[tuple[ValueCheck, URIRef]]:
    """The shape's components judged in Python (:mod:`.core_values`), none without ``sh:message``; on a path
    that is not an IRI, the components SPARQL would otherwise take too."""
    messages = tuple(shapes.objects(shape, SH.message))
    if not messages:
        return []
    read = read_path(shapes, path) if path is not None else None
    found = []
    for parameter in sorted({p for p in shapes.predicates(shape, None)} - compiled):
        values = list(shapes.objects(shape, parameter))
        if len(values) != 1 or (parameter == SH.qualifiedValueShape and path is None):
            continue
        judged = judge(shapes, parameter, values[0], shape)
        if judged is None and not isinstance(path, URIRef) and path is not None:
            judged = simple(shapes, parameter, values[0])
        if judged is not None:
            found.append((ValueCheck(shape, _severity(shapes, shape), messages, targets, path, judged, read),
                          parameter))
    return found


def compile_core(shapes: Graph) -> tuple[Graph, list[CoreCheck | ValueCheck]]:
    """A copy of ``shapes`` without the compiled constraints, and the compiled checks."""
    core = copy_shapes(shapes)
    checks: list[CoreCheck | ValueCheck] = []
    for shape, path, targets in _owned(shapes):
        compiled = set()
        iri_path = path if path is None or isinstance(path, URIRef) else False
        for check, parameter in (_shape_checks(shapes, shape, targets, iri_path) if iri_path is not False else ()):
            checks.append(check)
            compiled.add(parameter)
            core.remove((shape, parameter, None))
        for value_check, parameter in _value_checks(shapes, shape, targets, path, compiled):
            checks.append(value_check)
            for removed in (parameter, *_COMPANIONS.get(parameter, ())):
                core.remove((shape, removed, None))
    return core, checks


def run_core_checks(store: ox.Store, checks: Iterable[CoreCheck | ValueCheck], graph: Graph | None = None
                    ) -> list[Result]:
    """The results of ``checks`` on the default graph of ``store`` (``graph``: the same triples in rdflib, see
    :class:`.core_values.Reader`)."""
    found: list[Result] = []
    targets: dict[Targets, set] = {}

    def focus_of(of: Targets) -> set:
        if of not in targets:
            targets[of] = focus_nodes(store, of)
        return targets[of]

    found.extend(run_value_checks(store, [c for c in checks if isinstance(c, ValueCheck)], focus_of, graph))
    counted: dict[Targets, list[CoreCheck]] = {}
    for check in checks:
        if isinstance(check, CoreCheck) and check.count is not None:
            counted.setdefault(check.targets, []).append(check)
    for targets, group in counted.items():
        found.extend(_count_results(store, targets, group))
    for check in checks:
        if isinstance(check, ValueCheck) or check.count is not None:
            continue
        for row in store.query(check.query):
            focus = from_oxigraph(row["this"])
            value = from_oxigraph(row["value"]) if check.reports_value else None
            if check.recheck is not None and not check.recheck(value):
                continue
            found.append(Result(check.shape, check.severity, check.component, focus, value, check.path, None,
                                check.messages))
    return found


def _count_results(store: ox.Store, targets: Targets, checks: list[CoreCheck]) -> list[Result]:
    """The results of the ``sh:minCount``/``sh:maxCount`` checks of one set of targets, from one query that
    counts every path's values of every focus node and keeps the counts out of bounds (each check alone is
    :func:`_count_query`, the same count per focus node and path). One query a set of targets instead of one a
    check: 115 count checks at 10^6 triples took 10.3 s one by one, mostly finding the same focus nodes again."""
    bounds = sorted({(str(c.path), c.count) for c in checks})
    rows = " ".join(f"({_term(URIRef(path))} {n if op == '<' else 'UNDEF'} {n if op == '>' else 'UNDEF'})"
                    for path, (op, n) in bounds)
    query = (f"SELECT ?this ?p ?min ?max WHERE {{ {_targets_pattern(targets)} VALUES (?p ?min ?max) {{ {rows} }} "
             "OPTIONAL { ?this ?p ?v } } GROUP BY ?this ?p ?min ?max "
             "HAVING (COUNT(DISTINCT ?v) < ?min || COUNT(DISTINCT ?v) > ?max)")
    out_of_bounds: dict[tuple[str, tuple[str, int]], list[Node]] = {}
    for row in store.query(query):
        bound = ("<", int(row["min"].value)) if row["min"] is not None else (">", int(row["max"].value))
        out_of_bounds.setdefault((row["p"].value, bound), []).append(from_oxigraph(row["this"]))
    return [Result(c.shape, c.severity, c.component, focus, None, c.path, None, c.messages)
            for c in checks for focus in out_of_bounds.get((str(c.path), c.count), ())]


# Predicates of a shape that are not constraints pySHACL would evaluate.
_STRUCTURAL = {SH.message, SH.severity, SH.path, SH.name, SH.description, SH.order, SH.group, SH.deactivated,
               SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.property, SH.node,
               SH.defaultValue, SH.prefixes, SH.declare}


def needs_pyshacl(core: Graph) -> bool:
    """Whether a shape pySHACL would reach from a target (by any link) still has a constraint to evaluate:
    an SH parameter left in ``core``, a SHACL-SPARQL constraint, a custom component's parameter."""
    custom = {core.value(p, SH.path) for c in core.subjects(RDF.type, SH.ConstraintComponent)
              for p in core.objects(c, SH.parameter)}
    targeted = {s for p in (SH.targetClass, SH.targetNode, SH.targetSubjectsOf, SH.targetObjectsOf, SH.target)
                for s in core.subjects(p, None)}
    targeted |= {s for s in core.subjects(RDF.type, None)
                 if ((s, RDF.type, RDFS.Class) in core or (s, RDF.type, OWL.Class) in core)}
    seen, frontier = set(targeted), list(targeted)
    while frontier:
        node = frontier.pop()
        for p, o in core.predicate_objects(node):
            if p in custom or (str(p).startswith(str(SH)) and p not in _STRUCTURAL and p != SH.target
                               and not _deactivated(core, node)):
                return True
            if isinstance(o, (URIRef, BNode)) and o not in seen and p not in (RDF.type, SH.path):
                seen.add(o)
                frontier.append(o)
    return False


def _deactivated(shapes: Graph, shape: Node) -> bool:
    return not _active(shapes, shape)
