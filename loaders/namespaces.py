"""The IRIs reekg mints, derived from one configurable base (see docs/model.md).

Files in ``ontology/``, ``shapes/`` and ``data/`` are written with the default base; :func:`rebase`
rewrites them when a deployment sets another one, so the base is a setting and not a search-and-replace.
"""

from __future__ import annotations

from dataclasses import dataclass

from rdflib import Namespace, URIRef

from reekg.settings import DEFAULT_BASE_IRI

PROV = Namespace("http://www.w3.org/ns/prov#")
QUDT = Namespace("http://qudt.org/schema/qudt/")
UNIT = Namespace("http://qudt.org/vocab/unit/")
WD = Namespace("http://www.wikidata.org/entity/")
SCHEMA = Namespace("https://schema.org/")

# Prefixes shared by the CSVW mapping, the queries and the CLI's Turtle output.
STANDARD_PREFIXES = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "dcterms": "http://purl.org/dc/terms/",
    "prov": str(PROV),
    "schema": str(SCHEMA),
    "dcat": "http://www.w3.org/ns/dcat#",
    "qudt": str(QUDT),
    "unit": str(UNIT),
    "wd": str(WD),
    "sh": "http://www.w3.org/ns/shacl#",
}


# Kinds of instance with a prefix of their own (docs/model.md lists every kind).
INSTANCE_KINDS = (
    "element", "country", "area", "company", "mine", "facility", "material", "component", "subsystem", "robot",
    "measure", "substitution", "observation", "source", "function", "stage", "confidence", "maturity",
)


@dataclass(frozen=True)
class Namespaces:
    """Every IRI family under one base; build one with ``Namespaces(base)``."""

    base: str = DEFAULT_BASE_IRI

    @property
    def ontology_iri(self) -> URIRef:
        return URIRef(self.base + "ontology")

    @property
    def reekg(self) -> Namespace:
        return Namespace(self.base + "ontology#")

    @property
    def id(self) -> Namespace:
        return Namespace(self.base + "id/")

    @property
    def shapes(self) -> Namespace:
        return Namespace(self.base + "shapes#")

    def entity(self, kind: str, ident: str) -> URIRef:
        return URIRef(f"{self.base}id/{kind}/{ident}")

    def source_graph(self, source_id: str) -> URIRef:
        return URIRef(f"{self.base}graph/source/{source_id}")

    def partner_graph(self, name: str) -> URIRef:
        return URIRef(f"{self.base}graph/partner/{name}")

    @property
    def inferred_graph(self) -> URIRef:
        return URIRef(self.base + "graph/inferred")

    @property
    def ontology_graph(self) -> URIRef:
        return URIRef(self.base + "graph/ontology")

    def prefixes(self) -> dict[str, str]:
        """Standard prefixes, ``reekg:``, ``id:`` and one per instance kind (``element:Nd``, ``robot:…``),
        since a SPARQL prefixed name cannot hold the slash of ``id:element/Nd``."""
        kinds = {kind: f"{self.id}{kind}/" for kind in INSTANCE_KINDS}
        return {**STANDARD_PREFIXES, "reekg": str(self.reekg), "id": str(self.id), **kinds}

    def shorten(self, iri: str, *, strict: bool = False) -> str | None:
        """``iri`` under the longest of :meth:`prefixes` (see :func:`shorten`)."""
        return shorten(iri, self.prefixes(), strict=strict)

    def rebase(self, iri: str) -> str:
        """Move an IRI written under the default base to this base; other IRIs pass through."""
        if self.base != DEFAULT_BASE_IRI and iri.startswith(DEFAULT_BASE_IRI):
            return self.base + iri[len(DEFAULT_BASE_IRI):]
        return iri


def shorten(iri: str, prefixes: dict[str, str], *, strict: bool = False) -> str | None:
    """``iri`` as ``prefix:local`` under the longest namespace of ``prefixes`` that covers it, else None. Longest,
    so ``element:Nd``, not ``id:element/Nd``. ``strict``: only when the local part is a plain name (letters,
    digits, ``_ - .``), which SPARQL and Turtle read back as the same IRI. The one shortener of the code base."""
    best = max((p for p, namespace in prefixes.items() if iri.startswith(namespace)),
               key=lambda p: len(prefixes[p]), default=None)
    if best is None:
        return None
    local = iri[len(prefixes[best]):]
    if strict and not (local and all(c.isalnum() or c in "_-." for c in local)):
        return None
    return f"{best}:{local}"


DEFAULT = Namespaces()
