"""Focus-node validation (loaders/validation/incremental.py) reports what full validation reports for a change.

Each edit breaks (or keeps) one shape in the curated graph; full pySHACL validation of the edited graph and
incremental validation of the edit's focus nodes must list the same violations (focus, path, shape).
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import RDF, RDFS, SH, XSD

from reekg.loaders.build import load_shapes
from reekg.loaders.namespaces import Namespaces
from reekg.loaders.validation import validate
from reekg.loaders.validation.incremental import (
    COVERED_SPARQL_SHAPES,
    GraphIndex,
    Overlay,
    StoreIndex,
    affected_nodes,
    validate_focus,
)
from reekg.terms import to_oxigraph

NS = Namespaces()
R = NS.reekg
PROV_DERIVED = URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")


def e(kind: str, ident: str) -> URIRef:
    return NS.entity(kind, ident)


def nowhere(focus, path, value=None):
    from reekg.loaders.problems import Place

    return Place("(graph)", None, str(focus))


@pytest.fixture(scope="module")
def shapes():
    return load_shapes(NS)


def _observation_group(graph: Graph):
    """An observation with a share, and another of its edition/year/quantity/stage group."""
    for obs in sorted(graph.subjects(R.shareOfWorld, None)):
        area = graph.value(obs, R.refArea)
        if str(area).endswith("/world"):
            continue
        key = [graph.value(obs, p) for p in (R.edition, R.refYear, R.measuredQuantity, R.atStage)]
        others = [o for o in graph.subjects(R.edition, key[0])
                  if o != obs and [graph.value(o, p) for p in (R.edition, R.refYear, R.measuredQuantity, R.atStage)]
                  == key and graph.value(o, R.shareOfWorld) is not None]
        if others:
            return obs, sorted(others)[0]
    raise AssertionError("no observation group in the curated data")


def _edits(graph: Graph):
    """(name, added, removed) single-triple (or one-row) edits; the last one is valid."""
    mine = e("mine", "bayan-obo")
    obs, _ = _observation_group(graph)
    duplicate = e("observation", "duplicate-of-" + str(obs).rsplit("/", 1)[-1])
    dup_added = [(duplicate, p, o) for p, o in graph.predicate_objects(obs) if p != R.shareOfWorld]
    dup_added.append((duplicate, R.shareOfWorld, Literal("0.001", datatype=XSD.decimal)))
    material = e("material", "sintered-ndfeb")
    content = graph.value(material, R.hasElementContent)
    component = e("component", "joint-motor")
    company = e("company", "synth-valid-co")
    return [
        ("country XX on a mine", [(mine, R.locatedIn, e("country", "XX"))],
         [(mine, R.locatedIn, graph.value(mine, R.locatedIn))]),
        ("share 1.5", [(obs, R.shareOfWorld, Literal("1.5", datatype=XSD.decimal))],
         [(obs, R.shareOfWorld, graph.value(obs, R.shareOfWorld))]),
        ("a duplicate observation", dup_added, []),
        ("a missing source", [], [(component, PROV_DERIVED, o) for o in graph.objects(component, PROV_DERIVED)]),
        ("a feeds loop", [(e("facility", "mountain-pass-processing"), R.feeds, e("mine", "mountain-pass-mine"))], []),
        ("a content without its material", [], [(material, R.hasElementContent, content)]),
        ("a valid edit", [(company, RDF.type, R.Company), (company, RDFS.label, Literal("Valid Co", lang="en")),
                          (company, PROV_DERIVED, e("source", "reekg-curation")),
                          (company, R.confidence, e("confidence", "verified"))], []),
    ]


def _keys(report, kind="Violation"):
    graph = report.graph
    keys = set()
    for result in graph.subjects(SH.resultSeverity, SH[kind]):
        keys.add((str(graph.value(result, SH.focusNode)), str(graph.value(result, SH.resultPath)),
                  str(graph.value(result, SH.sourceShape))))
    return keys


def _store(graph: Graph) -> ox.Store:
    store = ox.Store()
    graph_name = ox.NamedNode(str(NS.partner_graph("test")))
    store.bulk_extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), graph_name) for s, p, o in graph)
    return store


@pytest.fixture(scope="module")
def edits(curated_dataset):
    return _edits(curated_dataset)


@pytest.mark.parametrize("number", range(7))
def test_incremental_validation_reports_what_full_validation_reports(curated_dataset, shapes, edits, number):
    name, added, removed = edits[number]
    after = Graph()
    for triple in curated_dataset:
        after.add(triple)
    for triple in removed:
        after.remove(triple)
    for triple in added:
        after.add(triple)
    full = validate(after, shapes, nowhere)
    incremental = validate_focus(StoreIndex(_store(after)), shapes, nowhere, NS, changes=added + removed)
    assert _keys(incremental.report) == _keys(full), name
    assert _keys(incremental.report, "Warning") <= _keys(full, "Warning"), name
    if name == "a valid edit":
        assert incremental.report.conforms and not _keys(full)
    else:
        assert _keys(full), f"{name} should break a shape"
    assert incremental.subgraph_triples < len(after) / 3  # it read a small part of the graph


def test_an_overlay_sees_the_same_focus_nodes_as_the_edited_graph(curated_dataset, edits):
    _, added, removed = edits[1]  # share 1.5: the whole group of observations
    after = Graph()
    for triple in curated_dataset:
        after.add(triple)
    for triple in removed:
        after.remove(triple)
    for triple in added:
        after.add(triple)
    overlay = Overlay(GraphIndex(curated_dataset), added, removed)
    direct = affected_nodes(added + removed, GraphIndex(after), NS)
    assert affected_nodes(added + removed, overlay, NS) == direct
    obs, other = _observation_group(curated_dataset)
    assert {obs, other} <= direct  # the observation and the others of its group (rsh:ShareOfWorldSum)


def _small_graph() -> tuple[Graph, dict[str, URIRef]]:
    """A subsystem down to an element content, two observations of one edition, three element-group
    assignments (two of Nd) and a mine in a typed country."""
    n = {"S": e("subsystem", "s"), "C": e("component", "c"), "M": e("material", "m"),
         "EC": e("element-content", "m--Nd"),
         "O1": e("observation", "o1"), "O2": e("observation", "o2"), "O3": e("observation", "o3"),
         "SRC": e("source", "src"), "A1": e("element-group-assignment", "a1"),
         "A2": e("element-group-assignment", "a2"), "A3": e("element-group-assignment", "a3"),
         "Nd": e("element", "Nd"), "Dy": e("element", "Dy"), "X": e("mine", "x"), "K": e("country", "K"),
         "Country": R.Country}
    graph = Graph()
    for s, p, o in [("S", R.hasComponent, "C"), ("C", R.usesMaterial, "M"), ("M", R.hasElementContent, "EC"),
                    ("EC", R.element, "Nd"), ("O1", R.edition, "SRC"), ("O2", R.edition, "SRC"),
                    ("A1", R.element, "Nd"), ("A2", R.element, "Nd"), ("A3", R.element, "Dy"), ("X", R.locatedIn, "K")]:
        graph.add((n[s], p, n[o]))
    for node, cls in [("O1", R.StatisticalObservation), ("O2", R.StatisticalObservation), ("K", R.Country),
                      *((a, R.ElementGroupAssignment) for a in ("A1", "A2", "A3"))]:
        graph.add((n[node], RDF.type, cls))
    return graph, n


@pytest.mark.parametrize(("change", "expected"), [
    # a content's figure: its material, the component using it and the subsystem above (SubsystemReachesElement)
    (("EC", R.massFractionMin, Literal("0.2")), {"EC", "M", "C", "S"}),
    # a share: every observation of the same edition (ShareOfWorldSum, ObservationUniqueKey)
    (("O1", R.shareOfWorld, Literal("0.5")), {"O1", "O2"}),
    # a removed observation still names its edition in the change
    (("O3", R.edition, "SRC"), {"O3", "SRC", "O1", "O2"}),
    # a retyped node: every node that points to it (sh:class)
    (("K", RDF.type, "Country"), {"K", "Country", "X"}),
    # an element-group assignment: the other assignments of its element, old and new
    (("A1", RDFS.label, Literal("x")), {"A1", "A2"}),
    (("A3", R.element, "Nd"), {"A3", "Nd", "A1", "A2"}),
])
def test_the_focus_nodes_of_a_change_are_the_nodes_whose_shapes_read_it(change, expected):
    graph, n = _small_graph()
    s, p, o = change
    triple = (n[s], p, n.get(o, o) if isinstance(o, str) else o)
    names = {node: name for name, node in n.items()}
    assert {names[node] for node in affected_nodes([triple], GraphIndex(graph), NS)} == expected


def test_every_sparql_shape_is_accounted_for(shapes):
    names = {str(s).rsplit("#", 1)[-1] for s in shapes.subjects(SH.sparql, None)}
    names |= {str(s).rsplit("#", 1)[-1] for p in (SH.nodeValidator, SH.propertyValidator, SH.validator)
              for s in shapes.subjects(p, None)}
    missing = names - COVERED_SPARQL_SHAPES
    assert not missing, f"update loaders/validation/incremental.py for {missing}"
