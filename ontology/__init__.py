"""The reekg ontology: Turtle files shipped as package data, and helpers to find and load them.

Layout: ``reekg.ttl`` (header and cross-module axioms), ``modules/*.ttl`` (one per area, plus the SKOS
schemes), ``alignments/*.ttl`` (external declarations and mappings), ``qc/*.rq`` (queries that must return
no rows). Files are found with :mod:`importlib.resources`, so this works from a checkout and from a wheel.
"""

from __future__ import annotations

from importlib.resources import as_file, files
from importlib.resources.abc import Traversable

from rdflib import Graph, URIRef

ONTOLOGY_IRI = URIRef("https://w3id.org/reekg/ontology")
TERMS_NAMESPACE = "https://w3id.org/reekg/ontology#"

_HEADER = "reekg.ttl"
_FOLDERS = ("modules", "alignments")


def _root() -> Traversable:
    return files(__name__)


def ontology_files() -> list[Traversable]:
    """The ontology's Turtle files: the header first, then modules and alignments in name order."""
    root = _root()
    found = [root / _HEADER]
    for folder in _FOLDERS:
        found.extend(sorted((f for f in (root / folder).iterdir() if f.name.endswith(".ttl")),
                            key=lambda f: f.name))
    return found


def qc_queries() -> dict[str, str]:
    """The quality-control queries (``qc/*.rq``) by file name; each must return no rows on the ontology."""
    folder = _root() / "qc"
    return {f.name: f.read_text(encoding="utf-8")
            for f in sorted(folder.iterdir(), key=lambda f: f.name) if f.name.endswith(".rq")}


def load_ontology(graph: Graph | None = None) -> Graph:
    """Parse every ontology file into ``graph`` (a new graph if none is given) and return it."""
    target = graph if graph is not None else Graph()
    for resource in ontology_files():
        with as_file(resource) as path:
            target.parse(path, format="turtle")
    return target
