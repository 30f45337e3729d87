"""The write cases that hold on every store `reekg serve` writes (the embedded store in
tests/server/test_server_writes.py, each remote engine in tests/remote/test_remote_writes.py): tokens, validated
transactions (422 and nothing changed), visibility to the next query, the Graph Store, /validate, serialised
concurrent writes, and no outbound request from an update.

A module that both suites import, never a test module: `WriteCases` is not collected itself (no `Test` prefix);
each suite subclasses it and gives the `write_server` (and `listener`) fixtures of its store."""

from __future__ import annotations

import threading
import time
import urllib.parse

import pytest
from rdflib import Graph
from rdflib.compare import isomorphic
from rdflib.namespace import SH
from serverkit import Answer, Server

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BASE = "https://w3id.org/reekg/"
PARTNER = BASE + "graph/partner/acme"
UPDATE = {"Content-Type": "application/sparql-update"}
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"


def update(server: Server, text: str, headers: dict | None = None) -> Answer:
    return server.request("POST", "/update", body=text.encode(), headers={**UPDATE, **(AUTH if headers is None
                                                                                        else headers)})


def select(server: Server, query: str) -> tuple[list[dict], str]:
    answer = server.get(params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    assert answer.status == 200, answer.text
    return answer.json()["results"]["bindings"], answer.header("Reekg-Build")


def ask(server: Server, query: str) -> bool:
    answer = server.get(params={"query": query}, headers={"Accept": "application/sparql-results+json"})
    assert answer.status == 200, answer.text
    return answer.json()["boolean"]


def comment_insert(text: str, graph: str = PARTNER) -> str:
    return f'INSERT DATA {{ GRAPH <{graph}> {{ element:Nd rdfs:comment "{text}"@en }} }}'


TURTLE = f"""@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<{BASE}id/element/Dy> rdfs:comment "graph store one"@en .
<{BASE}id/element/Tb> rdfs:comment "graph store two"@en .
""".encode()


def _hostile_updates(url: str) -> dict[str, str]:
    return {
        "load": f"LOAD <{url}>",
        "load-silent-into": f"LOAD SILENT <{url}> INTO GRAPH <{PARTNER}>",
        "load-glued": f"LOAD<{url}>",
        "load-prefixed": f"PREFIX t: <{url.rsplit('/', 1)[0]}/> LOAD t:sparql",
        "service": f"INSERT {{ GRAPH <{PARTNER}> {{ ?s ?p ?o }} }} WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}",
        "using": f"INSERT {{ GRAPH <{PARTNER}> {{ ?s ?p ?o }} }} USING <{url}> WHERE {{ ?s ?p ?o }}",
        "using-named": f"INSERT {{ GRAPH <{PARTNER}> {{ ?s ?p ?o }} }} USING NAMED <{url}> WHERE {{ ?s ?p ?o }}",
        "with": f"WITH <{url}> INSERT {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}",
    }


class WriteCases:
    """The shared write tests; a subclass named Test… runs them on its module's `write_server`."""

    # --- tokens ---------------------------------------------------------------------------------------

    @pytest.mark.parametrize(("method", "path"), [("POST", "/update"), ("PUT", "/store?graph=" + PARTNER),
                                                  ("POST", "/store?default"), ("DELETE", "/store?graph=" + PARTNER),
                                                  ("POST", "/validate")])
    def test_a_write_without_a_token_is_401_with_a_wrong_one_403(self, write_server, method, path):
        body, headers = comment_insert("no token").encode(), dict(UPDATE)
        missing = write_server.request(method, path, body=body, headers=headers)
        assert missing.status == 401, missing.text
        assert missing.header("WWW-Authenticate").startswith("Bearer")
        for wrong in ("Bearer nope", f"Bearer {TOKEN}x", f"Basic {TOKEN}"):
            answer = write_server.request(method, path, body=body, headers={**headers, "Authorization": wrong})
            assert answer.status == (401 if wrong.startswith("Basic") else 403), (wrong, answer.text)
        assert not ask(write_server, 'ASK { element:Nd rdfs:comment "no token"@en }')

    # --- validated transactions -----------------------------------------------------------------------

    @pytest.mark.parametrize("text", [
        f"INSERT DATA {{ GRAPH <{PARTNER}> {{ mine:mount-weld reekg:locatedIn country:XX }} }}",
        "DELETE { GRAPH ?g { ?o reekg:shareOfWorld ?s } } INSERT { GRAPH ?g { ?o reekg:shareOfWorld 1.5 } } "
        "WHERE { GRAPH ?g { ?o reekg:shareOfWorld ?s } "
        "FILTER(?o = observation:usgs-mcs-2026-ca-2025-mine-production) }",
    ], ids=["unknown-country", "share-above-one"])
    def test_a_write_that_breaks_a_shape_is_422_and_changes_nothing(self, write_server, text):
        rows_before, build_before = select(write_server, COUNT)
        answer = update(write_server, text)
        assert answer.status == 422, answer.text
        body = answer.json()
        assert body["ok"] is False and body["status"] == 422 and "nothing was changed" in body["error"]
        violations = [e for e in body["errors"] if e["severity"] == "Violation"]
        assert violations and all(set(e) >= {"focus", "path", "message", "severity"} for e in violations)
        report = Graph().parse(data=body["report_turtle"], format="turtle")
        assert (None, SH.conforms, None) in report
        rows_after, build_after = select(write_server, COUNT)
        assert (rows_after, build_after) == (rows_before, build_before)

    def test_the_report_comes_as_turtle_when_asked(self, write_server):
        answer = write_server.request("POST", "/update", headers={**UPDATE, **AUTH, "Accept": "text/turtle"},
                                      body=f"INSERT DATA {{ GRAPH <{PARTNER}> {{ mine:mount-weld reekg:locatedIn "
                                           "country:XX } }".encode())
        assert answer.status == 422
        assert answer.header("Content-Type").startswith("text/turtle")
        report = Graph().parse(data=answer.text, format="turtle")
        assert len(list(report.subjects(SH.resultSeverity, None))) >= 1

    def test_a_valid_write_is_seen_by_the_next_query(self, write_server):
        _, build_before = select(write_server, COUNT)
        answer = update(write_server, comment_insert("seen by the next query"))
        assert answer.status == 200, answer.text
        summary = answer.json()
        assert summary["ok"] and summary["published"] and summary["parent_build_id"] == build_before
        assert answer.header("Reekg-Build") == summary["build_id"] != build_before
        rows, build_after = select(write_server, 'SELECT ?g WHERE { GRAPH ?g { element:Nd rdfs:comment '
                                                 '"seen by the next query"@en } }')
        assert build_after == summary["build_id"]
        assert [r["g"]["value"] for r in rows] == [PARTNER]

    def test_an_update_by_form_post(self, write_server):
        body = urllib.parse.urlencode({"update": comment_insert("by form")}).encode()
        answer = write_server.request("POST", "/update", body=body,
                                      headers={"Content-Type": "application/x-www-form-urlencoded", **AUTH})
        assert answer.status == 200, answer.text
        assert ask(write_server, 'ASK { element:Nd rdfs:comment "by form"@en }')

    @pytest.mark.parametrize(("body", "headers", "status", "words"), [
        (b"INSERT DATA { element:Nd }", UPDATE, 400, "1:"),
        (b"INSERT DATA {}", {"Content-Type": "text/plain"}, 415, "application/sparql-update"),
        (b"INSERT DATA { GRAPH <" + BASE.encode() + b"graph/inferred> { element:Nd rdfs:comment 'x' } }", UPDATE, 400,
         "recomputed"),
        (b"DELETE WHERE { GRAPH ?g { ?g prov:wasDerivedFrom ?x } }", UPDATE, 400, "provenance"),
        (b"INSERT DATA { GRAPH <http://example.org/g> { element:Nd rdfs:comment 'x' } }", UPDATE, 400, "not writable"),
        (b"#" + b"x" * 250_000, UPDATE, 413, "limit"),
    ])
    def test_update_errors(self, write_server, body, headers, status, words):
        answer = write_server.request("POST", "/update", body=body, headers={**headers, **AUTH})
        assert answer.status == status, answer.text
        assert words in answer.text
        assert "text/plain" in answer.header("Content-Type")
        assert "Traceback" not in answer.text

    def test_an_update_is_not_a_get(self, write_server):
        answer = write_server.get("/update", params={"update": "CLEAR ALL"}, headers=AUTH)
        assert answer.status == 405

    # --- the Graph Store ------------------------------------------------------------------------------

    def test_graph_store_round_trip(self, write_server):
        graph = BASE + "graph/partner/round-trip"
        target = "/store?" + urllib.parse.urlencode({"graph": graph})
        assert write_server.get(target).status == 404
        created = write_server.request("PUT", target, body=TURTLE, headers={"Content-Type": "text/turtle", **AUTH})
        assert created.status == 201, created.text
        got = write_server.get(target, headers={"Accept": "text/turtle"})
        assert got.status == 200 and got.header("Content-Type").startswith("text/turtle")
        assert isomorphic(Graph().parse(data=got.text, format="turtle"), Graph().parse(data=TURTLE, format="turtle"))
        assert got.header("Reekg-Build") == created.header("Reekg-Build")
        head = write_server.request("HEAD", target)
        assert head.status == 200 and head.body == b""
        quads = write_server.get(target, headers={"Accept": "application/n-quads"})
        assert quads.status == 200 and quads.text.count(f"<{graph}> .") == 2

        nt = f'<{BASE}id/element/Nd> <http://www.w3.org/2000/01/rdf-schema#comment> "graph store three" .\n'
        merged = write_server.request("POST", target, body=nt.encode(),
                                      headers={"Content-Type": "application/n-triples", **AUTH})
        assert merged.status == 200 and merged.json()["added"] == 1
        replaced = write_server.request("PUT", target, body=TURTLE, headers={"Content-Type": "text/turtle", **AUTH})
        assert replaced.status == 200 and replaced.json()["removed"] == 1
        assert not ask(write_server, 'ASK { element:Nd rdfs:comment "graph store three" }')

        deleted = write_server.request("DELETE", target, headers=AUTH)
        assert deleted.status == 200, deleted.text
        assert write_server.get(target).status == 404
        assert write_server.request("DELETE", target, headers=AUTH).status == 404

    def test_graph_store_default_is_the_partner_default_graph(self, write_server):
        answer = write_server.request("POST", "/store?default", body=TURTLE.replace(b"graph store", b"default"),
                                      headers={"Content-Type": "text/turtle", **AUTH})
        assert answer.status in (200, 201), answer.text
        assert answer.json()["graphs"] == [BASE + "graph/partner/default"]
        got = write_server.get("/store?default", headers={"Accept": "application/n-triples"})
        assert '"default one"@en' in got.text

    @pytest.mark.parametrize(("method", "path", "headers", "body", "status"), [
        ("PUT", "/store?graph=" + BASE + "graph/inferred", {"Content-Type": "text/turtle"}, TURTLE, 400),
        ("PUT", "/store?graph=" + PARTNER, {"Content-Type": "application/x-unknown"}, b"x", 415),
        ("PUT", "/store?graph=" + PARTNER, {"Content-Type": "text/turtle"}, b"<a> <b> .", 400),
        ("PUT", "/store", {"Content-Type": "text/turtle"}, TURTLE, 400),
        ("DELETE", "/store?graph=" + BASE + "graph/ontology", {}, b"", 400),
        ("GET", "/store", {}, None, 400),
    ])
    def test_graph_store_errors(self, write_server, method, path, headers, body, status):
        answer = write_server.request(method, path, body=body, headers={**headers, **AUTH})
        assert answer.status == status, answer.text
        assert answer.json()["ok"] is False

    # --- /validate ------------------------------------------------------------------------------------

    def test_validate_answers_without_writing(self, write_server):
        rows_before, build_before = select(write_server, COUNT)
        ok = write_server.request("POST", "/validate", body=comment_insert("only validated").encode(),
                                  headers={**UPDATE, **AUTH})
        assert ok.status == 200, ok.text
        assert ok.json()["conforms"] is True and ok.json()["published"] is False and ok.json()["changed"] is True
        bad = write_server.request("POST", "/validate?graph=" + PARTNER,
                                   headers={"Content-Type": "text/turtle", **AUTH},
                                   body=f"<{BASE}id/mine/mount-weld> <{BASE}ontology#locatedIn> "
                                        f"<{BASE}id/country/XX> .".encode())
        assert bad.status == 422 and bad.json()["errors"]
        assert select(write_server, COUNT) == (rows_before, build_before)
        assert not ask(write_server, 'ASK { element:Nd rdfs:comment "only validated"@en }')

    # --- serialised writes ----------------------------------------------------------------------------

    def test_concurrent_writes_both_land_one_after_the_other(self, write_server):
        answers: dict[str, Answer] = {}

        def write(name: str) -> None:
            answers[name] = update(write_server, comment_insert(f"concurrent {name}"))

        threads = [threading.Thread(target=write, args=(name,)) for name in ("a", "b")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        summaries = [answers[name].json() for name in ("a", "b")]
        assert all(answers[name].status == 200 for name in ("a", "b")), [a.text for a in answers.values()]
        a, b = summaries  # (build ids name the second they were made in: two writes may share it, so no sorting)
        assert b["parent_build_id"] == a["build_id"] or a["parent_build_id"] == b["build_id"]  # one saw the other
        assert ask(write_server, 'ASK { element:Nd rdfs:comment "concurrent a"@en, "concurrent b"@en }')

    # --- nothing reaches out --------------------------------------------------------------------------

    @pytest.mark.parametrize("case", list(_hostile_updates("http://127.0.0.1:1/sparql")))
    def test_no_update_reaches_a_listener(self, write_server, listener, case):
        text = _hostile_updates(listener.url)[case]
        for path in ("/update", "/validate"):
            answer = update(write_server, text) if path == "/update" else write_server.request(
                "POST", path, body=text.encode(), headers={**UPDATE, **AUTH})
            assert answer.status == 400, (path, answer.text)
        time.sleep(0.05)
        assert listener.connections == 0
