"""The real server with many keep-alive clients, and with its query workers reading the store on disk (issue 13).

* granian's backpressure counts open connections: set to the thread count, a client past the eighth keep-alive
  connection was never read. Here a server with two threads answers on every one of six connections held open.
* ``query_memory_mb=0``: the workers share the on-disk store instead of a copy each, and answer the same,
  including after a new build is published.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
from pathlib import Path

import pytest
from serverkit import BUILD_ID, fixture_quads, running_server, write_fixture_store

from reekg.loaders.store import StoreHome

LOOKUP = 'SELECT ?s WHERE { ?s reekg:symbol "Tb" }'


def _ask(conn: http.client.HTTPConnection, query: str) -> tuple[int, dict]:
    conn.request("GET", "/sparql?" + urllib.parse.urlencode({"query": query}),
                 headers={"Accept": "application/sparql-results+json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def test_more_keep_alive_clients_than_threads_are_all_answered(tmp_path):
    write_fixture_store(tmp_path / "home")
    with running_server(tmp_path / "home", tmp_path / "serve.log", threads="2", answer_cache_mb="0") as server:
        port = int(server.url.rsplit(":", 1)[1])
        connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=20) for _ in range(6)]
        try:
            for _ in range(2):  # every connection stays open between its requests
                for conn in connections:
                    status, body = _ask(conn, LOOKUP)
                    assert status == 200
                    assert body["results"]["bindings"][0]["s"]["value"].endswith("element/Tb")
        finally:
            for conn in connections:
                conn.close()


@pytest.fixture
def disk_server(tmp_path):
    write_fixture_store(tmp_path / "home")
    with running_server(tmp_path / "home", tmp_path / "serve.log", query_memory_mb="0",
                        answer_cache_mb="0") as server:
        yield server, tmp_path / "home"


def test_workers_reading_the_store_on_disk_answer_the_same(disk_server):
    server, _home = disk_server
    assert server.get("/readyz").json()["backend"]["memory_mb"] == 0
    answer = server.get(params={"query": LOOKUP}, headers={"Accept": "application/sparql-results+json"})
    assert answer.status == 200 and answer.header("Reekg-Build") == BUILD_ID
    assert answer.json()["results"]["bindings"][0]["s"]["value"].endswith("element/Tb")
    counted = server.get(params={"query": "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }"},
                         headers={"Accept": "application/sparql-results+json"})
    assert counted.json()["results"]["bindings"][0]["n"]["value"] == str(len(fixture_quads()))


def test_workers_on_disk_follow_a_new_build(disk_server):
    server, home = disk_server
    quads = [q for q in fixture_quads() if "element/Tb" not in str(q[0])]
    StoreHome(Path(home)).write("20250102T000000Z-next", quads, {"build_id": "20250102T000000Z-next"})
    answer = server.get(params={"query": LOOKUP}, headers={"Accept": "application/sparql-results+json"})
    assert answer.status == 200 and answer.header("Reekg-Build") == "20250102T000000Z-next"
    assert answer.json()["results"]["bindings"] == []
