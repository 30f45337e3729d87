"""Dereferencing: an entity's IRI (``/id/``) answers 303 to its page (``/doc/``) or its description
(``/data/``); a renamed entity's IRI answers 301 to its replacement; a named graph's IRI (``/graph/``) answers
303 to its page or its triples."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
from flask import Response, current_app, redirect, request, url_for

from reekg.errors import NotFound

from .. import browse, conneg
from .documents import (
    DATA_SUFFIXES,
    ONTOLOGY_QUERY,
    SAFE_SCHEMES,
    bp,
    document,
    iri_of,
    job,
    label_of,
    labels_of,
    lang_matches,
    negotiated,
    ns,
    provenance,
    render,
    run,
    see_other,
    serialise,
    settings,
    sparql_link,
    suffix_for,
    term,
    view_term,
    with_graph,
    with_this,
)

# Checked with fullmatch: Python's `$` also matches before a final newline, so "Dy\n" passed `^…$`
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]{1,200}")
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS_PREF = "http://www.w3.org/2004/02/skos/core#prefLabel"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
# the question behind an entity page; ?this is bound by a VALUES block of its N-Triples term (reekg.terms)
DESCRIBE_QUERY = """# Every statement about one entity, in every named graph (the graph is its source):
# outgoing (?this ?property ?value) and incoming (?value ?property ?this), with the confidence of the row.
SELECT ?direction ?property ?value ?graph ?confidence WHERE {
  {
    GRAPH ?graph { ?this ?property ?value OPTIONAL { ?this reekg:confidence ?confidence } }
    BIND("out" AS ?direction)
  } UNION {
    GRAPH ?graph { ?value ?property ?this OPTIONAL { ?value reekg:confidence ?confidence } }
    BIND("in" AS ?direction)
  }
}
ORDER BY ?direction ?property ?value ?graph"""


# --- describing an entity ------------------------------------------------------------------------------

@dataclass
class Statement:
    direction: str  # "out": (this, property, value); "in": (value, property, this)
    property: ox.NamedNode
    value: ox.NamedNode | ox.BlankNode | ox.Literal
    graph: ox.NamedNode
    confidence: ox.NamedNode | None = None


@dataclass
class Description:
    iri: ox.NamedNode
    statements: list[Statement]
    truncated: bool
    build_id: str | None
    query: str
    labels: dict[str, dict[str, str]] = field(default_factory=dict)  # IRI → {"en": …, "zh-hant": …}

    def quads(self) -> list[ox.Quad]:
        out = []
        for s in self.statements:
            subject, obj = (self.iri, s.value) if s.direction == "out" else (s.value, self.iri)
            out.append(ox.Quad(subject, s.property, obj, s.graph))
        return out

    def outgoing(self) -> list[Statement]:
        return [s for s in self.statements if s.direction == "out"]


def describe(iri: ox.NamedNode) -> Description:
    query = with_this(DESCRIBE_QUERY, iri)
    answer, truncated, build_id = run(job(query))
    statements = []
    for row in answer["results"]["bindings"]:
        confidence = term(row["confidence"]) if "confidence" in row else None
        statements.append(Statement(row["direction"]["value"], term(row["property"]), term(row["value"]),
                                    term(row["graph"]),
                                    confidence if isinstance(confidence, ox.NamedNode) else None))
    if not statements:
        raise NotFound(f"nothing is known about <{iri.value}>")
    return Description(iri, statements, truncated, build_id, query)


# --- the entity page --------------------------------------------------------------------------------------

def _wanted(description: Description) -> set[str]:
    """Every IRI the page shows, whose label it needs: the entity, properties, values, confidences, sources."""
    wanted = {description.iri.value}
    for s in description.statements:
        wanted.add(s.property.value)
        if isinstance(s.value, ox.NamedNode):
            wanted.add(s.value.value)
        if s.confidence is not None:
            wanted.add(s.confidence.value)
        source = provenance(s.graph)
        if source["kind"] == "source":
            wanted.add(source["iri"])
    return wanted


def _own_names(description: Description) -> dict[str, list[str]]:
    """The entity's own labels in en and zh-Hant."""
    own = [(s.value.language or "", s.value.value) for s in description.outgoing()
           if s.property.value in (RDFS_LABEL, SKOS_PREF) and isinstance(s.value, ox.Literal)]
    return {"en": sorted({v for lang, v in own if lang_matches(lang, "en")}),
            "zh-Hant": sorted({v for lang, v in own if lang_matches(lang, "zh-Hant")})}


def _statement_row(s: Statement, labels: dict[str, dict[str, str]]) -> dict[str, Any]:
    source = provenance(s.graph)
    return {"property": view_term(s.property, labels), "value": view_term(s.value, labels),
            "source": {**source, "label": label_of(source.get("iri"), labels)},
            "confidence": view_term(s.confidence, labels) if s.confidence is not None else None}


def entity_page(description: Description, kind: str, ident: str) -> str:
    names = ns()
    labels = labels_of(_wanted(description))
    own = _own_names(description)
    outgoing = description.outgoing()
    types = sorted({s.value.value for s in outgoing
                    if s.property.value == RDF_TYPE and isinstance(s.value, ox.NamedNode)})
    regions = [s.value.value for s in outgoing
               if s.property.value == str(names.reekg.region) and isinstance(s.value, ox.Literal)]
    title = (own["en"] or own["zh-Hant"] or [ident])[0]
    site = str(names.reekg.Mine) in types or str(names.reekg.SupplySite) in types or kind in ("mine", "facility")
    formats = [(suffix, conneg.suffix_of(suffix).media_type,
                url_for("ld.data", kind=kind, name=f"{ident}.{suffix}")) for suffix in DATA_SUFFIXES]
    return render("ld/entity.html", title=title, iri=description.iri.value, names=own, kind=kind, ident=ident,
                  types=[view_term(ox.NamedNode(t), labels) for t in types],
                  outgoing=[_statement_row(s, labels) for s in outgoing],
                  incoming=[_statement_row(s, labels) for s in description.statements if s.direction == "in"],
                  is_site=site, regions=regions, position=browse.position_of(description.iri.value) if site else None,
                  truncated=description.truncated, limit=settings()["max_rows"], query=description.query,
                  query_link=sparql_link(description.query), formats=formats, build_id=description.build_id)


# --- routes: entities --------------------------------------------------------------------------------------

# A renamed id (data/replaced_ids.csv): the old IRI is owl:deprecated and dcterms:isReplacedBy the new one, and
# answers 301 to it on /id/, /doc/ and /data/ (a published IRI changes only with a redirect). One query for /id/:
# a row when the IRI is known at all, with ?replacement when it was renamed (the OPTIONAL joins every row alike,
# so the first row says it).
ENTITY_QUERY = """SELECT ?replacement WHERE {
  { GRAPH ?g { ?this ?p ?o } } UNION { GRAPH ?g { ?s ?p ?this } }
  OPTIONAL { GRAPH ?r { ?this <http://www.w3.org/2002/07/owl#deprecated> true ;
                              <http://purl.org/dc/terms/isReplacedBy> ?replacement } }
}
LIMIT 1"""
_DEPRECATED = ox.NamedNode("http://www.w3.org/2002/07/owl#deprecated")
_REPLACED_BY = ox.NamedNode("http://purl.org/dc/terms/isReplacedBy")


def _moved(replacement: str | None, endpoint: str, suffix: str = "") -> Response | None:
    """301 to ``endpoint`` for the replacement IRI (ours, a valid /id/ path), keeping the query string."""
    prefix = ns().base + "id/"
    if not replacement or not replacement.startswith(prefix):
        return None
    kind, _, ident = replacement[len(prefix):].partition("/")
    if not (_SEGMENT.fullmatch(kind) and _SEGMENT.fullmatch(ident)):
        return None
    names = {"name": ident + suffix} if endpoint == "ld.data" else {"ident": ident}
    location = url_for(endpoint, kind=kind, **names)
    if request.query_string:
        location += "?" + request.query_string.decode("latin-1")
    return redirect(location, code=301)


def _replacement_in(description: Description) -> str | None:
    """The IRI a deprecated entity is replaced by, read from its own description."""
    outgoing = description.outgoing()
    deprecated = any(s.property == _DEPRECATED and isinstance(s.value, ox.Literal) and s.value.value == "true"
                     for s in outgoing)
    replacements = sorted(s.value.value for s in outgoing if s.property == _REPLACED_BY
                          and isinstance(s.value, ox.NamedNode))
    return replacements[0] if deprecated and replacements else None


def _checked(kind: str, ident: str) -> ox.NamedNode:
    if not (_SEGMENT.fullmatch(kind) and _SEGMENT.fullmatch(ident)):
        raise NotFound(f"no such entity: /id/{kind}/{ident}")
    return iri_of(f"id/{kind}/{ident}")


@bp.get("/id/<kind>/<ident>")
def entity(kind: str, ident: str) -> Response:
    """The entity's IRI: 303 to the document in the negotiated format."""
    iri = _checked(kind, ident)
    choice = negotiated()
    answer, _, _ = run(job(with_this(ENTITY_QUERY, iri)))
    rows = answer["results"]["bindings"]
    if not rows:
        raise NotFound(f"nothing is known about <{iri.value}>")
    moved = _moved(rows[0].get("replacement", {}).get("value"), "ld.entity")
    if moved is not None:
        return moved
    if choice.name == "html":
        return see_other(url_for("ld.doc", kind=kind, ident=ident))
    return see_other(url_for("ld.data", kind=kind, name=f"{ident}.{suffix_for(choice)}"))


@bp.get("/doc/<kind>/<ident>")
def doc(kind: str, ident: str) -> Response:
    iri = _checked(kind, ident)
    description = describe(iri)
    moved = _moved(_replacement_in(description), "ld.doc")
    if moved is not None:
        return moved
    html = entity_page(description, kind, ident)
    return document(html, conneg.HTML, truncated=description.truncated, build_id=description.build_id)


@bp.get("/data/<kind>/<name>")
def data(kind: str, name: str) -> Response:
    ident, _, suffix = name.rpartition(".")
    choice = conneg.suffix_of(suffix) if ident else None
    if choice is None or choice.name == "html":
        raise NotFound(f"no such document: use /data/{kind}/{{id}}.{{{','.join(DATA_SUFFIXES)}}}")
    iri = _checked(kind, ident)
    description = describe(iri)
    moved = _moved(_replacement_in(description), "ld.data", f".{suffix}")
    if moved is not None:
        return moved
    return document(serialise(description.quads(), choice), choice, truncated=description.truncated,
                    build_id=description.build_id)


# --- routes: named graphs ------------------------------------------------------------------------------------

_GRAPH_NAME = re.compile(r"[A-Za-z0-9._~-]{1,200}(?:/[A-Za-z0-9._~-]{1,200}){0,3}")
GRAPH_COUNT_QUERY = "SELECT (COUNT(*) AS ?triples) WHERE { GRAPH ?g { ?s ?p ?o } }"
GRAPH_PREVIEW_QUERY = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } } LIMIT 100"
SOURCE_QUERY = "SELECT ?property ?value WHERE { ?this ?property ?value }"
_CITATION = {"http://purl.org/dc/terms/title": "title", "http://purl.org/dc/terms/publisher": "publisher",
             "http://purl.org/dc/terms/issued": "issued", "https://schema.org/url": "url", RDFS_LABEL: "label"}


def _graph_of(name: str) -> tuple[ox.NamedNode, str, str | None]:
    """The served graph a ``/graph/…`` path names, its name, and the document suffix if the path has one
    (``/graph/inferred.ttl``). A graph the store does not hold is 404, like an unknown entity."""
    if not _GRAPH_NAME.fullmatch(name):
        raise NotFound(f"no such graph: /graph/{name}")
    prefix = ns().base + "graph/"
    graphs = current_app.extensions["reekg.backend"].snapshot().graphs
    if prefix + name in graphs:
        return ox.NamedNode(prefix + name), name, None
    stem, dot, suffix = name.rpartition(".")
    if dot and suffix in conneg.SUFFIXES and prefix + stem in graphs:
        return ox.NamedNode(prefix + stem), stem, suffix
    raise NotFound(f"this store holds no graph <{prefix + name}>")


@bp.get("/graph/<path:name>")
def named_graph(name: str) -> Response:
    """A named graph's IRI: 303 to its document in the negotiated format (as for entities); the document
    (``/graph/{name}.{ext}``) is its description (HTML) or its triples (ttl, jsonld, nt, rdf; trig and nq with the
    graph's name), capped at max_rows like every other document."""
    iri, name, suffix = _graph_of(name)
    if suffix is None:
        return see_other(url_for("ld.named_graph", name=f"{name}.{suffix_for(negotiated())}"))
    choice = conneg.suffix_of(suffix)
    if choice.name == "html":
        return document(graph_page(iri, name), choice)
    triples, truncated, build_id = run(job(with_graph(ONTOLOGY_QUERY, iri), graph_format="n-triples"))
    quads = [ox.Quad(t.subject, t.predicate, t.object, iri) for t in triples]
    return document(serialise(quads, choice), choice, truncated=truncated, build_id=build_id)


def _citation(source: str) -> dict[str, str]:
    """Title, publisher, year and URL of a source, from its description in the store (data/sources.csv)."""
    answer, _, _ = run(job(with_this(SOURCE_QUERY, ox.NamedNode(source))))
    found: dict[str, str] = {}
    for row in answer["results"]["bindings"]:
        key = _CITATION.get(row["property"]["value"])
        if key is not None:
            found.setdefault(key, row["value"]["value"])
    if "issued" in found:
        found["year"] = found["issued"][:4]
    if not found.get("url", "").lower().startswith(SAFE_SCHEMES):
        found.pop("url", None)
    return found


def graph_page(iri: ox.NamedNode, name: str) -> str:
    """What a graph is (a source's statements, the inferred triples, the ontology, a partner file), where it comes
    from, how many triples it holds, a first look at them, and its triples in every RDF format."""
    count_query = with_graph(GRAPH_COUNT_QUERY, iri)
    answer, _, build_id = run(job(count_query))
    rows = answer["results"]["bindings"]
    count = int(rows[0]["triples"]["value"]) if rows else 0
    preview_query = with_graph(GRAPH_PREVIEW_QUERY, iri)
    preview, _, _ = run(job(preview_query, graph_format="n-triples"))
    preview = sorted(preview, key=str)
    origin = provenance(iri)
    citation = _citation(origin["iri"]) if origin["kind"] == "source" else {}
    wanted = {t.predicate.value for t in preview} | {
        node.value for t in preview for node in (t.subject, t.object) if isinstance(node, ox.NamedNode)}
    labels = labels_of(wanted)
    titles = {"source": f"Source graph {origin.get('id', '')}", "inferred": "Inferred triples",
              "ontology": "The ontology", "partner": f"Partner graph {name.rpartition('/')[2]}"}
    formats = [(suffix, conneg.suffix_of(suffix).media_type, url_for("ld.named_graph", name=f"{name}.{suffix}"))
               for suffix in DATA_SUFFIXES]
    statements = [{"subject": view_term(t.subject, labels), "property": view_term(t.predicate, labels),
                   "value": view_term(t.object, labels)} for t in preview]
    query = with_graph(ONTOLOGY_QUERY, iri)
    return render("ld/graph.html", title=citation.get("title") or titles.get(origin["kind"], iri.value),
                  iri=iri.value, origin=origin, citation=citation, count=count, statements=statements,
                  shown=len(statements), limit=settings()["max_rows"], formats=formats, build_id=build_id,
                  query=query, query_link=sparql_link(query), count_query=count_query)
