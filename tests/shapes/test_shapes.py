"""Every SHACL shape fires on its own fixture and stays quiet on valid data; the ontology passes the lint.

Fixtures live in ``fixtures/<shape local name>.ttl`` (see STYLE.md, "Ontology and shapes"). A shape added
without a fixture, or a fixture left behind by a removed shape, fails ``test_every_shape_has_a_fixture``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pyshacl
import pytest
from rdflib import RDF, Graph, Literal, URIRef
from rdflib.namespace import SH

from reekg.shapes import (
    LINT_FILE,
    SHAPES_NAMESPACE,
    lint_shape_file,
    load_lint_shapes,
    load_shapes,
    shape_files,
)

FIXTURES = Path(__file__).parent / "fixtures"
ONTOLOGY = Path(__file__).resolve().parents[2] / "ontology"
VALID = FIXTURES / "valid.ttl"
MODULES = {"elements", "materials", "robots", "supply", "quantities", "policy", "substitution", "provenance"}

# Predicates that only a shape has as subject: a named node with one of them is a shape.
_SHAPE_PREDICATES = (SH.path, SH.targetClass, SH.targetNode, SH.target, SH.property, SH.sparql, SH.message,
                     SH.severity)


@cache
def data_shapes() -> Graph:
    return load_shapes()


@cache
def lint_shapes() -> Graph:
    return load_lint_shapes()


def named_shapes(graph: Graph) -> set[str]:
    """Local names of the shapes (IRIs in the rsh: namespace) that a graph defines."""
    names = set()
    for predicate in _SHAPE_PREDICATES:
        for subject in graph.subjects(predicate, None):
            if isinstance(subject, URIRef) and str(subject).startswith(SHAPES_NAMESPACE):
                names.add(str(subject)[len(SHAPES_NAMESPACE):])
    for kind in (SH.NodeShape, SH.PropertyShape):
        for subject in graph.subjects(RDF.type, kind):
            if isinstance(subject, URIRef) and str(subject).startswith(SHAPES_NAMESPACE):
                names.add(str(subject)[len(SHAPES_NAMESPACE):])
    return names


def validate(data: Graph, shapes: Graph) -> Graph:
    _, results, _ = pyshacl.validate(data, shacl_graph=shapes, inference="none", advanced=True)
    return results


def fired(results: Graph) -> set[str]:
    return {str(results.value(r, SH.sourceShape)) for r in results.subjects(RDF.type, SH.ValidationResult)}


def fixture_files() -> list[Path]:
    return sorted(p for p in FIXTURES.glob("*.ttl") if p != VALID)


def test_one_shapes_file_per_module_and_a_lint_file():
    names = {f.name for f in shape_files()}
    assert names == {f"{m}.shapes.ttl" for m in MODULES}
    assert LINT_FILE not in names
    assert lint_shape_file().name == LINT_FILE and lint_shape_file().is_file()


def test_every_shape_has_a_fixture():
    shapes = named_shapes(data_shapes()) | named_shapes(lint_shapes())
    fixtures = {p.stem for p in fixture_files()}
    assert shapes, "no shapes were loaded"
    assert sorted(shapes - fixtures) == [], "shapes without a fixture in tests/shapes/fixtures/"
    assert sorted(fixtures - shapes) == [], "fixtures whose shape no longer exists"


def test_shape_names_are_unique_across_files():
    seen: dict[str, str] = {}
    for file in [*shape_files(), lint_shape_file()]:
        graph = Graph().parse(data=file.read_text(encoding="utf-8"), format="turtle")
        for name in named_shapes(graph):
            assert name not in seen, f"rsh:{name} is defined in both {seen[name]} and {file.name}"
            seen[name] = file.name


@pytest.mark.parametrize("graph_name", ["data", "lint"])
def test_every_shape_has_a_plain_english_message_and_a_severity(graph_name):
    graph = data_shapes() if graph_name == "data" else lint_shapes()
    for message in graph.objects(None, SH.message):
        assert isinstance(message, Literal) and message.language == "en", f"sh:message {message!r} is not @en"
        assert len(str(message).strip()) > 20, f"sh:message {message!r} is too short to say what to fix"
    for name in named_shapes(graph):
        shape = URIRef(SHAPES_NAMESPACE + name)
        messages = [m for m in graph.objects(shape, SH.message) if isinstance(m, Literal) and m.language == "en"]
        assert len(messages) == 1, f"rsh:{name} needs exactly one sh:message in English"
        assert set(graph.objects(shape, SH.severity)) <= {SH.Violation, SH.Warning}
        assert len(set(graph.objects(shape, SH.severity))) == 1, f"rsh:{name} needs exactly one sh:severity"


@pytest.mark.parametrize(("second_share", "fires"), [("0.31", False), ("0.32", False), ("0.33", True),
                                                     ("0.35", True)])
def test_share_tolerance_is_a_value_in_the_shapes_graph_that_the_sum_shape_applies(second_share, fires):
    """0.70 + a second share: up to 1 + 0.02 passes (USGS rounding), past it the sum shape fires."""
    tolerance = data_shapes().value(URIRef(SHAPES_NAMESPACE + "ShareOfWorldSum"),
                                    URIRef(SHAPES_NAMESPACE + "shareSumTolerance"))
    assert tolerance is not None and float(tolerance) == pytest.approx(0.02)
    text = (FIXTURES / "ShareOfWorldSum.ttl").read_text(encoding="utf-8")
    assert "reekg:shareOfWorld 0.35 ." in text
    data = Graph().parse(data=text.replace("reekg:shareOfWorld 0.35 .", f"reekg:shareOfWorld {second_share} ."),
                         format="turtle")
    assert (SHAPES_NAMESPACE + "ShareOfWorldSum" in fired(validate(data, data_shapes()))) is fires


def test_valid_graph_conforms_to_every_data_shape():
    results = validate(Graph().parse(VALID), data_shapes())
    assert fired(results) == set(), results.serialize(format="turtle")


@pytest.mark.parametrize("fixture", fixture_files(), ids=lambda p: p.stem)
def test_fixture_makes_its_shape_fire(fixture: Path):
    shape = SHAPES_NAMESPACE + fixture.stem
    graph = lint_shapes() if fixture.stem in named_shapes(lint_shapes()) else data_shapes()
    results = validate(Graph().parse(fixture), graph)
    shapes = fired(results)
    assert shape in shapes, f"{fixture.name} does not make rsh:{fixture.stem} fire"
    # every result comes from a named shape, so it carries that shape's message
    assert all(s.startswith(SHAPES_NAMESPACE) for s in shapes), shapes


def _ontology_files() -> list[Path]:
    return sorted(ONTOLOGY.rglob("*.ttl")) if ONTOLOGY.is_dir() else []


def _ontology() -> Graph:
    files = _ontology_files()
    if not files:
        pytest.skip("ontology/ has no .ttl files yet")
    graph = Graph()
    for path in files:
        graph.parse(path)
    return graph


def _describe(results: Graph, severity: URIRef) -> list[str]:
    return sorted(
        f"{results.value(r, SH.focusNode)}: {results.value(r, SH.resultMessage)}"
        for r in results.subjects(SH.resultSeverity, severity)
    )


def test_ontology_passes_the_lint_shapes():
    results = validate(_ontology(), lint_shapes())
    assert _describe(results, SH.Violation) == []


def test_valid_graph_with_the_ontology_conforms():
    """The loader validates data together with the ontology; its concept schemes must satisfy the shapes."""
    results = validate(Graph().parse(VALID) + _ontology(), data_shapes())
    assert _describe(results, SH.Violation) == []
