"""The entity browser (issue 14): index pages of every kind of entity, suggestions as one types, a map of sites
and the favicon.

=================================  =================================================================
``/doc/``                          the kinds of entity the graph holds, with counts (HTML)
``/doc/{kind}/``                   the entities of a kind: paged, sorted, filtered by facets (HTML)
``/doc/{kind}/index.csv``, ``.json``  the same list, whole unless ``page`` is given, with the same filters
``/browse/suggest?q=``             at most 10 entities whose label (en, zh-Hant, zh-Hans), symbol or id holds q
``/map``, ``/map.json``            the mines and plants with a sourced position; the others listed beside it
``/favicon.ico``                   the site's icon (SVG), cached for a year
=================================  =================================================================

The kinds are read from the graph (the ``{kind}`` of ``…/id/{kind}/{id}``), never from a list in the code. The
facets are those the data has for a kind: country (``reekg:locatedIn``, ``headquarteredIn``, ``refArea``),
stage (``reekg:atStage``), status (a site's newest reported status, a measure's status) and confidence. Query
parameters: a facet's value ids (repeat a parameter for "any of"), ``sort`` (``label``, ``-label``, ``id``,
``-id``), ``page`` (from 1) and ``size`` (1-500, default 50). Every value is checked with ``re.fullmatch``
(Python's ``$`` passes a final newline) and a bad one answers 400 naming the parameter.

The questions are the ``.rq`` files of ``reekg/questions/sparql/browse/`` (kept out of the saved-query library,
which the query page shows as examples); the kind and the typed text are bound as typed literals through the backend's
substitutions, never written into the query text. They run through the API's service, so they share its
per-build answer cache and its row cap.
"""

from __future__ import annotations

import csv
import io
import json
import re
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Response, request, url_for

from reekg.errors import BadParameter, NotFound
from reekg.loaders.namespaces import Namespaces
from reekg.questions.library import Query, parse, rebased

from . import api, pages, ui

bp = Blueprint("browse", __name__, template_folder="templates")

# Checked with fullmatch: `$` would also match before a final newline ("mine\n")
KIND = re.compile(r"[a-z][a-z0-9-]{0,63}")
VALUE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._~-]{0,199}")
PAGE = re.compile(r"[1-9][0-9]{0,8}")
SIZE = re.compile(r"[1-9][0-9]{0,2}")
SUGGEST_TEXT = re.compile(r"[^\x00-\x1f\x7f-\x9f]{1,100}")  # printable, 1 to 100 characters
FACETS = ("country", "stage", "status", "confidence")
FACET_LABELS = {"country": "country", "stage": "stage", "status": "status", "confidence": "confidence"}
SORTS = {"label": "label (A-Z)", "-label": "label (Z-A)", "id": "id (A-Z)", "-id": "id (Z-A)"}
PAGE_SIZE = 50
MAX_SIZE = 500
SUGGESTIONS = 10
ONE_YEAR = 365 * 24 * 3600
CSV_COLUMNS = ("kind", "id", "iri", "doc", "label", "labelZhHant", "labelZhHans", *FACETS)
# Colours of the map's stages (a mine's stage is mining); text on them is never needed (legend text is dark).
STAGE_COLOURS = {"mining": "#0b5cad", "concentration": "#0e7490", "cracking": "#7e22ce", "separation": "#c2410c",
                 "metal-alloy": "#a16207", "magnet-making": "#15803d", "recycling": "#be185d"}
# The map draws a site's current status as the point's shape: producing, in the pipeline, or not producing.
STATUS_SHAPES = {"operating": "circle", "commissioning": "triangle", "under-construction": "triangle",
                 "development": "triangle", "permitting": "triangle", "pilot": "triangle",
                 "care-and-maintenance": "rect", "blocked": "rect", "not-producing": "rect"}


# --- the questions and their answers ------------------------------------------------------------------------

@cache
def queries(base: str | None = None) -> dict[str, Query]:
    """The browser's queries (``reekg/questions/sparql/browse/*.rq``), under ``base``, each parse-checked at
    start-up."""
    ns = Namespaces(base) if base else Namespaces()
    folder = resources.files("reekg.questions") / "sparql" / "browse"
    found = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".rq"):
            query = parse(entry.name[:-3], rebased(entry.read_text(encoding="utf-8"), ns))
            ox.Store().query(query.text)  # parse check only
            found[query.name] = query
    return found


class _Answers:
    """The rows of the browser's queries, run and cached per build by the API's service (as the pages do):
    parameters bound as typed terms, a cut answer refused rather than shown as the whole list."""

    def __init__(self, service: Any):
        self.service = service
        self.ns: Namespaces = service.ns
        self.queries = queries(self.ns.base)

    def rows(self, name: str, *, cached: bool = True, **params: str) -> list[dict[str, Any]]:
        """SPARQL JSON bindings of query ``name`` with ``params`` bound as typed terms (``cached=False``: not
        kept, so that every prefix typed into a search box does not push the API's answers out of the cache)."""
        query = self.queries[name]
        if not cached:
            return self.service._run(query, params)[0]
        key = ("browse", name, tuple(sorted(params.items())))
        return self.service.answer(key, lambda: {"rows": self.service._run(query, params)[0]})["rows"]


def _answers() -> _Answers:
    return _Answers(api._service())


def _value(row: dict[str, Any], name: str) -> str | None:
    cell = row.get(name)
    return cell["value"] if cell else None


def _split(iri: str, ns: Namespaces) -> tuple[str, str] | None:
    """(kind, id) of an IRI ``…/id/{kind}/{id}``, or None for any other IRI."""
    prefix = ns.base + "id/"
    if not iri.startswith(prefix) or "/" not in iri[len(prefix):]:
        return None
    kind, _, ident = iri[len(prefix):].partition("/")
    return kind, ident


def doc_href(kind: str, ident: str) -> str:
    """This server's page of an entity, ``/doc/{kind}/{id}`` (each segment percent-encoded)."""
    return (request.script_root + "/doc/" + urllib.parse.quote(kind, safe="") + "/"
            + urllib.parse.quote(ident, safe=""))


def kinds() -> dict[str, int]:
    """Every kind the graph holds, with how many entities it has."""
    return {_value(r, "kind") or "": int(_value(r, "count") or 0) for r in _answers().rows("kinds")
            if KIND.fullmatch(_value(r, "kind") or "")}


@dataclass
class Entry:
    """One entity of an index page."""

    kind: str
    id: str
    iri: str
    doc: str
    label: str | None = None
    label_zh_hant: str | None = None
    label_zh_hans: str | None = None
    facets: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # facet → [(value id, label)]

    def record(self) -> dict[str, Any]:
        """The entry as a JSON object: facets as lists of value ids."""
        return {"kind": self.kind, "id": self.id, "iri": self.iri, "doc": self.doc, "label": self.label,
                "labelZhHant": self.label_zh_hant, "labelZhHans": self.label_zh_hans,
                **{f: [v for v, _ in self.facets.get(f, [])] for f in FACETS}}


def entries(kind: str) -> list[Entry]:
    """The entities of ``kind`` with their labels and facet values (a site's status: its newest)."""
    answers = _answers()
    found = _labelled_entries(kind, answers)
    newest: dict[str, tuple[str, str, str]] = {}  # entity → (as of, value id, label) of its newest status
    for row in answers.rows("facets", kind=kind):
        entry = found.get(_value(row, "entity") or "")
        split = _split(_value(row, "value") or "", answers.ns)
        facet = _value(row, "facet") or ""
        if entry is None or split is None or facet not in FACETS:
            continue
        value = (split[1], _value(row, "valueLabel") or split[1])
        if facet == "status" and split[0] == "site-status":
            _keep_newest(newest, entry.iri, _value(row, "asOf") or "", value)
        elif value not in entry.facets.setdefault(facet, []):
            entry.facets[facet].append(value)
    for iri, (_, value, label) in newest.items():
        found[iri].facets.setdefault("status", []).append((value, label))
    for entry in found.values():
        for values in entry.facets.values():
            values.sort()
    return sorted(found.values(), key=lambda e: e.id)


def _labelled_entries(kind: str, answers: _Answers) -> dict[str, Entry]:
    """The entities of ``kind`` by IRI, each with the first label of each language (rows come ordered by
    entity; labels repeat across rows)."""
    found: dict[str, Entry] = {}
    for row in answers.rows("entities", kind=kind):
        iri = _value(row, "entity") or ""
        split = _split(iri, answers.ns)
        if split is None:
            continue
        entry = found.get(iri)
        if entry is None:
            entry = found[iri] = Entry(kind, split[1], iri, doc_href(kind, split[1]))
        entry.label = entry.label or _value(row, "labelEn")
        entry.label_zh_hant = entry.label_zh_hant or _value(row, "labelZhHant")
        entry.label_zh_hans = entry.label_zh_hans or _value(row, "labelZhHans")
    return found


def _keep_newest(newest: dict[str, tuple[str, str, str]], iri: str, as_of: str, value: tuple[str, str]) -> None:
    """Keep a site's status reported as of the latest date (ties: the larger value id, so the choice is stable)."""
    if iri not in newest or (as_of, value[0]) > newest[iri][:2]:
        newest[iri] = (as_of, *value)


# --- parameters -------------------------------------------------------------------------------------------

@dataclass
class Listing:
    """What an index asks for: filters (facet → value ids), sort, page (None = the whole list) and size."""

    filters: dict[str, list[str]]
    sort: str = "label"
    page: int | None = None
    size: int = PAGE_SIZE

    def query_args(self, **changes: Any) -> dict[str, Any]:
        """URL parameters that reproduce this listing, with ``changes`` applied (None drops one)."""
        args: dict[str, Any] = {f: list(v) for f, v in self.filters.items() if v}
        if self.sort != "label":
            args["sort"] = self.sort
        if self.page not in (None, 1):
            args["page"] = self.page
        if self.size != PAGE_SIZE:
            args["size"] = self.size
        for name, value in changes.items():
            if value is None:
                args.pop(name, None)
            else:
                args[name] = value
        return args


def _values(name: str) -> list[str]:
    """The values of a parameter; an empty one is absent (a form's "any" choice sends ``country=``)."""
    return [v for v in request.args.getlist(name) if v != ""]


def _one(name: str) -> str | None:
    values = _values(name)
    if len(values) > 1:
        raise BadParameter(name, "give it once")
    return values[0] if values else None


def listing_params(facets: dict[str, Counter]) -> Listing:
    """The index parameters of this request, checked (``facets``: the facet values this kind has)."""
    allowed = (*FACETS, "sort", "page", "size")
    for name in request.args:
        if name not in allowed:
            raise BadParameter(name, f"not a parameter of this list (one of {', '.join(allowed)})")
    filters: dict[str, list[str]] = {}
    for facet in FACETS:
        values = _values(facet)
        if not values:
            continue
        if facet not in facets:
            raise BadParameter(facet, "this kind has no such facet"
                               + (f" (its facets: {', '.join(facets)})" if facets else ""))
        for value in values:
            if not VALUE.fullmatch(value):
                raise BadParameter(facet, f"{value[:80]!r} is not a value id (letters, digits, '.', '_', '~', '-')")
            if value not in facets[facet]:
                known = ", ".join(sorted(facets[facet])[:30])
                raise BadParameter(facet, f"no entity of this kind has {facet} {value!r} (known: {known})")
        filters[facet] = sorted(set(values))
    sort = _one("sort") or "label"
    if sort not in SORTS:
        raise BadParameter("sort", f"one of {', '.join(SORTS)}")
    page_text, size_text = _one("page"), _one("size")
    if page_text is not None and not PAGE.fullmatch(page_text):
        raise BadParameter("page", "a whole number from 1 (ASCII digits)")
    if size_text is not None and not (SIZE.fullmatch(size_text) and int(size_text) <= MAX_SIZE):
        raise BadParameter("size", f"a whole number from 1 to {MAX_SIZE} (ASCII digits)")
    return Listing(filters, sort, int(page_text) if page_text else None,
                   int(size_text) if size_text else PAGE_SIZE)


def facet_counts(items: list[Entry]) -> dict[str, Counter]:
    """For each facet the kind has, how many entities carry each value."""
    counts: dict[str, Counter] = {}
    for entry in items:
        for facet, values in entry.facets.items():
            counts.setdefault(facet, Counter()).update(v for v, _ in values)
    return {f: counts[f] for f in FACETS if f in counts}


def apply(items: list[Entry], listing: Listing) -> list[Entry]:
    """``items`` filtered (each facet: any of its values; all facets together) and sorted."""
    chosen = [e for e in items
              if all(set(wanted) & {v for v, _ in e.facets.get(f, [])} for f, wanted in listing.filters.items())]
    field_name, reverse = listing.sort.lstrip("-"), listing.sort.startswith("-")
    if field_name == "label":  # entities without a label sort by id, after those with one
        chosen.sort(key=lambda e: (e.label is None, (e.label or "").casefold(), e.id))
        if reverse:
            labelled = [e for e in chosen if e.label is not None][::-1]
            chosen = labelled + [e for e in chosen if e.label is None]
    else:
        chosen.sort(key=lambda e: e.id.casefold(), reverse=reverse)
    return chosen


def _checked_kind(kind: str) -> int:
    """The number of entities of ``kind``; 404 naming the kinds there are when the graph holds none."""
    known = kinds()
    if not KIND.fullmatch(kind) or kind not in known:
        shown = kind if len(kind) <= 60 else kind[:57] + "..."
        raise NotFound(f"no kind of entity {shown!r}: the graph holds {', '.join(known)}")
    return known[kind]


# --- routes: the index pages ------------------------------------------------------------------------------

def _html(template: str, status: int = 200, **context: Any) -> Response:
    """A page with the site's headers (no-cache, the CSP of the pages), drawn as the pages draw theirs."""
    return pages._render(template, status, **context)


@bp.get("/doc/")
def kinds_page() -> Response:
    known = kinds()
    return _html("browse/kinds.html", title="Browse the graph", kinds=known, total=sum(known.values()))


@bp.get("/doc/<kind>/")
def index(kind: str) -> Response:
    _checked_kind(kind)
    items = entries(kind)
    facets = facet_counts(items)
    listing = listing_params(facets)
    chosen = apply(items, listing)
    pages = max(1, -(-len(chosen) // listing.size))
    page = listing.page or 1
    if page > pages:
        raise BadParameter("page", f"page {page} is past the last page, {pages}")
    shown = chosen[(page - 1) * listing.size: page * listing.size]
    labels = {f: {v: label for e in items for v, label in e.facets.get(f, [])} for f in facets}

    def link(**changes: Any) -> str:
        return url_for("browse.index", kind=kind, **listing.query_args(**changes))

    downloads = {suffix: url_for("browse.download", kind=kind, suffix=suffix, **listing.query_args(page=None))
                 for suffix in ("csv", "json")}
    pager = {"first": link(page=None) if page > 1 else None, "prev": link(page=page - 1 if page > 2 else None)
             if page > 1 else None, "next": link(page=page + 1) if page < pages else None,
             "last": link(page=pages) if page < pages else None}
    return _html("browse/index.html", title=f"{kind}: every entity of this kind", kind=kind, items=shown,
                 total=len(items), matching=len(chosen), page=page, pages=pages, listing=listing, facets=facets,
                 labels=labels, sorts=SORTS, facet_labels=FACET_LABELS, downloads=downloads, pager=pager,
                 first_number=(page - 1) * listing.size + 1)


@bp.get("/doc/<kind>/index.<suffix>")
def download(kind: str, suffix: str) -> Response:
    """The list as CSV or JSON: the whole filtered list, or one page when ``page`` is given."""
    if suffix not in ("csv", "json"):
        raise NotFound(f"no such list: use /doc/{kind}/index.csv or /doc/{kind}/index.json")
    _checked_kind(kind)
    items = entries(kind)
    facets = facet_counts(items)
    listing = listing_params(facets)
    chosen = apply(items, listing)
    if listing.page is not None:
        chosen = chosen[(listing.page - 1) * listing.size: listing.page * listing.size]
    records = [e.record() for e in chosen]
    if suffix == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")  # RFC 4180
        writer.writeheader()
        for record in records:
            writer.writerow({k: " ".join(v) if isinstance(v, list) else (v or "") for k, v in record.items()})
        response = Response(out.getvalue(), content_type="text/csv; charset=utf-8; header=present")
        response.headers["Content-Disposition"] = f'attachment; filename="{kind}.csv"'
    else:
        body = {"ok": True, "kind": kind, "total": len(items), "count": len(records),
                "filters": listing.filters, "sort": listing.sort, "page": listing.page,
                "size": listing.size if listing.page is not None else None,
                "facets": {f: dict(sorted(c.items())) for f, c in facets.items()}, "items": records}
        response = Response(json.dumps(body, ensure_ascii=False), content_type="application/json")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-cache"
    return response


# --- routes: suggestions ----------------------------------------------------------------------------------

def suggestions(text: str) -> list[dict[str, Any]]:
    """At most 10 entities matching ``text`` (best first), with kind, id, labels and their page."""
    answers = _answers()
    found: dict[str, dict[str, Any]] = {}
    for row in answers.rows("suggest", cached=False, q=text):
        iri = _value(row, "entity") or ""
        split = _split(iri, answers.ns)
        if split is None or not (KIND.fullmatch(split[0]) and VALUE.fullmatch(split[1])):
            continue
        if iri not in found:
            if len(found) == SUGGESTIONS:
                break
            kind, ident = split
            found[iri] = {"kind": kind, "id": ident, "label": _value(row, "labelEn"),
                          "labelZhHant": _value(row, "labelZhHant"), "labelZhHans": _value(row, "labelZhHans"),
                          "iri": iri, "doc": doc_href(kind, ident)}
    return list(found.values())


@bp.get("/browse/suggest")
def suggest() -> Response:
    for name in request.args:
        if name != "q":
            raise BadParameter(name, "not a parameter of /browse/suggest (only q)")
    text = (_one("q") or "").strip()
    if not SUGGEST_TEXT.fullmatch(text):
        raise BadParameter("q", "1 to 100 printable characters")
    body = {"ok": True, "q": text, "suggestions": suggestions(text)}
    response = Response(json.dumps(body, ensure_ascii=False), content_type="application/json")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-cache"
    return response


# --- routes: the map of sites -----------------------------------------------------------------------------

def sites() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(sites with a sourced position, sites without one), each with its kind, label, country, stages and
    current status."""
    answers = _answers()
    by_iri = {e.iri: e for kind in ("mine", "facility") for e in entries(kind)}
    placed, unplaced = [], []
    seen: set[str] = set()
    for row in answers.rows("sites"):
        entry = by_iri.get(_value(row, "site") or "")
        if entry is None or entry.iri in seen:
            continue
        seen.add(entry.iri)
        site = _site_record(entry)
        if _value(row, "latitude") is None or _value(row, "longitude") is None:
            unplaced.append(site)  # no source gives its position: listed, never guessed
        else:
            placed.append(_placed(site, row, answers.ns))
    placed.sort(key=lambda s: s["label"].casefold())
    unplaced.sort(key=lambda s: s["label"].casefold())
    return placed, unplaced


def position_of(iri: str) -> dict[str, Any] | None:
    """A supply site's sourced position as the map draws it, None when no source gives one (an entity page
    says so instead of guessing)."""
    placed, _ = sites()
    return next((site for site in placed if site["doc"] == doc_href(*_split(iri, _answers().ns) or ("", ""))), None)


def _site_record(entry: Entry) -> dict[str, Any]:
    """What the map and its table show of a site: kind, label, countries, stages and current status."""
    stages = entry.facets.get("stage") or ([("mining", "mining")] if entry.kind == "mine" else [])
    status = (entry.facets.get("status") or [("unknown", "unknown (no dated status)")])[0]
    return {"kind": entry.kind, "id": entry.id, "doc": entry.doc, "label": entry.label or entry.id,
            "labelZhHant": entry.label_zh_hant, "country": [label for _, label in entry.facets.get("country", [])],
            "stages": [v for v, _ in stages], "stageLabels": [label for _, label in stages],
            "status": status[0], "statusLabel": status[1]}


def _placed(site: dict[str, Any], row: dict[str, Any], ns: Namespaces) -> dict[str, Any]:
    """A site with its sourced position: the point, what it marks, its source and confidence, its marker."""
    source = _split(_value(row, "source") or "", ns)
    confidence = _split(_value(row, "confidence") or "", ns)
    return {**site, "latitude": float(_value(row, "latitude") or 0), "longitude": float(_value(row, "longitude") or 0),
            "precision": _value(row, "precision") or "no note on what the point marks",
            "source": source[1] if source else None, "sourceDoc": doc_href(*source) if source else None,
            "confidence": confidence[1] if confidence else None,
            "colour": STAGE_COLOURS.get(site["stages"][0] if site["stages"] else "", "#4a4a4a"),
            "shape": STATUS_SHAPES.get(site["status"], "diamond")}


@bp.get("/map")
def map_page() -> Response:
    placed, unplaced = sites()
    chart = {"points": placed, "outline": ui.asset_url("vendor/world_atlas/countries-110m.geo.json"),
             "stages": {s: c for s, c in STAGE_COLOURS.items() if any(s in p["stages"] for p in placed)}}
    return _html("browse/map.html", title="Map of sites", placed=placed, unplaced=unplaced, chart=chart,
                 stage_colours=STAGE_COLOURS, shapes=STATUS_SHAPES)


@bp.get("/map.json")
def map_json() -> Response:
    placed, unplaced = sites()
    body = {"ok": True, "placed": placed, "unplaced": unplaced}
    return Response(json.dumps(body, ensure_ascii=False), content_type="application/json")


# --- routes: the favicon ----------------------------------------------------------------------------------

@bp.get("/favicon.ico")
def favicon() -> Response:
    """The site's icon, an SVG (browsers take one at /favicon.ico too), cached for a year."""
    response = Response(ui._read("browse/favicon.svg"), content_type="image/svg+xml")
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(ui.fingerprint("browse/favicon.svg"))
    return response.make_conditional(request)
