"""Dumps and the dataset description: ``/dumps/`` (releases, a release's files and changelog), ``/catalog`` and
``/.well-known/void`` (VoID + DCAT of the current release), and ``/context.jsonld``. The current build is
exported on the first request that needs it (:mod:`reekg.loaders.releases`)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from flask import Response, current_app, request, send_file, url_for
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, RDFS

from reekg import formats
from reekg.errors import HomeUnavailable, NotFound, NotReady, RemoteError, RemoteUnavailable
from reekg.loaders import dcat, releases
from reekg.loaders import diff as changes
from reekg.loaders.store import StoreHome
from reekg.terms import to_oxigraph

from .. import conneg
from . import documents
from .documents import (
    DATA_SUFFIXES,
    bp,
    document,
    negotiated,
    ns,
    render,
    see_other,
    settings,
    short,
    sparql_link,
    view_term,
)

_RELEASE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9a-f]{12}")
FOAF_NAME = URIRef("http://xmlns.com/foaf/0.1/name")
DUMP_QUERY = "SELECT ?subject ?predicate ?object ?graph WHERE { GRAPH ?graph { ?subject ?predicate ?object } }"
_CHANGES_SHOWN = 500
# a release's other files (release.json, the .gz dumps); its RDF files have the type of their format
_FILE_TYPES = {".gz": "application/gzip", ".json": "application/json; charset=utf-8"}


# --- routes: the JSON-LD context ----------------------------------------------------------------------------

@bp.get("/context.jsonld")
def context() -> Response:
    """The context every JSON-LD document here names (``{base}context.jsonld``): prefixes and a term for each
    class and property of the served ontology."""
    body = json.dumps(documents.context(), indent=1, ensure_ascii=False)
    response = Response(body, content_type="application/ld+json; charset=utf-8")
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["Access-Control-Allow-Origin"] = "*"  # a context must be readable by any JSON-LD processor
    return response


# --- the current release ----------------------------------------------------------------------------------

def _dumps_dir() -> Path:
    return releases.dumps_dir(settings()["home"])


class DumpsUnwritable(NotReady):
    """The served build's release cannot be written (a read-only home): 503, unless older releases exist."""


def current_release() -> releases.Release:
    """The release of the build served now (on the embedded or the remote store), exported on first use.
    503 naming the cause when no store can be served or the release cannot be written (a read-only home)."""
    config = settings()
    if config.get("store", "embedded") == "embedded":
        serving = StoreHome(config["home"]).serving()
        if serving.problem:
            raise NotReady(serving.problem)
    try:
        return releases.export_served(config, _dumps_dir())
    except HomeUnavailable as exc:
        raise DumpsUnwritable(exc.message) from None
    except FileNotFoundError as exc:
        raise NotFound(str(exc)) from None
    except RemoteError as exc:
        raise RemoteUnavailable(f"the remote SPARQL store is unavailable: {exc.message}") from None
    except OSError as exc:  # the dumps folder cannot be written: read-only home, no permission, no space
        raise DumpsUnwritable(f"the release of the served build cannot be written under {_dumps_dir()} "
                       f"({exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''})") from None


def _current_name() -> str | None:
    """The current release's name, or None when it cannot be written but releases exist (they are still
    served); the 503 when there is nothing to serve or no store can be served."""
    try:
        return current_release().name
    except DumpsUnwritable:
        if releases.list_releases(_dumps_dir()):
            return None
        raise


# --- routes: dumps ---------------------------------------------------------------------------------------------

@bp.get("/dumps/")
def dumps() -> Response:
    current = _current_name()
    listed = list(reversed(releases.list_releases(_dumps_dir())))
    html = render("ld/dumps.html", title="Dumps", releases=listed, current=current,
                  query=DUMP_QUERY, query_link=sparql_link(DUMP_QUERY))
    return document(html, conneg.HTML)


def _release(name: str) -> releases.Release:
    if not _RELEASE.fullmatch(name):
        raise NotFound(f"no release {name!r}")
    _current_name()
    path = _dumps_dir() / name
    if not (path / releases.SUMS).exists():
        raise NotFound(f"no release {name}")
    return releases.load_release(path)


@bp.get("/dumps/<name>/")
def release_page(name: str) -> Response:
    release = _release(name)
    every = releases.list_releases(_dumps_dir())
    index = next(i for i, r in enumerate(every) if r.name == release.name)
    previous = every[index - 1] if index > 0 else None
    shown = None
    if previous is not None:
        change = _changelog(previous.path, release.path)
        shown = {"previous": previous.name, "added": change.added[:_CHANGES_SHOWN], "added_count": len(change.added),
                 "removed": change.removed[:_CHANGES_SHOWN], "removed_count": len(change.removed),
                 "shown": _CHANGES_SHOWN}
    sums = (release.path / releases.SUMS).read_text(encoding="utf-8")
    html = render("ld/release.html", title=f"Release {release.name}", release=release, changes=shown,
                  sums=sums, query=DUMP_QUERY, query_link=sparql_link(DUMP_QUERY))
    return document(html, conneg.HTML)


def _changelog(old: Path, new: Path) -> changes.Diff:
    cache: dict[tuple[str, str], changes.Diff] = current_app.extensions.setdefault("reekg.ld.changes", {})
    key = (str(old), str(new))
    if key not in cache:  # releases never change, so neither does their diff
        cache[key] = changes.diff(str(old), str(new))
    return cache[key]


@bp.get("/dumps/<name>/<filename>")
def dump_file(name: str, filename: str) -> Response:
    release = _release(name)
    allowed = {f["name"] for f in release.files} | {"void.ttl", releases.RELEASE_JSON, releases.SUMS}
    if filename not in allowed:
        raise NotFound(f"no file {filename} in release {name}")
    suffix = Path(filename).suffix
    rdf = formats.by_suffix(suffix, canonical=True) if suffix else None
    mimetype = _FILE_TYPES.get(suffix) or (rdf.content_type if rdf else "text/plain; charset=utf-8")
    # served as stored: a .gz is application/gzip, never Content-Encoding, so its checksum holds as downloaded
    response = send_file(release.path / filename, mimetype=mimetype, conditional=True, etag=True,
                         download_name=filename, as_attachment=suffix == ".gz", max_age=31536000)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- routes: the dataset description ----------------------------------------------------------------------

@bp.get("/catalog")
def catalog() -> Response:
    """VoID + DCAT of the current release, with this server's URLs as the locators."""
    return _description()


@bp.get("/.well-known/void")
def well_known_void() -> Response:
    """Where VoID says to look for a dataset's description (VoID §7.2)."""
    return _description()


@bp.get("/dataset")
@bp.get("/dataset/<path:part>")
@bp.get("/service/sparql")
def described(part: str | None = None) -> Response:
    """The dataset, its distributions and the SPARQL service are things, not documents: 303 to the description
    that describes them (Cool URIs §4.3), in the format asked for."""
    target = url_for("ld.catalog", **({"format": request.args["format"]} if "format" in request.args else {}))
    return see_other(target)


def _description() -> Response:
    """RDF for machines (Turtle without an Accept), a readable page of the same description for browsers."""
    choice = negotiated()
    release = current_release()
    graph = dcat.describe(release.info, ns(), locator=request.url_root,
                          sparql_endpoint=url_for("sparql.query", _external=True),
                          contact=settings().get("contact_url", ""))
    if choice.name == "html":
        return document(_description_html(graph, release.name), choice)
    response = Response(graph.serialize(format=choice.rdflib), content_type=choice.content_type)
    response.vary.add("Accept")
    return response


def _names(graph: Graph, subjects: list[URIRef]) -> dict[str, dict[str, str]]:
    """The title, name or label of each subject, by lower-case language tag."""
    names: dict[str, dict[str, str]] = {}
    for s in subjects:
        for predicate in (DCTERMS.title, FOAF_NAME, RDFS.label):
            for value in graph.objects(s, predicate):
                lang = (getattr(value, "language", None) or "").lower()
                names.setdefault(str(s), {}).setdefault(lang, str(value))
    return names


def _description_html(graph: Graph, release: str) -> str:
    """The VoID + DCAT description as a page: one section per described thing (catalog, dataset, its
    distributions and subsets, …), its statements as a table; blank nodes (checksums, rights) inline."""
    first = [URIRef(ns().base + "catalog"), URIRef(ns().base + "dataset")]
    subjects = [s for s in first if (s, None, None) in graph]
    subjects += sorted({s for s in graph.subjects() if isinstance(s, URIRef)} - set(first), key=str)
    anchors = {str(s): f"s{i}" for i, s in enumerate(subjects)}
    names = _names(graph, subjects)

    def view(node: Any) -> dict[str, Any]:
        shown = view_term(to_oxigraph(node), names)
        if isinstance(node, URIRef) and str(node) in anchors:
            shown["href"] = "#" + anchors[str(node)]
        if not isinstance(node, (URIRef, Literal)):
            shown = {"kind": "nested", "rows": [(view_term(to_oxigraph(p), {}), view_term(to_oxigraph(o), {}))
                                                for p, o in sorted(graph.predicate_objects(node), key=str)]}
        return shown

    sections = []
    for s in subjects:
        pairs = sorted(graph.predicate_objects(s), key=lambda po: (str(po[0]), str(po[1])))
        rows = [(view(p), view(o)) for p, o in pairs]
        label = names.get(str(s), {})
        sections.append({"anchor": anchors[str(s)], "iri": str(s), "title": label.get("en") or label.get("")
                         or short(str(s)), "rows": rows})
    links = [(suffix, conneg.suffix_of(suffix).media_type, f"{request.path}?format={suffix}")
             for suffix in DATA_SUFFIXES]
    return render("ld/catalog.html", title="Dataset description", sections=sections, release=release,
                  formats=links)
