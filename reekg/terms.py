"""RDF terms across the project's libraries, and the one way a term goes into the text of SPARQL.

* rdflib ↔ pyoxigraph (:func:`to_oxigraph`, :func:`from_oxigraph`): the loaders mint rdflib terms, the stores
  hold pyoxigraph's.
* A picklable form of a term (:func:`encode_term`, :func:`decode_term`) for a query's parameters, which cross
  into the query worker processes (:class:`reekg.read.jobs.Job`).
* N-Triples (:func:`ntriples`): what a remote store's Graph Store and ``INSERT DATA`` are sent.
* Terms in SPARQL text: a parameter is bound as a typed term (pyoxigraph ``substitutions``, see
  :func:`bindings_of`); where the text must carry the values (a list of IRIs, a query a page shows and links,
  an engine without substitutions) they go in a ``VALUES`` block of N-Triples terms written by pyoxigraph
  (:func:`values_block`, :func:`with_values`), never text spliced from a request.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
Term = ox.NamedNode | ox.Literal
EncodedTerm = tuple[str, ...]

_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WHERE = re.compile(r"\bWHERE\s*\{", re.IGNORECASE)


# --- rdflib ↔ pyoxigraph ------------------------------------------------------------------------------------

def to_oxigraph(term: Node | ox.NamedNode | ox.BlankNode | ox.Literal) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as a pyoxigraph term (a pyoxigraph term is returned as it is)."""
    if isinstance(term, ox.NamedNode | ox.BlankNode | ox.Literal):
        return term
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"cannot store {term!r}")


def from_oxigraph(term) -> Node:
    """A pyoxigraph term as an rdflib term."""
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        if term.datatype.value == XSD_STRING:  # RDF 1.1: "x" and "x"^^xsd:string are one literal; rdflib
            return Literal(term.value)           # keeps them apart, and the loaders mint the plain form
        return Literal(term.value, datatype=URIRef(term.datatype.value))
    raise TypeError(f"unsupported term {term!r}")


def triple_of(subject: Node, predicate: Node, obj: Node) -> ox.Triple:
    """An rdflib triple as a pyoxigraph triple."""
    return ox.Triple(to_oxigraph(subject), to_oxigraph(predicate), to_oxigraph(obj))


def rdflib_triple(triple: ox.Triple | ox.Quad) -> tuple[Node, Node, Node]:
    """A pyoxigraph triple (or a quad's triple) as an rdflib triple."""
    return from_oxigraph(triple.subject), from_oxigraph(triple.predicate), from_oxigraph(triple.object)


# --- a term that pickles ----------------------------------------------------------------------------------------

def encode_term(term: Term) -> EncodedTerm:
    """A pyoxigraph term as a picklable tuple for :attr:`reekg.read.jobs.Job.substitutions`."""
    if isinstance(term, ox.NamedNode):
        return ("iri", term.value)
    return ("literal", term.value, term.datatype.value if term.datatype else "", term.language or "")


def decode_term(encoded: EncodedTerm) -> Term:
    """The term :func:`encode_term` encoded."""
    if encoded[0] == "iri":
        return ox.NamedNode(encoded[1])
    _, value, datatype, language = encoded
    if language:
        return ox.Literal(value, language=language)
    return ox.Literal(value, datatype=ox.NamedNode(datatype)) if datatype else ox.Literal(value)


def encode_bindings(bindings: Mapping[ox.Variable | str, Term]) -> tuple[tuple[str, EncodedTerm], ...]:
    """Bindings of variables to terms as :attr:`reekg.read.jobs.Job.substitutions`."""
    return tuple((v.value if isinstance(v, ox.Variable) else v, encode_term(t)) for v, t in bindings.items())


def bindings_of(substitutions: Iterable[tuple[str, EncodedTerm]]) -> dict[str, Term]:
    """:attr:`reekg.read.jobs.Job.substitutions` as variable name → pyoxigraph term."""
    return {name: decode_term(term) for name, term in substitutions}


# --- N-Triples and VALUES blocks -------------------------------------------------------------------------------

def ntriples(triples: Iterable[ox.Triple]) -> bytes:
    """Triples as an N-Triples document, written by pyoxigraph."""
    return ox.serialize(list(triples), format=ox.RdfFormat.N_TRIPLES) or b""


def _variable(name: str) -> str:
    if not _VARIABLE.fullmatch(name):
        raise ValueError(f"{name!r} is not a SPARQL variable name")
    return "?" + name


def _written(term: Term) -> str:
    if not isinstance(term, ox.NamedNode | ox.Literal):  # a blank node has no meaning in a VALUES block
        raise TypeError(f"only IRIs and literals go into a VALUES block, not {term!r}")
    return str(term)  # N-Triples, escaped by pyoxigraph


def values_block(variable: str, terms: Iterable[Term]) -> str:
    """``VALUES ?variable { t1 t2 … }``: each term written by pyoxigraph as N-Triples, so a value can only ever
    be a value; the one way a list of terms goes into a query's text."""
    return "VALUES " + _variable(variable) + " { " + " ".join(_written(t) for t in terms) + " }"


def values_rows(variables: Sequence[str], rows: Iterable[Sequence[Term]]) -> str:
    """``VALUES (?a ?b) { (a1 b1) … }``: several variables bound at once (see :func:`values_block`)."""
    head = " ".join(_variable(v) for v in variables)
    body = " ".join("(" + " ".join(_written(t) for t in row) + ")" for row in rows)
    return "VALUES (" + head + ") { " + body + " }"


def with_values(query: str, variable: str, terms: Iterable[Term]) -> str:
    """``query`` with ``VALUES ?variable { … }`` (:func:`values_block`) first in its first ``WHERE`` group: the
    values bind every pattern of that group. A query without a WHERE group is a ValueError."""
    block = values_block(variable, terms)
    text, found = _WHERE.subn(lambda m: f"{m.group(0)} {block}", query, count=1)
    if not found:
        raise ValueError("the query has no WHERE group to put a VALUES block in")
    return text
