"""SHACL Core components pyoxigraph reads the values of and Python judges as pySHACL does (issue 13).

:mod:`.core_sparql` compiles the components a SPARQL filter decides alone; the rest of the data shapes'
components (``sh:or``/``sh:and``/``sh:xone``/``sh:not`` of nested shapes, ``sh:qualifiedValueShape`` with its
counts, ``sh:minInclusive`` and the other ranges, ``sh:lessThan(OrEquals)``, ``sh:disjoint``, ``sh:hasValue``,
``sh:uniqueLang``, ``sh:languageIn``) compare terms in ways only rdflib's own Python comparisons reproduce.
Here the store gives each focus node's values (:class:`Reader`, one lookup per node and predicate, cached) and
each component is judged by the rules pySHACL 0.40 applies (its ``value_range_constraints``,
``property_pair_constraints``, ``string_based_constraints``, ``logical_constraints`` and
``shape_based_constraints``), written again here over those values. A nested shape is judged only when every
one of its parameters is one of :data:`_NESTED`; otherwise the component stays with pySHACL.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial

import pyoxigraph as ox
from pyshacl.rdfutil.compare import compare_literal
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import SH
from rdflib.term import Node

from reekg.terms import from_oxigraph, to_oxigraph

from .sparql_constraints import Targets
from .sparql_results import Result

# (component, value or None) per violation of one focus node
Findings = Iterator[tuple[URIRef, Node | None]]


class Reader:
    """The values of a node along an IRI path and its ``rdf:type/rdfs:subClassOf*`` test, read from a store's
    default graph (the union the checks run on) and remembered. With ``graph`` (the same triples in rdflib) the
    values are read from it: the store keeps a number's canonical form only ("130" for "130.0"), and a
    result's ``sh:value`` is the term as the data states it."""

    def __init__(self, store: ox.Store, graph: Graph | None = None):
        self.store, self.graph = store, graph
        self._objects: dict[tuple, list[Node]] = {}
        self._classes: dict[Node, frozenset[Node]] = {}
        self._whole: set[tuple[URIRef, bool]] = set()  # predicates read whole: a node missing has no values

    def read_whole(self, predicate: URIRef, inverse: bool = False) -> None:
        """Read every value of ``predicate`` in one pass, for a check of many focus nodes: one scan instead of a
        lookup per node (each a call into the store and back; 48,872 observations at 10^6 triples)."""
        if (predicate, inverse) in self._whole or self.graph is not None:
            return
        found: dict[tuple, dict[Node, None]] = {}
        for quad in self.store.quads_for_pattern(None, to_oxigraph(predicate), None, ox.DefaultGraph()):
            subject, value = from_oxigraph(quad.subject), from_oxigraph(quad.object)
            node, value = (value, subject) if inverse else (subject, value)
            found.setdefault((node, predicate, True) if inverse else (node, predicate), {})[value] = None
        for key, values in found.items():
            self._objects.setdefault(key, list(values))
        self._whole.add((predicate, inverse))

    def objects(self, node: Node, path: URIRef) -> list[Node]:
        key = (node, path)
        if key not in self._objects:
            if isinstance(node, Literal) or (path, False) in self._whole:
                self._objects[key] = []
            elif self.graph is not None:
                self._objects[key] = list(dict.fromkeys(self.graph.objects(node, path)))
            else:
                quads = self.store.quads_for_pattern(to_oxigraph(node), to_oxigraph(path), None, ox.DefaultGraph())
                self._objects[key] = list(dict.fromkeys(from_oxigraph(q.object) for q in quads))
        return self._objects[key]

    def subjects(self, node: Node, predicate: URIRef) -> list[Node]:
        key = (node, predicate, True)
        if key not in self._objects:
            if (predicate, True) in self._whole:
                found = ()
            elif self.graph is not None:
                found = self.graph.subjects(predicate, node)
            else:
                found = (from_oxigraph(q.subject) for q in self.store.quads_for_pattern(
                    None, to_oxigraph(predicate), to_oxigraph(node), ox.DefaultGraph()))
            self._objects[key] = list(dict.fromkeys(found))
        return self._objects[key]

    def values(self, node: Node, path: Path) -> list[Node]:
        """The value nodes of ``node`` along ``path`` (see :func:`read_path`)."""
        found: list[Node] = []
        for predicate, inverse in path:
            found.extend(self.subjects(node, predicate) if inverse else self.objects(node, predicate))
        return list(dict.fromkeys(found)) if len(path) > 1 else found

    def is_instance(self, node: Node, cls: Node) -> bool:
        if cls not in self._classes:
            query = f"SELECT ?c WHERE {{ ?c <{RDFS.subClassOf}>* {to_oxigraph(cls)} }}"
            self._classes[cls] = frozenset(from_oxigraph(r["c"]) for r in self.store.query(query)) | {cls}
        return any(t in self._classes[cls] for t in self.objects(node, RDF.type))


Judge = Callable[[Reader, Node, list[Node]], Findings]
# A SHACL path read here: alternatives, each a predicate forward (False) or inverse (True).
Path = tuple[tuple[URIRef, bool], ...]


def read_path(shapes: Graph, path: Node) -> Path | None:
    """An IRI, ``[sh:inversePath IRI]`` or ``[sh:alternativePath (IRI …)]`` as a :data:`Path`, else None."""
    if isinstance(path, URIRef):
        return ((path, False),)
    if not isinstance(path, BNode):
        return None
    described = list(shapes.predicate_objects(path))
    if len(described) != 1:
        return None
    kind, value = described[0]
    if kind == SH.inversePath and isinstance(value, URIRef):
        return ((value, True),)
    members = _members(shapes, value) if kind == SH.alternativePath else None
    if members and all(isinstance(m, URIRef) for m in members):
        return tuple((m, False) for m in members)
    return None


# --- the components, as pySHACL judges them -----------------------------------------------------------

def _range(limit: Literal, accept: Callable[[int], bool], component: URIRef, _r, _f, values) -> Findings:
    """sh:minInclusive and its kin (pySHACL's ``_evaluate_min_rule``/``_evaluate_max_rule``)."""
    limit_is_string = isinstance(limit.value, str)
    for v in values:
        ok = False
        if isinstance(v, Literal) and isinstance(v.value, str) == limit_is_string:
            try:
                ok = accept(compare_literal(v, limit))
            except (TypeError, NotImplementedError):
                ok = False
        if not ok:
            yield component, v


def _comparable(node: Node) -> tuple[object, bool]:
    if isinstance(node, URIRef):
        return str(node), True
    if isinstance(node, Literal) and isinstance(node.value, str):
        return node.value, True
    return node, False


def _pair_order(other: URIRef, strict: bool, component: URIRef, reader: Reader, focus, values) -> Findings:
    """sh:lessThanOrEquals / sh:lessThan (pySHACL's ``_compare_ltoe`` / ``_compare_lt``)."""
    for value in dict.fromkeys(values):
        left, left_string = _comparable(value)
        for compare in reader.objects(focus, other):
            right, right_string = _comparable(compare)
            if left_string != right_string or not (left < right if strict else left <= right):
                yield component, value


def _disjoint(other: URIRef, reader: Reader, focus, values) -> Findings:
    others = set(reader.objects(focus, other))
    for v in values:
        if v in others:
            yield SH.DisjointConstraintComponent, v


def _has_value(term: Node, _r, _f, values) -> Findings:
    if term not in values:
        yield SH.HasValueConstraintComponent, None


def _unique_lang(_r, _f, values) -> Findings:
    seen, twice = set(), set()
    for v in values:
        if isinstance(v, Literal) and v.language:
            (twice if v.language.lower() in seen else seen).add(v.language.lower())
    for _ in twice:
        yield SH.UniqueLangConstraintComponent, None


def _language_in(languages: frozenset[str], _r, _f, values) -> Findings:
    for v in values:
        lang = v.language if isinstance(v, Literal) else None
        if not (lang and ("*" in languages or lang.lower() in languages
                          or lang.split("-")[0].lower() in languages)):
            yield SH.LanguageInConstraintComponent, v


def _datatype(datatype: URIRef, _r, _f, values) -> Findings:
    from .core_sparql import _datatype_ok  # pySHACL's _assert_actual_datatype, kept in one place

    for v in values:
        ok = False
        if isinstance(v, Literal):
            if v.datatype == datatype:
                ok = _datatype_ok(v, datatype)
            elif datatype == RDFS.Literal or (datatype == RDFS.Datatype and v.datatype):
                ok = True
            elif ((v.datatype is None and v.language is None and datatype == URIRef(XSD_STRING))
                  or (datatype == RDF.langString and v.language)):
                ok = isinstance(v.value, (str, bytes))
        if not ok:
            yield SH.DatatypeConstraintComponent, v


XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"


def _class(cls: Node, reader: Reader, _f, values) -> Findings:
    for v in values:
        if isinstance(v, Literal) or not reader.is_instance(v, cls):
            yield SH.ClassConstraintComponent, v


def _pattern(matcher: re.Pattern, _r, _f, values) -> Findings:
    for v in values:
        if isinstance(v, BNode) or not matcher.search(str(v)):
            yield SH.PatternConstraintComponent, v


_KINDS = {SH.IRI: (URIRef,), SH.BlankNode: (BNode,), SH.Literal: (Literal,), SH.BlankNodeOrIRI: (BNode, URIRef),
          SH.BlankNodeOrLiteral: (BNode, Literal), SH.IRIOrLiteral: (URIRef, Literal)}


def _node_kind(kinds: tuple[type, ...], _r, _f, values) -> Findings:
    for v in values:
        if not isinstance(v, kinds):
            yield SH.NodeKindConstraintComponent, v


def _count(limit: int, at_least: bool, _r, _f, values) -> Findings:
    if (len(values) < limit) if at_least else (len(values) > limit):
        yield (SH.MinCountConstraintComponent if at_least else SH.MaxCountConstraintComponent), None


def _logical(members: tuple[Callable[[Reader, Node], bool], ...], rule: str, reader: Reader, _f,
             values) -> Findings:
    """sh:or (at least one member), sh:and (all), sh:xone (exactly one), sh:not (none) per value node."""
    component = {"or": SH.OrConstraintComponent, "and": SH.AndConstraintComponent,
                 "xone": SH.XoneConstraintComponent, "not": SH.NotConstraintComponent}[rule]
    for v in values:
        passed = sum(1 for conforms in members if conforms(reader, v))
        ok = {"or": passed >= 1, "and": passed == len(members), "xone": passed == 1, "not": passed == 0}[rule]
        if not ok:
            yield component, v


def _qualified(conforms: Callable[[Reader, Node], bool], least: int | None, most: int | None, reader: Reader,
               _f, values) -> Findings:
    number = sum(1 for v in values if conforms(reader, v))
    if most is not None and number > most:
        yield SH.QualifiedMaxCountConstraintComponent, None
    if least is not None and number < least:
        yield SH.QualifiedMinCountConstraintComponent, None


# --- reading the shapes ------------------------------------------------------------------------------

def _int(node: Node | None) -> int | None:
    return node.value if isinstance(node, Literal) and isinstance(node.value, int) and not isinstance(
        node.value, bool) else None


def _members(shapes: Graph, head: Node) -> list[Node] | None:
    try:
        return list(Collection(shapes, head)) if isinstance(head, BNode) else None
    except Exception:  # not a well-formed list: pySHACL's error stays its own
        return None


_RANGES = {SH.minInclusive: (lambda c: c >= 0, SH.MinInclusiveConstraintComponent),
           SH.minExclusive: (lambda c: c > 0, SH.MinExclusiveConstraintComponent),
           SH.maxInclusive: (lambda c: c <= 0, SH.MaxInclusiveConstraintComponent),
           SH.maxExclusive: (lambda c: c < 0, SH.MaxExclusiveConstraintComponent)}


def _term_judge(shapes: Graph, parameter: URIRef, value: Node) -> Judge | None:
    """Components whose parameter is a term or a list of tags."""
    if parameter in _RANGES and isinstance(value, Literal):
        accept, component = _RANGES[parameter]
        return partial(_range, value, accept, component)
    if parameter in (SH.lessThanOrEquals, SH.lessThan) and isinstance(value, URIRef):
        strict = parameter == SH.lessThan
        component = SH.LessThanConstraintComponent if strict else SH.LessThanOrEqualsConstraintComponent
        return partial(_pair_order, value, strict, component)
    if parameter == SH.disjoint and isinstance(value, URIRef):
        return partial(_disjoint, value)
    if parameter == SH.hasValue and not isinstance(value, BNode):
        return partial(_has_value, value)
    if parameter == SH.uniqueLang and isinstance(value, Literal) and value.value is True:
        return _unique_lang
    if parameter == SH.languageIn:
        tags = _members(shapes, value)
        if tags is None or not all(isinstance(t, Literal) and isinstance(t.value, str) for t in tags):
            return None
        return partial(_language_in, frozenset(str(t.value).lower() for t in tags))
    return None


def judge(shapes: Graph, parameter: URIRef, value: Node, shape: Node) -> Judge | None:
    """The judge of one parameter of ``shape``, or None if it is not judged here."""
    if parameter in (SH["or"], SH["and"], SH.xone):
        members = _members(shapes, value)
        tests = [nested(shapes, m) for m in members or ()]
        if not members or any(t is None for t in tests):
            return None
        return partial(_logical, tuple(tests), str(parameter).rsplit("#", 1)[-1])
    if parameter == SH["not"]:
        test = nested(shapes, value)
        return None if test is None else partial(_logical, (test,), "not")
    if parameter == SH.qualifiedValueShape:
        return _qualified_judge(shapes, value, shape)
    return _term_judge(shapes, parameter, value)


def _qualified_judge(shapes: Graph, value: Node, shape: Node) -> Judge | None:
    if len(list(shapes.objects(shape, SH.qualifiedValueShape))) != 1 or any(
            bool(getattr(d, "value", False)) for d in shapes.objects(shape, SH.qualifiedValueShapesDisjoint)):
        return None
    least, most = (shapes.value(shape, p) for p in (SH.qualifiedMinCount, SH.qualifiedMaxCount))
    if (least is not None and _int(least) is None) or (most is not None and _int(most) is None) or (
            least is None and most is None):
        return None
    test = nested(shapes, value)
    return None if test is None else partial(_qualified, test, _int(least), _int(most))


# What a nested shape (a member of sh:or…, a qualified value shape) may hold to be judged here.
_NESTED = {SH.path, SH.pattern, SH.nodeKind, SH.minCount, SH.maxCount, SH.datatype, SH["class"], SH.languageIn,
           SH["or"], SH["and"], SH.xone, SH["not"], SH.lessThanOrEquals, SH.lessThan, SH.hasValue, SH.disjoint,
           *_RANGES}


def simple(shapes: Graph, parameter: URIRef, value: Node) -> Judge | None:
    """The components :mod:`.core_sparql` compiles to SPARQL, judged here where a path is not an IRI or the
    shape is nested."""
    if parameter == SH.pattern and isinstance(value, Literal) and (None, SH.flags, None) not in shapes:
        return partial(_pattern, re.compile(str(value)))
    if parameter == SH.nodeKind and value in _KINDS:
        return partial(_node_kind, _KINDS[value])
    if parameter in (SH.minCount, SH.maxCount) and _int(value) is not None:
        return partial(_count, _int(value), parameter == SH.minCount)
    if parameter == SH.datatype and isinstance(value, URIRef):
        return partial(_datatype, value)
    if parameter == SH["class"] and isinstance(value, URIRef):
        return partial(_class, value)
    return None


def nested(shapes: Graph, shape: Node) -> Callable[[Reader, Node], bool] | None:
    """Whether a value node conforms to the nested ``shape`` (no results of its own), or None if the shape holds
    anything not judged here (another parameter, a complex path, a severity, two values of one parameter)."""
    if not isinstance(shape, BNode):
        return None
    parameters = [(p, o) for p, o in shapes.predicate_objects(shape) if p != RDF.type]
    if any(p not in _NESTED for p, _ in parameters) or len({p for p, _ in parameters}) != len(parameters):
        return None
    path = shapes.value(shape, SH.path)
    read = read_path(shapes, path) if path is not None else None
    if path is not None and read is None:
        return None
    judges = [simple(shapes, p, o) or judge(shapes, p, o, shape) for p, o in parameters if p != SH.path]
    if any(j is None for j in judges):
        return None

    def conforms(reader: Reader, node: Node) -> bool:
        values = reader.values(node, read) if read is not None else [node]
        return not any(next(iter(j(reader, node, values)), None) for j in judges)

    return conforms


# --- checks ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ValueCheck:
    """One component of one shape judged in Python over the values the store gives."""

    shape: Node
    severity: URIRef
    messages: tuple[Literal, ...]
    targets: Targets
    path: Node | None  # the shape's sh:path, as results name it
    judge: Judge
    read: Path | None = None  # how to read it (None: the focus node is the value)


# From this many focus nodes a check's predicates are read whole (Reader.read_whole) rather than node by node.
READ_WHOLE_FROM = 512


def run_value_checks(store: ox.Store, checks: Iterable[ValueCheck], focus_of: Callable[[Targets], set],
                     graph: Graph | None = None) -> list[Result]:
    """The results of ``checks`` on the default graph of ``store`` (values read from ``graph`` if given: see
    :class:`Reader`); ``focus_of`` gives a check's focus nodes."""
    reader, found = Reader(store, graph), []
    for check in checks:
        nodes = focus_of(check.targets)
        if check.read is not None and len(nodes) >= READ_WHOLE_FROM:
            for predicate, inverse in check.read:
                reader.read_whole(predicate, inverse)
        for node in sorted(nodes, key=str):
            focus = from_oxigraph(node) if isinstance(node, ox.NamedNode | ox.BlankNode | ox.Literal) else node
            values = reader.values(focus, check.read) if check.read is not None else [focus]
            for component, value in check.judge(reader, focus, values):
                found.append(Result(check.shape, check.severity, component, focus, value, check.path, None,
                                    check.messages))
    return found
