"""The dataset description against the official DCAT-AP 3.0.0 shapes (vendored, see the NOTICE beside them)
and what a harvester reads from it: contact point, keywords, themes, dates, languages, the SPARQL endpoint as
a data service and a title on every part (issue 14)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from ldkit import fetch
from pyshacl import validate
from rdflib import Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, RDF, SKOS, XSD
from serverkit import in_process

from reekg.loaders.store import StoreHome

HERE = Path(__file__).parent
DCAT_AP = HERE / "dcat-ap-3.0.0-SHACL.ttl"
DCAT_AP_SHA256 = "92f76609d78d257123e75bc6b7155df5cc0a63f14c29fbc12b0ac95c56af2059"  # see the NOTICE
OURS = HERE / "dcat.shapes.ttl"
BASE = "https://w3id.org/reekg/"
DATASET, SERVICE = URIRef(BASE + "dataset"), URIRef(BASE + "service/sparql")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
EU = "http://publications.europa.eu/resource/authority/"


@pytest.fixture(scope="module")
def shapes() -> dict[str, Graph]:
    return {"DCAT-AP 3.0.0": Graph().parse(DCAT_AP, format="turtle"), "reekg": Graph().parse(OURS, format="turtle")}


def _description(server, path: str = "/catalog") -> Graph:
    answer = fetch(server, path, "text/turtle")
    assert answer.status == 200, answer.text
    return Graph().parse(data=answer.body, format="turtle")


@pytest.fixture(scope="module")
def catalog(ld_server) -> Graph:
    return _description(ld_server)


def _violations(graph: Graph, shapes: Graph) -> str | None:
    conforms, _, text = validate(graph, shacl_graph=shapes)
    return None if conforms else text


def test_the_vendored_shapes_are_the_official_release():
    assert hashlib.sha256(DCAT_AP.read_bytes()).hexdigest() == DCAT_AP_SHA256


@pytest.mark.parametrize("which", ["DCAT-AP 3.0.0", "reekg"])
def test_the_served_description_and_the_release_file_conform(ld_server, catalog, shapes, which):
    assert _violations(catalog, shapes[which]) is None, _violations(catalog, shapes[which])
    name = next(catalog.objects(DATASET, URIRef("http://www.w3.org/ns/dcat#version")))
    void = Graph().parse(data=fetch(ld_server, f"/dumps/{name}/void.ttl").body, format="turtle")
    assert _violations(void, shapes[which]) is None


@pytest.mark.parametrize("path", ["/dataset", "/service/sparql", "/dataset/x/ttl"])
def test_the_dataset_and_service_iris_answer_303_to_their_description(ld_server, path):
    answer = fetch(ld_server, path, "text/turtle")
    assert answer.status == 303 and answer.header("location") == "/catalog"
    assert fetch(ld_server, path + "?format=jsonld").header("location") == "/catalog?format=jsonld"


# (what is taken out, which shapes must then fail): each official shape the description meets by stating
# something fires without it, so the test above proves those statements are read
BROKEN = [
    ("the service's title", lambda g: g.remove((SERVICE, DCTERMS.title, None)), "DCAT-AP 3.0.0"),
    ("the service's endpoint", lambda g: g.remove((SERVICE, DCAT.endpointURL, None)), "DCAT-AP 3.0.0"),
    ("the licence's class", lambda g: g.remove((None, RDF.type, DCTERMS.LicenseDocument)), "DCAT-AP 3.0.0"),
    ("the media types' class", lambda g: g.remove((None, RDF.type, DCTERMS.MediaType)), "DCAT-AP 3.0.0"),
    ("the contact point", lambda g: g.remove((DATASET, DCAT.contactPoint, None)), "reekg"),
    ("the parts' titles", lambda g: [g.remove((part, DCTERMS.title, None))
                                     for part in list(g.objects(DATASET, DCTERMS.hasPart))], "DCAT-AP 3.0.0"),
    ("the themes", lambda g: g.remove((DATASET, DCAT.theme, None)), "reekg"),
    ("the languages", lambda g: g.remove((DATASET, DCTERMS.language, None)), "reekg"),
]


@pytest.mark.parametrize(("what", "remove", "which"), BROKEN, ids=[b[0] for b in BROKEN])
def test_the_shapes_catch_what_a_harvester_misses(catalog, shapes, what, remove, which):
    broken = Graph()
    for triple in catalog:
        broken.add(triple)
    remove(broken)
    assert _violations(broken, shapes[which]) is not None, what


def test_a_harvester_finds_contact_keywords_themes_dates_and_languages(ld_home, catalog):
    point = catalog.value(DATASET, DCAT.contactPoint)
    assert (point, RDF.type, VCARD.Kind) in catalog
    assert catalog.value(point, VCARD.hasURL) == URIRef(BASE)  # the default: the base, the project's home
    keywords = {(str(k), k.language) for k in catalog.objects(DATASET, DCAT.keyword)}
    assert ("rare-earth elements", "en") in keywords and ("稀土元素", "zh-Hant") in keywords
    themes = set(catalog.objects(DATASET, DCAT.theme))
    assert themes == {URIRef(EU + "data-theme/ECON"), URIRef(EU + "data-theme/TECH")}
    assert all(catalog.value(t, SKOS.prefLabel) for t in themes)
    built = StoreHome(ld_home).manifest()["built_at"][:10]
    assert catalog.value(DATASET, DCTERMS.issued) == Literal(built, datatype=XSD.date)
    # the curated tables have English and Chinese (zh-Hant, zh-Hans) labels: both languages, nothing guessed
    assert set(catalog.objects(DATASET, DCTERMS.language)) == {URIRef(EU + "language/ENG"),
                                                               URIRef(EU + "language/ZHO")}
    for distribution in catalog.objects(DATASET, DCAT.distribution):
        assert str(catalog.value(distribution, DCTERMS.format)).startswith(EU + "file-type/")
        assert catalog.value(distribution, DCTERMS.issued) == Literal(built, datatype=XSD.date)


def test_the_sparql_endpoint_is_a_data_service(ld_server, catalog):
    assert (URIRef(BASE + "catalog"), DCAT.service, SERVICE) in catalog
    endpoint = catalog.value(SERVICE, DCAT.endpointURL)
    assert endpoint == URIRef(ld_server.url + "/sparql")
    assert catalog.value(SERVICE, DCAT.servesDataset) == DATASET
    assert catalog.value(SERVICE, DCTERMS.conformsTo) == URIRef("https://www.w3.org/TR/sparql11-protocol/")
    described = fetch(ld_server, "/sparql", "text/turtle")  # its endpoint description: a GET without a query
    assert described.status == 200 and "sparql-service-description" in described.text


def test_every_part_has_a_title_from_its_source(catalog):
    parts = set(catalog.objects(DATASET, DCTERMS.hasPart))
    assert parts == set(catalog.objects(DATASET, URIRef("http://rdfs.org/ns/void#subset")))
    assert all(catalog.value(part, DCTERMS.title) for part in parts)
    usgs = URIRef(BASE + "graph/source/usgs-mcs-2025")
    assert str(catalog.value(usgs, DCTERMS.title)) == "Mineral Commodity Summaries 2025 — Rare Earths"  # sources.csv
    assert str(catalog.value(URIRef(BASE + "graph/inferred"), DCTERMS.title)) == "Inferred triples"


@pytest.mark.parametrize(("setting", "predicate"), [
    ("https://example.org/reekg/issues", VCARD.hasURL),
    ("mailto:data@example.org", VCARD.hasEmail),
])
def test_the_contact_is_the_contact_url_setting(ld_home, ld_server, setting, predicate):
    graph = _description(in_process(ld_home, contact_url=setting))
    point = graph.value(DATASET, DCAT.contactPoint)
    assert graph.value(point, predicate) == URIRef(setting)
