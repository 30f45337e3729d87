"""A query of one triple pattern is answered in the requesting process (reekg.read.pool.FrontStore), with the
answer a query worker gives; nothing else is.

The bounded form is read off the tokens (reekg.sparql_text.one_pattern): a table pins what is and is not one
pattern, and a property test draws patterns over the fixture store's terms and compares the two paths byte for
byte (the capped answer, its truncation, the build it came from), on a store where one triple is held in two
graphs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rdflib import Literal, URIRef
from serverkit import BASE, BUILD_ID, ELEMENTS_GRAPH, fixture_quads

from reekg.loaders.store import StoreHome
from reekg.read.jobs import Job
from reekg.read.pool import ProcessPool
from reekg.sparql_text import MAX_BOUNDED_OFFSET, analyse

R = BASE + "ontology#"
PREFIXES = {"reekg": R, "rdfs": "http://www.w3.org/2000/01/rdf-schema#"}

ONE_PATTERN = [
    "SELECT ?o WHERE { <http://x> <http://p> ?o }",
    "SELECT * { ?s ?p ?o } LIMIT 5",
    "PREFIX ex: <http://e/> BASE <http://b/> SELECT ?s WHERE { ?s a ex:C . } LIMIT 10 OFFSET 20",
    'ASK { ?s ?p "x"@en }',
    'SELECT ?s { ?s ?p "x"@en-GB }',
    'select reduced ?s ?o where { ?s reekg:symbol "Tb" } offset 3 limit 2',
    'SELECT ?s { ?s ?p "1"^^<http://www.w3.org/2001/XMLSchema#integer> }',
    "SELECT ?s { ?s ?p 42 }",
    "SELECT ?s { ?s ?p true }",
    f"SELECT ?s {{ ?s ?p ?o }} OFFSET {MAX_BOUNDED_OFFSET}",
]
NOT_ONE_PATTERN = [
    "SELECT ?x { ?x ?p ?x }",  # a repeated variable filters a scan: it may read everything and yield nothing
    "SELECT DISTINCT ?p { ?s ?p ?o }",
    "SELECT ?s { ?s ?p ?o } ORDER BY ?s",
    "SELECT ?s { ?s ?p ?o . ?o ?q ?r }",
    "SELECT ?s { ?s ?p ?o ; ?q ?r }",
    "SELECT ?s { ?s ?p ?o , ?r }",
    f"SELECT ?s {{ ?s ?p ?o }} OFFSET {MAX_BOUNDED_OFFSET + 1}",
    "SELECT ?s { ?s ?p ?o } LIMIT 1 LIMIT 2",
    "SELECT ?s FROM <http://g> { ?s ?p ?o }",
    "SELECT ?s { SERVICE <http://x> { ?s ?p ?o } }",
    "SELECT ?s { ?s ?p ?o FILTER (?o) }",
    "SELECT (COUNT(*) AS ?n) { ?s ?p ?o }",
    "SELECT ?s { GRAPH ?g { ?s ?p ?o } }",
    "SELECT ?s { ?s ?p/?q ?o }",
    "SELECT ?s { ?s <http://p>* ?o }",
    "SELECT ?s { ?s ?p [] }",
    "SELECT ?s { _:b ?p ?o }",
    "SELECT ?s { ?s ?p -1 }",
    "ASK { ?s ?p ?o } LIMIT 1",
    "CONSTRUCT WHERE { ?s ?p ?o }",
    "DESCRIBE <http://x>",
    "SELECT ?s { { ?s ?p ?o } }",
    "SELECT ?s { ?s ?p ?o } VALUES ?s { <http://x> }",
    "INSERT DATA { <http://x> <http://p> <http://o> }",
    "SELECT ?s { ?s ?p ?o ",
    "",
]


@pytest.mark.parametrize("query", ONE_PATTERN)
def test_one_triple_pattern_is_bounded(query):
    assert analyse(query, PREFIXES).bounded


@pytest.mark.parametrize("query", NOT_ONE_PATTERN)
def test_anything_else_is_not(query):
    assert not analyse(query, PREFIXES).bounded


@pytest.fixture(scope="module")
def pools(tmp_path_factory) -> Iterator[tuple[ProcessPool, ProcessPool, StoreHome]]:
    """The same home behind a pool that answers bounded queries inline and one that never does. One triple is
    held by two graphs."""
    home = StoreHome(tmp_path_factory.mktemp("inline-home"))
    terbium = URIRef(BASE + "id/element/Tb")
    quads = [*fixture_quads(), (terbium, URIRef(R + "symbol"), Literal("Tb"), URIRef(BASE + "graph/source/other"))]
    home.write(BUILD_ID, quads, {"build_id": BUILD_ID})
    inline = ProcessPool(home.home, workers=1, fair=False, inline=True)
    workers = ProcessPool(home.home, workers=1, fair=False, inline=False)
    assert inline.wait_ready(60) and workers.wait_ready(60)
    yield inline, workers, home
    inline.close()
    workers.close()


def _job(query: str, max_rows: int = 10_000, result_format: str = "json") -> Job:
    return Job(query=query, max_rows=max_rows, prefixes=PREFIXES, result_format=result_format,
               bounded=analyse(query, PREFIXES).bounded)


_TERMS = {
    "subject": st.sampled_from(["?s", f"<{BASE}id/element/Tb>", f"<{BASE}id/item/7>", "<urn:nothing>"]),
    "predicate": st.sampled_from(["?p", "reekg:symbol", "rdfs:label", "a", "reekg:rank", "<urn:nothing>"]),
    "object": st.sampled_from(["?o", '"Tb"', '"terbium"@en', '"鋱"@zh-Hant', "7", "reekg:ChemicalElement",
                               '"7"^^<http://www.w3.org/2001/XMLSchema#integer>', "false"]),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(subject=_TERMS["subject"], predicate=_TERMS["predicate"], obj=_TERMS["object"],
       limit=st.none() | st.integers(0, 40), offset=st.none() | st.integers(0, 3100),
       max_rows=st.integers(1, 50), fmt=st.sampled_from(["json", "xml", "csv", "tsv"]), ask=st.booleans())
def test_an_inline_answer_is_the_workers_answer(pools, subject, predicate, obj, limit, offset, max_rows, fmt, ask):
    inline, workers, _ = pools
    pattern = f"{{ {subject} {predicate} {obj} }}"
    if ask:
        query = f"ASK {pattern}"
    else:
        query = f"SELECT * WHERE {pattern}" + (f" LIMIT {limit}" if limit is not None else "") + (
            f" OFFSET {offset}" if offset is not None else "")
    job = _job(query, max_rows, fmt)
    assert job.bounded
    before = inline.inline_queries
    here, there = inline.execute(job, 10), workers.execute(job, 10)
    assert inline.inline_queries == before + 1
    assert (here.ok, here.body, here.rows, here.truncated, here.build_id) == (
        there.ok, there.body, there.rows, there.truncated, there.build_id)


def test_a_query_that_is_not_one_pattern_goes_to_a_worker(pools):
    inline, _, _ = pools
    before = inline.inline_queries
    reply = inline.execute(_job('SELECT ?s WHERE { ?s reekg:symbol ?x FILTER (?x = "Tb") }'), 10)
    assert reply.ok and b"element/Tb" in reply.body
    assert inline.inline_queries == before


def test_an_answer_longer_than_the_inline_cap_goes_to_a_worker(tmp_path):
    """Under a row cap above inline_max_rows, an answer that fits is answered here and is the whole answer; a
    longer one would make the HTTP process read that many rows, so a worker reads it."""
    home = StoreHome(tmp_path)
    home.write(BUILD_ID, fixture_quads(), {"build_id": BUILD_ID})
    pool = ProcessPool(home.home, workers=1, fair=False, inline_max_rows=100)
    try:
        assert pool.wait_ready(60)
        short, long = f"SELECT ?o WHERE {{ <{BASE}id/element/Tb> ?p ?o }}", "SELECT * WHERE { ?s ?p ?o }"
        before = pool.inline_queries
        reply = pool.execute(_job(short, max_rows=1000), 10)
        assert reply.ok and reply.rows == 4 and not reply.truncated and pool.inline_queries == before + 1
        reply = pool.execute(_job(long, max_rows=1000), 10)
        assert reply.ok and reply.rows == 1000 and reply.truncated and pool.inline_queries == before + 1
        assert pool.execute(_job(long, max_rows=100), 10).rows == 100 and pool.inline_queries == before + 2
    finally:
        pool.close()


def test_a_new_build_is_read_inline_without_a_restart(pools):
    inline, _, home = pools
    query = 'ASK { ?s reekg:symbol "Lu" }'
    assert inline.execute(_job(query), 10).body == b'{"head":{},"boolean":false}'
    lutetium = URIRef(BASE + "id/element/Lu")
    home.write("20250102T000000Z-second", [*fixture_quads(), (lutetium, URIRef(R + "symbol"), Literal("Lu"),
                                                              URIRef(ELEMENTS_GRAPH))],
               {"build_id": "20250102T000000Z-second"})
    reply = inline.execute(_job(query), 10)
    assert reply.body == b'{"head":{},"boolean":true}' and reply.build_id == "20250102T000000Z-second"
