"""The ontology: ``/ontology`` and its versioned IRI answer 303 to a document (``/ontology.{ext}``), which is the
ontology graph of the served build in an RDF format or its documentation as a page, made once per build."""

from __future__ import annotations

import re
import threading
from typing import Any

import pyoxigraph as ox
from flask import Response, current_app, render_template, url_for
from rdflib import Graph, URIRef
from rdflib.namespace import DCTERMS, OWL, RDF, RDFS, SKOS

from reekg.errors import NotFound

from .. import conneg
from . import diagram
from .documents import (
    CONTENT_SECURITY_POLICY,
    ONTOLOGY_QUERY,
    SAFE_SCHEMES,
    bp,
    document,
    job,
    lang_matches,
    negotiated,
    ns,
    render,
    run,
    see_other,
    serialise,
    short,
    sparql_link,
    suffix_for,
    view_term,
    with_graph,
)

_VERSION = re.compile(r"[0-9][0-9A-Za-z.-]{0,40}")
_KINDS = (("Classes", "類別", OWL.Class), ("Object properties", "物件屬性", OWL.ObjectProperty),
          ("Datatype properties", "資料屬性", OWL.DatatypeProperty),
          ("Annotation properties", "註解屬性", OWL.AnnotationProperty))
_RELATIONS = (("subclass of", RDFS.subClassOf), ("subproperty of", RDFS.subPropertyOf),
              ("domain", RDFS.domain), ("range", RDFS.range), ("inverse of", OWL.inverseOf),
              ("equivalent to", OWL.equivalentClass), ("close match", SKOS.closeMatch),
              ("exact match", SKOS.exactMatch), ("replaced by", DCTERMS.isReplacedBy))


class _OntologyCache:
    """The ontology graph of the current build and its HTML, made once per build."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.build_id: str | None = None
        self.triples: list[ox.Triple] = []
        self.truncated = False
        self.html: str | None = None
        self.diagram: dict[str, Any] | None = None


def _ontology_cache() -> _OntologyCache:
    return current_app.extensions.setdefault("reekg.ld.ontology", _OntologyCache())


def _ontology_query() -> str:
    return with_graph(ONTOLOGY_QUERY, ox.NamedNode(str(ns().ontology_graph)))


def ontology_triples() -> tuple[list[ox.Triple], bool, str | None]:
    cache = _ontology_cache()
    build_id = current_app.extensions["reekg.backend"].snapshot().build_id
    with cache.lock:
        if cache.build_id != build_id or not cache.triples:
            triples, truncated, _ = run(job(_ontology_query(), graph_format="n-triples"))
            cache.triples, cache.truncated, cache.build_id = triples, truncated, build_id
            cache.html = cache.diagram = None
        return cache.triples, cache.truncated, cache.build_id


def _version_of(triples: list[ox.Triple]) -> str | None:
    ontology = str(ns().ontology_iri)
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
        choice = negotiated()
        if version is None:
            target = url_for("ld.ontology_file", suffix=suffix_for(choice))
        else:
            target = url_for("ld.ontology_version", version=f"{version}.{suffix_for(choice)}")
        return see_other(target)
    if suffix == "svg" and version is None:
        return _diagram_svg(triples, build_id)
    choice = conneg.suffix_of(suffix)
    if choice is None:
        raise NotFound(f"no ontology document .{suffix}")
    if choice.name == "html":
        return document(ontology_html(triples, truncated), choice, build_id=build_id)
    default_graph = [ox.Quad(t.subject, t.predicate, t.object, ox.DefaultGraph()) for t in triples]
    return document(serialise(default_graph, choice), choice, truncated=truncated, build_id=build_id)


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


def _graph(triples: list[ox.Triple]) -> Graph:
    graph = Graph()
    graph.parse(data=ox.serialize(triples, format=ox.RdfFormat.N_TRIPLES) or b"", format="nt")
    return graph


def ontology_diagram(triples: list[ox.Triple], graph: Graph | None = None) -> dict[str, Any]:
    """The layout of the class diagram (:mod:`.diagram`), made once per build."""
    cache = _ontology_cache()
    if cache.diagram is None:
        reader = _Reader(graph if graph is not None else _graph(triples), str(ns().reekg))
        cache.diagram = diagram.layout(reader.graph, reader.terms_ns, reader.english_label, short)
    return cache.diagram


def _diagram_svg(triples: list[ox.Triple], build_id: str | None) -> Response:
    """``/ontology.svg``: the diagram on its own (the page draws the same one inline)."""
    body = render_template("ld/_diagram.svg", diagram=ontology_diagram(triples), inline=False)
    response = Response(body, content_type="image/svg+xml; charset=utf-8")
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    if build_id:
        response.headers["Reekg-Build"] = build_id
    return response


# --- the documentation page -------------------------------------------------------------------------------

class _Reader:
    """The ontology graph read for its documentation: texts by language, links to its terms."""

    def __init__(self, graph: Graph, terms_ns: str) -> None:
        self.graph, self.terms_ns = graph, terms_ns

    def texts(self, subject: Any, predicate: Any) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {"en": [], "zh-Hant": []}
        for value in self.graph.objects(subject, predicate):
            lang = (getattr(value, "language", None) or "").lower()
            if lang_matches(lang, "en"):
                found["en"].append(str(value))
            elif lang_matches(lang, "zh-Hant"):
                found["zh-Hant"].append(str(value))
        return {k: sorted(v) for k, v in found.items()}

    def ref(self, node: Any) -> dict[str, Any]:
        if isinstance(node, URIRef):
            view = view_term(ox.NamedNode(str(node)), {})
            ours = str(node).startswith(self.terms_ns)
            if ours:
                view["href"] = "#" + str(node)[len(self.terms_ns):]
            view["label"] = self.english_label(node) if ours else None
            return view
        return {"kind": "bnode", "text": "(an anonymous class expression)"}

    def english_label(self, node: URIRef) -> str | None:
        """The first English label (the page is in English; zh-Hant stands beside it in each term)."""
        english = self.texts(node, RDFS.label)["en"]
        return english[0] if english else None

    def term(self, subject: URIRef) -> dict[str, Any]:
        relations = []
        for label, predicate in _RELATIONS:
            values = [self.ref(o) for o in sorted(self.graph.objects(subject, predicate), key=str)]
            if values:
                relations.append((label, values))
        deprecated = any(str(v).lower() == "true" for v in self.graph.objects(subject, OWL.deprecated))
        return {"local": str(subject)[len(self.terms_ns):], "iri": str(subject),
                "labels": self.texts(subject, RDFS.label), "definitions": self.texts(subject, SKOS.definition),
                "comments": self.texts(subject, RDFS.comment), "relations": relations, "deprecated": deprecated}

    def sections(self) -> list[dict[str, Any]]:
        sections = []
        for title, title_zh, rdf_class in _KINDS:
            subjects = sorted({s for s in self.graph.subjects(RDF.type, rdf_class)
                               if isinstance(s, URIRef) and str(s).startswith(self.terms_ns)}, key=str)
            sections.append({"title": title, "title_zh": title_zh, "id": title.lower().replace(" ", "-"),
                             "terms": [self.term(s) for s in subjects]})
        return sections

    def hierarchy(self, rdf_class: Any, parent: Any) -> list[dict[str, Any]]:
        """Our terms of ``rdf_class`` as a tree under ``parent`` (rdfs:subClassOf, rdfs:subPropertyOf): roots are
        the terms with no parent among ours (the external parents they name are listed with them), each node
        with its children. A term with two parents among ours appears under both."""
        ours = {s for s in self.graph.subjects(RDF.type, rdf_class)
                if isinstance(s, URIRef) and str(s).startswith(self.terms_ns)}
        parents = {s: {o for o in self.graph.objects(s, parent) if isinstance(o, URIRef)} for s in ours}

        def node(term: URIRef, path: frozenset[URIRef]) -> dict[str, Any]:
            children = sorted((c for c in ours if term in parents[c] and c not in path), key=str)
            return {"ref": self.ref(term), "external": [self.ref(o) for o in sorted(parents[term] - ours, key=str)],
                    "children": [node(c, path | {c}) for c in children]}

        roots = sorted((t for t in ours if not parents[t] & ours), key=str)
        return [node(r, frozenset({r})) for r in roots]

    def header(self, onto: URIRef) -> dict[str, Any]:
        def value(predicate: Any) -> str:
            return str(self.graph.value(onto, predicate) or "")

        return {
            "iri": str(onto),
            "titles": self.texts(onto, DCTERMS.title),
            "descriptions": self.texts(onto, DCTERMS.description),
            "version_iri": value(OWL.versionIRI),
            "version": value(OWL.versionInfo),
            "license": value(DCTERMS.license),
            "created": value(DCTERMS.created),
            "modified": value(DCTERMS.modified),
            "prefix": value(URIRef("http://purl.org/vocab/vann/preferredNamespacePrefix")),
            "namespace": self.terms_ns,
        }


def ontology_html(triples: list[ox.Triple], truncated: bool) -> str:
    """Documentation of the ontology, rendered from the current build's ontology graph once per build.

    Not pyLODE: pyLODE 3.4.1 (the newest installable here) crashes as installed, reading its own
    pyproject.toml, which its wheel does not ship; it would also add nine dependencies (httpx, dominate, …)
    and writes inline styles that this page's Content-Security-Policy forbids. This page shows what
    the ontology records: labels and definitions in en and zh-Hant, usage notes, and the axioms."""
    cache = _ontology_cache()
    if cache.html is not None:
        return cache.html
    graph = _graph(triples)
    reader = _Reader(graph, str(ns().reekg))
    header = reader.header(URIRef(str(ns().ontology_iri)))
    query = _ontology_query()
    formats = [(suffix, conneg.suffix_of(suffix).media_type, url_for("ld.ontology_file", suffix=suffix))
               for suffix in ("ttl", "rdf", "jsonld", "nt")]
    cache.html = render("ld/ontology.html", title=header["titles"]["en"][0] if header["titles"]["en"] else "ontology",
                        header=header, sections=reader.sections(), formats=formats, truncated=truncated,
                        trees=[("class-hierarchy", "Class hierarchy", reader.hierarchy(OWL.Class, RDFS.subClassOf)),
                               ("property-hierarchy", "Object property hierarchy",
                                reader.hierarchy(OWL.ObjectProperty, RDFS.subPropertyOf))],
                        diagram=ontology_diagram(triples, graph),
                        diagram_href=url_for("ld.ontology_file", suffix="svg"),
                        query=query, query_link=sparql_link(query),
                        license_href=header["license"] if header["license"].startswith(SAFE_SCHEMES) else None)
    return cache.html
