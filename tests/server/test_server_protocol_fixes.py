"""Protocol defects of issue 10, item 5, against real `reekg serve` processes: relative IRIs resolve against
the endpoint, an empty graph of this store is an empty dataset graph, and a graph answer to a client that
accepts only result formats comes in a default graph format (rdflib's SPARQLStore)."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import Graph, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from serverkit import BASE, ELEMENTS_GRAPH, Server
from writekit import TOKEN

ND = BASE + "id/element/Nd"
LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
EMPTY_PARTNER = BASE + "graph/partner/empty"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }"
CONSTRUCT = 'CONSTRUCT { ?s rdfs:label ?l } WHERE { ?s reekg:symbol "Nd" ; rdfs:label ?l }'
CSV = {"Accept": "text/csv"}


def csv_rows(answer) -> list[str]:
    assert answer.status == 200, answer.text
    return answer.text.splitlines()[1:]


# --- relative IRIs (https://www.w3.org/TR/sparql11-protocol/, test update_base_uri) ----------------------

def test_a_relative_iri_in_a_query_resolves_against_the_endpoint(server):
    plain = server.get(params={"query": "SELECT * { <rel> ?p ?o }"})
    assert plain.status == 200, plain.text
    assert plain.json()["results"]["bindings"] == []
    bound = server.get(params={"query": "SELECT ?x WHERE { BIND(<rel/x?y=1> AS ?x) }"}, headers=CSV)
    assert csv_rows(bound) == [server.url + "/rel/x?y=1"]


def test_the_query_own_base_wins_over_the_endpoint(server):
    answer = server.get(params={"query": "BASE <http://example.org/a/> SELECT ?x WHERE { BIND(<b> AS ?x) }"},
                        headers=CSV)
    assert csv_rows(answer) == ["http://example.org/a/b"]


def test_a_relative_iri_reaches_no_further_than_before(server):
    """The endpoint's base never turns a relative SERVICE or FROM into an allowed target."""
    for query in ("SELECT * WHERE { SERVICE <sparql> { ?s ?p ?o } }", "SELECT * FROM <sparql> WHERE { ?s ?p ?o }"):
        answer = server.get(params={"query": query})
        assert answer.status == 400, answer.text
        assert "not allowed" in answer.text or "not a graph of this store" in answer.text


@pytest.fixture(scope="module")
def write_server(writable_server) -> Server:
    return writable_server  # the session's writable curated server (tests/server/conftest.py)


def test_a_relative_iri_in_an_update_resolves_against_the_update_endpoint(write_server):
    body = b'INSERT DATA { <test> <http://www.w3.org/2000/01/rdf-schema#label> "update_base_uri" }'
    answer = write_server.request("POST", "/update", body=body, headers={
        "Content-Type": "application/sparql-update", "Authorization": f"Bearer {TOKEN}"})
    assert answer.status == 200, answer.text
    found = write_server.get(params={"query": 'SELECT ?s WHERE { ?s rdfs:label "update_base_uri" }'}, headers=CSV)
    assert csv_rows(found) == [write_server.url + "/test"]


# --- a graph of this store that holds nothing ---------------------------------------------------------------

@pytest.mark.parametrize("name", ["default-graph-uri", "named-graph-uri"])
def test_an_empty_graph_under_the_base_is_an_empty_graph(server, name):
    query = COUNT if name == "default-graph-uri" else "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
    answer = server.get(params={"query": query, name: EMPTY_PARTNER}, headers=CSV)
    assert csv_rows(answer) == ["0"]


def test_an_empty_graph_beside_a_full_one_adds_nothing(server):
    answer = server.get(params={"query": COUNT, "default-graph-uri": [EMPTY_PARTNER, ELEMENTS_GRAPH]}, headers=CSV)
    assert csv_rows(answer) == ["12"]


def test_from_an_empty_graph_under_the_base_is_an_empty_graph(server):
    answer = server.get(params={"query": f"SELECT (COUNT(*) AS ?n) FROM <{EMPTY_PARTNER}> WHERE {{ ?s ?p ?o }}"},
                        headers=CSV)
    assert csv_rows(answer) == ["0"]


@pytest.mark.parametrize("iri", ["http://example.org/g", "https://w3id.org/reekgX/graph/partner/empty",
                                 "https://w3id.org/other/graph/partner/empty"])
def test_a_graph_outside_the_base_is_still_refused(server, iri):
    for params in ({"query": COUNT, "default-graph-uri": iri}, {"query": COUNT, "named-graph-uri": iri},
                   {"query": f"SELECT * FROM <{iri}> WHERE {{ ?s ?p ?o }}"}):
        answer = server.get(params=params)
        assert answer.status == 400, (params, answer.text)
        assert "not a graph of this store" in answer.text


# --- a graph answer to a client that accepts only result formats ------------------------------------------

@pytest.mark.parametrize(("accept", "media_type"), [
    ("application/sparql-results+json", "application/ld+json"),
    ("application/json", "application/ld+json"),
    ("application/sparql-results+xml", "text/turtle"),
    ("text/csv", "text/turtle"),
    ("text/tab-separated-values;q=0.5, application/sparql-results+json", "application/ld+json"),
])
def test_a_graph_answer_falls_back_to_a_graph_format(server, accept, media_type):
    answer = server.get(params={"query": CONSTRUCT}, headers={"Accept": accept})
    assert answer.status == 200, answer.text
    assert answer.header("Content-Type").startswith(media_type)
    fmt = ox.RdfFormat.JSON_LD if "json" in media_type else ox.RdfFormat.TURTLE
    assert ox.NamedNode(ND) in {t.subject for t in ox.parse(answer.body, format=fmt)}


@pytest.mark.parametrize("accept", ["image/png", "text/html", "application/sparql-results+json;q=0, image/png"])
def test_a_graph_answer_is_406_when_nothing_we_produce_is_acceptable(server, accept):
    answer = server.get(params={"query": CONSTRUCT}, headers={"Accept": accept})
    assert answer.status == 406, answer.text
    assert "text/turtle" in answer.text


def test_a_select_still_refuses_graph_only_accept(server):
    answer = server.get(params={"query": COUNT}, headers={"Accept": "text/turtle"})
    assert answer.status == 406


# rdflib's own JSON-LD parser warns about its internals (ConjunctiveGraph), as in test_server_clients.py
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize("return_format", ["json", "xml"])
def test_rdflib_sparqlstore_construct_and_describe(server, return_format):
    store = SPARQLStore(query_endpoint=server.url + "/sparql", returnFormat=return_format)
    graph = Graph(store=store)
    constructed = graph.query(f"CONSTRUCT {{ ?s <{LABEL}> ?l }} WHERE {{ ?s <{BASE}ontology#symbol> \"Nd\" ; "
                              f"<{LABEL}> ?l }}").graph
    labels = {str(o) for o in constructed.objects(URIRef(ND), URIRef(LABEL))}
    assert labels == {"neodymium", "钕"}
    described = graph.query(f"DESCRIBE <{ND}>").graph
    assert (URIRef(ND), URIRef(BASE + "ontology#symbol"), None) in described
    [row] = list(graph.query(f'SELECT ?s WHERE {{ ?s <{BASE}ontology#symbol> "Nd" }}'))
    assert str(row[0]) == ND  # the same store still reads SELECT results


class _RecordingRemote:
    """A remote store that records the query text it is sent and answers with an empty SELECT result."""

    timeout = 10

    def __init__(self) -> None:
        self.sent: list[str] = []

    def meta(self, base, *, timeout=None):
        return {"build_id": "remote-build", "graphs": [ELEMENTS_GRAPH]}

    def query(self, text, **kwargs):
        from reekg.loaders.remote_store import RemoteAnswer

        self.sent.append(text)
        return RemoteAnswer("application/sparql-results+json", b'{"head":{"vars":["x"]},"results":{"bindings":[]}}')

    def describe(self):
        return "recording remote"


def test_a_remote_store_resolves_relative_iris_against_this_endpoint_not_its_own():
    from reekg.read.jobs import Job
    from reekg.read.remote import RemoteBackend

    remote = _RecordingRemote()
    reply = RemoteBackend(remote, BASE).execute(Job(query="SELECT ?x WHERE { BIND(<rel> AS ?x) }",
                                                    base_iri="http://127.0.0.1:1/sparql"), 5)
    assert reply.ok, reply.message
    [text] = remote.sent
    parsed = ox.Store().query(text)  # what the remote engine would read: it resolves with the BASE it is sent
    assert [s["x"].value for s in parsed] == ["http://127.0.0.1:1/rel"]


# --- saved queries run in any client: their own PREFIX lines, langMatches for language tags ------------------

QUERY_FILES = sorted((Path(__file__).resolve().parents[2] / "reekg" / "questions" / "sparql").glob("*.rq"))
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def rdflib_without_prefixes(monkeypatch):
    """rdflib's SPARQL parser with nothing predeclared (it binds rdf:, rdfs:, xsd:, prov:, … by default)."""
    from rdflib.namespace import NamespaceManager
    from rdflib.plugins.sparql import sparql

    def bare(self) -> None:
        self.base = None
        self.namespace_manager = NamespaceManager(Graph(bind_namespaces="none"), bind_namespaces="none")

    monkeypatch.setattr(sparql.Prologue, "__init__", bare)


def test_there_are_saved_queries():
    assert len(QUERY_FILES) >= 20


@pytest.mark.parametrize("path", QUERY_FILES, ids=[p.stem for p in QUERY_FILES])
def test_a_saved_query_declares_every_prefix_it_uses(path, rdflib_without_prefixes):
    from rdflib.plugins.sparql import prepareQuery

    text = path.read_text(encoding="utf-8")
    prepareQuery(text)  # raises "Unknown namespace prefix" for a prefix the file does not declare
    ox.Store().query(text)  # and the same in Oxigraph, with no predeclared prefixes


def test_the_saved_queries_keep_their_parameters_and_move_with_the_base():
    from reekg.questions.library import library

    default, moved = library(), library("http://example.org/kg/")
    assert [p.name for p in default["controls"].parameters] == ["robot", "on"]
    assert default["controls"].parameters == moved["controls"].parameters
    assert "PREFIX reekg: <https://w3id.org/reekg/ontology#>" in default["sources"].text
    assert "PREFIX reekg: <http://example.org/kg/ontology#>" in moved["sources"].text
    assert "w3id.org" not in "".join(line for q in moved.values() for line in q.text.splitlines()
                                     if line.upper().startswith("PREFIX"))


def test_a_saved_query_runs_in_rdflib_with_nothing_predeclared(server):
    """What a Jena or rdflib user does: paste the saved query into another client's endpoint call."""
    text = (REPO / "reekg" / "questions" / "sparql" / "labels.rq").read_text(encoding="utf-8")
    store = SPARQLStore(query_endpoint=server.url + "/sparql", returnFormat="json")
    rows = {str(r.entity): r for r in Graph(store=store).query(text, initBindings={"entity": URIRef(ND)})}
    assert str(rows[ND].labelEn) == "neodymium"


LANG_EQUALS = re.compile(r"""lang\s*\(\s*[?$]\w+\s*\)\s*(?:=|!=)\s*["'][^"']""", re.IGNORECASE)
SHIPPED = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md")), *QUERY_FILES,
           *sorted((REPO / "server" / "templates").rglob("*.html")), *sorted((REPO / "reekg").glob("*.py")),
           *sorted((REPO / "server").glob("*.py")),
           *[p for p in sorted((REPO / "server" / "static").rglob("*")) if p.is_file() and "vendor" not in p.parts
             and p.suffix in (".js", ".html", ".css", ".md")]]


def test_no_shipped_query_or_example_compares_a_language_tag_with_equals():
    found = [f"{path.relative_to(REPO)}: {m.group(0)}" for path in SHIPPED
             for m in LANG_EQUALS.finditer(path.read_text(encoding="utf-8"))]
    assert found == []
    model = (REPO / "docs" / "model.md").read_text(encoding="utf-8")
    assert "zh-hant" in model and "langMatches" in model


def test_lang_equals_finds_nothing_where_langmatches_finds_the_label(server):
    """Why: Oxigraph gives tags in lower case."""
    equals = server.get(params={"query": 'SELECT ?l WHERE { element:Dy rdfs:label ?l FILTER(lang(?l) = "zh-Hant") }'})
    matches = server.get(params={"query": 'SELECT ?l WHERE { element:Dy rdfs:label ?l '
                                          'FILTER(langMatches(lang(?l), "zh-Hant")) }'})
    assert equals.json()["results"]["bindings"] == []
    assert [b["l"]["value"] for b in matches.json()["results"]["bindings"]] == ["鏑"]
