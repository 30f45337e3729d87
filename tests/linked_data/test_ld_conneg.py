"""Dereferencing: every kind of IRI × every format, against a real server on the curated graph."""

from __future__ import annotations

import json

import pyoxigraph as ox
import pytest
from ldkit import fetch
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF

BASE = "https://w3id.org/reekg/"
# (request path, the IRI it stands for, where HTML lives)
IRIS = [
    ("/id/element/Nd", BASE + "id/element/Nd", "/doc/element/Nd"),
    ("/id/country/CN", BASE + "id/country/CN", "/doc/country/CN"),
    ("/id/robot/tesla-optimus", BASE + "id/robot/tesla-optimus", "/doc/robot/tesla-optimus"),
    ("/id/source/usgs-mcs-2025", BASE + "id/source/usgs-mcs-2025", "/doc/source/usgs-mcs-2025"),
    ("/id/mine/bayan-obo", BASE + "id/mine/bayan-obo", "/doc/mine/bayan-obo"),
    ("/ontology", BASE + "ontology", "/ontology.html"),
    ("/ontology/0.1.0", BASE + "ontology", "/ontology/0.1.0.html"),
]
# (Accept, media type answered, rdflib parser, file suffix)
FORMATS = [
    ("text/turtle", "text/turtle", "turtle", "ttl"),
    ("application/ld+json", "application/ld+json", "json-ld", "jsonld"),
    ("application/n-triples", "application/n-triples", "nt", "nt"),
    ("application/rdf+xml", "application/rdf+xml", "xml", "rdf"),
]
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


@pytest.mark.parametrize(("path", "iri", "html_path"), IRIS, ids=[i[0] for i in IRIS])
def test_a_browser_is_sent_to_the_html_page(ld_server, path, iri, html_path):
    first = fetch(ld_server, path, BROWSER)
    assert first.status == 303
    assert first.header("location") == html_path
    assert "Accept" in first.header("vary")
    page = fetch(ld_server, html_path, BROWSER)
    assert page.status == 200
    assert page.header("content-type").startswith("text/html")
    assert "<!doctype html>" in page.text.lower()
    assert "/sparql?query=" in page.text  # the SPARQL behind the page
    assert 'href="/query"' in page.text or 'href="/sparql"' in page.text  # and the query page


@pytest.mark.parametrize(("path", "iri", "html_path"), IRIS, ids=[i[0] for i in IRIS])
@pytest.mark.parametrize(("accept", "media_type", "parser", "suffix"), FORMATS, ids=[f[3] for f in FORMATS])
def test_a_machine_is_sent_to_data_in_its_format(ld_server, path, iri, html_path, accept, media_type, parser,
                                                 suffix):
    first = fetch(ld_server, path, accept)
    assert first.status == 303, first.text
    location = first.header("location")
    assert location.endswith("." + suffix)
    assert "Accept" in first.header("vary")
    document = fetch(ld_server, location, accept)
    assert document.status == 200
    assert document.header("content-type").split(";")[0] == media_type
    graph = Graph()
    if parser == "json-ld":
        body = json.loads(document.body)
        assert body["@context"] == BASE + "context.jsonld"  # the published context, by its URL under the base
        # what a JSON-LD processor does: fetch the context it names, then expand (pyoxigraph does not fetch)
        body["@context"] = json.loads(fetch(ld_server, "/context.jsonld").body)["@context"]
        expanded = ox.parse(json.dumps(body).encode(), format=ox.RdfFormat.JSON_LD)
        triples = [ox.Triple(q.subject, q.predicate, q.object) for q in expanded]
        graph.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt")
    else:
        graph.parse(data=document.body, format=parser)
    assert (URIRef(iri), None, None) in graph, f"{location} says nothing about <{iri}>"


def test_the_ontology_document_answers_for_its_hash_terms(ld_server):
    turtle = Graph().parse(data=fetch(ld_server, "/ontology.ttl").body, format="turtle")
    mine = URIRef(BASE + "ontology#Mine")
    assert (mine, RDF.type, OWL.Class) in turtle
    assert (URIRef(BASE + "ontology"), OWL.versionIRI, URIRef(BASE + "ontology/0.1.0")) in turtle
    html = fetch(ld_server, "/ontology.html").text
    assert 'id="Mine"' in html and 'id="dependsOnElement"' in html
    assert "礦山" in html  # labels in zh-Hant beside en
    # a term's own IRI links back to its place in the document
    assert 'href="/ontology#SupplySite"' in fetch(ld_server, "/doc/mine/bayan-obo").text


@pytest.mark.parametrize("path", [i[0] for i in IRIS])
def test_anything_else_is_406_naming_what_is_acceptable(ld_server, path):
    answer = fetch(ld_server, path, "image/png")
    assert answer.status == 406
    message = json.loads(answer.body)["error"]
    for media_type in ("text/html", "text/turtle", "application/ld+json", "application/n-triples",
                       "application/rdf+xml"):
        assert media_type in message


@pytest.mark.parametrize("path", ["/id/element/Xx", "/doc/element/Xx", "/data/element/Xx.ttl", "/id/nokind/x",
                                  "/ontology/9.9.9", "/ontology/9.9.9.ttl", "/data/element/Nd.png"])
def test_unknown_things_are_404(ld_server, path):
    assert fetch(ld_server, path, "text/turtle").status == 404


def test_no_accept_or_any_gets_turtle_and_a_suffix_overrides(ld_server):
    assert fetch(ld_server, "/id/element/Nd").header("location") == "/data/element/Nd.ttl"
    assert fetch(ld_server, "/id/element/Nd", "*/*").header("location") == "/data/element/Nd.ttl"
    assert fetch(ld_server, "/id/element/Nd?format=jsonld", "text/html").header("location") == "/data/element/Nd.jsonld"
    assert fetch(ld_server, "/data/element/Nd.nt", "text/html").header("content-type").startswith(
        "application/n-triples")


def test_named_graph_formats_keep_the_source_of_each_statement(ld_server):
    quads = ox.parse(fetch(ld_server, "/data/element/Nd.nq").body, format=ox.RdfFormat.N_QUADS)
    graphs = {q.graph_name.value for q in quads}
    assert BASE + "graph/inferred" in graphs
    assert any(g.startswith(BASE + "graph/source/") for g in graphs)


def test_the_entity_page_shows_names_types_provenance_and_incoming_links(ld_server):
    page = fetch(ld_server, "/doc/element/Nd").text
    assert "neodymium" in page and "釹" in page
    assert 'href="/ontology#RareEarthElement"' in page
    assert 'href="/id/source/' in page  # each statement's source links to the source entity
    assert "Incoming links" in page and 'href="/id/material/' in page
    mine = fetch(ld_server, "/doc/mine/bayan-obo").text
    assert "Inner Mongolia" in mine and "Position:" in mine and "href=\"/map\"" in mine  # sourced (coordinates.csv)


def test_the_context_is_published(ld_server):
    answer = fetch(ld_server, "/context.jsonld")
    assert answer.status == 200 and answer.header("content-type").startswith("application/ld+json")
    context = json.loads(answer.body)["@context"]
    assert context["reekg"] == BASE + "ontology#" and context["element"] == BASE + "id/element/"
    assert context["Mine"] == {"@id": "reekg:Mine"}
    assert context["dependsOnElement"] == {"@id": "reekg:dependsOnElement", "@type": "@id"}
    assert context["shareOfWorld"] == {"@id": "reekg:shareOfWorld", "@type": "xsd:decimal"}
    assert context["symbol"] == {"@id": "reekg:symbol"}  # xsd:string: plain JSON strings, no coercion
    assert context["label"] == {"@id": "rdfs:label", "@container": "@language"}
    # a property named like a prefix keeps the prefix and is defined under its compact IRI
    assert context["confidence"] == BASE + "id/confidence/"
    assert context["reekg:confidence"] == {"@type": "@id"}


# A renamed id (data/replaced_ids.csv): the old IRI held a year its source does not give (issue 11)
OLD_OBSERVATION = "iea-gcmo-2024-my-2023-refining-share"
NEW_OBSERVATION = "iea-gcmo-2024-my-refining-share"


@pytest.mark.parametrize(("path", "accept", "location"), [
    (f"/id/observation/{OLD_OBSERVATION}", "text/html", f"/id/observation/{NEW_OBSERVATION}"),
    (f"/id/observation/{OLD_OBSERVATION}", "text/turtle", f"/id/observation/{NEW_OBSERVATION}"),
    (f"/id/observation/{OLD_OBSERVATION}?format=jsonld", None, f"/id/observation/{NEW_OBSERVATION}?format=jsonld"),
    (f"/doc/observation/{OLD_OBSERVATION}", "text/html", f"/doc/observation/{NEW_OBSERVATION}"),
    (f"/data/observation/{OLD_OBSERVATION}.ttl", None, f"/data/observation/{NEW_OBSERVATION}.ttl"),
    (f"/data/observation/{OLD_OBSERVATION}.nq", None, f"/data/observation/{NEW_OBSERVATION}.nq"),
])
def test_a_replaced_iri_moves_permanently_to_its_replacement(ld_server, path, accept, location):
    reply = fetch(ld_server, path, accept)
    assert reply.status == 301 and reply.header("location") == location
    assert fetch(ld_server, location.split("?")[0], accept).status in (200, 303)


def test_the_replaced_iri_is_deprecated_in_the_data(ld_server):
    old = URIRef(BASE + f"id/observation/{OLD_OBSERVATION}")
    graph = Graph().parse(data=fetch(ld_server, "/sparql?query=" + (
        f"CONSTRUCT%20%7B%3C{old}%3E%20%3Fp%20%3Fo%7D%20WHERE%20%7B%3C{old}%3E%20%3Fp%20%3Fo%7D"),
        "text/turtle").body, format="turtle")
    assert (old, OWL.deprecated, None) in graph
    assert graph.value(old, URIRef("http://purl.org/dc/terms/isReplacedBy")) == URIRef(
        BASE + f"id/observation/{NEW_OBSERVATION}")
    # an id that was never renamed still answers as before
    assert fetch(ld_server, f"/doc/observation/{NEW_OBSERVATION}", "text/html").status == 200
