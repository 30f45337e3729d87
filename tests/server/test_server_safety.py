"""Safe by default: nothing a query says makes the service reach out. Each hostile query aims at a
loopback listener started by the test; the listener must see no connection."""

from __future__ import annotations

import time
import urllib.parse

import pyoxigraph as ox
import pytest

from reekg.server.app import create_app

PREFIX = "PREFIX ex: <http://example.org/> "


def _hostile(url: str) -> list[tuple[str, dict]]:
    base = url.rsplit("/", 1)[0] + "/"
    return [
        ("service", {"query": f"SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }}"}),
        ("service-silent", {"query": f"SELECT * WHERE {{ SERVICE SILENT <{url}> {{ ?s ?p ?o }} }}"}),
        ("service-lowercase", {"query": f"select * where {{ service <{url}> {{ ?s ?p ?o }} }}"}),
        ("service-variable", {"query": f"SELECT * WHERE {{ VALUES ?x {{ <{url}> }} SERVICE ?x {{ ?s ?p ?o }} }}"}),
        ("service-glued-prefix", {"query": f"PREFIX : <{base}> SELECT * WHERE {{ SERVICE:sparql {{ ?s ?p ?o }} }}"}),
        ("service-glued-pname", {"query": f"PREFIX t: <{base}> SELECT * WHERE {{ SERVICEt:sparql {{ ?s ?p ?o }} }}"}),
        ("service-after-true", {"query": f"SELECT * WHERE {{ ?s ?p trueSERVICE<{url}> {{ ?a ?b ?c }} }}"}),
        ("service-after-pname-dot", {"query": PREFIX + f"SELECT * WHERE {{ ?s ?p ex:o.SERVICE<{url}> {{ }} }}"}),
        ("service-after-filter", {"query": f"SELECT * WHERE {{ ?s ?p ?o FILTER(?o)SERVICE<{url}> {{ }} }}"}),
        ("service-in-subquery",
         {"query": f"SELECT * WHERE {{ {{ SELECT * WHERE {{ SERVICE <{url}> {{ ?s ?p ?o }} }} }} }}"}),
        ("service-escaped-iri",
         {"query": "SELECT * WHERE { SERVICE <" + url.replace("/", "\\u002F") + "> { ?s ?p ?o } }"}),
        ("from", {"query": f"SELECT * FROM <{url}> WHERE {{ ?s ?p ?o }}"}),
        ("from-named", {"query": f"SELECT * FROM NAMED <{url}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}"}),
        ("from-glued", {"query": f"SELECT * FROM<{url}> WHERE {{ ?s ?p ?o }}"}),
        ("default-graph-uri", {"query": "SELECT * WHERE { ?s ?p ?o }", "default-graph-uri": url}),
        ("named-graph-uri", {"query": "SELECT * WHERE { ?s ?p ?o }", "named-graph-uri": url}),
        ("load-as-query", {"query": f"LOAD <{url}>"}),
        ("load-as-update", {"update": f"LOAD <{url}>"}),
        ("using-in-update-as-query", {"query": f"DELETE {{ ?s ?p ?o }} USING <{url}> WHERE {{ ?s ?p ?o }}"}),
    ]


CASE_IDS = [name for name, _ in _hostile("http://127.0.0.1:1/sparql")]


@pytest.mark.parametrize("case", CASE_IDS)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_no_query_reaches_a_listener(server, listener, case, method):
    params = dict(_hostile(listener.url))[case]
    if method == "GET":
        answer = server.get(params=params)
    else:
        answer = server.request("POST", body=urllib.parse.urlencode(params).encode(),
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    time.sleep(0.05)
    assert answer.status == 400, answer.text
    assert "text/plain" in answer.header("Content-Type")
    assert listener.connections == 0


def test_the_listener_does_see_an_unguarded_service_call(listener):
    """The trap works: pyoxigraph on its own does call out (FIELD-NOTES.md)."""
    with pytest.raises((OSError, SyntaxError, ValueError)):
        list(ox.Store().query(f"SELECT * WHERE {{ SERVICE <{listener.url}> {{ ?s ?p ?o }} }}"))
    deadline = time.monotonic() + 5
    while listener.connections == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert listener.connections >= 1


def test_keywords_inside_strings_iris_and_comments_are_not_refused(server):
    query = ('SELECT ?s WHERE { ?s reekg:symbol ?x . OPTIONAL { ?s <http://example.org/service/from> ?y } '
             'FILTER(?x != "SERVICE <http://127.0.0.1:1/>" && ?x != \'\'\'FROM <x>\'\'\') } '
             "# SERVICE <http://127.0.0.1:1/>\n")
    answer = server.get(params={"query": query})
    assert answer.status == 200, answer.text
    assert len(answer.json()["results"]["bindings"]) == 3


def test_the_refusal_names_the_clause(server):
    answer = server.get(params={"query": "SELECT * WHERE { SERVICE <http://example.org/sparql> { ?s ?p ?o } }"})
    assert answer.status == 400
    assert "SERVICE <http://example.org/sparql> is not allowed" in answer.text
    assert "outbound_allow" in answer.text


def test_an_allow_listed_service_is_reached(listener):
    app = create_app({"outbound_allow": listener.url}, store=ox.Store())
    answer = app.test_client().get("/sparql", query_string={
        "query": f"SELECT * WHERE {{ SERVICE SILENT <{listener.url}> {{ ?s ?p ?o }} }}"})
    assert answer.status_code == 200
    assert listener.connections >= 1


def _listening_addresses(port: int) -> set[str]:
    """The local addresses (hex, as /proc/net/tcp{,6} writes them) that listen on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as lines:
            for line in list(lines)[1:]:
                local, _remote, state = line.split()[1:4]
                address, hex_port = local.split(":")
                if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                    found.add(address)
    return found


def test_the_server_binds_loopback_by_default(server):
    """The session server is started without --host: what it really listens on is loopback only."""
    port = int(server.url.rsplit(":", 1)[1])
    addresses = _listening_addresses(port)
    assert addresses == {"0100007F"}, addresses  # 127.0.0.1, and neither 0.0.0.0 nor ::
