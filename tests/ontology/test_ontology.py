"""Ontology QC that proves it ran: files parse, qc/*.rq return no rows (and do fire on broken input),
HermiT finds the ontology consistent, catches injected contradictions and uses the property chains."""

from __future__ import annotations

from importlib.resources import as_file

import pyoxigraph
import pytest
from rdflib import OWL, RDF, RDFS, SKOS, Graph, Literal, Namespace, URIRef
from rdflib.collection import Collection
from rdflib.plugins.sparql import prepareQuery

from reekg.ontology import ONTOLOGY_IRI, TERMS_NAMESPACE, load_ontology, ontology_files, qc_queries
from reekg.ontology.hermit import check_consistency

REEKG = Namespace(TERMS_NAMESPACE)
ID = Namespace("https://w3id.org/reekg/id/")
DCTERMS = Namespace("http://purl.org/dc/terms/")
VANN = Namespace("http://purl.org/vocab/vann/")
TERM_KINDS = (OWL.Class, OWL.ObjectProperty, OWL.DatatypeProperty, OWL.AnnotationProperty)

# The concept schemes and concept ids of docs/model.md, with the IRI kind each lives under.
SCHEMES = {
    "function": ("function", "magnet sensor optics phosphor laser catalyst polishing battery alloy "
                             "magnetostrictive ceramic"),
    "stage": ("stage", "mining concentration cracking separation metal-alloy magnet-making recycling"),
    "maturity": ("maturity", "research pilot early-commercial commercial mature"),
    "confidence": ("confidence", "verified secondary unverified"),
    "status": ("status", "in-force suspended abolished announced active expired"),
    "element-group": ("element-group", "light middle medium-heavy heavy neither"),
    "convention": ("convention", "usgs china-2way china-3way"),
    "metric": ("metric", "max-energy-product max-working-temperature curie-temperature mass heavy-re-use "
                         "remanence range"),
    "quantity": ("quantity", "mine-production reserves capacity-share output-share"),
    "penalty": ("penalty", "none low moderate high prohibitive"),
    # issue 11: dated site status, the three-valued in-force value and the basis of a share
    "site-status": ("site-status", "operating commissioning under-construction care-and-maintenance permitting "
                                   "development pilot blocked not-producing"),
    "in-force": ("in-force", "yes no unknown"),
    "share-basis": ("share-basis", "element-specific all-ree-proxy"),
}

# docs/model.md, "Object property axioms" and "Disjoint".
CHAINS = {
    (REEKG.dependsOnElement, (REEKG.usesMaterial, REEKG.dependsOnElement)),
    (REEKG.dependsOnElement, (REEKG.hasComponent, REEKG.dependsOnElement)),
    (REEKG.dependsOnElement, (REEKG.hasSubsystem, REEKG.dependsOnElement)),
    (REEKG.containsElement, (REEKG.hasElementContent, REEKG.element)),
    (REEKG.suppliedBy, (REEKG.madeAt, REEKG.hasUpstream)),
    (REEKG.sourcedFromCountry, (REEKG.suppliedBy, REEKG.locatedIn)),
}
DISJOINT = {
    "ChemicalElement", "Material", "Component", "RobotSubsystem", "RobotModel", "GeographicArea", "Company",
    "SupplySite", "PolicyMeasure", "Source", "ElementGroupAssignment", "ElementContent", "MagnetMassEstimate",
    "SupplyLink", "StatisticalObservation", "ControlledItem", "Substitution", "TradeOff",
    "SiteStatusObservation", "InForceStatement", "PriceObservation", "SiteCoordinates",
}


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return load_ontology()


@pytest.fixture(scope="module")
def hermit_report(ontology):
    return check_consistency(ontology)


def _terms(graph: Graph) -> set[URIRef]:
    return {s for kind in TERM_KINDS for s in graph.subjects(RDF.type, kind)
            if isinstance(s, URIRef) and str(s).startswith(TERMS_NAMESPACE)}


def _with(ontology: Graph, *triples) -> Graph:
    graph = Graph()
    for triple in ontology:
        graph.add(triple)
    for triple in triples:
        graph.add(triple)
    return graph


# --- files ---------------------------------------------------------------------------------------------

def test_ontology_files_are_found_and_each_parses():
    paths = ontology_files()
    names = [p.name for p in paths]
    assert names[0] == "reekg.ttl"
    expected_modules = {"elements", "functions", "materials", "robots", "supply", "quantities", "policy",
                        "substitution", "provenance", "schemes"}
    assert expected_modules | {"external", "wikidata"} <= {n.removesuffix(".ttl") for n in names}
    for resource in paths:
        with as_file(resource) as path:
            graph = Graph().parse(path, format="turtle")
        assert len(graph) > 0, resource.name
    assert len(paths) == len(set(names))


def test_qc_files_parse_as_select_queries():
    queries = qc_queries()
    assert len(queries) >= 7
    for name, text in queries.items():
        assert text.lstrip().startswith("#"), f"{name} needs a header comment saying what it checks"
        assert prepareQuery(text).algebra.name == "SelectQuery", name


def test_header(ontology):
    o = ONTOLOGY_IRI
    assert (o, RDF.type, OWL.Ontology) in ontology
    for prop in (DCTERMS.title, DCTERMS.description):
        languages = sorted(v.language for v in ontology.objects(o, prop))
        assert languages == ["en", "zh-Hant"], prop
    assert (o, DCTERMS.license, URIRef("https://creativecommons.org/licenses/by/4.0/")) in ontology
    assert (o, DCTERMS.creator, Literal("reekg contributors")) in ontology
    assert ontology.value(o, DCTERMS.created) is not None and ontology.value(o, DCTERMS.modified) is not None
    assert (o, OWL.versionIRI, URIRef("https://w3id.org/reekg/ontology/0.1.0")) in ontology
    assert (o, OWL.versionInfo, Literal("0.1.0")) in ontology
    assert (o, VANN.preferredNamespacePrefix, Literal("reekg")) in ontology
    assert (o, VANN.preferredNamespaceUri, Literal(TERMS_NAMESPACE)) in ontology
    assert not list(ontology.triples((None, OWL.imports, None))), "everything must load offline"


# --- qc/*.rq -------------------------------------------------------------------------------------------

def test_qc_queries_return_no_rows(ontology):
    queries = qc_queries()
    terms = _terms(ontology)
    units = set(ontology.subjects(RDF.type, URIRef("http://qudt.org/schema/qudt/Unit")))  # e.g. …/id/unit/MGOe
    defined = set(ontology.subjects(RDFS.isDefinedBy, ONTOLOGY_IRI)) - units
    failures = {name: list(ontology.query(text)) for name, text in queries.items()}
    assert {name: rows for name, rows in failures.items() if rows} == {}
    # It ran over what we think it ran over: every qc file, every term.
    assert len(failures) == len(queries) >= 7
    assert terms == defined
    assert len(terms) > 40
    classes = {t for t in terms if (t, RDF.type, OWL.Class) in ontology}
    assert len(classes) >= 24


def test_qc_queries_agree_on_a_second_engine(ontology):
    store = pyoxigraph.Store()
    store.load(ontology.serialize(format="nt", encoding="utf-8"), pyoxigraph.RdfFormat.N_TRIPLES)
    for name, text in qc_queries().items():
        assert list(store.query(text)) == [], name


def test_qc_queries_fire_on_broken_terms(ontology):
    broken, prop, concept = REEKG.BrokenClass, REEKG.brokenProperty, ID["function/broken"]
    graph = _with(
        ontology,
        (broken, RDF.type, OWL.Class),
        (broken, RDFS.label, Literal("broken", lang="en")),
        (broken, RDFS.label, Literal("also broken", lang="en")),
        (broken, OWL.deprecated, Literal(True)),
        (prop, RDF.type, OWL.ObjectProperty),
        (concept, RDF.type, SKOS.Concept),
    )
    expected = {
        "concept-without-scheme.rq": concept,
        "deprecated-without-replacement.rq": broken,
        "duplicate-label.rq": broken,
        "missing-definition.rq": broken,
        "missing-is-defined-by.rq": broken,
        "missing-label-en.rq": prop,
        "missing-label-zh-hans.rq": broken,
        "missing-label-zh-hant.rq": broken,
        "property-without-domain-or-range.rq": prop,
    }
    queries = qc_queries()
    assert set(queries) == set(expected), "a new qc file needs a broken case here"
    for name, text in queries.items():
        caught = {row[0] for row in graph.query(text)}
        assert expected[name] in caught, f"{name} does not catch {expected[name]}"


# --- vocabulary the model fixes ------------------------------------------------------------------------

def test_concept_schemes_hold_every_concept_of_the_model(ontology):
    concepts = 0
    for scheme_kind, (iri_kind, ids) in SCHEMES.items():
        scheme = ID[f"scheme/{scheme_kind}"]
        assert (scheme, RDF.type, SKOS.ConceptScheme) in ontology
        members = set(ontology.subjects(SKOS.inScheme, scheme))
        expected = {ID[f"{iri_kind}/{cid}"] for cid in ids.split()}
        assert members == expected, scheme_kind
        concepts += len(expected)
    assert concepts == len(set(ontology.subjects(RDF.type, SKOS.Concept))) == 70
    functions = set(ontology.subjects(RDF.type, REEKG.Function))
    assert functions == set(ontology.subjects(SKOS.inScheme, ID["scheme/function"]))


def test_axioms_of_the_model_are_stated(ontology):
    chains = {(p, tuple(Collection(ontology, head))) for p, head in
              ontology.subject_objects(OWL.propertyChainAxiom)}
    assert chains == CHAINS
    assert (REEKG.containsElement, RDFS.subPropertyOf, REEKG.dependsOnElement) in ontology
    assert (REEKG.madeAt, RDFS.subPropertyOf, REEKG.suppliedBy) in ontology
    assert (REEKG.hasUpstream, RDF.type, OWL.TransitiveProperty) in ontology
    assert (REEKG.feeds, RDFS.subPropertyOf, REEKG.hasDownstream) in ontology
    assert (REEKG.hasDownstream, OWL.inverseOf, REEKG.hasUpstream) in ontology
    assert (REEKG.element, RDFS.range, REEKG.ChemicalElement) in ontology
    assert ontology.value(REEKG.element, RDFS.domain) is None
    disjoint = [set(Collection(ontology, ontology.value(node, OWL.members)))
                for node in ontology.subjects(RDF.type, OWL.AllDisjointClasses)]
    assert disjoint == [{REEKG[name] for name in DISJOINT}]


# --- HermiT ----------------------------------------------------------------------------------------------

def test_hermit_finds_the_ontology_consistent(hermit_report):
    assert hermit_report.consistent, hermit_report.message
    assert hermit_report.unsatisfiable == ()
    assert hermit_report.ok
    assert hermit_report.seconds > 0


def test_hermit_catches_an_individual_in_two_disjoint_classes(ontology):
    thing = ID["material/not-an-element"]
    report = check_consistency(_with(ontology, (thing, RDF.type, REEKG.Material),
                                     (thing, RDF.type, REEKG.ChemicalElement)))
    assert not report.consistent
    assert not report.ok
    assert "Inconsistent ontology" in report.message


def test_hermit_lists_unsatisfiable_classes_and_uses_the_chains(ontology):
    """One JVM call for two checks: a class under two disjoint classes is unsatisfiable (but, with no
    instance, the ontology stays consistent), and the property chains reach from robot to element and from
    material to country."""
    bad = REEKG.MagnetElement
    robot, subsystem, component = ID["robot/r"], ID["subsystem/joint-actuation"], ID["component/servo"]
    material, content, neodymium = ID["material/ndfeb"], ID["element-content/ndfeb-nd"], ID["element/Nd"]
    plant, mine, china = ID["facility/magnet-plant"], ID["mine/bayan-obo"], ID["country/CN"]
    report = check_consistency(_with(
        ontology,
        (bad, RDF.type, OWL.Class),
        (bad, RDFS.subClassOf, REEKG.Material),
        (bad, RDFS.subClassOf, REEKG.ChemicalElement),
        (robot, RDF.type, REEKG.RobotModel),
        (robot, REEKG.hasSubsystem, subsystem),
        (subsystem, REEKG.hasComponent, component),
        (component, REEKG.usesMaterial, material),
        (material, REEKG.hasElementContent, content),
        (content, REEKG.element, neodymium),
        (material, REEKG.madeAt, plant),
        (mine, REEKG.feeds, plant),
        (mine, REEKG.locatedIn, china),
    ), infer_property_values=True)
    assert report.consistent, report.message
    assert report.unsatisfiable == (str(bad),)
    inferred = report.inferred
    assert (str(robot), str(REEKG.dependsOnElement), str(neodymium)) in inferred
    assert (str(material), str(REEKG.containsElement), str(neodymium)) in inferred
    assert (str(material), str(REEKG.suppliedBy), str(mine)) in inferred
    assert (str(material), str(REEKG.sourcedFromCountry), str(china)) in inferred
