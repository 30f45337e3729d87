"""Real SPARQL clients against the real server: SPARQLWrapper and rdflib's SPARQLStore."""

from __future__ import annotations

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.plugins.stores.sparqlstore import SPARQLStore
from SPARQLWrapper import CSV, JSON, N3, POST, RDFXML, TSV, TURTLE, XML, SPARQLWrapper

ND = "https://w3id.org/reekg/id/element/Nd"
SELECT = 'PREFIX reekg: <https://w3id.org/reekg/ontology#> SELECT ?s WHERE { ?s reekg:symbol "Nd" }'
CONSTRUCT = ('PREFIX reekg: <https://w3id.org/reekg/ontology#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> '
             'CONSTRUCT { ?s rdfs:label ?l } WHERE { ?s reekg:symbol "Nd" ; rdfs:label ?l }')


def _wrapper(server, fmt, method=None) -> SPARQLWrapper:
    client = SPARQLWrapper(server.url + "/sparql")
    client.setReturnFormat(fmt)
    if method:
        client.setMethod(method)
    return client


@pytest.mark.parametrize("method", [None, POST])
def test_sparqlwrapper_select_json(server, method):
    client = _wrapper(server, JSON, method)
    client.setQuery(SELECT)
    result = client.queryAndConvert()
    assert result["results"]["bindings"] == [{"s": {"type": "uri", "value": ND}}]


def test_sparqlwrapper_select_xml_csv_tsv(server):
    for fmt, probe in ((XML, None), (CSV, ND.encode()), (TSV, f"<{ND}>".encode())):
        client = _wrapper(server, fmt)
        client.setQuery(SELECT)
        converted = client.queryAndConvert()
        if probe is None:
            assert ND in converted.toxml()
        else:
            assert probe in converted


def test_sparqlwrapper_ask(server):
    client = _wrapper(server, JSON)
    client.setQuery('ASK { ?s <https://w3id.org/reekg/ontology#symbol> "Dy" }')
    assert client.queryAndConvert()["boolean"] is True


# SPARQLWrapper 2.0 converts RDF/XML into a ConjunctiveGraph, which rdflib 7.6 deprecates: the client's warning.
@pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
@pytest.mark.parametrize("fmt", [TURTLE, RDFXML, N3])
def test_sparqlwrapper_construct(server, fmt):
    client = _wrapper(server, fmt)
    client.setQuery(CONSTRUCT)
    converted = client.queryAndConvert()
    graph = converted if isinstance(converted, Graph) else Graph().parse(data=converted, format="turtle")
    assert (URIRef(ND), URIRef("http://www.w3.org/2000/01/rdf-schema#label"), Literal("neodymium", lang="en")) in graph


def test_sparqlwrapper_reports_a_bad_query(server):
    from SPARQLWrapper.SPARQLExceptions import QueryBadFormed

    client = _wrapper(server, JSON)
    client.setQuery("SELECT * WHERE { ?s ?p }")
    with pytest.raises(QueryBadFormed):
        client.query()


@pytest.fixture
def remote(server):
    store = SPARQLStore(query_endpoint=server.url + "/sparql")
    graph = Graph(store=store)
    yield graph
    graph.close()


def test_rdflib_sparqlstore_select_ask_construct(remote):
    rows = list(remote.query(SELECT))
    assert [str(row.s) for row in rows] == [ND]
    assert remote.query('ASK { ?s <https://w3id.org/reekg/ontology#symbol> "Tb" }').askAnswer is True
    constructed = remote.query(CONSTRUCT).graph
    assert (URIRef(ND), None, Literal("neodymium", lang="en")) in constructed


def test_rdflib_sparqlstore_triples(remote):
    labels = set(remote.objects(URIRef(ND), URIRef("http://www.w3.org/2000/01/rdf-schema#label")))
    assert Literal("neodymium", lang="en") in labels
