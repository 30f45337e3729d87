"""The VoID + DCAT-AP 3 description of one release (``void.ttl`` in the release, ``/catalog`` on the server).

What a DCAT-AP 3 harvester reads (https://semiceu.github.io/DCAT-AP/releases/3.0.0/): the catalog with its
publisher, homepage, theme taxonomy and the SPARQL endpoint as a ``dcat:DataService`` (its endpoint, the
SPARQL 1.1 Protocol it conforms to, the dataset it serves); the dataset with its titles, description,
keywords, themes (the EU data theme vocabulary), languages, contact point, issue and modification dates,
licence and rights, version and distributions (the dumps: media type, EU file type, size, SHA-256); and one
part per named graph (a source's, the ontology, the inferred triples, a partner file) with its title, triple
count and its licence or rights. VoID says the same for VoID clients (counts, dumps, endpoint).

Every value comes from the release (counts, files, dates, the languages of its literals, its sources'
titles), the settings (the base, the contact) or the wording below; nothing about a source's licence is
invented (a rights statement points to the source). DCAT-AP 3.0.0's shapes check each value's class in the
description itself (``sh:class``, no background vocabulary), so the description states them (a licence is a
``dct:LicenseDocument``, a media type a ``dct:MediaType``, …): :data:`VALUE_CLASSES`.
Nothing here imports Flask.
"""

from __future__ import annotations

from typing import Any

from rdflib import BNode, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCAT, DCTERMS, FOAF, OWL, RDF, RDFS, SKOS, XSD

from .namespaces import PROV, Namespaces

VOID = Namespace("http://rdfs.org/ns/void#")
SPDX = Namespace("http://spdx.org/rdf/terms#")
SD = Namespace("http://www.w3.org/ns/sparql-service-description#")
VCARD = Namespace("http://www.w3.org/2006/vcard/ns#")
DCAT_VERSION = URIRef("http://www.w3.org/ns/dcat#version")  # DCAT 3; rdflib's closed DCAT lacks it
IANA = "https://www.iana.org/assignments/media-types/"
EU = "http://publications.europa.eu/resource/authority/"
CC_BY = URIRef("https://creativecommons.org/licenses/by/4.0/")
SPARQL_PROTOCOL = URIRef("https://www.w3.org/TR/sparql11-protocol/")
SOURCE_TERMS = "See the source: each source keeps its own terms of use; reekg's curation of it is CC BY 4.0."
OUR_SOURCE = "reekg-curation"  # the source id of rows that are our own curation (sources.csv, …)
PUBLISHER_NAME = "reekg contributors"  # the ontology's dcterms:creator

# EU data theme vocabulary (http://publications.europa.eu/resource/authority/data-theme), its own labels
THEME_SCHEME = (EU + "data-theme", "Data theme")
THEMES = (("ECON", "Economy and finance"), ("TECH", "Science and technology"))
# the primary subtag of a literal's language (BCP 47) → the EU language vocabulary; a tag not listed here is
# left out of dct:language rather than guessed
EU_LANGUAGES = {"en": "ENG", "zh": "ZHO"}
# a dump's format (its file suffix, releases.DumpFormat.key) → the EU file type vocabulary
FILE_TYPES = {"ttl": "RDF_TURTLE", "nt.gz": "RDF_N_TRIPLES", "nq.gz": "RDF_N_QUADS", "jsonld": "JSON_LD"}
KEYWORDS = (("rare-earth elements", "en"), ("robotics", "en"), ("supply chain", "en"), ("critical minerals", "en"),
            ("knowledge graph", "en"), ("稀土元素", "zh-Hant"), ("機器人", "zh-Hant"), ("供應鏈", "zh-Hant"),
            ("關鍵礦產", "zh-Hant"), ("知識圖譜", "zh-Hant"))
# the class DCAT-AP 3.0.0 requires of each property's values
VALUE_CLASSES = {
    DCTERMS.license: DCTERMS.LicenseDocument, DCAT.mediaType: DCTERMS.MediaType,
    DCAT.compressFormat: DCTERMS.MediaType, DCTERMS.format: DCTERMS.MediaTypeOrExtent,
    DCTERMS.conformsTo: DCTERMS.Standard, DCTERMS.language: DCTERMS.LinguisticSystem,
    DCAT.landingPage: FOAF.Document, FOAF.homepage: FOAF.Document, DCAT.downloadURL: RDFS.Resource,
    DCAT.accessURL: RDFS.Resource, DCAT.endpointURL: RDFS.Resource, DCAT.endpointDescription: RDFS.Resource,
    SPDX.algorithm: SPDX.ChecksumAlgorithm,
}


def describe(info: dict[str, Any], ns: Namespaces, *, locator: str, sparql_endpoint: str | None = None,
             contact: str | None = None) -> Graph:
    """VoID + DCAT-AP for one release (``info`` as in its release.json). IRIs of things (catalog, dataset,
    parts, service) are under the base; ``locator`` is where the dumps and the endpoint are fetched from (the
    base, or this server's URL); ``contact`` is the contact point's URL (the ``contact_url`` setting; empty:
    the base, the project's home)."""
    g = Graph()
    for prefix, iri in (("void", VOID), ("dcat", DCAT), ("dcterms", DCTERMS), ("spdx", SPDX), ("foaf", FOAF),
                        ("prov", PROV), ("sd", SD), ("owl", OWL), ("xsd", XSD), ("skos", SKOS), ("vcard", VCARD)):
        g.bind(prefix, iri)
    endpoint = URIRef(sparql_endpoint or locator + "sparql")
    catalog, dataset = _describe_catalog(g, info, ns)
    _describe_dataset(g, dataset, info, ns, locator=locator, endpoint=endpoint)
    _describe_contact(g, dataset, ns, contact)
    _describe_themes(g, catalog, dataset)
    _describe_languages(g, (catalog, dataset), info)
    _describe_service(g, catalog, dataset, ns, endpoint)
    _describe_subsets(g, dataset, info, ns)
    _describe_distributions(g, dataset, info, ns, locator=locator)
    for _, predicate, value in list(g):
        if predicate in VALUE_CLASSES and isinstance(value, URIRef):
            g.add((value, RDF.type, VALUE_CLASSES[predicate]))
    return g


def _titled(g: Graph, node: URIRef, kinds: tuple[URIRef, ...], titles: tuple[str, str], description: str) -> None:
    """A described thing's classes, its title in English and Traditional Chinese and its description."""
    for kind in kinds:
        g.add((node, RDF.type, kind))
    g.add((node, DCTERMS.title, Literal(titles[0], lang="en")))
    g.add((node, DCTERMS.title, Literal(titles[1], lang="zh-Hant")))
    g.add((node, DCTERMS.description, Literal(description, lang="en")))


def _built(info: dict[str, Any]) -> Literal | None:
    built = str(info.get("built_at") or "")[:10]
    return Literal(built, datatype=XSD.date) if built else None


def _describe_catalog(g: Graph, info: dict[str, Any], ns: Namespaces) -> tuple[URIRef, URIRef]:
    """The catalog and its publisher; (catalog, dataset)."""
    base = ns.base
    catalog, dataset = URIRef(base + "catalog"), URIRef(base + "dataset")
    publisher = URIRef(base + "id/agent/reekg-contributors")
    _titled(g, catalog, (DCAT.Catalog,), ("reekg data catalog", "稀土元素知識圖譜資料目錄"),
            "The releases of the Rare-Earth Element Knowledge Graph.")
    g.add((catalog, DCTERMS.publisher, publisher))
    g.add((catalog, DCTERMS.license, CC_BY))
    g.add((catalog, FOAF.homepage, URIRef(base)))
    g.add((catalog, DCAT.dataset, dataset))
    if (built := _built(info)) is not None:
        g.add((catalog, DCTERMS.modified, built))
    g.add((publisher, RDF.type, FOAF.Agent))
    g.add((publisher, FOAF.name, Literal(PUBLISHER_NAME)))
    return catalog, dataset


def _describe_dataset(g: Graph, dataset: URIRef, info: dict[str, Any], ns: Namespaces, *, locator: str,
                      endpoint: URIRef) -> None:
    """The dataset of one release: titles, description, keywords, licence, version, dates, VoID counts."""
    base = ns.base
    release = info["release"]
    _titled(g, dataset, (DCAT.Dataset, VOID.Dataset), ("Rare-Earth Element Knowledge Graph", "稀土元素知識圖譜"),
            "How AI robots depend on rare-earth elements, what can replace them and where they come from, from "
            "robot subsystem down to mine and country; every statement carries its source and confidence.")
    for word, lang in KEYWORDS:
        g.add((dataset, DCAT.keyword, Literal(word, lang=lang)))
    g.add((dataset, DCTERMS.publisher, URIRef(base + "id/agent/reekg-contributors")))
    g.add((dataset, DCTERMS.license, CC_BY))
    g.add((dataset, DCTERMS.rights, _source_rights(g)))
    g.add((dataset, DCTERMS.conformsTo, ns.ontology_iri))
    g.add((dataset, DCAT_VERSION, Literal(release)))
    g.add((dataset, OWL.versionInfo, Literal(release)))
    g.add((dataset, DCTERMS.identifier, Literal(info["content_sha256"])))
    if (built := _built(info)) is not None:
        # a release is the dataset as issued: it is issued (and last modified) when its build was made
        g.add((dataset, DCTERMS.issued, built))
        g.add((dataset, DCTERMS.modified, built))
    g.add((dataset, VOID.triples, Literal(int(info["triples"]), datatype=XSD.integer)))
    g.add((dataset, VOID.uriSpace, Literal(base + "id/")))
    g.add((dataset, VOID.vocabulary, URIRef(base + "ontology#")))
    g.add((dataset, VOID.exampleResource, URIRef(base + "id/element/Nd")))
    g.add((dataset, VOID.sparqlEndpoint, endpoint))
    g.add((dataset, DCAT.landingPage, URIRef(locator + "dumps/")))


def _describe_contact(g: Graph, dataset: URIRef, ns: Namespaces, contact: str | None) -> None:
    """The contact point: the publisher reached at the ``contact_url`` setting (a mailto: is its email)."""
    point = URIRef(ns.base + "catalog#contact")
    where = contact or ns.base
    g.add((dataset, DCAT.contactPoint, point))
    g.add((point, RDF.type, VCARD.Kind))
    g.add((point, RDF.type, VCARD.Organization))
    g.add((point, VCARD.fn, Literal(PUBLISHER_NAME)))
    g.add((point, VCARD.hasEmail if where.startswith("mailto:") else VCARD.hasURL, URIRef(where)))


def _describe_themes(g: Graph, catalog: URIRef, dataset: URIRef) -> None:
    scheme = URIRef(THEME_SCHEME[0])
    g.add((catalog, DCAT.themeTaxonomy, scheme))
    g.add((scheme, RDF.type, SKOS.ConceptScheme))
    g.add((scheme, DCTERMS.title, Literal(THEME_SCHEME[1], lang="en")))
    for code, label in THEMES:
        theme = URIRef(f"{THEME_SCHEME[0]}/{code}")
        g.add((dataset, DCAT.theme, theme))
        g.add((theme, RDF.type, SKOS.Concept))
        g.add((theme, SKOS.prefLabel, Literal(label, lang="en")))
        g.add((theme, SKOS.inScheme, scheme))


def _describe_languages(g: Graph, subjects: tuple[URIRef, ...], info: dict[str, Any]) -> None:
    """dct:language from the languages of the release's literals (release.json's ``languages``)."""
    codes = sorted({EU_LANGUAGES[tag.split("-")[0].lower()] for tag in info.get("languages", [])
                    if tag.split("-")[0].lower() in EU_LANGUAGES})
    for code in codes:
        language = URIRef(EU + "language/" + code)
        g.add((language, SKOS.inScheme, URIRef(EU + "language")))
        for subject in subjects:
            g.add((subject, DCTERMS.language, language))


def _describe_service(g: Graph, catalog: URIRef, dataset: URIRef, ns: Namespaces, endpoint: URIRef) -> None:
    """The SPARQL endpoint as a DCAT data service (a GET without a query answers its service description)."""
    service = URIRef(ns.base + "service/sparql")
    g.add((catalog, DCAT.service, service))
    _titled(g, service, (DCAT.DataService,), ("reekg SPARQL endpoint", "稀土元素知識圖譜 SPARQL 端點"),
            "Read-only SPARQL 1.1 queries over every named graph of the served release; answers are capped in "
            "rows and time, and a capped answer says so.")
    g.add((service, DCAT.endpointURL, endpoint))
    g.add((service, DCAT.endpointDescription, endpoint))
    g.add((service, DCTERMS.conformsTo, SPARQL_PROTOCOL))
    g.add((service, DCAT.servesDataset, dataset))
    g.add((service, DCTERMS.publisher, URIRef(ns.base + "id/agent/reekg-contributors")))
    g.add((service, DCAT.contactPoint, URIRef(ns.base + "catalog#contact")))


def _subset_text(graph_iri: str, info: dict[str, Any], ns: Namespaces) -> tuple[str, str]:
    """The title and description of the part of the dataset that one named graph holds."""
    source_prefix, partner_prefix = str(ns.source_graph("")), str(ns.partner_graph(""))
    if graph_iri.startswith(source_prefix):
        source_id = graph_iri[len(source_prefix):]
        title = info.get("source_titles", {}).get(source_id) or f"Source graph {source_id}"
        return title, f"The statements read from the source {source_id} ({title}), each with its confidence."
    if graph_iri == str(ns.ontology_graph):
        return "The reekg ontology", "The classes, properties and axioms of the reekg ontology."
    if graph_iri == str(ns.inferred_graph):
        return "Inferred triples", "The triples inferred from the other graphs by the ontology's OWL 2 RL rules."
    if graph_iri.startswith(partner_prefix):
        name = graph_iri[len(partner_prefix):]
        return f"Partner file {name}", f"The triples loaded from the partner file {name}."
    return graph_iri, f"The named graph {graph_iri}."


def _describe_subsets(g: Graph, dataset: URIRef, info: dict[str, Any], ns: Namespaces) -> None:
    """One part (a VoID subset and a DCAT dataset) per named graph: title, count, its licence or rights."""
    source_prefix = str(ns.source_graph(""))
    for graph_iri, count in sorted(info["graphs"].items()):
        subset = URIRef(graph_iri)
        title, description = _subset_text(graph_iri, info, ns)
        g.add((dataset, VOID.subset, subset))
        g.add((dataset, DCTERMS.hasPart, subset))
        g.add((subset, RDF.type, VOID.Dataset))
        g.add((subset, RDF.type, DCAT.Dataset))
        g.add((subset, DCTERMS.isPartOf, dataset))
        g.add((subset, DCTERMS.title, Literal(title, lang="en")))
        g.add((subset, DCTERMS.description, Literal(description, lang="en")))
        g.add((subset, SD.name, subset))
        g.add((subset, VOID.triples, Literal(int(count), datatype=XSD.integer)))
        if graph_iri.startswith(source_prefix):
            source_id = graph_iri[len(source_prefix):]
            g.add((subset, PROV.wasDerivedFrom, ns.entity("source", source_id)))
            if source_id != OUR_SOURCE:
                g.add((subset, DCTERMS.rights, _source_rights(g)))
                continue
        g.add((subset, DCTERMS.license, CC_BY))  # ontology, inferred, partner and our own curation graphs


def _describe_distributions(g: Graph, dataset: URIRef, info: dict[str, Any], ns: Namespaces, *,
                            locator: str) -> None:
    """One DCAT distribution per dump file, with its download URL, media type, size and checksum."""
    base = ns.base
    release = info["release"]
    built = _built(info)
    for entry in info["files"]:
        key = entry["format"]
        dist = URIRef(f"{base}dataset/{release}/{key}")
        url = URIRef(f"{locator}dumps/{release}/{entry['name']}")
        checksum = BNode()
        g.add((dataset, DCAT.distribution, dist))
        g.add((dataset, VOID.dataDump, url))
        g.add((dist, RDF.type, DCAT.Distribution))
        g.add((dist, DCTERMS.title, Literal(f"{entry['title']} ({release})", lang="en")))
        g.add((dist, DCAT.downloadURL, url))
        g.add((dist, DCAT.accessURL, URIRef(f"{locator}dumps/{release}/")))
        g.add((dist, DCAT.mediaType, URIRef(IANA + entry["media_type"])))
        if key in FILE_TYPES:
            g.add((dist, DCTERMS.format, URIRef(EU + "file-type/" + FILE_TYPES[key])))
        if entry["compressed"]:
            g.add((dist, DCAT.compressFormat, URIRef(IANA + "application/gzip")))
        if built is not None:
            g.add((dist, DCTERMS.issued, built))
        g.add((dist, DCAT.byteSize, Literal(int(entry["bytes"]), datatype=XSD.nonNegativeInteger)))
        g.add((dist, DCTERMS.license, CC_BY))
        g.add((dist, DCTERMS.rights, _source_rights(g)))
        g.add((dist, SPDX.checksum, checksum))
        g.add((checksum, RDF.type, SPDX.Checksum))
        g.add((checksum, SPDX.algorithm, SPDX.checksumAlgorithm_sha256))
        g.add((checksum, SPDX.checksumValue, Literal(entry["sha256"], datatype=XSD.hexBinary)))


def _source_rights(g: Graph) -> BNode:
    """No source's licence is recorded in data/, so none is invented: a rights statement points to the source."""
    node = BNode()
    g.add((node, RDF.type, DCTERMS.RightsStatement))
    g.add((node, RDFS.label, Literal(SOURCE_TERMS, lang="en")))
    return node
