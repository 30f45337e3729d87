"""Every format reekg reads or writes, listed once: the RDF graph and dataset formats, the SPARQL results
formats and the HTML page of a linked-data document.

Each :class:`Format` has its serialiser's name (what a :class:`reekg.read.Job` asks for and content negotiation
picks), its media types (the first is canonical, the Content-Type we send; the rest are aliases a client may
name in Accept or ``format=``), its file suffixes (the first is canonical, the one in our URLs and dump names;
the rest are read in partner files), the ``format=``/``output=`` keywords clients send (SPARQLWrapper: json,
xml, csv, tsv, turtle, n3, rdf, rdf+xml, json-ld), its pyoxigraph format, its rdflib serialiser, its IRI in
https://www.w3.org/ns/formats/ and whether it keeps named graphs. Content negotiation
(:mod:`reekg.server.conneg`), the query workers (:mod:`reekg.read.jobs`), partner files, dumps, the diff of
releases, Graph Store bodies and ``reekg query`` all look formats up here. Nothing here imports Flask.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyoxigraph as ox

W3C_FORMATS = "http://www.w3.org/ns/formats/"


@dataclass(frozen=True)
class Format:
    name: str  # the serialiser's name: Job.result_format / Job.graph_format, conneg's choice
    kind: str  # "graph" (RDF), "results" (SPARQL results) or "page" (HTML)
    media_types: tuple[str, ...]  # the first is canonical (Content-Type); the rest ask for the same
    suffixes: tuple[str, ...] = ()  # file suffixes without the dot; the first is canonical
    keywords: tuple[str, ...] = ()  # ``format=``/``output=`` values
    rdf: ox.RdfFormat | None = None
    results: ox.QueryResultsFormat | None = None
    rdflib: str | None = None  # rdflib's serialiser name
    w3c_name: str | None = None  # the format's name under https://www.w3.org/ns/formats/
    named_graphs: bool = False  # a document keeps its quads' graph names (TriG, N-Quads)

    @property
    def media_type(self) -> str:
        return self.media_types[0]

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.media_types[1:]

    @property
    def suffix(self) -> str | None:
        return self.suffixes[0] if self.suffixes else None

    @property
    def content_type(self) -> str:
        # every format we write is UTF-8 text
        return self.media_type + "; charset=utf-8"

    @property
    def iri(self) -> str | None:
        return W3C_FORMATS + self.w3c_name if self.w3c_name else None


# In the order content negotiation prefers them: the first of a kind is the default for a missing or */*
# Accept, and the earlier wins a tie.
GRAPH = (
    Format("turtle", "graph", ("text/turtle", "application/x-turtle"), ("ttl",), ("turtle", "ttl", "n3"),
           rdf=ox.RdfFormat.TURTLE, rdflib="turtle", w3c_name="Turtle"),
    Format("n-triples", "graph", ("application/n-triples", "text/plain"), ("nt",), ("n-triples", "ntriples", "nt"),
           rdf=ox.RdfFormat.N_TRIPLES, rdflib="nt", w3c_name="N-Triples"),
    Format("json-ld", "graph", ("application/ld+json", "application/json"), ("jsonld", "json"),
           ("json-ld", "jsonld", "json"), rdf=ox.RdfFormat.JSON_LD, rdflib="json-ld", w3c_name="JSON-LD"),
    Format("rdf-xml", "graph", ("application/rdf+xml", "application/xml", "text/xml"), ("rdf", "owl", "xml"),
           ("rdf+xml", "rdf/xml", "rdf", "xml"), rdf=ox.RdfFormat.RDF_XML, rdflib="xml", w3c_name="RDF_XML"),
    Format("trig", "graph", ("application/trig",), ("trig",), ("trig",), rdf=ox.RdfFormat.TRIG, rdflib="trig",
           w3c_name="TriG", named_graphs=True),
    Format("n-quads", "graph", ("application/n-quads",), ("nq",), ("n-quads", "nquads", "nq"),
           rdf=ox.RdfFormat.N_QUADS, rdflib="nquads", w3c_name="N-Quads", named_graphs=True),
)
RESULTS = (
    Format("json", "results", ("application/sparql-results+json", "application/json", "text/javascript",
                               "application/javascript"), ("srj",), ("json", "srj"),
           results=ox.QueryResultsFormat.JSON, w3c_name="SPARQL_Results_JSON"),
    Format("xml", "results", ("application/sparql-results+xml", "application/xml", "text/xml"), ("srx",),
           ("xml", "srx"), results=ox.QueryResultsFormat.XML, w3c_name="SPARQL_Results_XML"),
    Format("csv", "results", ("text/csv",), ("csv",), ("csv",), results=ox.QueryResultsFormat.CSV,
           w3c_name="SPARQL_Results_CSV"),
    Format("tsv", "results", ("text/tab-separated-values",), ("tsv",), ("tsv",), results=ox.QueryResultsFormat.TSV,
           w3c_name="SPARQL_Results_TSV"),
)
# A linked-data document's page for browsers (reekg.server.ld).
HTML = Format("html", "page", ("text/html", "application/xhtml+xml"), ("html",), ("html",))
ALL = (*GRAPH, *RESULTS, HTML)
_OF_KIND = {"graph": GRAPH, "results": RESULTS, "page": (HTML,)}


def of_kind(kind: str) -> tuple[Format, ...]:
    """The formats of one kind (``graph``, ``results`` or ``page``), in the order negotiation prefers them."""
    return _OF_KIND[kind]


def by_name(name: str, kind: str | None = None) -> Format:
    """The format a serialiser name names (``turtle``, ``json``, …); KeyError if none."""
    for fmt in ALL if kind is None else of_kind(kind):
        if fmt.name == name:
            return fmt
    raise KeyError(name)


def by_media_type(media_type: str, kind: str) -> Format | None:
    """The format of ``kind`` that a media type (canonical or alias; parameters and case ignored) names."""
    wanted = media_type.split(";")[0].strip().lower()
    return next((f for f in of_kind(kind) if wanted in f.media_types), None)


def by_suffix(suffix: str, kind: str = "graph", *, canonical: bool = False) -> Format | None:
    """The format of ``kind`` a file suffix names (``ttl``, ``.ttl``; case ignored), or None. With
    ``canonical``, only each format's first suffix counts (the suffixes of our own URLs and files)."""
    wanted = suffix.lower().removeprefix(".")
    for fmt in of_kind(kind):
        if wanted in (fmt.suffixes[:1] if canonical else fmt.suffixes):
            return fmt
    return None


def by_keyword(keyword: str, kind: str) -> Format | None:
    """The format of ``kind`` a ``format=``/``output=`` keyword names (case ignored), or None."""
    wanted = keyword.lower()
    return next((f for f in of_kind(kind) if wanted in f.keywords), None)


def by_rdf_format(rdf: ox.RdfFormat) -> Format | None:
    """Our graph format for a pyoxigraph RdfFormat (None for one we do not offer, such as N3)."""
    return next((f for f in GRAPH if f.rdf == rdf), None)


def for_body(content_type: str | None) -> Format | None:
    """The graph format of a request body's Content-Type. pyoxigraph reads the media type (``x-`` prefixes,
    ``text/`` or ``application/``, a UTF-8 charset), limited to the formats of this table."""
    rdf = ox.RdfFormat.from_media_type(content_type) if content_type else None
    return by_rdf_format(rdf) if rdf is not None else None


def rdf_suffixes() -> dict[str, ox.RdfFormat]:
    """Every file suffix an RDF file may have (``.ttl``, ``.owl``, …) → its pyoxigraph format."""
    return {"." + suffix: fmt.rdf for fmt in GRAPH for suffix in fmt.suffixes if fmt.rdf is not None}
