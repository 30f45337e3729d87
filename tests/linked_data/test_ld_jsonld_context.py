"""The JSON-LD context (issue 14): a term for every class and property of the served ontology, published under
the base IRI, embedded in the JSON-LD dump, and read back to the same triples by two JSON-LD processors."""

from __future__ import annotations

import json
import re

import pyoxigraph as ox
import pytest
from ldkit import fetch
from rdflib import Graph, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import OWL, RDF, RDFS, XSD

BASE = "https://w3id.org/reekg/"
VOCAB = BASE + "ontology#"
# rdflib 7.6's JSON-LD parser builds a ConjunctiveGraph inside and warns of its own deprecation
RDFLIB_JSONLD = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")


@pytest.fixture(scope="module")
def context(ld_server) -> dict:
    answer = fetch(ld_server, "/context.jsonld")
    assert answer.status == 200
    return json.loads(answer.body)["@context"]


@pytest.fixture(scope="module")
def ontology(ld_server) -> Graph:
    return Graph().parse(data=fetch(ld_server, "/ontology.ttl").body, format="turtle")


def _definition(context: dict, iri: str) -> dict:
    """The term of a vocabulary IRI: its local name, or its compact IRI where the local name is a prefix."""
    local = iri[len(VOCAB):]
    own = context.get(local)
    if isinstance(own, dict) and own.get("@id") == f"reekg:{local}":
        return own
    assert isinstance(own, str), f"{local} is neither a term for {iri} nor a prefix"
    return context[f"reekg:{local}"]


def test_every_class_and_property_of_the_ontology_is_a_term(context, ontology):
    kinds = {OWL.Class: "class", OWL.ObjectProperty: "object", OWL.DatatypeProperty: "datatype"}
    terms = {(str(s), kind) for rdf_kind, kind in kinds.items() for s in ontology.subjects(RDF.type, rdf_kind)
             if str(s).startswith(VOCAB)}
    assert len({t for t, k in terms if k == "class"}) >= 25 and len(terms) >= 140  # the ontology's 29 + 121
    for iri, kind in sorted(terms):
        definition = _definition(context, iri)
        range_ = ontology.value(URIRef(iri), RDFS.range)
        if kind == "object":
            assert definition["@type"] == "@id", iri
        elif kind == "datatype" and range_ not in (None, XSD.string, RDF.langString):
            assert definition["@type"] == "xsd:" + str(range_)[len(str(XSD)):], iri
        else:
            assert "@type" not in definition, iri


def test_the_dump_embeds_the_published_context_and_uses_its_terms(ld_server, context):
    listing = fetch(ld_server, "/dumps/")
    name = re.search(r'href="/dumps/([0-9a-f-]+)/"', listing.text).group(1)
    dump = json.loads(fetch(ld_server, f"/dumps/{name}/reekg-{name}.jsonld").body)
    assert dump["@context"] == context
    nodes = {node["@id"]: node for node in dump["@graph"]}
    neodymium = nodes["element:Nd"]
    assert "RareEarthElement" in neodymium["@type"]
    assert neodymium["label"]["en"] == "neodymium"  # a language map (tags as the store gives them)
    assert neodymium["atomicNumber"] == "60"  # coerced to xsd:integer by the term
    assert any("dependsOnElement" in node for node in nodes.values())


@RDFLIB_JSONLD
def test_a_served_document_names_the_context_under_the_base_and_expands_to_its_triples(ld_server, context,
                                                                                     tmp_path):
    document = json.loads(fetch(ld_server, "/data/element/Nd.jsonld").body)
    assert document["@context"] == BASE + "context.jsonld"
    assert not document["@context"].startswith(ld_server.url)  # the base, not this server's host
    turtle = Graph().parse(data=fetch(ld_server, "/data/element/Nd.ttl").body, format="turtle")
    # rdflib fetches the context it names: from a local copy of the served one (no network in tests)
    local = tmp_path / "context.jsonld"
    local.write_text(json.dumps({"@context": context}), encoding="utf-8")
    read = Graph().parse(data=json.dumps({**document, "@context": local.as_uri()}), format="json-ld")
    assert len(read) == len(turtle) and isomorphic(read, turtle)
    # pyoxigraph with the context inlined reads the same triples
    inlined = json.dumps({**document, "@context": context}).encode()
    triples = [ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(inlined, format=ox.RdfFormat.JSON_LD)]
    assert isomorphic(Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES), format="nt"), turtle)
