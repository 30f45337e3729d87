"""Linked data: dereferenceable IRIs, the ontology document, the JSON-LD context, dumps and the dataset
description (issue 5). The recipes followed are W3C's "Best Practice Recipes for Publishing RDF Vocabularies"
(https://www.w3.org/TR/swbp-vocab-pub/) and "Cool URIs for the Semantic Web" (https://www.w3.org/TR/cooluris/).

Hash or slash, and why
    Ontology terms are hash IRIs (``{base}ontology#Mine``): the vocabulary is small and read as a whole, so
    one document answers for every term (Recipe 3, "hash namespace"). Instances are slash IRIs
    (``{base}id/element/Nd``): there are thousands, each with its own description, and a slash IRI lets a
    client fetch one without the rest. A slash IRI names a thing (neodymium), not a document, so it answers
    ``303 See Other`` to a document about it (Cool URIs §4.3); the ontology IRI does the same (Recipe 3's
    303 to the HTML or RDF version), so every IRI behaves alike.

What answers
    =============================  =================================================================
    ``/id/{kind}/{id}``            303 → ``/doc/{kind}/{id}`` (HTML) or ``/data/{kind}/{id}.{ext}``
    ``/doc/{kind}/{id}``           the entity page (HTML)
    ``/data/{kind}/{id}.{ext}``    the description: ttl, jsonld, nt, rdf (triples), trig, nq (with graphs)
    ``/ontology``                  303 → ``/ontology.html`` or ``/ontology.{ext}``
    ``/ontology/{version}``        the versioned IRI: 303 like ``/ontology``; 404 for a version not served
    ``/ontology.svg``              the diagram of classes and object properties (:mod:`.diagram`)
    ``/context.jsonld``            the JSON-LD context every JSON-LD document here names (as ``{base}context.jsonld``)
    ``/dumps/``, ``/dumps/{r}/``   releases, a release's files and its changelog; files below it
    ``/graph/{name}``              303 → ``/graph/{name}.{ext}``: a named graph (a source's, inferred, …)
    ``/graph/{name}.{ext}``        its description with its source (html) or its triples (as ``/data/``)
    ``/catalog``, ``/.well-known/void``  VoID + DCAT-AP 3 of the current release (a page for browsers)
    ``/dataset``, ``/service/sparql``    303 → ``/catalog``: the dataset and the SPARQL service it describes
    =============================  =================================================================

    The Accept header picks the format (:mod:`reekg.server.conneg`, family ``document``): browsers name
    ``text/html``; no Accept or ``*/*`` gets Turtle; ``?format=ttl`` overrides; anything else is 406 naming
    what is acceptable. Every negotiated answer carries ``Vary: Accept``.

The base and this server
    The IRIs are minted under the ``base_iri`` setting (default ``https://w3id.org/reekg/``), which need not be
    this server's origin (w3id redirects to it). A request path is read relative to the base: ``/id/element/Nd``
    here is about ``{base}id/element/Nd``, and an IRI under the base is linked by its local path.

The description of an entity
    Its concise bounded description across every named graph: every statement with the entity as subject,
    and every statement with it as object (incoming links), each kept with its named graph, which is the
    source it came from (``…/graph/source/X`` → ``…/id/source/X``), the inferred graph, the ontology or a
    partner file. Queries run through the app's backend (the killable query workers), so the time limit and
    the row cap hold; a capped description says so (``Reekg-Truncated`` and a note on the page).

Dumps
    The server exports the current build on the first request that needs it (``/dumps/``, ``/catalog``) into
    ``home/dumps/{release}/`` — the same folder ``reekg export`` writes — so every build is published
    without a separate step; see :mod:`reekg.loaders.releases`. On a remote store the quads are read back from
    it (a remote store that is down: 503 naming the cause).

Where it lives
    :mod:`.deref` the entity and graph IRIs (and the 301 of a renamed id), :mod:`.ontology_docs` the ontology
    and its page (its diagram laid out by :mod:`.diagram`), :mod:`.dumps` the dumps, the catalog and the JSON-LD
    context; :mod:`.documents` what they share (the blueprint, queries on the app's backend, negotiated
    documents, serialising, the JSON-LD context, terms in HTML).
"""

from . import deref, dumps, ontology_docs  # noqa: F401  (each registers its routes on bp)
from .documents import bp

__all__ = ["bp"]
