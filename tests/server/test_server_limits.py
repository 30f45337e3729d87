"""Limits that hold: a runaway query is stopped at its limit (its worker killed and replaced) while
other clients keep being answered; the concurrency cap answers 503 with Retry-After; a client may only
lower the time limit; a new build is picked up without a restart. Behaviour, never a wall-clock measure: the
deadlines below only detect a hang."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from rdflib import Literal, URIRef
from serverkit import BASE, Server, fixture_quads, running_server, write_fixture_store

from reekg.loaders.store import StoreHome

RUNAWAY = ("SELECT ?a ?b WHERE { ?a reekg:rank ?x . ?b reekg:rank ?y } "
           "ORDER BY DESC(?x + ?y) ?a ?b")
SIMPLE = 'SELECT ?s WHERE { ?s reekg:symbol ?symbol FILTER (?symbol = "Tb") }'  # a worker's (a FILTER)
LOOKUP = 'SELECT ?s WHERE { ?s reekg:symbol "Tb" }'  # one triple pattern: answered in the HTTP process


HANG = 60  # seconds: a deadline that only detects a hang, never a speed


def _in_thread(fn) -> tuple[threading.Thread, dict]:
    box: dict = {}

    def run() -> None:
        box["answer"] = fn()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def test_a_runaway_query_stops_at_its_limit_while_a_simple_query_still_answers(server):
    timeouts_before = server.metric("reekg_query_timeouts_total")
    thread, box = _in_thread(lambda: server.get(params={"query": RUNAWAY, "timeout": "1"}))
    deadline = time.monotonic() + HANG  # until the runaway holds a worker (a bounded wait, not a timing)
    while server.get("/readyz").json()["backend"]["workers_ready"] > 1 and thread.is_alive():
        assert time.monotonic() < deadline, "the runaway query never started"
        time.sleep(0.05)
    for _ in range(5):  # the other worker answers while the runaway holds its own
        answer = server.get(params={"query": SIMPLE}, timeout=HANG)
        assert answer.status == 200 and "element/Tb" in answer.text
    inline = server.get("/readyz").json()["backend"]["inline_queries"]
    answer = server.get(params={"query": LOOKUP}, timeout=HANG)
    assert answer.status == 200 and "element/Tb" in answer.text
    assert server.get("/readyz").json()["backend"]["inline_queries"] == inline + 1
    thread.join(HANG)
    assert not thread.is_alive(), "the runaway query was never stopped"
    runaway = box["answer"]
    assert runaway.status == 503, runaway.text
    assert "time limit of 1 s" in runaway.text
    assert server.metric("reekg_query_timeouts_total") >= timeouts_before + 1
    assert server.metric('reekg_query_rejections_total{reason="timeout"}') >= 1
    deadline = time.monotonic() + HANG  # the killed worker is replaced
    while server.get("/readyz").json()["backend"]["workers_alive"] < 2:
        assert time.monotonic() < deadline, "the killed query worker was not replaced"
        time.sleep(0.1)
    assert server.get("/readyz").json()["backend"]["restarts"] >= 1


@pytest.fixture(scope="module")
def tight(tmp_path_factory) -> Iterator[tuple[Server, StoreHome]]:
    """A server of its own: one query worker, one query at a time, a 1.5 s limit."""
    home = tmp_path_factory.mktemp("tight-home")
    write_fixture_store(home)
    log = tmp_path_factory.mktemp("tight-log") / "serve.log"
    with running_server(home, log, query_timeout="1.5", query_workers=1, max_concurrent_queries=1) as srv:
        yield srv, StoreHome(home)


def test_past_the_concurrency_cap_the_answer_is_503_with_retry_after(tight):
    server, _ = tight
    # the client asks for 30 s: it gets the server's 1.5 s
    thread, box = _in_thread(lambda: server.get(params={"query": RUNAWAY, "timeout": "30"}))
    time.sleep(0.3)
    busy = server.get(params={"query": SIMPLE})
    assert busy.status == 503
    assert busy.header("Retry-After") == "1"
    assert "too many queries" in busy.text
    lookup = server.get(params={"query": LOOKUP})  # needs no query slot: its cost is bounded
    assert lookup.status == 200 and "element/Tb" in lookup.text
    thread.join(HANG)
    assert not thread.is_alive(), "the runaway query was never stopped"
    assert box["answer"].status == 503
    assert "time limit of 1.5 s" in box["answer"].text  # the server's limit, not the 30 s the client asked for
    assert server.metric('reekg_query_rejections_total{reason="busy"}') >= 1
    deadline = time.monotonic() + HANG
    while (answer := server.get(params={"query": SIMPLE})).status != 200:
        assert time.monotonic() < deadline, answer.text
        time.sleep(0.1)


def test_a_new_build_is_served_without_a_restart(tight):
    server, home = tight
    lutetium = URIRef(BASE + "id/element/Lu")
    quads = [*fixture_quads(), (lutetium, URIRef(BASE + "ontology#symbol"), Literal("Lu"),
                                URIRef(BASE + "graph/source/test"))]
    home.write("20250102T000000Z-second", quads, {"build_id": "20250102T000000Z-second"})
    answer = server.get(params={"query": 'ASK { ?s reekg:symbol "Lu" }'})
    assert answer.status == 200 and '"boolean":true' in answer.text
    assert answer.header("Reekg-Build") == "20250102T000000Z-second"
    assert server.get("/readyz").json()["build_id"] == "20250102T000000Z-second"
