"""Hostile queries cannot take the service down (issue 10, item 4).

* Queries and updates nested thousands deep, or with long flat chains, are refused by the lexer with 400
  naming the limit before they reach the engine (they overflowed its stack: a killed query worker, or the
  HTTP server process itself for an update); what is within the limits runs on a deep stack.
* Runaway queries cannot hold every query worker: a cheap query is answered while four run, and a stopped
  runaway says why.
* RDF/XML with a DTD (billion laughs, XXE) is refused: /store, /validate, `reekg validate`, `reekg build --add`.
"""

from __future__ import annotations

import contextlib
import glob
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rdflib import Graph, URIRef
from serverkit import Answer, Server, running_server, write_fixture_store

from reekg.cli import main
from reekg.server import lexer

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "hostile-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
PARTNER = "https://w3id.org/reekg/graph/partner/hostile"
UPDATE = {"Content-Type": "application/sparql-update", **AUTH}
RDF_XML = {"Content-Type": "application/rdf+xml", **AUTH}
SH = "http://www.w3.org/ns/shacl#"

DEEP_QUERIES = {
    "groups": ("SELECT * {" + "{" * 5000 + "}" * 5000 + "}", 5001),
    "parentheses": ("SELECT * { BIND(" + "(" * 20000 + "1" + ")" * 20000 + " AS ?x) }", 20002),
    "negations": ("SELECT * { FILTER(" + "!" * 20000 + "true) }", 20002),
    "paths": ("SELECT * { ?s " + "(" * 5000 + "rdfs:label" + ")" * 5000 + " ?o }", 5001),
}
# Flat, but the engine builds a tree as deep as the chain is long (300 joins overflow a 2 MiB thread).
LONG_CHAIN = "SELECT * { " + " . ".join(f"?s rdfs:label ?o{i}" for i in range(3000)) + " }"
RUNAWAY = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
CHEAP = 'SELECT ?s WHERE { ?s reekg:symbol ?symbol FILTER (?symbol = "Tb") }'  # cheap, and a worker's to answer
LOOKUP = 'SELECT ?s WHERE { ?s reekg:symbol "Tb" }'  # one triple pattern: answered in the HTTP process


def _laughs(levels: int) -> str:
    entities = '<!ENTITY e0 "ha">\n' + "".join(
        f'<!ENTITY e{i} "{f"&e{i - 1};" * 10}">\n' for i in range(1, levels))
    return f"""<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [
{entities}]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">
  <rdf:Description rdf:about="https://w3id.org/reekg/id/element/Nd">
    <rdfs:comment xml:lang="en">&e{levels - 1};</rdfs:comment>
  </rdf:Description>
</rdf:RDF>
"""


XXE = """<?xml version="1.0"?>
<!DOCTYPE rdf:RDF [ <!ENTITY secret SYSTEM "file:///etc/passwd"> ]>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">
  <rdf:Description rdf:about="https://w3id.org/reekg/id/element/Nd">
    <rdfs:comment xml:lang="en">&secret;</rdfs:comment>
  </rdf:Description>
</rdf:RDF>
"""
PLAIN_XML = """<?xml version="1.0"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">
  <rdf:Description rdf:about="https://w3id.org/reekg/id/element/Nd">
    <rdfs:comment xml:lang="en">plain RDF/XML still loads</rdfs:comment>
  </rdf:Description>
</rdf:RDF>
"""
HOSTILE_XML = {"billion laughs (10^4)": _laughs(5), "XXE": XXE, "lower-case doctype": _laughs(3).replace(
    "<!DOCTYPE", "<!doctype")}


def _backend(server: Server) -> dict:
    return server.get("/readyz").json()["backend"]


@pytest.fixture(scope="module")
def hostile_server(curated_home, tmp_path_factory) -> Iterator[Server]:
    """Writes on (a copy of the curated store), the default request size, two query workers."""
    home = tmp_path_factory.mktemp("hostile-home") / "home"
    shutil.copytree(curated_home, home, symlinks=True)
    log = tmp_path_factory.mktemp("hostile-log") / "serve.log"
    with running_server(home, log, update_token=TOKEN, query_workers=2) as srv:
        yield srv


# --- the size gate --------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(DEEP_QUERIES))
def test_a_deeply_nested_query_is_400_naming_the_limit_and_no_worker_dies(hostile_server, name):
    query, depth = DEEP_QUERIES[name]
    before = _backend(hostile_server)["restarts"]
    answer = hostile_server.request("POST", "/sparql", body=query.encode(),
                                    headers={"Content-Type": "application/sparql-query"})
    assert answer.status == 400, answer.text[:300]
    assert f"query nested {depth} deep; the limit is 200" in answer.text
    assert _backend(hostile_server)["restarts"] == before
    assert hostile_server.get(params={"query": CHEAP}).status == 200


def test_a_long_flat_chain_is_400_naming_the_token_limit(hostile_server):
    answer = hostile_server.request("POST", "/sparql", body=LONG_CHAIN.encode(),
                                    headers={"Content-Type": "application/sparql-query"})
    assert answer.status == 400, answer.text[:300]
    assert "the limit is 10000 (the query_max_tokens setting)" in answer.text


def test_a_long_values_block_is_not_counted(hostile_server):
    values = " ".join(f'"{i}"' for i in range(20000))
    query = f"SELECT (COUNT(*) AS ?n) {{ VALUES ?v {{ {values} }} }}"
    answer = hostile_server.request("POST", "/sparql", body=query.encode(),
                                    headers={"Content-Type": "application/sparql-query",
                                             "Accept": "application/sparql-results+json"})
    assert answer.status == 200, answer.text[:300]
    assert answer.json()["results"]["bindings"][0]["n"]["value"] == "20000"


@pytest.mark.parametrize("path", ["/update", "/validate"])
def test_a_deeply_nested_update_is_400_and_the_server_lives(hostile_server, path):
    text = f"INSERT {{ GRAPH <{PARTNER}> {{ element:Nd rdfs:comment 'x'@en }} }} WHERE {{" + "{" * 5000 + \
        "}" * 5000 + "}"
    answer = hostile_server.request("POST", path, body=text.encode(), headers=UPDATE)
    assert answer.status == 400, answer.text[:300]
    assert "update nested 5001 deep; the limit is 200" in answer.text
    assert hostile_server.get(params={"query": CHEAP}).status == 200


def test_an_update_within_the_limits_runs_on_a_deep_stack(hostile_server):
    # 1,000 BINDs (7,000 tokens) overflowed the 2 MiB stack of an HTTP server thread: the server process died.
    binds = " ".join(f"BIND({i} AS ?x{i})" for i in range(1, 1000))
    text = (f"INSERT {{ GRAPH <{PARTNER}> {{ element:Nd rdfs:comment ?x0 }} }} "
            f"WHERE {{ BIND('deep stack'@en AS ?x0) {binds} }}")
    answer = hostile_server.request("POST", "/update", body=text.encode(), headers=UPDATE)
    assert answer.status == 200, answer.text[:300]
    asked = hostile_server.get(params={"query": "ASK { element:Nd rdfs:comment 'deep stack'@en }"},
                               headers={"Accept": "application/sparql-results+json"})
    assert asked.json()["boolean"] is True


def _shipped_queries() -> list[tuple[str, str]]:
    queries = [(str(p.relative_to(ROOT)), p.read_text(encoding="utf-8"))
               for p in sorted((ROOT / "reekg" / "questions" / "sparql").rglob("*.rq"))]
    queries += [(p, Path(p).read_text(encoding="utf-8")) for p in sorted(glob.glob(str(ROOT / "ontology/qc/*.rq")))]
    shapes = Graph()
    for path in sorted((ROOT / "shapes").glob("*.ttl")):
        shapes.parse(path)
    for kind in ("select", "ask", "construct"):
        queries += [(f"shapes sh:{kind}", str(text)) for text in shapes.objects(None, URIRef(SH + kind))]
    return queries


def test_every_shipped_query_is_far_below_the_limits():
    queries = _shipped_queries()
    assert len(queries) > 30 and any(name.startswith("shapes") for name, _ in queries)
    for name, text in queries:
        shape = lexer.analyse(text)
        assert 0 < shape.depth <= lexer.DEFAULT_MAX_DEPTH // 10, name
        assert 0 < shape.tokens <= lexer.DEFAULT_MAX_TOKENS // 5, name


@pytest.mark.parametrize(("text", "depth", "tokens"), [
    ("SELECT * { ?s ?p ?o }", 1, 7),
    ("SELECT * { ?s ?p '{{{' }", 1, 7),  # braces in a string are not nesting
    ("SELECT * { FILTER(!!!true) }", 5, 11),  # a run of unary operators nests
    ("SELECT * { VALUES ?x { 1 2 3 4 5 6 7 8 9 } ?s ?p ?x }", 2, 9),  # a VALUES block is not counted
    ("INSERT DATA { GRAPH <g> { <s> <p> 1 . <s> <p> 2 } }", 2, 2),  # nor a DATA block
])
def test_the_lexer_measures_depth_and_tokens(text, depth, tokens):
    shape = lexer.analyse(text)
    assert (shape.depth, shape.tokens) == (depth, tokens)


# --- fairness ---------------------------------------------------------------------------------------

@pytest.fixture
def fair_server(tmp_path) -> Iterator[Server]:
    """Two query workers and a 30 s time limit: a cheap answer cannot come from the runaways timing out."""
    write_fixture_store(tmp_path / "home")
    with running_server(tmp_path / "home", tmp_path / "serve.log", query_workers=2, query_timeout="30",
                        answer_cache_mb="0", stop_within=2) as srv:  # runaways are still running at the end
        yield srv


def _send(server: Server, query: str, box: list[Answer], timeout: float = 60) -> threading.Thread:
    def run() -> None:
        with contextlib.suppress(OSError):  # the server was stopped at the end of the test
            box.append(server.get(params={"query": query}, timeout=timeout))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def test_a_cheap_query_is_answered_while_four_runaways_hold_the_workers(fair_server):
    runaways: list[Answer] = []
    for _ in range(4):
        _send(fair_server, RUNAWAY, runaways)
    deadline = time.monotonic() + 20  # until the pool reports all four long (a bounded wait, not a timing)
    while _backend(fair_server).get("queries_long", 0) < 4 and time.monotonic() < deadline:
        time.sleep(0.1)
    lookup: list[Answer] = []
    _send(fair_server, LOOKUP, lookup).join(25)  # needs no worker: answered while all four hold theirs
    assert lookup and lookup[0].status == 200 and "element/Tb" in lookup[0].text
    assert _backend(fair_server)["stopped_long_queries"] == 0
    cheap: list[Answer] = []
    _send(fair_server, CHEAP, cheap).join(25)  # a hang deadline far below the runaways' 30 s limit
    assert cheap and cheap[0].status == 200, cheap and cheap[0].text
    assert "element/Tb" in cheap[0].text
    stopped = [a for a in runaways if a.status == 503]
    assert stopped, [a.status for a in runaways]
    assert "stopped to keep the service responsive for other clients; it had run" in stopped[0].text
    status = _backend(fair_server)
    assert status["stopped_long_queries"] >= 1
    assert status["workers_alive"] <= 2 + 2  # query_workers plus query_extra_workers


# --- XML entities -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(HOSTILE_XML))
@pytest.mark.parametrize("path", [f"/store?graph={PARTNER}", "/validate"])
def test_rdf_xml_with_a_dtd_is_400_naming_the_cause(hostile_server, name, path):
    method = "PUT" if path.startswith("/store") else "POST"
    answer = hostile_server.request(method, path, body=HOSTILE_XML[name].encode(), headers=RDF_XML)
    assert answer.status == 400, answer.text[:300]
    body = answer.json()
    assert body["ok"] is False
    assert "document type declaration" in body["error"] and "line 2" in body["error"]
    assert "root:" not in answer.text


def test_plain_rdf_xml_still_loads(hostile_server):
    answer = hostile_server.request("POST", f"/store?graph={PARTNER}", body=PLAIN_XML.encode(), headers=RDF_XML)
    assert answer.status in (200, 201), answer.text[:300]


@pytest.mark.parametrize("name", sorted(HOSTILE_XML))
@pytest.mark.parametrize("command", ["validate", "build"])
def test_the_cli_refuses_rdf_xml_with_a_dtd(runner, tmp_path, name, command):
    path = tmp_path / "partner.rdf"
    path.write_text(HOSTILE_XML[name], encoding="utf-8")
    home = tmp_path / "home"
    args = ["validate", str(path)] if command == "validate" else ["build", "--add", str(path), "--validate", "none"]
    result = runner.invoke(main, ["--home", str(home), *args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert f"{path}:2: RDF/XML with a document type declaration" in result.output, result.output
    assert not (home / "current").exists()
