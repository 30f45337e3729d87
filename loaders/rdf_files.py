"""Partner RDF files (Turtle, TriG, N-Triples, N-Quads, JSON-LD, RDF/XML) read with their error positions.

pyoxigraph parses every format and says where a syntax error is (line and column), which rdflib's
N-Triples and N-Quads parsers do not; the terms are handed on as rdflib terms for inference and SHACL.
"""

from __future__ import annotations

from pathlib import Path

import pyoxigraph as ox
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.term import Node

from .errors import LoadError, Place, Problem

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

FORMATS = {
    ".ttl": ox.RdfFormat.TURTLE,
    ".trig": ox.RdfFormat.TRIG,
    ".nt": ox.RdfFormat.N_TRIPLES,
    ".nq": ox.RdfFormat.N_QUADS,
    ".jsonld": ox.RdfFormat.JSON_LD,
    ".json": ox.RdfFormat.JSON_LD,
    ".rdf": ox.RdfFormat.RDF_XML,
    ".owl": ox.RdfFormat.RDF_XML,
    ".xml": ox.RdfFormat.RDF_XML,
}


def from_oxigraph(term) -> Node:
    """A pyoxigraph term as an rdflib term."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == _XSD_STRING:  # RDF 1.1: "x" and "x"^^xsd:string are one literal; rdflib
            return Literal(term.value)            # keeps them apart, and the loaders mint the plain form
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"unsupported term {term!r}")


def read_triples(path: Path, *, shown: str | None = None) -> Graph:
    """Every triple in an RDF file (graph names of quad formats are dropped: the caller assigns one)."""
    shown = shown or str(path)
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise LoadError([Problem(Place(shown), f"unknown RDF file type {path.suffix!r} (known: {known})")])
    try:
        graph = Graph()
        with path.open("rb") as handle:
            for q in ox.parse(handle, format=fmt, base_iri=path.resolve().as_uri()):
                graph.add((from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object)))
        return graph
    except SyntaxError as exc:
        message = exc.msg.split(" (line")[0]
        raise LoadError([Problem(Place(shown, exc.lineno), message)], f"{shown} is not valid RDF") from None
    except OSError as exc:
        raise LoadError([Problem(Place(shown), f"cannot read: {exc.strerror or exc}")]) from None
