"""Graph IRIs dereference like entity IRIs, and /catalog and /.well-known/void give browsers a page (issue 10,
item 5), against the real server of this folder (curated build + the hostile partner file)."""

from __future__ import annotations

import json
import urllib.parse

import pyoxigraph as ox
import pytest
from ldkit import fetch

BASE = "https://w3id.org/reekg/"
SOURCE = "source/usgs-mcs-2025"
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
FORMATS = {"ttl": ox.RdfFormat.TURTLE, "nt": ox.RdfFormat.N_TRIPLES, "jsonld": ox.RdfFormat.JSON_LD,
           "rdf": ox.RdfFormat.RDF_XML, "trig": ox.RdfFormat.TRIG, "nq": ox.RdfFormat.N_QUADS}


def _count(ld_server, graph: str) -> int:
    query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{BASE}graph/{graph}> {{ ?s ?p ?o }} }}"
    answer = ld_server.get(params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    return int(answer.json()["results"]["bindings"][0]["n"]["value"])


@pytest.mark.parametrize(("accept", "suffix"), [(BROWSER, "html"), ("text/turtle", "ttl"), (None, "ttl"),
                                                ("application/ld+json", "jsonld"), ("application/n-quads", "nq")])
@pytest.mark.parametrize("graph", [SOURCE, "inferred", "ontology", "partner/partner"])
def test_a_graph_iri_answers_303_to_its_document(ld_server, graph, accept, suffix):
    answer = fetch(ld_server, f"/graph/{graph}", accept)
    assert answer.status == 303, answer.text
    assert answer.header("Location").endswith(f"/graph/{graph}.{suffix}")
    assert "Accept" in answer.header("Vary")


def test_a_source_graph_page_cites_its_source_and_counts_its_triples(ld_server):
    answer = fetch(ld_server, f"/graph/{SOURCE}.html")
    assert answer.status == 200, answer.text
    assert answer.header("Content-Type").startswith("text/html")
    page = answer.text
    for expected in ("Mineral Commodity Summaries 2025 — Rare Earths", "U.S. Geological Survey", "2025",
                     'href="https://pubs.usgs.gov/periodicals/mcs2025/mcs2025-rare-earths.pdf"',
                     f"<dd>{_count(ld_server, SOURCE)}</dd>", f"{BASE}graph/{SOURCE}"):
        assert expected in page, expected
    for suffix in FORMATS:
        assert f'href="/graph/{SOURCE}.{suffix}"' in page


@pytest.mark.parametrize("suffix", list(FORMATS))
def test_a_graph_document_holds_the_graph_triples_in_each_format(ld_server, suffix):
    answer = fetch(ld_server, f"/graph/{SOURCE}.{suffix}")
    assert answer.status == 200, answer.text
    assert answer.header("Content-Type").startswith(
        {"ttl": "text/turtle", "nt": "application/n-triples", "jsonld": "application/ld+json",
         "rdf": "application/rdf+xml", "trig": "application/trig", "nq": "application/n-quads"}[suffix])
    base_iri = None
    if suffix == "jsonld":  # the context is named by URL; parse with it inlined, as a JSON-LD client would
        document = json.loads(answer.body)
        document["@context"] = json.loads(fetch(ld_server, "/context.jsonld").body)["@context"]
        body = json.dumps(document).encode()
    else:
        body = answer.body
    quads = list(ox.parse(body, format=FORMATS[suffix], base_iri=base_iri))
    assert len({(q.subject, q.predicate, q.object) for q in quads}) == _count(ld_server, SOURCE)
    if suffix in ("trig", "nq"):
        assert {q.graph_name for q in quads} == {ox.NamedNode(f"{BASE}graph/{SOURCE}")}


def test_inferred_ontology_and_partner_graph_pages(ld_server):
    inferred = fetch(ld_server, "/graph/inferred.html")
    assert inferred.status == 200 and "Inferred triples" in inferred.text
    assert f"<dd>{_count(ld_server, 'inferred')}</dd>" in inferred.text
    ontology = fetch(ld_server, "/graph/ontology.html")
    assert ontology.status == 200 and 'href="/ontology"' in ontology.text
    partner = fetch(ld_server, "/graph/partner/partner.html")
    assert partner.status == 200, partner.text
    assert "Partner graph partner" in partner.text
    assert "<script>alert(1)</script>" not in partner.text and "&lt;script&gt;" in partner.text
    assert 'href="javascript:' not in partner.text.lower()


def test_a_large_graph_document_is_capped_and_says_so(ld_server):
    count = _count(ld_server, "inferred")
    answer = fetch(ld_server, "/graph/inferred.nt")
    assert answer.status == 200
    lines = [line for line in answer.text.splitlines() if line and not line.startswith("#")]
    if count > 10_000:
        assert answer.header("Reekg-Truncated") and len(lines) == 10_000
    else:
        assert not answer.header("Reekg-Truncated") and len(lines) == count


@pytest.mark.parametrize("path", ["/graph/source/no-such-source", "/graph/source/no-such-source.ttl",
                                  "/graph/nope", "/graph/" + urllib.parse.quote("source/usgs-mcs-2025\n"),
                                  "/graph/source/usgs-mcs-2025.exe", "/graph/source/usgs-mcs-2025/x"])
def test_a_graph_the_store_does_not_hold_is_404(ld_server, path):
    answer = fetch(ld_server, path, "text/turtle")
    assert answer.status == 404, answer.text


# --- the dataset description ------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/catalog", "/.well-known/void"])
def test_a_browser_gets_a_page_of_the_dataset_description(ld_server, path):
    answer = fetch(ld_server, path, BROWSER)
    assert answer.status == 200, answer.text
    assert answer.header("Content-Type").startswith("text/html")
    assert "attachment" not in answer.header("Content-Disposition")
    page = answer.text
    for expected in ("Dataset description", "Rare-Earth Element Knowledge Graph", "reekg data catalog",
                     "/dumps/", f"{BASE}graph/{SOURCE}", "downloadURL", "sha256"):
        assert expected in page, expected
    assert 'href="?format=ttl"' in page or f'href="{path}?format=ttl"' in page
    assert "Accept" in answer.header("Vary")


@pytest.mark.parametrize(("accept", "media_type", "fmt"), [
    (None, "text/turtle", ox.RdfFormat.TURTLE),
    ("*/*", "text/turtle", ox.RdfFormat.TURTLE),
    ("text/turtle", "text/turtle", ox.RdfFormat.TURTLE),
    ("application/rdf+xml", "application/rdf+xml", ox.RdfFormat.RDF_XML),
    ("application/n-triples", "application/n-triples", ox.RdfFormat.N_TRIPLES),
])
def test_rdf_clients_keep_their_formats(ld_server, accept, media_type, fmt):
    answer = fetch(ld_server, "/catalog", accept)
    assert answer.status == 200, answer.text
    assert answer.header("Content-Type").startswith(media_type)
    triples = list(ox.parse(answer.body, format=fmt))
    assert ox.NamedNode("http://www.w3.org/ns/dcat#Catalog") in {t.object for t in triples}


def test_a_json_ld_client_gets_json_ld_and_the_format_link_works(ld_server):
    answer = fetch(ld_server, "/catalog", "application/ld+json")
    assert answer.status == 200 and answer.header("Content-Type").startswith("application/ld+json")
    json.loads(answer.body)
    by_link = fetch(ld_server, "/catalog?format=ttl", BROWSER)
    assert by_link.status == 200 and by_link.header("Content-Type").startswith("text/turtle")
    refused = fetch(ld_server, "/catalog", "image/png")
    assert refused.status == 406
