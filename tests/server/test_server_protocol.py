"""The SPARQL 1.1 Protocol as a table of cases, on the service in process (`app_server`); health, metrics and
the access log against the real `reekg serve` process (`server`)."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest
from serverkit import BULK_GRAPH, ELEMENTS_GRAPH

Q = 'SELECT ?s WHERE { ?s reekg:symbol "Nd" }'
ASK = 'ASK { ?s reekg:symbol "Dy" }'
CONSTRUCT = 'CONSTRUCT { ?s rdfs:label ?l } WHERE { ?s reekg:symbol "Nd" ; rdfs:label ?l }'
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
ND = "https://w3id.org/reekg/id/element/Nd"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DIRECT = {"Content-Type": "application/sparql-query"}


def form(**fields) -> bytes:
    return urllib.parse.urlencode(fields, doseq=True).encode()


# (id, method, params, headers, body, status, content-type fragment, body fragment)
CASES = [
    ("get-json-default", "GET", {"query": Q}, {}, None, 200, "application/sparql-results+json", ND),
    ("get-xml", "GET", {"query": Q}, {"Accept": "application/sparql-results+xml"}, None, 200,
     "application/sparql-results+xml", f"<uri>{ND}</uri>"),
    ("get-csv", "GET", {"query": Q}, {"Accept": "text/csv"}, None, 200, "text/csv", f"s\r\n{ND}\r\n"),
    ("get-tsv", "GET", {"query": Q}, {"Accept": "text/tab-separated-values"}, None, 200,
     "text/tab-separated-values", f"?s\n<{ND}>\n"),
    ("accept-q-values", "GET", {"query": Q}, {"Accept": "text/csv;q=0.5, application/sparql-results+xml;q=0.9"},
     None, 200, "application/sparql-results+xml", "<sparql"),
    ("accept-wildcard-subtype", "GET", {"query": Q}, {"Accept": "text/*"}, None, 200, "text/csv", ND),
    ("accept-any", "GET", {"query": Q}, {"Accept": "*/*"}, None, 200, "application/sparql-results+json", ND),
    ("accept-plain-json", "GET", {"query": Q}, {"Accept": "application/json"}, None, 200,
     "application/sparql-results+json", ND),
    ("format-param-beats-accept", "GET", {"query": Q, "format": "json"}, {"Accept": "text/csv"}, None, 200,
     "application/sparql-results+json", ND),
    ("output-param", "GET", {"query": Q, "output": "xml"}, {}, None, 200, "application/sparql-results+xml", ND),
    ("format-tsv", "GET", {"query": Q, "format": "tsv"}, {}, None, 200, "text/tab-separated-values", ND),
    ("format-media-type", "GET", {"query": Q, "format": "text/csv"}, {}, None, 200, "text/csv", ND),
    ("post-form", "POST", None, FORM, form(query=Q), 200, "application/sparql-results+json", ND),
    ("post-direct", "POST", None, DIRECT, Q.encode(), 200, "application/sparql-results+json", ND),
    ("post-direct-charset", "POST", None, {"Content-Type": "application/sparql-query; charset=utf-8"},
     Q.encode(), 200, "application/sparql-results+json", ND),
    ("ask-json", "GET", {"query": ASK}, {}, None, 200, "application/sparql-results+json", '"boolean":true'),
    ("ask-xml", "GET", {"query": ASK}, {"Accept": "application/sparql-results+xml"}, None, 200,
     "application/sparql-results+xml", "<boolean>true</boolean>"),
    ("construct-turtle-default", "GET", {"query": CONSTRUCT}, {}, None, 200, "text/turtle", '"neodymium"@en'),
    ("construct-ntriples", "GET", {"query": CONSTRUCT}, {"Accept": "application/n-triples"}, None, 200,
     "application/n-triples", f'<{ND}> <http://www.w3.org/2000/01/rdf-schema#label> "neodymium"@en'),
    ("construct-jsonld", "GET", {"query": CONSTRUCT}, {"Accept": "application/ld+json"}, None, 200,
     "application/ld+json", "neodymium"),
    ("construct-rdfxml", "GET", {"query": CONSTRUCT}, {"Accept": "application/rdf+xml"}, None, 200,
     "application/rdf+xml", "rdf:RDF"),
    ("construct-trig", "GET", {"query": CONSTRUCT}, {"Accept": "application/trig"}, None, 200,
     "application/trig", "neodymium"),
    ("construct-nquads", "GET", {"query": CONSTRUCT}, {"Accept": "application/n-quads"}, None, 200,
     "application/n-quads", "neodymium"),
    ("construct-format-xml-is-rdfxml", "GET", {"query": CONSTRUCT, "format": "xml"}, {}, None, 200,
     "application/rdf+xml", "rdf:RDF"),
    ("construct-q-values", "GET", {"query": CONSTRUCT},
     {"Accept": "application/rdf+xml;q=0.2, application/n-triples;q=0.8"}, None, 200,
     "application/n-triples", "neodymium"),
    ("describe", "GET", {"query": f"DESCRIBE <{ND}>"}, {"Accept": "application/n-triples"}, None, 200,
     "application/n-triples", "neodymium"),
    ("union-default-graph", "GET", {"query": COUNT}, {"Accept": "text/csv"}, None, 200, "text/csv", "n\r\n3012"),
    ("default-graph-uri", "GET", {"query": COUNT, "default-graph-uri": ELEMENTS_GRAPH}, {"Accept": "text/csv"},
     None, 200, "text/csv", "n\r\n12\r\n"),
    ("default-graph-uri-repeated", "GET", {"query": COUNT, "default-graph-uri": [ELEMENTS_GRAPH, BULK_GRAPH]},
     {"Accept": "text/csv"}, None, 200, "text/csv", "n\r\n3012\r\n"),
    ("named-graph-uri", "GET", {"query": "SELECT DISTINCT ?g WHERE { GRAPH ?g { ?s ?p ?o } }",
                                "named-graph-uri": ELEMENTS_GRAPH}, {"Accept": "text/csv"}, None, 200,
     "text/csv", f"g\r\n{ELEMENTS_GRAPH}\r\n"),
    ("graph-params-in-form", "POST", None, FORM, form(query=COUNT, **{"default-graph-uri": ELEMENTS_GRAPH}), 200,
     "application/sparql-results+json", '"value":"12"'),
    ("from-store-graph", "GET", {"query": f"SELECT (COUNT(*) AS ?n) FROM <{ELEMENTS_GRAPH}> WHERE {{ ?s ?p ?o }}"},
     {"Accept": "text/csv"}, None, 200, "text/csv", "n\r\n12\r\n"),
    ("service-description", "GET", None, {}, None, 200, "text/turtle", "sd:Service"),
    ("service-description-ntriples", "GET", None, {"Accept": "application/n-triples"}, None, 200,
     "application/n-triples", "<http://www.w3.org/ns/sparql-service-description#UnionDefaultGraph>"),
    ("service-description-names-graphs", "GET", None, {}, None, 200, "text/turtle", ELEMENTS_GRAPH),
    # errors
    ("syntax-error-with-position", "GET", {"query": "SELECT * WHERE { ?s ?p }"}, {}, None, 400, "text/plain",
     "error at 1:"),
    ("duplicated-query", "GET", {"query": [Q, Q]}, {}, None, 400, "text/plain", "more than once"),
    ("query-in-url-and-form", "POST", {"query": Q}, FORM, form(query=Q), 400, "text/plain", "both"),
    ("query-in-url-and-body", "POST", {"query": Q}, DIRECT, Q.encode(), 400, "text/plain", "both"),
    ("post-without-query", "POST", None, FORM, form(format="json"), 400, "text/plain", "no query"),
    ("unknown-content-type", "POST", None, {"Content-Type": "text/plain"}, Q.encode(), 415, "text/plain",
     "application/sparql-query"),
    ("body-not-utf8", "POST", None, DIRECT, b"SELECT \xff", 400, "text/plain", "UTF-8"),
    ("not-acceptable-results", "GET", {"query": Q}, {"Accept": "image/png"}, None, 406, "text/plain",
     "acceptable: application/sparql-results+json"),
    ("not-acceptable-q-zero", "GET", {"query": Q}, {"Accept": "application/sparql-results+json;q=0, text/html"},
     None, 406, "text/plain", "text/csv"),
    ("not-acceptable-graph", "GET", {"query": CONSTRUCT}, {"Accept": "image/png"}, None, 406, "text/plain",
     "text/turtle"),
    ("unknown-format-param", "GET", {"query": Q, "format": "yaml"}, {}, None, 406, "text/plain", "'yaml'"),
    ("conflicting-format", "GET", {"query": Q, "format": ["json", "xml"]}, {}, None, 400, "text/plain",
     "different formats"),
    ("repeated-agreeing-format", "GET", {"query": Q, "format": ["tsv", "text/tab-separated-values"]}, {}, None,
     200, "text/tab-separated-values", ND),
    ("body-too-large", "POST", None, DIRECT, (Q + " #" + "x" * 30000).encode(), 413, "text/plain", "20000"),
    ("form-too-large", "POST", None, FORM, form(query=Q + " #" + "x" * 30000), 413, "text/plain", "20000"),
    ("query-string-too-long", "GET", {"query": Q + " #" + "x" * 30000}, {}, None, 414, "text/plain", "POST"),
    ("update-param", "POST", None, FORM, form(update="CLEAR ALL"), 400, "text/plain", "update"),
    ("update-as-query", "GET", {"query": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"}, {}, None, 400, "text/plain",
     "updates are not accepted"),
    ("update-as-query-lowercase", "POST", None, DIRECT, b"prefix x: <urn:x> delete where { ?s ?p ?o }", 400,
     "text/plain", "DELETE is an update"),
    ("update-content-type", "POST", None, {"Content-Type": "application/sparql-update"}, b"CLEAR ALL", 400,
     "text/plain", "updates are not accepted"),
    ("default-graph-uri-foreign", "GET", {"query": Q, "default-graph-uri": "http://example.org/g"}, {}, None,
     400, "text/plain", "not a graph of this store"),
    ("named-graph-uri-not-iri", "GET", {"query": Q, "named-graph-uri": "not an iri"}, {}, None, 400,
     "text/plain", "absolute IRI"),
    ("timeout-not-a-number", "GET", {"query": Q, "timeout": "soon"}, {}, None, 400, "text/plain", "timeout"),
    ("timeout-zero", "GET", {"query": Q, "timeout": "0"}, {}, None, 400, "text/plain", "timeout"),
    ("method-not-allowed", "PUT", None, DIRECT, Q.encode(), 405, "text/plain", "Method Not Allowed"),
    ("unknown-route-is-json", "GET", None, {}, None, 404, "application/json", '"ok": false'),
]


@pytest.mark.parametrize(("method", "params", "headers", "body", "status", "ctype", "fragment"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_protocol_case(app_server, method, params, headers, body, status, ctype, fragment):
    path = "/nope" if status == 404 else "/sparql"
    answer = app_server.request(method, path, params=params, headers=headers, body=body)
    assert answer.status == status, answer.text
    assert ctype in answer.header("Content-Type")
    assert fragment in answer.text


def test_answers_vary_on_accept_and_carry_a_request_id(server):  # the real server: it names the build it read
    answer = server.get(params={"query": Q}, headers={"X-Request-Id": "abc-123"})
    assert "Accept" in answer.header("Vary")
    assert answer.header("X-Request-Id") == "abc-123"
    assert answer.header("Reekg-Build") == "20250101T000000Z-fixture"
    assert len(server.get(params={"query": Q}).header("X-Request-Id")) == 32


def test_head_answers_headers_without_a_body(app_server):
    answer = app_server.request("HEAD", params={"query": Q})
    assert answer.status == 200
    assert "application/sparql-results+json" in answer.header("Content-Type")
    assert answer.body == b""


def test_options_lists_the_methods(app_server):
    answer = app_server.request("OPTIONS")
    assert answer.status == 200
    assert {"GET", "POST", "HEAD", "OPTIONS"} <= {m.strip() for m in answer.header("Allow").split(",")}
    assert "Access-Control-Allow-Origin" not in answer.headers  # CORS is opt-in


def test_a_capped_answer_says_so_in_header_and_body(app_server):
    query = "SELECT ?s WHERE { ?s reekg:rank ?r }"
    answer = app_server.get(params={"query": query})
    assert answer.header("Reekg-Truncated") == "true; limit=1000"
    result = answer.json()
    assert len(result["results"]["bindings"]) == 1000
    assert result["head"]["link"][0].endswith("#truncated?limit=1000")
    xml = app_server.get(params={"query": query, "format": "xml"})
    assert "<link href=" in xml.text and xml.header("Reekg-Truncated")
    graph = app_server.get(params={"query": "CONSTRUCT WHERE { ?s reekg:rank ?r }"})
    assert graph.text.startswith("# truncated: only the first 1000 triples")
    whole = app_server.get(params={"query": Q})
    assert "Reekg-Truncated" not in {k.title() for k in whole.headers} and "link" not in whole.json()["head"]


def test_language_tags_and_unicode_survive(app_server):
    answer = app_server.get(params={"query": 'SELECT ?l WHERE { ?s reekg:symbol "Dy" ; rdfs:label ?l '
                                         'FILTER(langMatches(lang(?l), "zh-Hant")) }'})
    [binding] = answer.json()["results"]["bindings"]
    assert binding["l"]["value"] == "鏑"
    assert binding["l"]["xml:lang"].lower() == "zh-hant"


def test_health_readiness_and_metrics(server):
    assert server.get("/healthz").json()["ok"] is True
    ready = server.get("/readyz").json()
    assert ready["build_id"] == "20250101T000000Z-fixture" and ready["graphs"] == 2
    server.get(params={"query": "SELECT"})  # a 400 to count
    text = server.get("/metrics").text
    assert '# TYPE reekg_http_request_duration_seconds histogram' in text
    assert 'reekg_http_requests_total{route="/sparql",method="GET",status="400"}' in text
    assert 'reekg_query_rejections_total{reason="syntax"}' in text


def test_the_access_log_is_one_json_object_per_request(server):
    server.get(params={"query": Q}, headers={"X-Request-Id": "log-probe-1"})
    deadline = time.monotonic() + 10  # the access log is written in batches (a bounded wait, not a timing)
    while not (lines := [line for line in server.log.read_text().splitlines() if "log-probe-1" in line]):
        assert time.monotonic() < deadline, "no access log line for the request"
        time.sleep(0.05)
    entry = json.loads(lines[-1])
    assert entry["method"] == "GET" and entry["path"] == "/sparql" and entry["status"] == 200
    assert entry["duration_ms"] >= 0
