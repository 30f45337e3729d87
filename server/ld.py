"""Linked data: dereferenceable IRIs, the ontology document, the JSON-LD context, dumps and the dataset
description (issue 5). The recipes followed are W3C's "Best Practice Recipes for Publishing RDF Vocabularies"
(https://www.w3.org/TR/swbp-vocab-pub/) and "Cool URIs for the Semantic Web" (https://www.w3.org/TR/cooluris/).

Hash or slash, and why
    Ontology terms are hash IRIs (``{base}ontology#Mine``): the vocabulary is small and read as a whole, so
    one document answers for every term (Recipe 3, "hash namespace"). Instances are slash IRIs
    (``{base}id/element/Nd``): there are thousands, each with its own description, and a slash IRI lets a
    client fetch one without the rest. A slash IRI names a thing (neodymium), not a document, so it answers
    ``303 See Other`` to a document about it (Cool URIs §4.3); the ontology IRI does the same (Recipe 3's
    303 to the HTML or RDF version), so every IRI behaves alike.

What answers
    =============================  =================================================================
    ``/id/{kind}/{id}``            303 → ``/doc/{kind}/{id}`` (HTML) or ``/data/{kind}/{id}.{ext}``
    ``/doc/{kind}/{id}``           the entity page (HTML)
    ``/data/{kind}/{id}.{ext}``    the description: ttl, jsonld, nt, rdf (triples), trig, nq (with graphs)
    ``/ontology``                  303 → ``/ontology.html`` or ``/ontology.{ext}``
    ``/ontology/{version}``        the versioned IRI: 303 like ``/ontology``; 404 for a version not served
    ``/context.jsonld``            the JSON-LD context that every JSON-LD document here names
    ``/dumps/``, ``/dumps/{r}/``   releases, a release's files and its changelog; files below it
    ``/graph/{name}``              303 → ``/graph/{name}.{ext}``: a named graph (a source's, inferred, …)
    ``/graph/{name}.{ext}``        its description with its source (html) or its triples (as ``/data/``)
    ``/catalog``, ``/.well-known/void``  VoID + DCAT of the current release (a page for browsers)
    =============================  =================================================================

    The Accept header picks the format (:mod:`reekg.server.conneg`, family ``document``): browsers name
    ``text/html``; no Accept or ``*/*`` gets Turtle; ``?format=ttl`` overrides; anything else is 406 naming
    what is acceptable. Every negotiated answer carries ``Vary: Accept``.

The base and this server
    The IRIs are minted under the ``base_iri`` setting (default ``https://w3id.org/reekg/``), which need not be
    this server's origin (w3id redirects to it). A request path is read relative to the base: ``/id/element/Nd``
    here is about ``{base}id/element/Nd``, and an IRI under the base is linked by its local path.

The description of an entity
    Its concise bounded description across every named graph: every statement with the entity as subject,
    and every statement with it as object (incoming links), each kept with its named graph, which is the
    source it came from (``…/graph/source/X`` → ``…/id/source/X``), the inferred graph, the ontology or a
    partner file. Queries run through the app's backend (the killable query workers), so the time limit and
    the row cap hold; a capped description says so (``Reekg-Truncated`` and a note on the page).

Dumps
    The server exports the current build on the first request that needs it (``/dumps/``, ``/catalog``) into
    ``home/dumps/{release}/`` — the same folder ``reekg export`` writes — so every build is published
    without a separate step; see :mod:`reekg.loaders.export`. On a remote store the quads are read back from
    it (a remote store that is down: 503 naming the cause).
"""

from __future__ import annotations

import json
import re
import threading
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, redirect, render_template, request, send_file, url_for
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from reekg.loaders import export as releases
from reekg.loaders.namespaces import Namespaces
from reekg.loaders.remote import RemoteError
from reekg.loaders.store import HomeUnavailable, StoreHome, to_oxigraph

from . import conneg
from .errors import NotFound, NotReady, ServiceFailure
from .execution import GRAPH_FORMATS, Job
from .remote import RemoteUnavailable

bp = Blueprint("ld", __name__, template_folder="templates")

# Checked with fullmatch: Python's `$` also matches before a final newline, so "Dy\n" passed `^…$`
_SEGMENT = re.compile(r"[A-Za-z0-9._~-]{1,200}")
_VERSION = re.compile(r"[0-9][0-9A-Za-z.-]{0,40}")
_RELEASE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9a-f]{12}")
RDFS_LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
SKOS_PREF = "http://www.w3.org/2004/02/skos/core#prefLabel"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
FOAF_NAME = URIRef("http://xmlns.com/foaf/0.1/name")
CC_BY = "https://creativecommons.org/licenses/by/4.0/"
CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
                           "frame-ancestors 'none'; form-action 'self'")
DATA_SUFFIXES = ("ttl", "jsonld", "nt", "rdf", "trig", "nq")
# the question behind an entity page; ?this is bound by a VALUES block built from an N-Triples term
DESCRIBE_QUERY = """# Every statement about one entity, in every named graph (the graph is its source):
# outgoing (?this ?property ?value) and incoming (?value ?property ?this), with the confidence of the row.
SELECT ?direction ?property ?value ?graph ?confidence WHERE {
  VALUES ?this { %THIS% }
  {
    GRAPH ?graph { ?this ?property ?value OPTIONAL { ?this reekg:confidence ?confidence } }
    BIND("out" AS ?direction)
  } UNION {
    GRAPH ?graph { ?value ?property ?this OPTIONAL { ?value reekg:confidence ?confidence } }
    BIND("in" AS ?direction)
  }
}
ORDER BY ?direction ?property ?value ?graph"""
EXISTS_QUERY = "ASK { VALUES ?this { %THIS% } { GRAPH ?g { ?this ?p ?o } } UNION { GRAPH ?g { ?s ?p ?this } } }"
LABELS_QUERY = """SELECT ?thing ?label WHERE {
  VALUES ?thing { %THINGS% }
  ?thing rdfs:label|skos:prefLabel ?label
  FILTER(langMatches(lang(?label), "en") || langMatches(lang(?label), "zh-Hant") || lang(?label) = "")
}"""
ONTOLOGY_QUERY = "CONSTRUCT { ?s ?p ?o } WHERE { VALUES ?g { %GRAPH% } GRAPH ?g { ?s ?p ?o } }"


def _with_terms(template: str, marker: str, terms: list[ox.NamedNode]) -> str:
    """Put N-Triples terms (validated IRIs, escaped by pyoxigraph) in a VALUES block: never raw text."""
    return template.replace(marker, " ".join(str(t) for t in terms))


# --- plumbing ------------------------------------------------------------------------------------------

def _ns() -> Namespaces:
    return current_app.extensions["reekg.namespaces"]


def _settings() -> dict[str, Any]:
    return current_app.config["REEKG"]


def _run(job: Job) -> tuple[Any, bool, str | None]:
    """Run a job on the app's backend: (parsed answer, truncated?, build id)."""
    reply = current_app.extensions["reekg.backend"].execute(job, _settings()["query_timeout"])
    if not reply.ok:
        raise ServiceFailure(f"linked-data query failed ({reply.error}): {reply.message}")
    if reply.kind == "graph":
        return list(ox.parse(reply.body, format=ox.RdfFormat.N_TRIPLES)), reply.truncated, reply.build_id
    return json.loads(reply.body), reply.truncated, reply.build_id


def _job(query: str, **kwargs: Any) -> Job:
    return Job(query=query, max_rows=_settings()["max_rows"], prefixes=_ns().prefixes(), **kwargs)


def _term(binding: dict[str, Any]) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    kind, value = binding["type"], binding["value"]
    if kind == "uri":
        return ox.NamedNode(value)
    if kind == "bnode":
        return ox.BlankNode(value)
    if "xml:lang" in binding:
        return ox.Literal(value, language=binding["xml:lang"])
    if "datatype" in binding:
        return ox.Literal(value, datatype=ox.NamedNode(binding["datatype"]))
    return ox.Literal(value)


def local_path(iri: str) -> str | None:
    """This server's path for an IRI under the base, or None for any other IRI."""
    base = _ns().base
    if not iri.startswith(base):
        return None
    return request.script_root + "/" + iri[len(base):]


def _iri_of(path: str) -> ox.NamedNode:
    """The IRI a request path stands for (the path is read relative to the base)."""
    return ox.NamedNode(_ns().base + path.lstrip("/"))


def _negotiated(choice_name: str | None = None) -> conneg.Choice:
    if choice_name is not None:
        return conneg.by_name("document", choice_name)
    return conneg.negotiate("document", request.headers.get("Accept"), request.args)


def _see_other(location: str) -> Response:
    response = redirect(location, code=303)
    response.vary.add("Accept")
    return response


def _document(body: bytes | str, choice: conneg.Choice, *, truncated: bool = False,
              build_id: str | None = None) -> Response:
    response = Response(body, content_type=choice.content_type)
    response.vary.add("Accept")
    response.headers["X-Content-Type-Options"] = "nosniff"
    if truncated:
        response.headers["Reekg-Truncated"] = f"true; limit={_settings()['max_rows']}"
    if build_id:
        response.headers["Reekg-Build"] = build_id
    if choice.name == "html":
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["Referrer-Policy"] = "same-origin"
    return response


def _render(template: str, **context: Any) -> str:
    from . import ui

    return render_template(template, asset_url=ui.asset_url, query_page=_query_page_url(),
                           sparql_url=url_for("sparql.query"), **context)


def _query_page_url() -> str:
    try:
        return url_for("ui.page")
    except Exception:  # the query page's blueprint is optional
        return url_for("sparql.query")


def sparql_link(query: str) -> str:
    return url_for("sparql.query") + "?" + urllib.parse.urlencode({"query": query})


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


def _exists(iri: ox.NamedNode) -> bool:
    answer, _, _ = _run(_job(_with_terms(EXISTS_QUERY, "%THIS%", [iri])))
    return bool(answer.get("boolean"))


def describe(iri: ox.NamedNode) -> Description:
    query = _with_terms(DESCRIBE_QUERY, "%THIS%", [iri])
    answer, truncated, build_id = _run(_job(query))
    statements = []
    for row in answer["results"]["bindings"]:
        confidence = _term(row["confidence"]) if "confidence" in row else None
        statements.append(Statement(row["direction"]["value"], _term(row["property"]), _term(row["value"]),
                                    _term(row["graph"]),
                                    confidence if isinstance(confidence, ox.NamedNode) else None))
    if not statements:
        raise NotFound(f"nothing is known about <{iri.value}>")
    return Description(iri, statements, truncated, build_id, query)


def _labels(iris: set[str]) -> dict[str, dict[str, str]]:
    """rdfs:label / skos:prefLabel of each IRI, by lower-case language tag ('' for none)."""
    if not iris:
        return {}
    terms = [ox.NamedNode(i) for i in sorted(iris)][: _settings()["max_rows"]]
    answer, _, _ = _run(_job(_with_terms(LABELS_QUERY, "%THINGS%", terms)))
    found: dict[str, dict[str, str]] = {}
    for row in answer["results"]["bindings"]:
        lang = row["label"].get("xml:lang", "").lower()
        found.setdefault(row["thing"]["value"], {}).setdefault(lang, row["label"]["value"])
    return found


def _lang_matches(tag: str, wanted: str) -> bool:
    """SPARQL langMatches for a plain range (pyoxigraph gives tags in lower case)."""
    tag, wanted = tag.lower(), wanted.lower()
    return tag == wanted or tag.startswith(wanted + "-")


# --- HTML view of terms ----------------------------------------------------------------------------------

SAFE_SCHEMES = ("http://", "https://")


def view_term(term: Any, labels: dict[str, dict[str, str]]) -> dict[str, Any]:
    """What a template needs to show a term: text, an href only where it is safe, language, datatype.
    Values are plain strings: the template escapes them; nothing is ever marked safe."""
    if isinstance(term, ox.NamedNode):
        iri = term.value
        local = local_path(iri)
        href = local if local is not None else (iri if iri.lower().startswith(SAFE_SCHEMES) else None)
        names = labels.get(iri, {})
        label = names.get("en") or names.get("") or next(iter(names.values()), None)
        return {"kind": "iri", "iri": iri, "href": href, "label": label, "short": _short(iri)}
    if isinstance(term, ox.BlankNode):
        return {"kind": "bnode", "text": f"_:{term.value}"}
    datatype = term.datatype.value if term.datatype else ""
    shown = "" if datatype in ("http://www.w3.org/2001/XMLSchema#string",
                               "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString") else _short(datatype)
    return {"kind": "literal", "text": term.value, "lang": term.language or "", "datatype": shown}


def _short(iri: str) -> str:
    best = None
    for prefix, namespace in _ns().prefixes().items():
        if iri.startswith(namespace) and (best is None or len(namespace) > len(best[1])):
            best = (prefix, namespace)
    return f"{best[0]}:{iri[len(best[1]):]}" if best else iri


def provenance(graph: ox.NamedNode) -> dict[str, Any]:
    """Where a statement comes from, from its named graph."""
    ns, iri = _ns(), graph.value
    source_prefix = str(ns.source_graph(""))
    if iri.startswith(source_prefix):
        source = str(ns.entity("source", iri[len(source_prefix):]))
        return {"kind": "source", "iri": source, "href": local_path(source), "id": iri[len(source_prefix):]}
    if iri == str(ns.inferred_graph):
        return {"kind": "inferred", "text": "inferred (OWL 2 RL)"}
    if iri == str(ns.ontology_graph):
        return {"kind": "ontology", "text": "the ontology", "href": local_path(str(ns.ontology_iri))}
    partner_prefix = str(ns.partner_graph(""))
    if iri.startswith(partner_prefix):
        return {"kind": "partner", "text": f"partner file {iri[len(partner_prefix):]}"}
    return {"kind": "graph", "text": iri}


def entity_page(description: Description, kind: str, ident: str) -> str:
    ns = _ns()
    this = description.iri.value
    wanted = {this}
    for s in description.statements:
        wanted.add(s.property.value)
        if isinstance(s.value, ox.NamedNode):
            wanted.add(s.value.value)
        if s.confidence is not None:
            wanted.add(s.confidence.value)
        source = provenance(s.graph)
        if source["kind"] == "source":
            wanted.add(source["iri"])
    labels = _labels(wanted)
    own = [(s.value.language or "", s.value.value) for s in description.statements
           if s.direction == "out" and s.property.value in (RDFS_LABEL, SKOS_PREF) and isinstance(s.value, ox.Literal)]
    names = {"en": sorted({v for lang, v in own if _lang_matches(lang, "en")}),
             "zh-Hant": sorted({v for lang, v in own if _lang_matches(lang, "zh-Hant")})}
    types = sorted({s.value.value for s in description.statements
                    if s.direction == "out" and s.property.value == RDF_TYPE and isinstance(s.value, ox.NamedNode)})

    def row(s: Statement) -> dict[str, Any]:
        return {"property": view_term(s.property, labels), "value": view_term(s.value, labels),
                "source": {**provenance(s.graph), "label": _label_of(provenance(s.graph).get("iri"), labels)},
                "confidence": view_term(s.confidence, labels) if s.confidence is not None else None}

    outgoing = [row(s) for s in description.statements if s.direction == "out"]
    incoming = [row(s) for s in description.statements if s.direction == "in"]
    regions = [s.value.value for s in description.statements
               if s.direction == "out" and s.property.value == str(ns.reekg.region) and isinstance(s.value, ox.Literal)]
    is_mine = str(ns.reekg.Mine) in types or kind == "mine"
    title = names["en"][0] if names["en"] else (names["zh-Hant"][0] if names["zh-Hant"] else ident)
    formats = [(suffix, conneg.suffix_of(suffix).media_type,
                url_for("ld.data", kind=kind, name=f"{ident}.{suffix}")) for suffix in DATA_SUFFIXES]
    return _render("ld/entity.html", title=title, iri=this, names=names, kind=kind, ident=ident,
                   types=[view_term(ox.NamedNode(t), labels) for t in types], outgoing=outgoing, incoming=incoming,
                   is_mine=is_mine, regions=regions, truncated=description.truncated,
                   limit=_settings()["max_rows"], query=description.query, query_link=sparql_link(description.query),
                   formats=formats, build_id=description.build_id)


def _label_of(iri: str | None, labels: dict[str, dict[str, str]]) -> str | None:
    if not iri:
        return None
    names = labels.get(iri, {})
    return names.get("en") or names.get("") or next(iter(names.values()), None)


# --- serialising RDF documents ---------------------------------------------------------------------------

def _triples(quads: list[ox.Quad]) -> list[ox.Triple]:
    seen = {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
    return sorted(seen, key=str)


def serialise(quads: list[ox.Quad], choice: conneg.Choice) -> bytes:
    """An RDF document in ``choice``'s format: quads for TriG/N-Quads, merged triples otherwise; JSON-LD is
    compacted with the published context and names it by URL."""
    prefixes = _ns().prefixes()
    if choice.name in ("trig", "n-quads"):
        extra = {"prefixes": prefixes} if choice.name == "trig" else {}
        return ox.serialize(sorted(quads, key=str), format=GRAPH_FORMATS[choice.name], **extra) or b""
    triples = _triples(quads)
    if choice.name == "json-ld":
        graph = Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"", format="nt")
        context = releases.jsonld_context(_ns())["@context"]
        document = json.loads(graph.serialize(format="json-ld", context=context))
        document["@context"] = url_for("ld.context", _external=True)
        return json.dumps(document, ensure_ascii=False, indent=1).encode("utf-8")
    extra = {"prefixes": prefixes} if choice.name == "turtle" else {}
    return ox.serialize(triples, format=GRAPH_FORMATS[choice.name], **extra) or b""


# --- routes: entities --------------------------------------------------------------------------------------

# A renamed id (data/replaced_ids.csv): the old IRI is owl:deprecated and dcterms:isReplacedBy the new one, and
# answers 301 to it on /id/, /doc/ and /data/ (a published IRI changes only with a redirect). One query for /id/:
# a row when the IRI is known at all, with ?replacement when it was renamed (the OPTIONAL joins every row alike,
# so the first row says it).
ENTITY_QUERY = """SELECT ?replacement WHERE {
  VALUES ?this { %THIS% }
  { GRAPH ?g { ?this ?p ?o } } UNION { GRAPH ?g { ?s ?p ?this } }
  OPTIONAL { GRAPH ?r { ?this <http://www.w3.org/2002/07/owl#deprecated> true ;
                              <http://purl.org/dc/terms/isReplacedBy> ?replacement } }
}
LIMIT 1"""
_DEPRECATED = ox.NamedNode("http://www.w3.org/2002/07/owl#deprecated")
_REPLACED_BY = ox.NamedNode("http://purl.org/dc/terms/isReplacedBy")


def _moved(replacement: str | None, endpoint: str, suffix: str = "") -> Response | None:
    """301 to ``endpoint`` for the replacement IRI (ours, a valid /id/ path), keeping the query string."""
    prefix = _ns().base + "id/"
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
    outgoing = [s for s in description.statements if s.direction == "out"]
    deprecated = any(s.property == _DEPRECATED and isinstance(s.value, ox.Literal) and s.value.value == "true"
                     for s in outgoing)
    replacements = sorted(s.value.value for s in outgoing if s.property == _REPLACED_BY
                          and isinstance(s.value, ox.NamedNode))
    return replacements[0] if deprecated and replacements else None


def _checked(kind: str, ident: str) -> ox.NamedNode:
    if not (_SEGMENT.fullmatch(kind) and _SEGMENT.fullmatch(ident)):
        raise NotFound(f"no such entity: /id/{kind}/{ident}")
    return _iri_of(f"id/{kind}/{ident}")


@bp.get("/id/<kind>/<ident>")
def entity(kind: str, ident: str) -> Response:
    """The entity's IRI: 303 to the document in the negotiated format."""
    iri = _checked(kind, ident)
    choice = _negotiated()
    answer, _, _ = _run(_job(_with_terms(ENTITY_QUERY, "%THIS%", [iri])))
    rows = answer["results"]["bindings"]
    if not rows:
        raise NotFound(f"nothing is known about <{iri.value}>")
    moved = _moved(rows[0].get("replacement", {}).get("value"), "ld.entity")
    if moved is not None:
        return moved
    if choice.name == "html":
        return _see_other(url_for("ld.doc", kind=kind, ident=ident))
    suffix = next(s for s, name in conneg.SUFFIXES.items() if name == choice.name)
    return _see_other(url_for("ld.data", kind=kind, name=f"{ident}.{suffix}"))


@bp.get("/doc/<kind>/<ident>")
def doc(kind: str, ident: str) -> Response:
    iri = _checked(kind, ident)
    description = describe(iri)
    moved = _moved(_replacement_in(description), "ld.doc")
    if moved is not None:
        return moved
    html = entity_page(description, kind, ident)
    return _document(html, conneg.HTML, truncated=description.truncated, build_id=description.build_id)


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
    return _document(serialise(description.quads(), choice), choice, truncated=description.truncated,
                     build_id=description.build_id)


# --- routes: the ontology -------------------------------------------------------------------------------

class _OntologyCache:
    """The ontology graph of the current build and its HTML, made once per build."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.build_id: str | None = None
        self.triples: list[ox.Triple] = []
        self.truncated = False
        self.html: str | None = None


def _ontology_cache() -> _OntologyCache:
    return current_app.extensions.setdefault("reekg.ld.ontology", _OntologyCache())


def ontology_triples() -> tuple[list[ox.Triple], bool, str | None]:
    cache = _ontology_cache()
    build_id = current_app.extensions["reekg.backend"].snapshot().build_id
    with cache.lock:
        if cache.build_id != build_id or not cache.triples:
            query = _with_terms(ONTOLOGY_QUERY, "%GRAPH%", [ox.NamedNode(str(_ns().ontology_graph))])
            triples, truncated, _ = _run(_job(query, graph_format="n-triples"))
            cache.triples, cache.truncated, cache.build_id, cache.html = triples, truncated, build_id, None
        return cache.triples, cache.truncated, cache.build_id


def _version_of(triples: list[ox.Triple]) -> str | None:
    ontology = str(_ns().ontology_iri)
    for t in triples:
        if t.subject.value == ontology and t.predicate.value == str(OWL.versionInfo):
            return t.object.value
    return None


def _ontology_doc(version: str | None, suffix: str | None) -> Response:
    triples, truncated, build_id = ontology_triples()
    if not triples:
        raise NotFound("this build has no ontology graph")
    if version is not None and version != _version_of(triples):
        raise NotFound(f"ontology version {version} is not served here; the current one is {_version_of(triples)}")
    if suffix is None:
        choice = _negotiated()
        if version is None:
            target = url_for("ld.ontology_file", suffix=_suffix_for(choice))
        else:
            target = url_for("ld.ontology_version", version=f"{version}.{_suffix_for(choice)}")
        return _see_other(target)
    choice = conneg.suffix_of(suffix)
    if choice is None:
        raise NotFound(f"no ontology document .{suffix}")
    if choice.name == "html":
        return _document(ontology_html(triples, truncated), choice, build_id=build_id)
    default_graph = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
    return _document(serialise(default_graph, choice), choice, truncated=truncated, build_id=build_id)


def _suffix_for(choice: conneg.Choice) -> str:
    return next(s for s, name in conneg.SUFFIXES.items() if name == choice.name)


@bp.get("/ontology")
def ontology() -> Response:
    return _ontology_doc(None, None)


@bp.get("/ontology.<suffix>")
def ontology_file(suffix: str) -> Response:
    return _ontology_doc(None, suffix)


@bp.get("/ontology/<version>")
def ontology_version(version: str) -> Response:
    """The versioned IRI (``/ontology/0.1.0``) and its documents (``/ontology/0.1.0.ttl``): one rule for both,
    since a version holds dots too."""
    for suffix in conneg.SUFFIXES:
        if version.endswith("." + suffix) and _VERSION.fullmatch(version[: -len(suffix) - 1]):
            return _ontology_doc(version[: -len(suffix) - 1], suffix)
    if not _VERSION.fullmatch(version):
        raise NotFound(f"no ontology version {version!r}")
    return _ontology_doc(version, None)


def ontology_html(triples: list[ox.Triple], truncated: bool) -> str:
    """Documentation of the ontology, rendered from the current build's ontology graph once per build.

    Not pyLODE: pyLODE 3.4.1 (the newest installable here) crashes as installed, reading its own
    pyproject.toml, which its wheel does not ship; it would also add nine dependencies (httpx, dominate, …)
    and writes inline styles that this page's Content-Security-Policy forbids. This page shows what
    the ontology records: labels and definitions in en and zh-Hant, usage notes, and the axioms."""
    cache = _ontology_cache()
    if cache.html is not None:
        return cache.html
    ns = _ns()
    graph = Graph()
    graph.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"", format="nt")
    terms_ns = str(ns.reekg)
    onto = URIRef(str(ns.ontology_iri))

    def texts(subject: Any, predicate: Any) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {"en": [], "zh-Hant": []}
        for value in graph.objects(subject, predicate):
            lang = (getattr(value, "language", None) or "").lower()
            if _lang_matches(lang, "en"):
                found["en"].append(str(value))
            elif _lang_matches(lang, "zh-Hant"):
                found["zh-Hant"].append(str(value))
        return {k: sorted(v) for k, v in found.items()}

    def ref(node: Any) -> dict[str, Any]:
        if isinstance(node, URIRef):
            term = ox.NamedNode(str(node))
            view = view_term(term, {})
            if str(node).startswith(terms_ns):
                view["href"] = "#" + str(node)[len(terms_ns):]
            label = graph.value(node, RDFS.label)
            view["label"] = str(label) if label is not None and str(node).startswith(terms_ns) else None
            return view
        return {"kind": "bnode", "text": "(an anonymous class expression)"}

    sections = []
    kinds = (("Classes", "類別", OWL.Class), ("Object properties", "物件屬性", OWL.ObjectProperty),
             ("Datatype properties", "資料屬性", OWL.DatatypeProperty),
             ("Annotation properties", "註解屬性", OWL.AnnotationProperty))
    for title, title_zh, rdf_class in kinds:
        terms = []
        for subject in sorted({s for s in graph.subjects(RDF.type, rdf_class)
                               if isinstance(s, URIRef) and str(s).startswith(terms_ns)}, key=str):
            local = str(subject)[len(terms_ns):]
            relations = []
            for label, predicate in (("subclass of", RDFS.subClassOf), ("subproperty of", RDFS.subPropertyOf),
                                     ("domain", RDFS.domain), ("range", RDFS.range), ("inverse of", OWL.inverseOf),
                                     ("equivalent to", OWL.equivalentClass), ("close match", SKOS.closeMatch),
                                     ("exact match", SKOS.exactMatch), ("replaced by", DCTERMS.isReplacedBy)):
                values = [ref(o) for o in sorted(graph.objects(subject, predicate), key=str)]
                if values:
                    relations.append((label, values))
            deprecated = any(str(v).lower() == "true" for v in graph.objects(subject, OWL.deprecated))
            terms.append({"local": local, "iri": str(subject), "labels": texts(subject, RDFS.label),
                          "definitions": texts(subject, SKOS.definition), "comments": texts(subject, RDFS.comment),
                          "relations": relations, "deprecated": deprecated})
        sections.append({"title": title, "title_zh": title_zh, "id": title.lower().replace(" ", "-"),
                         "terms": terms})
    header = {
        "iri": str(onto),
        "titles": texts(onto, URIRef("http://purl.org/dc/terms/title")),
        "descriptions": texts(onto, URIRef("http://purl.org/dc/terms/description")),
        "version_iri": str(graph.value(onto, OWL.versionIRI) or ""),
        "version": str(graph.value(onto, OWL.versionInfo) or ""),
        "license": str(graph.value(onto, URIRef("http://purl.org/dc/terms/license")) or ""),
        "created": str(graph.value(onto, URIRef("http://purl.org/dc/terms/created")) or ""),
        "modified": str(graph.value(onto, URIRef("http://purl.org/dc/terms/modified")) or ""),
        "prefix": str(graph.value(onto, URIRef("http://purl.org/vocab/vann/preferredNamespacePrefix")) or ""),
        "namespace": terms_ns,
    }
    query = _with_terms(ONTOLOGY_QUERY, "%GRAPH%", [ox.NamedNode(str(ns.ontology_graph))])
    formats = [(suffix, conneg.suffix_of(suffix).media_type, url_for("ld.ontology_file", suffix=suffix))
               for suffix in ("ttl", "rdf", "jsonld", "nt")]
    cache.html = _render("ld/ontology.html", title=header["titles"]["en"][0] if header["titles"]["en"] else "ontology",
                         header=header, sections=sections, formats=formats, truncated=truncated,
                         query=query, query_link=sparql_link(query),
                         license_href=header["license"] if header["license"].startswith(SAFE_SCHEMES) else None)
    return cache.html


# --- routes: the JSON-LD context ----------------------------------------------------------------------------

@bp.get("/context.jsonld")
def context() -> Response:
    body = json.dumps(releases.jsonld_context(_ns()), indent=1)
    response = Response(body, content_type="application/ld+json; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["Access-Control-Allow-Origin"] = "*"  # a context must be readable by any JSON-LD processor
    return response


# --- routes: dumps and the dataset description ---------------------------------------------------------------

def _dumps_dir() -> Path:
    return releases.dumps_dir(_settings()["home"])


class DumpsUnwritable(NotReady):
    """The served build's release cannot be written (a read-only home): 503, unless older releases exist."""


def current_release() -> releases.Release:
    """The release of the build served now (on the embedded or the remote store), exported on first use.
    503 naming the cause when no store can be served or the release cannot be written (a read-only home)."""
    settings = _settings()
    if settings.get("store", "embedded") == "embedded":
        serving = StoreHome(settings["home"]).serving()
        if serving.problem:
            raise NotReady(serving.problem)
    try:
        return releases.export_served(settings, _dumps_dir())
    except HomeUnavailable as exc:
        raise DumpsUnwritable(exc.message) from None
    except FileNotFoundError as exc:
        raise NotFound(str(exc)) from None
    except RemoteError as exc:
        raise RemoteUnavailable(f"the remote SPARQL store is unavailable: {exc.message}") from None
    except OSError as exc:  # the dumps folder cannot be written: read-only home, no permission, no space
        raise DumpsUnwritable(f"the release of the served build cannot be written under {_dumps_dir()} "
                       f"({exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''})") from None


def _current_name() -> str | None:
    """The current release's name, or None when it cannot be written but releases exist (they are still
    served); the 503 when there is nothing to serve or no store can be served."""
    try:
        return current_release().name
    except DumpsUnwritable:
        if releases.list_releases(_dumps_dir()):
            return None
        raise


DUMP_QUERY = "SELECT ?subject ?predicate ?object ?graph WHERE { GRAPH ?graph { ?subject ?predicate ?object } }"


@bp.get("/dumps/")
def dumps() -> Response:
    current = _current_name()
    listed = list(reversed(releases.list_releases(_dumps_dir())))
    html = _render("ld/dumps.html", title="Dumps", releases=listed, current=current,
                   query=DUMP_QUERY, query_link=sparql_link(DUMP_QUERY))
    return _document(html, conneg.HTML)


def _release(name: str) -> releases.Release:
    if not _RELEASE.fullmatch(name):
        raise NotFound(f"no release {name!r}")
    _current_name()
    path = _dumps_dir() / name
    if not (path / releases.SUMS).exists():
        raise NotFound(f"no release {name}")
    return releases.load_release(path)


_CHANGES_SHOWN = 500


@bp.get("/dumps/<name>/")
def release_page(name: str) -> Response:
    release = _release(name)
    every = releases.list_releases(_dumps_dir())
    index = next(i for i, r in enumerate(every) if r.name == release.name)
    previous = every[index - 1] if index > 0 else None
    changes = None
    if previous is not None:
        change = _changelog(previous.path, release.path)
        changes = {"previous": previous.name, "added": change.added[:_CHANGES_SHOWN], "added_count": len(change.added),
                   "removed": change.removed[:_CHANGES_SHOWN], "removed_count": len(change.removed),
                   "shown": _CHANGES_SHOWN}
    sums = (release.path / releases.SUMS).read_text(encoding="utf-8")
    html = _render("ld/release.html", title=f"Release {release.name}", release=release, changes=changes,
                   sums=sums, query=DUMP_QUERY, query_link=sparql_link(DUMP_QUERY))
    return _document(html, conneg.HTML)


def _changelog(old: Path, new: Path) -> releases.Diff:
    cache: dict[tuple[str, str], releases.Diff] = current_app.extensions.setdefault("reekg.ld.changes", {})
    key = (str(old), str(new))
    if key not in cache:  # releases never change, so neither does their diff
        cache[key] = releases.diff(str(old), str(new))
    return cache[key]


_FILE_TYPES = {".ttl": "text/turtle; charset=utf-8", ".jsonld": "application/ld+json; charset=utf-8",
               ".gz": "application/gzip", ".json": "application/json; charset=utf-8"}


@bp.get("/dumps/<name>/<filename>")
def dump_file(name: str, filename: str) -> Response:
    release = _release(name)
    allowed = {f["name"] for f in release.files} | {"void.ttl", releases.RELEASE_JSON, releases.SUMS}
    if filename not in allowed:
        raise NotFound(f"no file {filename} in release {name}")
    suffix = Path(filename).suffix
    mimetype = _FILE_TYPES.get(suffix, "text/plain; charset=utf-8")
    # served as stored: a .gz is application/gzip, never Content-Encoding, so its checksum holds as downloaded
    response = send_file(release.path / filename, mimetype=mimetype, conditional=True, etag=True,
                         download_name=filename, as_attachment=suffix == ".gz", max_age=31536000)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/catalog")
def catalog() -> Response:
    """VoID + DCAT of the current release, with this server's URLs as the locators."""
    return _description()


@bp.get("/.well-known/void")
def well_known_void() -> Response:
    """Where VoID says to look for a dataset's description (VoID §7.2)."""
    return _description()


def _description() -> Response:
    """RDF for machines (Turtle without an Accept), a readable page of the same description for browsers."""
    choice = _negotiated()
    release = current_release()
    graph = releases.describe(release.info, _ns(), locator=request.url_root,
                              sparql_endpoint=url_for("sparql.query", _external=True))
    if choice.name == "html":
        return _document(_description_html(graph, release.name), choice)
    formats = {"turtle": "turtle", "n-triples": "nt", "json-ld": "json-ld", "rdf-xml": "xml", "trig": "trig",
               "n-quads": "nquads"}
    response = Response(graph.serialize(format=formats[choice.name]), content_type=choice.content_type)
    response.vary.add("Accept")
    return response


def _description_html(graph: Graph, release: str) -> str:
    """The VoID + DCAT description as a page: one section per described thing (catalog, dataset, its
    distributions and subsets, …), its statements as a table; blank nodes (checksums, rights) inline."""
    first = [URIRef(_ns().base + "catalog"), URIRef(_ns().base + "dataset")]
    subjects = [s for s in first if (s, None, None) in graph]
    subjects += sorted({s for s in graph.subjects() if isinstance(s, URIRef)} - set(first), key=str)
    anchors = {str(s): f"s{i}" for i, s in enumerate(subjects)}
    names: dict[str, dict[str, str]] = {}
    for s in subjects:
        for predicate in (DCTERMS.title, FOAF_NAME, RDFS.label):
            for value in graph.objects(s, predicate):
                lang = (getattr(value, "language", None) or "").lower()
                names.setdefault(str(s), {}).setdefault(lang, str(value))

    def view(node: Any) -> dict[str, Any]:
        shown = view_term(to_oxigraph(node), names)
        if isinstance(node, URIRef) and str(node) in anchors:
            shown["href"] = "#" + anchors[str(node)]
        if not isinstance(node, (URIRef, Literal)):
            shown = {"kind": "nested", "rows": [(view_term(to_oxigraph(p), {}), view_term(to_oxigraph(o), {}))
                                                for p, o in sorted(graph.predicate_objects(node), key=str)]}
        return shown

    sections = []
    for s in subjects:
        pairs = sorted(graph.predicate_objects(s), key=lambda po: (str(po[0]), str(po[1])))
        rows = [(view(p), view(o)) for p, o in pairs]
        label = names.get(str(s), {})
        sections.append({"anchor": anchors[str(s)], "iri": str(s), "title": label.get("en") or label.get("")
                         or _short(str(s)), "rows": rows})
    formats = [(suffix, conneg.suffix_of(suffix).media_type, f"{request.path}?format={suffix}")
               for suffix in DATA_SUFFIXES]
    return _render("ld/catalog.html", title="Dataset description", sections=sections, release=release,
                   formats=formats)


# --- routes: named graphs ------------------------------------------------------------------------------------

_GRAPH_NAME = re.compile(r"[A-Za-z0-9._~-]{1,200}(?:/[A-Za-z0-9._~-]{1,200}){0,3}")
GRAPH_COUNT_QUERY = "SELECT (COUNT(*) AS ?triples) WHERE { VALUES ?g { %GRAPH% } GRAPH ?g { ?s ?p ?o } }"
GRAPH_PREVIEW_QUERY = "CONSTRUCT { ?s ?p ?o } WHERE { VALUES ?g { %GRAPH% } GRAPH ?g { ?s ?p ?o } } LIMIT %LIMIT%"
SOURCE_QUERY = "SELECT ?property ?value WHERE { VALUES ?source { %THIS% } ?source ?property ?value }"
_PREVIEWED = 100
_CITATION = {"http://purl.org/dc/terms/title": "title", "http://purl.org/dc/terms/publisher": "publisher",
             "http://purl.org/dc/terms/issued": "issued", "https://schema.org/url": "url", RDFS_LABEL: "label"}


def _graph_of(name: str) -> tuple[ox.NamedNode, str, str | None]:
    """The served graph a ``/graph/…`` path names, its name, and the document suffix if the path has one
    (``/graph/inferred.ttl``). A graph the store does not hold is 404, like an unknown entity."""
    if not _GRAPH_NAME.fullmatch(name):
        raise NotFound(f"no such graph: /graph/{name}")
    prefix = _ns().base + "graph/"
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
        return _see_other(url_for("ld.named_graph", name=f"{name}.{_suffix_for(_negotiated())}"))
    choice = conneg.suffix_of(suffix)
    if choice.name == "html":
        return _document(graph_page(iri, name), choice)
    triples, truncated, build_id = _run(_job(_with_terms(ONTOLOGY_QUERY, "%GRAPH%", [iri]), graph_format="n-triples"))
    quads = [ox.Quad(t.subject, t.predicate, t.object, iri) for t in triples]
    return _document(serialise(quads, choice), choice, truncated=truncated, build_id=build_id)


def _citation(source: str) -> dict[str, str]:
    """Title, publisher, year and URL of a source, from its description in the store (data/sources.csv)."""
    answer, _, _ = _run(_job(_with_terms(SOURCE_QUERY, "%THIS%", [ox.NamedNode(source)])))
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
    count_query = _with_terms(GRAPH_COUNT_QUERY, "%GRAPH%", [iri])
    answer, _, build_id = _run(_job(count_query))
    rows = answer["results"]["bindings"]
    count = int(rows[0]["triples"]["value"]) if rows else 0
    preview_query = _with_terms(GRAPH_PREVIEW_QUERY, "%GRAPH%", [iri]).replace("%LIMIT%", str(_PREVIEWED))
    preview, _, _ = _run(_job(preview_query, graph_format="n-triples"))
    preview = sorted(preview, key=str)
    origin = provenance(iri)
    citation = _citation(origin["iri"]) if origin["kind"] == "source" else {}
    wanted = {t.predicate.value for t in preview} | {
        term.value for t in preview for term in (t.subject, t.object) if isinstance(term, ox.NamedNode)}
    labels = _labels(wanted)
    titles = {"source": f"Source graph {origin.get('id', '')}", "inferred": "Inferred triples",
              "ontology": "The ontology", "partner": f"Partner graph {name.rpartition('/')[2]}"}
    formats = [(suffix, conneg.suffix_of(suffix).media_type, url_for("ld.named_graph", name=f"{name}.{suffix}"))
               for suffix in DATA_SUFFIXES]
    statements = [{"subject": view_term(t.subject, labels), "property": view_term(t.predicate, labels),
                   "value": view_term(t.object, labels)} for t in preview]
    query = _with_terms(ONTOLOGY_QUERY, "%GRAPH%", [iri])
    return _render("ld/graph.html", title=citation.get("title") or titles.get(origin["kind"], iri.value),
                   iri=iri.value, origin=origin, citation=citation, count=count, statements=statements,
                   shown=len(statements), limit=_settings()["max_rows"], formats=formats, build_id=build_id,
                   query=query, query_link=sparql_link(query), count_query=count_query)
