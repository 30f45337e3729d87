"""Content negotiation, in one place: Accept with q-values and wildcards, and the ``format``/``output``
parameters that SPARQLWrapper and other clients send.

Four families of answers: SPARQL results (SELECT), booleans (ASK), graphs (CONSTRUCT, DESCRIBE, the
service description, VoID/DCAT) and linked-data documents (HTML or RDF for an entity or the ontology, with file
suffixes that override Accept). Each lists its media types in the order we prefer them; the first is the default
for a missing or ``*/*`` Accept. Nothing acceptable → :class:`NotAcceptable` naming what is.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from werkzeug.datastructures import MultiDict

from reekg import formats
from reekg.errors import BadRequest, NotAcceptable

# The formats are those of reekg.formats, the one table; a choice is one of its rows.
Choice = formats.Format
RESULTS = formats.RESULTS
BOOLEAN = RESULTS
GRAPH = formats.GRAPH
# Linked-data documents (reekg.server.ld): an IRI answers HTML to browsers and RDF to machines. Turtle is first,
# so a client that sends no Accept or only */* (curl, crawlers) gets data; browsers name text/html.
HTML = formats.HTML
DOCUMENT = (GRAPH[0], HTML, *GRAPH[1:])
FAMILIES = {"solutions": RESULTS, "boolean": BOOLEAN, "graph": GRAPH, "document": DOCUMENT}
# File suffixes of linked-data documents (``/data/element/Nd.ttl``): a suffix overrides the Accept header.
SUFFIXES = {choice.suffix: choice.name for choice in DOCUMENT}


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
    for media_type in choice.media_types:
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
    best = _by_accept(family, accept)
    if best is None:
        raise NotAcceptable(f"cannot answer in any type the Accept header allows ({accept}); "
                            f"acceptable: {acceptable(family)}")
    return best


@lru_cache(maxsize=512)
def _by_accept(family: str, accept: str | None) -> Choice | None:
    """The best choice of ``family`` for an Accept header, None if it accepts none (remembered: clients send a
    handful of distinct headers, and weighing one cost more than a small query's evaluation)."""
    choices = FAMILIES[family]
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
    """A ``format=``/``output=`` value: a keyword of one of the family's formats, or one of its media types."""
    lowered = keyword.lower()
    for choice in FAMILIES[family]:
        if lowered in choice.keywords:
            return choice.name
    for choice in FAMILIES[family]:
        if lowered in choice.media_types:
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
    scored = [(_quality(ranges, Choice(name=t, kind="page", media_types=(t,))), -i, t)
              for i, t in enumerate(media_types)]
    best = max(scored)
    return best[2] if best[0] > 0 else None
