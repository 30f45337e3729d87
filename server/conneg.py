"""Content negotiation, in one place: Accept with q-values and wildcards, and the ``format``/``output``
parameters that SPARQLWrapper and other clients send.

Four families of answers: SPARQL results (SELECT), booleans (ASK), graphs (CONSTRUCT, DESCRIBE, the
service description, VoID/DCAT) and linked-data documents (HTML or RDF for an entity or the ontology, with file
suffixes that override Accept). Each lists its media types in the order we prefer them; the first is the default
for a missing or ``*/*`` Accept. Nothing acceptable → :class:`NotAcceptable` naming what is.
"""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from reekg.errors import BadRequest, NotAcceptable


@dataclass(frozen=True)
class Choice:
    name: str  # the serialiser's name in reekg.read.jobs
    media_type: str  # what the Content-Type says
    aliases: tuple[str, ...] = ()  # other media types that ask for the same serialisation

    @property
    def content_type(self) -> str:
        text = self.media_type
        if text.startswith("text/") or text.endswith(("+json", "+xml", "/json", "/n-triples", "/n-quads",
                                                      "/trig", "/ld+json")):
            text += "; charset=utf-8"
        return text


RESULTS = (
    Choice("json", "application/sparql-results+json", ("application/json", "text/javascript",
                                                       "application/javascript")),
    Choice("xml", "application/sparql-results+xml", ("application/xml", "text/xml")),
    Choice("csv", "text/csv"),
    Choice("tsv", "text/tab-separated-values"),
)
BOOLEAN = RESULTS
GRAPH = (
    Choice("turtle", "text/turtle", ("application/x-turtle",)),
    Choice("n-triples", "application/n-triples", ("text/plain",)),
    Choice("json-ld", "application/ld+json", ("application/json",)),
    Choice("rdf-xml", "application/rdf+xml", ("application/xml", "text/xml")),
    Choice("trig", "application/trig"),
    Choice("n-quads", "application/n-quads"),
)
# Linked-data documents (reekg.server.ld): an IRI answers HTML to browsers and RDF to machines. Turtle is first,
# so a client that sends no Accept or only */* (curl, crawlers) gets data; browsers name text/html.
HTML = Choice("html", "text/html", ("application/xhtml+xml",))
DOCUMENT = (GRAPH[0], HTML, *GRAPH[1:])
FAMILIES = {"solutions": RESULTS, "boolean": BOOLEAN, "graph": GRAPH, "document": DOCUMENT}
# File suffixes of linked-data documents (``/data/element/Nd.ttl``): a suffix overrides the Accept header.
SUFFIXES = {"ttl": "turtle", "html": "html", "jsonld": "json-ld", "nt": "n-triples", "rdf": "rdf-xml",
            "trig": "trig", "nq": "n-quads"}

# `format=` / `output=` keywords → serialiser name per family (SPARQLWrapper sends json, xml, csv, tsv,
# turtle, n3, rdf, rdf+xml, json-ld; other clients send full media types, handled below).
_KEYWORDS = {
    "solutions": {"json": "json", "srj": "json", "xml": "xml", "srx": "xml", "csv": "csv", "tsv": "tsv"},
    "graph": {"turtle": "turtle", "ttl": "turtle", "n3": "turtle", "n-triples": "n-triples",
              "ntriples": "n-triples", "nt": "n-triples", "json-ld": "json-ld", "jsonld": "json-ld",
              "json": "json-ld", "rdf+xml": "rdf-xml", "rdf/xml": "rdf-xml", "rdf": "rdf-xml",
              "xml": "rdf-xml", "trig": "trig", "nquads": "n-quads", "n-quads": "n-quads", "nq": "n-quads"},
}
_KEYWORDS["boolean"] = _KEYWORDS["solutions"]
_KEYWORDS["document"] = {**_KEYWORDS["graph"], "html": "html", "json": "json-ld"}


@dataclass(frozen=True)
class _Range:
    type: str
    subtype: str
    q: float
    order: int

    def specificity(self, media_type: str) -> int:
        """-1 if this range does not match ``media_type``, else 2 exact, 1 type/*, 0 */*."""
        major, _, minor = media_type.partition("/")
        if self.type == "*":
            return 0
        if self.type != major:
            return -1
        if self.subtype == "*":
            return 1
        return 2 if self.subtype == minor else -1


def parse_accept(header: str) -> list[_Range]:
    """The media ranges of an Accept header (malformed entries are skipped, q clamped to [0, 1])."""
    ranges = []
    for order, part in enumerate(header.split(",")):
        pieces = [p.strip() for p in part.split(";")]
        media = pieces[0].lower()
        if "/" not in media:
            if media == "*":
                media = "*/*"
            else:
                continue
        major, _, minor = media.partition("/")
        q = 1.0
        for param in pieces[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = min(1.0, max(0.0, float(value)))
                except ValueError:
                    q = 0.0
        ranges.append(_Range(major, minor, q, order))
    return ranges


def _quality(ranges: list[_Range], choice: Choice) -> float:
    best_q, best_spec = 0.0, -1
    for media_type in (choice.media_type, *choice.aliases):
        for r in ranges:
            spec = r.specificity(media_type)
            if media_type != choice.media_type and spec < 2:
                continue  # an alias is matched by name only, never by a wildcard
            # the most specific matching range decides (RFC 9110 §12.5.1); an alias counts like the type
            if spec > best_spec or (spec == best_spec and spec >= 0 and r.q > best_q):
                best_spec, best_q = spec, r.q
    return best_q if best_spec >= 0 else 0.0


def negotiate(family: str, accept: str | None, params: MultiDict | None = None) -> Choice:
    """Pick the serialisation for ``family`` from ``format``/``output`` (if given) or the Accept header."""
    choices = FAMILIES[family]
    for name in ("format", "output"):
        values = [v.strip() for v in (params.getlist(name) if params is not None else []) if v.strip()]
        if values:
            # SPARQLWrapper repeats the parameter with synonyms (format=tsv&format=text/tab-separated-values):
            # repeats are fine as long as they agree.
            picked = {_by_keyword(family, value) for value in values}
            if len(picked) > 1:
                raise BadRequest(f"the {name!r} parameter asks for different formats: {', '.join(values)}")
            wanted = picked.pop()
            return next(c for c in choices if c.name == wanted)
    if not accept or not accept.strip():
        return choices[0]
    ranges = parse_accept(accept)
    if not ranges:
        return choices[0]
    best, best_q = None, 0.0
    for choice in choices:
        q = _quality(ranges, choice)
        if q > best_q:
            best, best_q = choice, q
    if best is None:
        raise NotAcceptable(f"cannot answer in any type the Accept header allows ({accept}); "
                            f"acceptable: {acceptable(family)}")
    return best


def negotiate_answer(family: str, accept: str | None, params: MultiDict | None = None) -> Choice:
    """:func:`negotiate` for a query's answer. A graph answer (CONSTRUCT, DESCRIBE) to a client that accepts
    only SPARQL result formats comes in a default graph format instead of a 406, as Fuseki does: JSON-LD when
    it asked for JSON, Turtle otherwise. rdflib's ``SPARQLStore(returnFormat="json")`` sends one Accept for
    every query form and parses whatever RDF comes back. A client that accepts nothing we can produce at all
    still gets the 406."""
    try:
        return negotiate(family, accept, params)
    except NotAcceptable as refused:
        if family != "graph":
            raise
        try:
            asked = negotiate("solutions", accept, params)
        except NotAcceptable:
            raise refused from None
    return by_name("graph", "json-ld" if asked.name == "json" else "turtle")


def _by_keyword(family: str, keyword: str) -> str:
    lowered = keyword.lower()
    wanted = _KEYWORDS[family].get(lowered)
    if wanted is not None:
        return wanted
    for choice in FAMILIES[family]:
        if lowered in (choice.media_type, *choice.aliases):
            return choice.name
    raise NotAcceptable(f"format {keyword!r} is not available for this answer; acceptable: {acceptable(family)}")


def by_name(family: str, name: str) -> Choice:
    """The choice called ``name`` in ``family`` (names are those of :data:`SUFFIXES` values)."""
    return next(c for c in FAMILIES[family] if c.name == name)


def suffix_of(name: str) -> Choice | None:
    """The document format a file suffix names (``ttl``, ``jsonld``, …), or None."""
    wanted = SUFFIXES.get(name)
    return by_name("document", wanted) if wanted else None


def acceptable(family: str) -> str:
    return ", ".join(c.media_type for c in FAMILIES[family])


def best_of(accept: str | None, media_types: list[str]) -> str | None:
    """The best of ``media_types`` for an Accept header (the first wins a tie; no header = the first);
    None when the client accepts none of them."""
    if not accept:
        return media_types[0]
    ranges = parse_accept(accept)
    scored = [(_quality(ranges, Choice(name=t, media_type=t)), -i, t) for i, t in enumerate(media_types)]
    best = max(scored)
    return best[2] if best[0] > 0 else None
