"""The per-build answer cache: replays, revalidation, invalidation by a new build, and what it never keeps."""

from __future__ import annotations

import contextlib

from rdflib import Literal, URIRef
from serverkit import BASE, BUILD_ID, fixture_quads, in_process, running_server, write_fixture_store

from reekg.loaders.store import StoreHome

LOOKUP = {"query": f"SELECT ?l WHERE {{ <{BASE}id/element/Nd> <http://www.w3.org/2000/01/rdf-schema#label> ?l }}"}
JSON = {"Accept": "application/sparql-results+json"}


def labels(answer) -> set[str]:
    return {b["l"]["value"] for b in answer.json()["results"]["bindings"]}


def test_a_repeated_read_is_replayed_with_its_own_request_id(server):
    first = server.get(params=LOOKUP, headers=JSON)
    second = server.get(params=LOOKUP, headers=JSON)
    assert first.status == second.status == 200 and first.body == second.body
    assert second.header("X-Cache") == "hit" and first.header("X-Cache") == ""
    assert first.header("X-Request-Id") != second.header("X-Request-Id")
    assert first.header("ETag") and first.header("ETag") == second.header("ETag")
    assert server.metric("reekg_answer_cache_hits_total") >= 1


def test_the_accept_header_is_part_of_the_key(server):
    as_json = server.get(params=LOOKUP, headers=JSON)
    as_csv = server.get(params=LOOKUP, headers={"Accept": "text/csv"})
    assert as_json.header("Content-Type").startswith("application/sparql-results+json")
    assert as_csv.header("Content-Type").startswith("text/csv")


def test_if_none_match_gets_304(server):
    etag = server.get(params=LOOKUP, headers=JSON).header("ETag")
    server.get(params=LOOKUP, headers=JSON)  # now cached
    answer = server.get(params=LOOKUP, headers={**JSON, "If-None-Match": etag})
    assert answer.status == 304 and answer.body == b""


def test_errors_and_requests_with_credentials_are_not_kept(server):
    bad = {"query": "SELECT ?x WHERE { ?x ?y }"}
    assert server.get(params=bad).status == 400
    assert server.get(params=bad).header("X-Cache") == ""
    server.get(params=LOOKUP, headers=JSON)
    with_token = server.get(params=LOOKUP, headers={**JSON, "Authorization": "Bearer x"})
    assert with_token.header("X-Cache") == ""


def test_a_new_build_empties_the_cache(tmp_path):
    home = tmp_path / "home"
    write_fixture_store(home)
    with running_server(home, tmp_path / "serve.log") as srv:
        assert labels(srv.get(params=LOOKUP, headers=JSON)) == {"neodymium", "钕"}
        assert srv.get(params=LOOKUP, headers=JSON).header("X-Cache") == "hit"
        extra = (URIRef(f"{BASE}id/element/Nd"), URIRef("http://www.w3.org/2000/01/rdf-schema#label"),
                 Literal("néodyme", lang="fr"), URIRef(f"{BASE}graph/source/test"))
        StoreHome(home).write(BUILD_ID + "-2", [*fixture_quads(), extra], {"build_id": BUILD_ID + "-2"})
        answer = srv.get(params=LOOKUP, headers=JSON)
        assert answer.header("X-Cache") == "" and "néodyme" in labels(answer)


def test_answer_cache_mb_0_turns_it_off(tmp_path):
    """The same repeated read that the cached server replays (the first test) reaches the engine every time:
    nothing is counted as replayed, and no replay header or ETag from the cache is sent."""
    home = tmp_path / "home"
    write_fixture_store(home)
    with contextlib.nullcontext(in_process(home, answer_cache_mb=0)) as srv:  # the cache is the app's, in process
        answers = [srv.get(params=LOOKUP, headers=JSON) for _ in range(3)]
        assert all(a.status == 200 and labels(a) == {"neodymium", "钕"} for a in answers)
        assert [a.header("X-Cache") for a in answers] == ["", "", ""]
        metrics = srv.get("/metrics").text
        assert "reekg_answer_cache_hits_total 0" in metrics.splitlines()
        assert srv.metric('reekg_http_requests_total{route="/sparql",method="GET",status="200"}') == 3
