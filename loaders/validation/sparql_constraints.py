"""SHACL-SPARQL constraints run by pyoxigraph; the rest of SHACL stays with pySHACL (issue 6, item 4).

pySHACL runs each SHACL-SPARQL constraint once per focus node through rdflib's SPARQL engine: about 70% of a
full validation at 10^5 triples. Here those constraints are taken out of the shapes graph pySHACL sees
(:func:`split_shapes`, which turns each into a :class:`SparqlCheck`) and evaluated by pyoxigraph
(:func:`.sparql_results.run_checks`). SHACL defines a constraint's rows for a focus node by pre-binding
``$this`` to it (https://www.w3.org/TR/shacl/#pre-binding); where the query means the same with ``$this`` free
and its rows taken per ``$this`` value (:func:`.sparql_queries.batchable`, checked on the query's algebra), one
query serves every focus node; otherwise it runs once per focus node with pyoxigraph ``substitutions`` (RDF-dev
SEP-0007, the same substitution semantics). Two rewrites that keep a query's solutions let pyoxigraph 0.5 join
instead of searching once per row (:mod:`.sparql_queries`). The results are written into pySHACL's results
graph as pySHACL writes them (:mod:`.sparql_results`), so a report cannot tell which engine found what;
``tests/loaders/test_shacl_sparql.py`` holds the two engines to that on every shapes fixture and on the
curated graph with a synthetic network and injected violations.

Only what is plainly equivalent is moved; anything else is left to pySHACL, the reference:

* ``sh:sparql`` SELECT constraints of node shapes that no other shape refers to (so their focus nodes are
  their targets alone), whose targets are ``sh:targetClass``, ``sh:targetNode``, ``sh:targetSubjectsOf``,
  ``sh:targetObjectsOf`` or implicit class targets, and whose query projects every pre-bound variable
  (pyoxigraph substitutes only projected variables) and uses none of ``$shapesGraph``, ``$PATH``, ``MINUS``,
  ``VALUES`` or ``SERVICE`` (which pySHACL rejects or does not support: its error stays its own);
* SPARQL-based constraint components with one ``sh:nodeValidator`` SELECT query whose every shape (a shape
  with all mandatory parameters) qualifies as above; parameter values are IRIs or literals, written into the
  query text once per shape, as pySHACL writes ``$PATH`` (they come from the shapes graph, never a user).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import RDF, RDFS, BNode, Graph, Literal, URIRef
from rdflib.namespace import OWL, SH
from rdflib.term import Node

from reekg.terms import to_oxigraph

from .sparql_queries import batchable, not_exists_as_minus, optionals_last, stars_apart, where_group

# Pre-bound variables pySHACL binds when the query text mentions them (its own test, its own regex).
_MENTIONS = {name: re.compile(r"([\s{}()])[\$\?]" + name, flags=re.M) for name in ("this", "value", "currentShape")}
_UNSUPPORTED = re.compile(r"[\$\?](shapesGraph|PATH)\b|\b(MINUS|VALUES|SERVICE)\b", flags=re.I)
_DEFAULT_PREFIXES = {"rdf": str(RDF), "rdfs": str(RDFS), "owl": str(OWL)}


@dataclass(frozen=True)
class Targets:
    classes: frozenset[Node] = frozenset()
    nodes: frozenset[Node] = frozenset()
    subjects_of: frozenset[Node] = frozenset()
    objects_of: frozenset[Node] = frozenset()


@dataclass(frozen=True)
class SparqlCheck:
    """One SHACL-SPARQL constraint of one node shape, ready to run on a store."""

    shape: Node
    severity: URIRef
    messages: tuple[Literal, ...]  # the shape's sh:message
    targets: Targets
    query: str  # prefixes declared, parameters written in
    prebound: tuple[str, ...]  # of "this", "value", "currentShape": substituted per focus node
    component: URIRef  # sh:SPARQLConstraintComponent, or the custom component
    constraint: Node | None = None  # the sh:sparql node (sh:sourceConstraint); None for a component
    extra_messages: tuple[Literal, ...] = ()  # the constraint's or validator's own sh:message
    parameters: dict[str, Node] = field(default_factory=dict)  # component parameters, for messages
    batch: bool = False  # one query for every focus node, ``$this`` left free (see :func:`batchable`)


@dataclass
class Split:
    """The shapes graph for pySHACL (without the moved constraints) and the moved constraints."""

    core: Graph
    checks: list[SparqlCheck]


# --- reading the shapes ---------------------------------------------------------------------------

def _targets(shapes: Graph, shape: Node) -> Targets | None:
    """The shape's targets, or None if it has one this module does not evaluate (``sh:target``)."""
    if (shape, SH.target, None) in shapes:
        return None
    classes = set(shapes.objects(shape, SH.targetClass))
    if any(t in (RDFS.Class, OWL.Class) for t in shapes.objects(shape, RDF.type)):
        classes.add(shape)  # implicit class target
    return Targets(frozenset(classes), frozenset(shapes.objects(shape, SH.targetNode)),
                   frozenset(shapes.objects(shape, SH.targetSubjectsOf)),
                   frozenset(shapes.objects(shape, SH.targetObjectsOf)))


def _standalone_node_shape(shapes: Graph, shape: Node) -> Targets | None:
    """The targets of a node shape whose focus nodes are its targets alone, else None."""
    if (shape, SH.path, None) in shapes or (None, None, shape) in shapes:
        return None  # a property shape, or one that sh:node, sh:property, sh:or… reach from other focus nodes
    if any(bool(getattr(d, "value", False)) for d in shapes.objects(shape, SH.deactivated)):
        return None  # pySHACL skips it; so do we, by leaving it there
    return _targets(shapes, shape)


def _prefixes(shapes: Graph, node: Node) -> dict[str, str]:
    """The prefixes of a SPARQL constraint or validator (``sh:prefixes``), as pySHACL collects them."""
    prefixes = dict(_DEFAULT_PREFIXES)
    ontologies = set(shapes.subjects(RDF.type, OWL.Ontology))
    for holder in shapes.objects(node, SH.prefixes):
        own = set(shapes.objects(holder, SH.declare))
        declares = own if own and holder in ontologies else own.union(
            *(shapes.objects(o, SH.declare) for o in ontologies))
        for declaration in declares:
            prefix, namespace = shapes.value(declaration, SH.prefix), shapes.value(declaration, SH.namespace)
            if prefix is not None and namespace is not None:
                prefixes[str(prefix)] = str(namespace)
    return prefixes


def _query_text(shapes: Graph, node: Node, select: str) -> str:
    declared = "".join(f"PREFIX {p}: <{ns}>\n" for p, ns in _prefixes(shapes, node).items())
    return declared + optionals_last(select)


def _sparql_term(term: Node) -> str:
    """A parameter value as SPARQL text: pyoxigraph's N-Triples form (valid SPARQL for IRIs and literals)."""
    return str(to_oxigraph(term))


def _with_parameters(text: str, parameters: dict[str, Node]) -> str:
    for name, value in parameters.items():
        text = re.sub(r"[\$\?]" + re.escape(name) + r"(?!\w)", lambda _m, v=value: _sparql_term(v), text)
    return text


def _prebound(text: str, *, value: bool) -> tuple[str, ...]:
    names = ("this", "value", "currentShape") if value else ("this", "currentShape")
    return tuple(n for n in names if _MENTIONS[n].search(text))


def _runs_here(text: str, prebound: tuple[str, ...]) -> bool:
    """pyoxigraph parses the query and takes every pre-bound variable as a substitution (it must be projected)."""
    if any(_UNSUPPORTED.search(line) for line in text.splitlines() if not line.lstrip().startswith("#")):
        return False
    probe = ox.NamedNode("urn:reekg:probe")
    try:
        list(ox.Store().query(text, substitutions={ox.Variable(n): probe for n in prebound}))
    except (SyntaxError, RuntimeError, ValueError):
        return False
    return True


def _targeted(text: str, targets: Targets) -> str | None:
    """The query with its shape's one target class joined into its WHERE group, if that makes it
    :func:`batchable` (``SELECT $this WHERE { FILTER NOT EXISTS { … } }`` binds ``$this`` nowhere else).

    For a focus node of that class the joined pattern has one empty solution, so the query means what it
    meant with ``$this`` pre-bound, and one query serves every focus node (rsh:SubsystemReachesElement at
    10^6 triples: 66 s for its 1,810 focus nodes one by one, 0.07 s as one query with
    :func:`not_exists_as_minus`)."""
    if len(targets.classes) != 1 or targets.nodes or targets.subjects_of or targets.objects_of:
        return None
    where = where_group(text)
    if where is None:
        return None
    open_ = where[0]
    cls = to_oxigraph(next(iter(targets.classes)))
    if not isinstance(cls, ox.NamedNode):
        return None
    joined = (f"{text[:open_ + 1]}\n?this <{RDF.type}>/<{RDFS.subClassOf}>* {cls} .\n"
              f"{text[open_ + 1:]}")
    return joined if batchable(joined, ("this",)) else None


def _batched(text: str, prebound: tuple[str, ...], targets: Targets) -> tuple[str, bool]:
    """The query to run and whether it runs once for all focus nodes."""
    if batchable(text, prebound):
        return stars_apart(not_exists_as_minus(text)), True
    if prebound == ("this",):
        joined = _targeted(text, targets)
        if joined is not None:
            return stars_apart(not_exists_as_minus(joined)), True
    return text, False


def _severity(shapes: Graph, shape: Node) -> URIRef:
    return shapes.value(shape, SH.severity) or SH.Violation


def _check(shapes: Graph, shape: Node, targets: Targets, text: str, select: str, *, value: bool,
           **fields) -> SparqlCheck | None:
    """A check of ``shape`` that runs ``text`` (``select`` as the shape wrote it), or None if pyoxigraph
    cannot run it as pySHACL would."""
    prebound = _prebound(select, value=value)
    if not _runs_here(text, prebound):
        return None
    text, batch = _batched(text, prebound, targets)
    return SparqlCheck(shape=shape, severity=_severity(shapes, shape),
                       messages=tuple(shapes.objects(shape, SH.message)), targets=targets, query=text,
                       prebound=prebound, batch=batch, **fields)


def _sparql_checks(shapes: Graph, shape: Node, targets: Targets) -> list[SparqlCheck] | None:
    """The shape's ``sh:sparql`` constraints, or None if any of them must stay with pySHACL."""
    checks = []
    for constraint in shapes.objects(shape, SH.sparql):
        selects = list(shapes.objects(constraint, SH.select))
        if len(selects) != 1 or not isinstance(selects[0], Literal):
            return None
        if any(bool(getattr(d, "value", False)) for d in shapes.objects(constraint, SH.deactivated)):
            continue
        check = _check(shapes, shape, targets, _query_text(shapes, constraint, str(selects[0])), str(selects[0]),
                       value=False, component=SH.SPARQLConstraintComponent, constraint=constraint,
                       extra_messages=tuple(shapes.objects(constraint, SH.message)))
        if check is None:
            return None
        checks.append(check)
    return checks


def _components(shapes: Graph) -> Iterator[Node]:
    kinds = {SH.ConstraintComponent, *shapes.subjects(RDFS.subClassOf, SH.ConstraintComponent)}
    seen = set()
    for kind in kinds:
        for component in shapes.subjects(RDF.type, kind):
            if component not in seen and not str(component).startswith(str(SH)):
                seen.add(component)
                yield component


def _component_checks(shapes: Graph, component: Node) -> list[SparqlCheck] | None:
    """One check per shape the component applies to, or None if the component must stay with pySHACL."""
    parameters = []  # (name, path, optional)
    for parameter in shapes.objects(component, SH.parameter):
        path = shapes.value(parameter, SH.path)
        if not isinstance(path, URIRef):
            return None
        optional = shapes.value(parameter, SH.optional)
        parameters.append((re.split(r"[#/]", str(path))[-1], path, bool(getattr(optional, "value", False))))
    validators = list(shapes.objects(component, SH.nodeValidator))
    if not parameters or len(validators) != 1:
        return None
    selects = list(shapes.objects(validators[0], SH.select))
    if len(selects) != 1 or not isinstance(selects[0], Literal):
        return None
    checks = []
    shape_nodes = set.intersection(*(set(shapes.subjects(path, None)) for _, path, optional in parameters
                                     if not optional)) if any(not o for *_, o in parameters) else set()
    for shape in shape_nodes:
        targets = _standalone_node_shape(shapes, shape)
        if targets is None:
            return None
        values = {}
        for name, path, _ in parameters:
            value = next(iter(shapes.objects(shape, path)), None)
            if isinstance(value, BNode):
                return None
            if value is not None:
                values[name] = value
        text = _with_parameters(_query_text(shapes, validators[0], str(selects[0])), values)
        check = _check(shapes, shape, targets, text, str(selects[0]), value=True, component=component,
                       extra_messages=tuple(shapes.objects(validators[0], SH.message)), parameters=values)
        if check is None:
            return None
        checks.append(check)
    return checks


def copy_shapes(shapes: Graph) -> Graph:
    """A copy of ``shapes`` with its prefixes, to take moved constraints out of."""
    core = Graph()
    for prefix, namespace in shapes.namespaces():
        core.bind(prefix, namespace)
    for triple in shapes:
        core.add(triple)
    return core


def split_shapes(shapes: Graph) -> Split:
    """Move the SHACL-SPARQL constraints pyoxigraph can evaluate out of (a copy of) ``shapes``."""
    core = copy_shapes(shapes)
    checks: list[SparqlCheck] = []
    for shape in sorted(set(shapes.subjects(SH.sparql, None))):
        targets = _standalone_node_shape(shapes, shape)
        moved = _sparql_checks(shapes, shape, targets) if targets is not None else None
        if moved is not None:
            checks.extend(moved)
            core.remove((shape, SH.sparql, None))
    for component in sorted(_components(shapes)):
        moved = _component_checks(shapes, component)
        if moved is not None:
            checks.extend(moved)
            core.remove((component, RDF.type, None))  # pySHACL finds components by their type
    return Split(core, checks)
