"""What every linked-data route shares: the blueprint, running a query on the app's backend, putting terms in
a VALUES block, the negotiated document and its headers, serialising RDF, and showing terms in HTML."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from rdflib import Graph

from reekg import formats
from reekg.errors import ServiceFailure
from reekg.loaders.jsonld_context import jsonld_context
from reekg.loaders.namespaces import Namespaces
from reekg.read.jobs import Job
from reekg.terms import with_values

from .. import conneg

# the templates stay in server/templates/ld/, beside the other blueprints' (the app's own folder finds them too)
bp = Blueprint("ld", __name__, template_folder=str(Path(__file__).resolve().parent.parent / "templates"))

CONTENT_SECURITY_POLICY = ("default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
                           "frame-ancestors 'none'; form-action 'self'")
# the RDF formats a document page links to, in the order shown
DATA_SUFFIXES = tuple(formats.by_name(name).suffix for name in ("turtle", "json-ld", "n-triples", "rdf-xml", "trig",
                                                               "n-quads"))
SAFE_SCHEMES = ("http://", "https://")
LABELS_QUERY = """SELECT ?thing ?label WHERE {
  ?thing rdfs:label|skos:prefLabel ?label
  FILTER(langMatches(lang(?label), "en") || langMatches(lang(?label), "zh-Hant") || lang(?label) = "")
}"""
# every triple of one named graph (the ontology's, a source's, …)
ONTOLOGY_QUERY = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"


def with_graph(query: str, graph: ox.NamedNode) -> str:
    """``query`` with ``?g`` bound to one graph by a VALUES block (the text a page shows is the one it ran)."""
    return with_values(query, "g", [graph])


def with_this(query: str, iri: ox.NamedNode) -> str:
    """``query`` with ``?this`` bound to one entity by a VALUES block."""
    return with_values(query, "this", [iri])


# --- plumbing ------------------------------------------------------------------------------------------

def ns() -> Namespaces:
    return current_app.extensions["reekg.namespaces"]


def settings() -> dict[str, Any]:
    return current_app.config["REEKG"]


def run(job: Job) -> tuple[Any, bool, str | None]:
    """Run a job on the app's backend: (parsed answer, truncated?, build id)."""
    reply = current_app.extensions["reekg.backend"].execute(job, settings()["query_timeout"])
    if not reply.ok:
        raise ServiceFailure(f"linked-data query failed ({reply.error}): {reply.message}")
    if reply.kind == "graph":
        return list(ox.parse(reply.body, format=ox.RdfFormat.N_TRIPLES)), reply.truncated, reply.build_id
    return json.loads(reply.body), reply.truncated, reply.build_id


def job(query: str, **kwargs: Any) -> Job:
    return Job(query=query, max_rows=settings()["max_rows"], prefixes=ns().prefixes(), **kwargs)


def term(binding: dict[str, Any]) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """The RDF term of one SPARQL JSON results binding."""
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
    base = ns().base
    if not iri.startswith(base):
        return None
    return request.script_root + "/" + iri[len(base):]


def iri_of(path: str) -> ox.NamedNode:
    """The IRI a request path stands for (the path is read relative to the base)."""
    return ox.NamedNode(ns().base + path.lstrip("/"))


# --- the negotiated document -----------------------------------------------------------------------------

def negotiated(choice_name: str | None = None) -> conneg.Choice:
    if choice_name is not None:
        return conneg.by_name("document", choice_name)
    return conneg.negotiate("document", request.headers.get("Accept"), request.args)


def suffix_for(choice: conneg.Choice) -> str:
    return choice.suffix


def see_other(location: str) -> Response:
    response = redirect(location, code=303)
    response.vary.add("Accept")
    return response


def document(body: bytes | str, choice: conneg.Choice, *, truncated: bool = False,
             build_id: str | None = None) -> Response:
    response = Response(body, content_type=choice.content_type)
    response.vary.add("Accept")
    response.headers["X-Content-Type-Options"] = "nosniff"
    if truncated:
        response.headers["Reekg-Truncated"] = f"true; limit={settings()['max_rows']}"
    if build_id:
        response.headers["Reekg-Build"] = build_id
    if choice.name == "html":
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["Referrer-Policy"] = "same-origin"
    return response


def render(template: str, **context: Any) -> str:
    from .. import ui

    return render_template(template, asset_url=ui.asset_url, query_page=_query_page_url(),
                           sparql_url=url_for("sparql.query"), **context)


def _query_page_url() -> str:
    try:
        return url_for("ui.page")
    except Exception:  # the query page's blueprint is optional
        return url_for("sparql.query")


def sparql_link(query: str) -> str:
    return url_for("sparql.query") + "?" + urllib.parse.urlencode({"query": query})


# --- serialising RDF documents ---------------------------------------------------------------------------

def _triples(quads: list[ox.Quad]) -> list[ox.Triple]:
    seen = {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
    return sorted(seen, key=str)


def context() -> dict[str, Any]:
    """The published JSON-LD context, made from the served ontology graph (:mod:`reekg.loaders.jsonld_context`)."""
    from .ontology_docs import ontology_triples  # the ontology's cache lives beside its page

    return jsonld_context(ns(), ontology_triples()[0])


def context_url() -> str:
    """Where the context is published: under the base IRI, not this server's host (w3id sends it here)."""
    return ns().base + "context.jsonld"


def serialise(quads: list[ox.Quad], choice: conneg.Choice) -> bytes:
    """An RDF document in ``choice``'s format: quads for TriG/N-Quads, merged triples otherwise; JSON-LD is
    compacted with the published context and names it by its URL under the base."""
    prefixes = ns().prefixes()
    if choice.named_graphs:
        extra = {"prefixes": prefixes} if choice.name == "trig" else {}
        return ox.serialize(sorted(quads, key=str), format=choice.rdf, **extra) or b""
    triples = _triples(quads)
    if choice.name == "json-ld":
        graph = Graph().parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"", format="nt")
        body = json.loads(graph.serialize(format="json-ld", context=context()["@context"]))
        body["@context"] = context_url()
        return json.dumps(body, ensure_ascii=False, indent=1).encode("utf-8")
    extra = {"prefixes": prefixes} if choice.name == "turtle" else {}
    return ox.serialize(triples, format=choice.rdf, **extra) or b""


# --- labels and the HTML view of terms -------------------------------------------------------------------

def labels_of(iris: set[str]) -> dict[str, dict[str, str]]:
    """rdfs:label / skos:prefLabel of each IRI, by lower-case language tag ('' for none)."""
    if not iris:
        return {}
    terms = [ox.NamedNode(i) for i in sorted(iris)][: settings()["max_rows"]]
    answer, _, _ = run(job(with_values(LABELS_QUERY, "thing", terms)))
    found: dict[str, dict[str, str]] = {}
    for row in answer["results"]["bindings"]:
        lang = row["label"].get("xml:lang", "").lower()
        found.setdefault(row["thing"]["value"], {}).setdefault(lang, row["label"]["value"])
    return found


def lang_matches(tag: str, wanted: str) -> bool:
    """SPARQL langMatches for a plain range (pyoxigraph gives tags in lower case)."""
    tag, wanted = tag.lower(), wanted.lower()
    return tag == wanted or tag.startswith(wanted + "-")


def label_of(iri: str | None, labels: dict[str, dict[str, str]]) -> str | None:
    """The English label of an IRI, else its untagged one, else any."""
    if not iri:
        return None
    names = labels.get(iri, {})
    return names.get("en") or names.get("") or next(iter(names.values()), None)


def view_term(term: Any, labels: dict[str, dict[str, str]]) -> dict[str, Any]:
    """What a template needs to show a term: text, an href only where it is safe, language, datatype.
    Values are plain strings: the template escapes them; nothing is ever marked safe."""
    if isinstance(term, ox.NamedNode):
        iri = term.value
        local = local_path(iri)
        href = local if local is not None else (iri if iri.lower().startswith(SAFE_SCHEMES) else None)
        return {"kind": "iri", "iri": iri, "href": href, "label": label_of(iri, labels), "short": short(iri)}
    if isinstance(term, ox.BlankNode):
        return {"kind": "bnode", "text": f"_:{term.value}"}
    datatype = term.datatype.value if term.datatype else ""
    shown = "" if datatype in ("http://www.w3.org/2001/XMLSchema#string",
                               "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString") else short(datatype)
    return {"kind": "literal", "text": term.value, "lang": term.language or "", "datatype": shown}


def short(iri: str) -> str:
    """``prefix:local`` by the longest known namespace, else the IRI."""
    return ns().shorten(iri) or iri


def provenance(graph: ox.NamedNode) -> dict[str, Any]:
    """Where a statement comes from, from its named graph."""
    names, iri = ns(), graph.value
    source_prefix = str(names.source_graph(""))
    if iri.startswith(source_prefix):
        source = str(names.entity("source", iri[len(source_prefix):]))
        return {"kind": "source", "iri": source, "href": local_path(source), "id": iri[len(source_prefix):]}
    if iri == str(names.inferred_graph):
        return {"kind": "inferred", "text": "inferred (OWL 2 RL)"}
    if iri == str(names.ontology_graph):
        return {"kind": "ontology", "text": "the ontology", "href": local_path(str(names.ontology_iri))}
    partner_prefix = str(names.partner_graph(""))
    if iri.startswith(partner_prefix):
        return {"kind": "partner", "text": f"partner file {iri[len(partner_prefix):]}"}
    return {"kind": "graph", "text": iri}
