"""The lean front of /sparql (reekg.server.sparql_fast, issue 13) answers exactly as the Flask view does.

Every request of the table goes once through the app as mounted (the lean front first) and once straight to
Flask's own WSGI callable, which the front wraps; status, headers (but the request id and the date) and body
must be the same, whether the front answered it, handed it on before running it, or handed on an error met
while running it. The front's own answers keep the request id, the metrics and the truncation count.
"""

from __future__ import annotations

import urllib.parse

import pytest
from serverkit import in_process
from werkzeug.test import Client

from reekg.server.sparql_fast import FastSparql

LOOKUP = 'SELECT ?s WHERE { ?s reekg:symbol "Nd" }'
SPARQL_JSON = {"Accept": "application/sparql-results+json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DIRECT = {"Content-Type": "application/sparql-query"}


def _get(query: str, **extra: str) -> str:
    return "/sparql?" + urllib.parse.urlencode({"query": query, **extra})


# (method, path, headers, body): answered by the front, handed on before running, or failing while running
CASES = {
    "GET json": ("GET", _get(LOOKUP), SPARQL_JSON, None),
    "GET no Accept": ("GET", _get(LOOKUP), {}, None),
    "GET csv by format": ("GET", _get(LOOKUP, format="csv"), {}, None),
    "GET xml by Accept": ("GET", _get(LOOKUP), {"Accept": "application/sparql-results+xml"}, None),
    "GET tsv q-values": ("GET", _get(LOOKUP), {"Accept": "text/csv;q=0.5, text/tab-separated-values"}, None),
    "ASK": ("GET", _get('ASK { ?s reekg:symbol "Dy" }'), SPARQL_JSON, None),
    "CONSTRUCT turtle": ("GET", _get("CONSTRUCT WHERE { ?s rdfs:label ?l }"), {"Accept": "text/turtle"}, None),
    "CONSTRUCT to a JSON client": ("GET", _get("CONSTRUCT WHERE { ?s rdfs:label ?l }"), SPARQL_JSON, None),
    "truncated": ("GET", _get("SELECT ?i WHERE { ?i reekg:rank ?r }"), SPARQL_JSON, None),
    "relative IRI against the endpoint": ("GET", _get("SELECT ?x WHERE { BIND(<rel> AS ?x) }"), SPARQL_JSON, None),
    "POST form": ("POST", "/sparql", {**FORM, **SPARQL_JSON}, urllib.parse.urlencode({"query": LOOKUP}).encode()),
    "POST direct": ("POST", "/sparql", {**DIRECT, **SPARQL_JSON}, LOOKUP.encode()),
    "POST direct, timeout in the URL": ("POST", "/sparql?timeout=5", DIRECT, LOOKUP.encode()),
    "named graph": ("GET", _get(LOOKUP, **{"default-graph-uri": "https://w3id.org/reekg/graph/source/test"}),
                    SPARQL_JSON, None),
    # handed on before running: Flask answers the error (or the page) as always
    "syntax error": ("GET", _get("SELECT ?s WHERE { ?s"), SPARQL_JSON, None),
    "refused SERVICE": ("GET", _get("SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"), {}, None),
    "not acceptable": ("GET", _get(LOOKUP), {"Accept": "image/png"}, None),
    "bad timeout": ("GET", _get(LOOKUP, timeout="soon"), {}, None),
    "two queries": ("GET", "/sparql?query=ASK%7B%7D&query=ASK%7B%7D", {}, None),
    "update in a form": ("POST", "/sparql", FORM, b"update=DROP%20ALL"),
    "update body": ("POST", "/sparql", {"Content-Type": "application/sparql-update"}, b"DROP ALL"),
    "form and URL both": ("POST", "/sparql?query=ASK%7B%7D", FORM, b"query=ASK%7B%7D"),
    "bad UTF-8 body": ("POST", "/sparql", DIRECT, b"ASK { \xff }"),
    "unknown graph": ("GET", _get(LOOKUP, **{"named-graph-uri": "http://example.org/g"}), {}, None),
    "query page": ("GET", "/sparql", {"Accept": "text/html"}, None),
    "HEAD": ("HEAD", _get(LOOKUP), {}, None),
    "empty POST": ("POST", "/sparql", FORM, b""),
    "evaluation error": ("GET", _get("SELECT * WHERE { ?s ?p ?o } ORDER BY (1/0) LIMIT 1"), SPARQL_JSON, None),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    from serverkit import write_fixture_store

    home = tmp_path_factory.mktemp("fast-home")
    write_fixture_store(home)
    return in_process(home, max_rows=1000, max_request_bytes=20000, answer_cache_mb=0).app


def _answer(wsgi, method: str, path: str, headers: dict, body: bytes | None):
    response = Client(wsgi).open(path, method=method, headers=headers, data=body)
    kept = sorted((k, v) for k, v in response.headers.items() if k not in ("X-Request-Id", "Date"))
    return response.status_code, kept, response.get_data()


def test_the_front_is_mounted(app):
    assert isinstance(app.wsgi_app, FastSparql)


@pytest.mark.parametrize("case", CASES)
def test_the_front_answers_as_flask_does(app, case):
    method, path, headers, body = CASES[case]
    flask_only = app.wsgi_app.next
    assert _answer(app.wsgi_app, method, path, headers, body) == _answer(flask_only, method, path, headers, body)


def test_a_request_id_is_echoed_or_made(app):
    client = app.test_client()
    echoed = client.get(_get(LOOKUP), headers={"X-Request-Id": "abc-123"})
    assert echoed.headers["X-Request-Id"] == "abc-123"
    made = client.get(_get(LOOKUP), headers={"X-Request-Id": "bad id!"})
    assert len(made.headers["X-Request-Id"]) == 32 and made.headers["X-Request-Id"] != "bad id!"


def _metric(client, line: str) -> float:
    for row in client.get("/metrics").get_data(as_text=True).splitlines():
        if row.startswith(line + " "):
            return float(row.split()[-1])
    return 0.0


def test_the_fronts_answers_are_counted(app):
    client = app.test_client()
    ok = 'reekg_http_requests_total{route="/sparql",method="GET",status="200"}'
    posted = 'reekg_http_requests_total{route="/sparql",method="POST",status="200"}'
    syntax = 'reekg_query_rejections_total{reason="syntax"}'
    before = [_metric(client, name) for name in (ok, posted, syntax, "reekg_query_truncated_total")]
    client.get(_get(LOOKUP))
    client.post("/sparql", data=LOOKUP.encode(), headers=DIRECT)
    client.get(_get("SELECT ?s WHERE { ?s"))
    client.get(_get("SELECT ?i WHERE { ?i reekg:rank ?r }"))
    after = [_metric(client, name) for name in (ok, posted, syntax, "reekg_query_truncated_total")]
    assert [b - a for a, b in zip(before, after, strict=True)] == [2, 1, 1, 1]


def test_a_get_without_a_query_is_the_service_description(app):
    response = app.test_client().get("/sparql", headers={"Accept": "text/turtle"})
    assert response.status_code == 200 and response.mimetype == "text/turtle"
    assert b"a sd:Service" in response.get_data()


def test_a_failure_while_running_is_answered_by_the_error_mapping(app):
    response = app.test_client().get(_get("SELECT * WHERE { ?s ?p ?o } ORDER BY (1/0) LIMIT 1"))
    assert response.status_code in (200, 500)  # the engine may evaluate 1/0 as an error or as unbound
    if response.status_code == 500:
        assert response.mimetype == "text/plain"
        assert "internal error (request id" in response.get_data(as_text=True)


def test_cors_requests_are_left_to_flask(tmp_path):
    from serverkit import write_fixture_store

    write_fixture_store(tmp_path / "home")
    app = in_process(tmp_path / "home", cors_origins="https://example.org", answer_cache_mb=0).app
    response = app.test_client().get(_get(LOOKUP), headers={"Origin": "https://example.org"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://example.org"
    assert "Origin" in response.headers["Vary"]


def test_a_repeated_request_reuses_its_plan_and_keys_on_what_planning_reads(app):
    front = app.wsgi_app
    front._plans.clear()
    client = app.test_client()
    first = client.get(_get(LOOKUP), headers=SPARQL_JSON)
    again = client.get(_get(LOOKUP), headers=SPARQL_JSON)
    assert len(front._plans) == 1 and again.get_data() == first.get_data()
    as_csv = client.get(_get(LOOKUP), headers={"Accept": "text/csv"})
    assert as_csv.mimetype == "text/csv" and len(front._plans) == 2
    refused = client.get(_get("SELECT * { SERVICE <http://127.0.0.1:9/> { ?s ?p ?o } }"))
    assert refused.status_code == 400 and len(front._plans) == 2  # answered by Flask, never kept


def test_a_kept_plan_is_not_used_on_another_build(app):
    from reekg.read.jobs import Snapshot

    front = app.wsgi_app
    front._plans.clear()
    client = app.test_client()
    client.get(_get(LOOKUP), headers=SPARQL_JSON)
    (key, (snapshot, planned)), = front._plans.items()
    front._plans[key] = (Snapshot("an earlier build", frozenset()), planned)
    client.get(_get(LOOKUP), headers=SPARQL_JSON)
    assert front._plans[key][0] == snapshot  # planned again on the build served now
