"""Partner RDF files (Turtle, TriG, N-Triples, N-Quads, JSON-LD, RDF/XML) read with their error positions.

pyoxigraph parses every format and says where a syntax error is (line and column), which rdflib's
N-Triples and N-Quads parsers do not. A build streams a file into its store (:func:`stream_into`: memory
stays flat however large the file); :func:`read_triples` hands the terms on as rdflib terms.

RDF/XML with a document type declaration is refused before it is parsed (:func:`xml_dtd_line`): pyoxigraph's
RDF/XML parser expands the internal entities a DTD declares (a 7-level "billion laughs" gave a 10^7-character
literal from a 1 KB file; 10 levels would need 10 GB) and is the only XML parser the service uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pyoxigraph as ox
from rdflib import Graph
from rdflib.compare import to_canonical_graph

from reekg import formats
from reekg.errors import LoadError
from reekg.terms import from_oxigraph
from reekg.terms import to_oxigraph as to_ox

from .problems import Place, Problem

_XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"

FORMATS = formats.rdf_suffixes()  # .ttl, .owl, … → the pyoxigraph format


# Anywhere, in any case: oxrdfxml accepts `<!doctype` and a DOCTYPE inside the root element, and reads only
# UTF-8, so a byte search cannot be fooled by another encoding.
_DTD = re.compile(rb"<!\s{0,16}(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_OVERLAP = 32
DTD_REFUSED = ("RDF/XML with a document type declaration (<!DOCTYPE> or <!ENTITY>) is refused: its entities can "
               "expand without bound (billion laughs) or name local files (XXE); write IRIs out in full or use "
               "XML namespaces")


def xml_dtd_line(chunks: Iterable[bytes]) -> int | None:
    """The line of the first document type or entity declaration in an XML document given in chunks, or None."""
    carry, line = b"", 1
    for chunk in chunks:
        buffer = carry + chunk
        found = _DTD.search(buffer)
        if found:
            return line + buffer.count(b"\n", 0, found.start())
        cut = max(0, len(buffer) - _OVERLAP)
        line += buffer.count(b"\n", 0, cut)
        carry = buffer[cut:]
    return None


def _chunks(path: Path, size: int = 1 << 20) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(size):
            yield chunk


def _format(path: Path, shown: str) -> ox.RdfFormat:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise LoadError([Problem(Place(shown), f"unknown RDF file type {path.suffix!r} (known: {known})")])
    if fmt == ox.RdfFormat.RDF_XML:
        try:
            line = xml_dtd_line(_chunks(path))
        except OSError as exc:
            raise LoadError([Problem(Place(shown), f"cannot read: {exc.strerror or exc}")]) from None
        if line is not None:
            raise LoadError([Problem(Place(shown, line), DTD_REFUSED)], f"{shown} is refused")
    return fmt


def _syntax_error(exc: SyntaxError, shown: str) -> LoadError:
    message = exc.msg.split(" (line")[0]
    return LoadError([Problem(Place(shown, exc.lineno), message)], f"{shown} is not valid RDF")


def read_triples(path: Path, *, shown: str | None = None) -> Graph:
    """Every triple in an RDF file (graph names of quad formats are dropped: the caller assigns one)."""
    shown = shown or str(path)
    fmt = _format(path, shown)
    try:
        graph = Graph()
        with path.open("rb") as handle:
            for q in ox.parse(handle, format=fmt, base_iri=path.resolve().as_uri()):
                graph.add((from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object)))
        return graph
    except SyntaxError as exc:
        raise _syntax_error(exc, shown) from None
    except OSError as exc:
        raise LoadError([Problem(Place(shown), f"cannot read: {exc.strerror or exc}")]) from None


class _HasBlankNodes(Exception):
    pass


BATCH = 100_000


def stream_into(store: ox.Store, path: Path, graph: ox.NamedNode, *, shown: str | None = None,
                on_batch: Callable[[int], object] | None = None) -> None:
    """Add every triple of an RDF file to ``graph`` in ``store`` (graph names of quad formats are dropped),
    streamed in batches. A file with blank nodes is read whole and its blank nodes named canonically
    (``rdflib.compare.to_canonical_graph``), so the same file always gives the same quads and content hash;
    that is slow and memory-hungry, and partner files at scale have none. On an error, nothing of the file
    stays in ``store``."""
    shown = shown or str(path)
    fmt = _format(path, shown)
    try:
        with path.open("rb") as handle:
            batch: list[ox.Quad] = []
            for q in ox.parse(handle, format=fmt, base_iri=path.resolve().as_uri()):
                if isinstance(q.subject, ox.BlankNode) or isinstance(q.object, ox.BlankNode):
                    raise _HasBlankNodes
                batch.append(ox.Quad(q.subject, q.predicate, q.object, graph))
                if len(batch) >= BATCH:
                    store.bulk_extend(batch)
                    if on_batch:
                        on_batch(len(batch))
                    batch = []
            store.bulk_extend(batch)
            if on_batch:
                on_batch(len(batch))
    except _HasBlankNodes:
        store.remove_graph(graph)
        triples = to_canonical_graph(read_triples(path, shown=shown))
        store.bulk_extend(ox.Quad(*(to_ox(t) for t in triple), graph) for triple in triples)
    except SyntaxError as exc:
        store.remove_graph(graph)
        raise _syntax_error(exc, shown) from None
    except OSError as exc:
        store.remove_graph(graph)
        raise LoadError([Problem(Place(shown), f"cannot read: {exc.strerror or exc}")]) from None
