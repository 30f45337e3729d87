"""The one format table (reekg.formats) and what content negotiation offers from it, per kind of route."""

from __future__ import annotations

import pytest

from reekg import formats

SELECT = "SELECT ?s WHERE { ?s ?p ?o } LIMIT 1"
ASK = "ASK { ?s ?p ?o }"
CONSTRUCT = "CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o } LIMIT 1"
# (route kind, request path, its query parameters, the table's formats it offers, in order of preference)
ROUTES = [
    ("select", "/sparql", {"query": SELECT}, formats.RESULTS),
    ("ask", "/sparql", {"query": ASK}, formats.RESULTS),
    ("construct", "/sparql", {"query": CONSTRUCT}, formats.GRAPH),
    ("document", "/id/element/Nd", {}, (formats.GRAPH[0], formats.HTML, *formats.GRAPH[1:])),
]
IDS = [r[0] for r in ROUTES]
UNKNOWN = "application/x-not-a-format"


@pytest.mark.parametrize("kind", ["graph", "results"])
def test_no_media_type_suffix_or_keyword_names_two_formats_of_a_kind(kind):
    media = [m for f in formats.of_kind(kind) for m in f.media_types]
    keywords = [k for f in formats.of_kind(kind) for k in f.keywords]
    assert len(media) == len(set(media))
    assert len(keywords) == len(set(keywords))
    for fmt in formats.of_kind(kind):
        assert formats.by_media_type(fmt.media_type.upper() + "; charset=utf-8", kind) is fmt
        assert all(formats.by_keyword(k, kind) is fmt for k in fmt.keywords)


def test_no_suffix_or_name_names_two_formats():
    suffixes = [s for f in formats.ALL for s in f.suffixes]
    assert len(suffixes) == len(set(suffixes))
    assert len({f.name for f in formats.ALL}) == len(formats.ALL)


def test_each_format_has_its_engine_format():
    for fmt in formats.GRAPH:
        assert fmt.rdf is not None and fmt.results is None and fmt.rdflib
        assert fmt.named_graphs == (fmt.name in ("trig", "n-quads"))
        assert formats.by_rdf_format(fmt.rdf) is fmt
        assert formats.for_body(fmt.media_type + "; charset=utf-8") is fmt
    for fmt in formats.RESULTS:
        assert fmt.results is not None and fmt.rdf is None
    assert formats.for_body("text/n3") is None  # pyoxigraph reads N3; the table does not offer it


@pytest.mark.parametrize(("name", "path", "params", "offered"), ROUTES, ids=IDS)
def test_every_media_type_of_the_table_is_answered_in_its_format(client, name, path, params, offered):
    for position, fmt in enumerate(offered):
        for media_type in fmt.media_types:
            response = client.get(path, query_string=params, headers={"Accept": media_type}, follow_redirects=True)
            assert response.status_code == 200, (media_type, response.text)
            # an alias two formats of a route share (application/xml) goes to the one negotiation prefers
            wanted = next(f for f in offered[: position + 1] if media_type in f.media_types)
            assert response.headers["Content-Type"] == wanted.content_type, media_type


@pytest.mark.parametrize(("name", "path", "params", "offered"), ROUTES, ids=IDS)
def test_every_keyword_of_the_table_is_answered_in_its_format(client, name, path, params, offered):
    for fmt in offered:
        for keyword in fmt.keywords:
            response = client.get(path, query_string={**params, "format": keyword}, follow_redirects=True)
            assert response.status_code == 200, (keyword, response.text)
            assert response.headers["Content-Type"] == fmt.content_type, keyword


@pytest.mark.parametrize(("name", "path", "params", "offered"), ROUTES, ids=IDS)
def test_a_406_names_exactly_the_formats_of_the_table(client, name, path, params, offered):
    response = client.get(path, query_string=params, headers={"Accept": UNKNOWN})
    assert response.status_code == 406
    named = response.text.rsplit("acceptable: ", 1)[1].split('"')[0].strip().rstrip(".").split(", ")
    assert named == [f.media_type for f in offered]


def test_documents_answer_at_each_canonical_suffix_and_no_other(client):
    for fmt in (*formats.GRAPH, formats.HTML):
        response = client.get(f"/ontology.{fmt.suffix}")
        assert response.status_code == 200, fmt.suffix
        assert response.headers["Content-Type"] == fmt.content_type
        if fmt.kind == "graph":
            assert client.get(f"/data/element/Nd.{fmt.suffix}").headers["Content-Type"] == fmt.content_type
        for other in fmt.suffixes[1:]:  # read in partner files, never in a document's URL
            assert client.get(f"/ontology.{other}").status_code == 404, other
            assert client.get(f"/data/element/Nd.{other}").status_code == 404, other
    for suffix in ("srj", "csv", "n3", "html"):
        assert client.get(f"/data/element/Nd.{suffix}").status_code == 404, suffix
