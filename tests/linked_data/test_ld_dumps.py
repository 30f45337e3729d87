"""Dumps and the dataset description: served files parse back to the store's graph, checksums hold, and the
VoID/DCAT description satisfies our shapes."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import pyoxigraph as ox
import pytest
from ldkit import fetch
from pyshacl import validate
from rdflib import Graph, Literal, URIRef
from rdflib.compare import isomorphic
from rdflib.namespace import DCAT, RDF

from reekg.loaders.store import StoreHome

SHAPES = Path(__file__).with_name("dcat.shapes.ttl")
SPDX = "http://spdx.org/rdf/terms#"
VOID = "http://rdfs.org/ns/void#"
# rdflib 7.6's JSON-LD parser builds a ConjunctiveGraph inside and warns of its own deprecation
RDFLIB_JSONLD = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")


def _nt_graph(triples) -> Graph:
    lines = ox.serialize([ox.Triple(t.subject, t.predicate, t.object) for t in triples],
                         format=ox.RdfFormat.N_TRIPLES)
    return Graph().parse(data=lines, format="nt")


@pytest.fixture(scope="module")
def store_quads(ld_home, ld_server) -> list[ox.Quad]:
    store = ox.Store.read_only(str(StoreHome(ld_home).current()))
    quads = list(store)
    del store
    return quads


@pytest.fixture(scope="module")
def release(ld_server) -> dict:
    listing = fetch(ld_server, "/dumps/")
    assert listing.status == 200
    name = re.search(r'href="/dumps/([0-9a-f-]+)/"', listing.text).group(1)
    page = fetch(ld_server, f"/dumps/{name}/")
    assert page.status == 200
    assert "first release" in page.text  # nothing before it to compare with
    files = {}
    for filename in re.findall(rf'href="/dumps/{name}/([^"/]+)"', page.text):
        answer = fetch(ld_server, f"/dumps/{name}/{filename}")
        assert answer.status == 200, filename
        files[filename] = answer
    return {"name": name, "files": files}


def test_release_names_are_date_and_content_hash(ld_home, release):
    manifest = StoreHome(ld_home).manifest()
    assert release["name"] == f"{manifest['built_at'][:10]}-{manifest['content_sha256'][:12]}"
    suffixes = {n.split(release["name"], 1)[-1] for n in release["files"] if n.startswith("reekg-")}
    assert suffixes == {".ttl", ".nt.gz", ".nq.gz", ".jsonld"}


def test_every_file_matches_its_checksum(release):
    sums = release["files"]["SHA256SUMS"].text.splitlines()
    assert len(sums) == 6
    for line in sums:
        digest, name = line.split("  ")
        assert hashlib.sha256(release["files"][name].body).hexdigest() == digest, name
    assert release["files"][f"reekg-{release['name']}.nq.gz"].header("content-type") == "application/gzip"


@RDFLIB_JSONLD
def test_the_dumps_parse_back_to_the_store(release, store_quads):
    name = release["name"]
    files = release["files"]
    expected = _nt_graph(store_quads)
    nquads = list(ox.parse(gzip.decompress(files[f"reekg-{name}.nq.gz"].body), format=ox.RdfFormat.N_QUADS))
    assert {str(q) for q in nquads} == {str(q) for q in store_quads}
    assert len({q.graph_name for q in nquads}) == len({q.graph_name for q in store_quads})
    parsed = {
        "nt.gz": _nt_graph(ox.parse(gzip.decompress(files[f"reekg-{name}.nt.gz"].body),
                                    format=ox.RdfFormat.N_TRIPLES)),
        "ttl": Graph().parse(data=files[f"reekg-{name}.ttl"].body, format="turtle"),
        "jsonld": _nt_graph(ox.parse(files[f"reekg-{name}.jsonld"].body, format=ox.RdfFormat.JSON_LD)),
        # a second JSON-LD processor reads the embedded context (its terms, coercions, language maps) alike
        "jsonld-rdflib": Graph().parse(data=files[f"reekg-{name}.jsonld"].body, format="json-ld"),
    }
    for key, graph in parsed.items():
        assert len(graph) == len(expected), key
        assert isomorphic(graph, expected), key


def _catalog(ld_server) -> Graph:
    answer = fetch(ld_server, "/catalog", "text/turtle")
    assert answer.status == 200 and answer.header("content-type").startswith("text/turtle")
    return Graph().parse(data=answer.body, format="turtle")


def test_void_and_dcat_satisfy_the_shapes(ld_server, release):
    shapes = Graph().parse(SHAPES, format="turtle")
    conforms, _, text = validate(_catalog(ld_server), shacl_graph=shapes)
    assert conforms, text
    void = Graph().parse(data=release["files"]["void.ttl"].body, format="turtle")
    conforms, _, text = validate(void, shacl_graph=shapes)
    assert conforms, text
    well_known = Graph().parse(data=fetch(ld_server, "/.well-known/void").body, format="turtle")
    assert isomorphic(well_known, _catalog(ld_server))


def test_the_shapes_catch_a_missing_checksum(ld_server):
    graph = _catalog(ld_server)
    graph.remove((None, URIRef(SPDX + "checksum"), None))
    conforms, _, _ = validate(graph, shacl_graph=Graph().parse(SHAPES, format="turtle"))
    assert not conforms


def test_the_description_counts_and_locates_everything(ld_server, release, store_quads):
    graph = _catalog(ld_server)
    dataset = URIRef("https://w3id.org/reekg/dataset")  # its parts are datasets too
    assert (dataset, RDF.type, DCAT.Dataset) in graph
    triples = {(q.subject, q.predicate, q.object) for q in store_quads}
    assert graph.value(dataset, URIRef(VOID + "triples")) == Literal(len(triples))
    assert graph.value(dataset, URIRef(VOID + "sparqlEndpoint")) == URIRef(ld_server.url + "/sparql")
    subsets = list(graph.objects(dataset, URIRef(VOID + "subset")))
    assert len(subsets) == len({q.graph_name for q in store_quads})
    for distribution in graph.objects(dataset, DCAT.distribution):
        url = str(graph.value(distribution, DCAT.downloadURL))
        assert url.startswith(ld_server.url + f"/dumps/{release['name']}/")
        body = release["files"][url.rsplit("/", 1)[-1]].body
        checksum = graph.value(distribution, URIRef(SPDX + "checksum"))
        assert str(graph.value(checksum, URIRef(SPDX + "checksumValue"))) == hashlib.sha256(body).hexdigest()
    # a source's statements point to the source's own terms; none is given a licence we made up
    license_, rights = URIRef("http://purl.org/dc/terms/license"), URIRef("http://purl.org/dc/terms/rights")
    sources = [s for s in subsets if "/graph/source/" in str(s) and not str(s).endswith("/reekg-curation")]
    assert sources
    for subset in sources:
        assert graph.value(subset, license_) is None and graph.value(subset, rights) is not None, subset
    assert json.loads(release["files"]["release.json"].body)["triples"] == len(triples)
