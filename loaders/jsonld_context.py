"""The JSON-LD context of reekg, published at ``{base}context.jsonld`` and embedded in the JSON-LD dump.

It holds the prefixes of docs/model.md and a term for every class and property the ontology graph defines
under ``{base}ontology#`` (deprecated ones too: a term is never deleted), read from the ontology graph of
the build, so the context and the data always agree:

- a class is a term for its IRI (``"Mine"``), so ``"@type": "Mine"`` reads as ``reekg:Mine``;
- an object property's values are IRIs (``"@type": "@id"``);
- a datatype property's values are typed by its ``rdfs:range`` (``"@type": "xsd:decimal"``), except
  ``xsd:string`` and ``rdf:langString``, whose values JSON-LD writes as plain strings;
- ``rdfs:label``, ``skos:prefLabel``, ``skos:altLabel`` and ``skos:definition`` are language maps
  (``"label": {"en": "neodymium", "zh-hant": "釹"}``); a value without a language stays under its IRI.

A property whose local name is also a prefix (``element``, ``confidence``, ``maturity``) keeps the prefix and
gets its definition under its compact IRI (``"reekg:confidence": {"@type": "@id"}``): one key cannot be both,
and the prefixes name instances in every document already published. JSON-LD 1.0 features only
(https://www.w3.org/TR/json-ld/#the-context), so a 1.0 or 1.1 processor reads it the same way.
Nothing here imports Flask.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pyoxigraph as ox

from .namespaces import Namespaces

RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RDFS_RANGE = "http://www.w3.org/2000/01/rdf-schema#range"
OWL = "http://www.w3.org/2002/07/owl#"
XSD = "http://www.w3.org/2001/XMLSchema#"
PLAIN_RANGES = {XSD + "string", "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"}
OBJECT_KINDS = {OWL + "ObjectProperty"}
VALUE_KINDS = {OWL + "DatatypeProperty", OWL + "AnnotationProperty",
               "http://www.w3.org/1999/02/22-rdf-syntax-ns#Property"}
CLASS_KINDS = {OWL + "Class", "http://www.w3.org/2000/01/rdf-schema#Class"}
# the multilingual annotations: a language map each (JSON-LD §4.6.2)
LANGUAGE_MAPS = {"label": "rdfs:label", "prefLabel": "skos:prefLabel", "altLabel": "skos:altLabel",
                 "definition": "skos:definition"}


def jsonld_context(ns: Namespaces, ontology: Iterable[ox.Triple | ox.Quad] = ()) -> dict[str, Any]:
    """``{"@context": …}``: the prefixes, then a term per class and property of ``ontology`` (the triples of
    the ontology graph) under the base's ontology namespace."""
    prefixes = dict(sorted(ns.prefixes().items()))
    context: dict[str, Any] = dict(prefixes)
    vocabulary = str(ns.reekg)
    kinds, ranges = _read(ontology, vocabulary)
    for iri in sorted(kinds):
        local = iri[len(vocabulary):]
        definition = _definition(f"reekg:{local}", kinds[iri], ranges.get(iri), prefixes)
        if definition is None or not local.isidentifier():
            continue
        if local in prefixes or local in LANGUAGE_MAPS:
            definition.pop("@id")
            if definition:
                context[f"reekg:{local}"] = definition
            continue
        context[local] = definition
    for term, iri in LANGUAGE_MAPS.items():
        context.setdefault(term, {"@id": iri, "@container": "@language"})
    return {"@context": context}


def _read(ontology: Iterable[ox.Triple | ox.Quad], vocabulary: str) -> tuple[dict[str, set[str]], dict[str, str]]:
    """The declared kinds (owl:Class, owl:ObjectProperty, …) and the one named range of each term."""
    kinds: dict[str, set[str]] = {}
    ranges: dict[str, set[str]] = {}
    for t in ontology:
        subject = t.subject
        if not isinstance(subject, ox.NamedNode) or not subject.value.startswith(vocabulary):
            continue
        if t.predicate.value == RDF_TYPE and isinstance(t.object, ox.NamedNode):
            kinds.setdefault(subject.value, set()).add(t.object.value)
        elif t.predicate.value == RDFS_RANGE and isinstance(t.object, ox.NamedNode):
            ranges.setdefault(subject.value, set()).add(t.object.value)
    # a property with several ranges (an intersection) gets no coercion: none of them alone is its type
    single = {iri: next(iter(found)) for iri, found in ranges.items() if len(found) == 1}
    return kinds, single


def _definition(compact: str, kinds: set[str], range_: str | None, prefixes: dict[str, str]) -> dict[str, str] | None:
    if kinds & OBJECT_KINDS:
        return {"@id": compact, "@type": "@id"}
    if kinds & VALUE_KINDS:
        if range_ is None or range_ in PLAIN_RANGES or not range_.startswith(XSD):
            return {"@id": compact}
        return {"@id": compact, "@type": _compact(range_, prefixes)}
    if kinds & CLASS_KINDS:
        return {"@id": compact}
    return None  # individuals and other things in the ontology's namespace are not vocabulary terms


def _compact(iri: str, prefixes: dict[str, str]) -> str:
    for prefix, namespace in prefixes.items():
        if iri.startswith(namespace) and iri[len(namespace):].isidentifier():
            return f"{prefix}:{iri[len(namespace):]}"
    return iri
