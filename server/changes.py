"""What changed since the last release (issue 14, item 3): the statements a robot model's answers read that the
served build added or removed, compared with a published release, built on :func:`reekg.loaders.diff.diff`.

================================  ================================================================================
``/changes``                      every robot model with the number of its statements added and removed (HTML)
``/changes/robot/{id}``           those statements, grouped by the resource they describe (HTML)
``…`` + ``.json``                 the same as JSON
================================  ================================================================================

Both compare the served build with the newest release under ``HOME/dumps`` built from another build, or with
``?since={release}`` (so a link reproduces the view). A robot's statements are those whose subject is one of the
resources its answers read (``reekg/questions/sparql/browse/robot-chain.rq``: its subsystems, components,
materials, element contents, elements, sites and their status observations, the export controls on its
elements). With no earlier release, the page says so instead of showing an empty list as "no change".
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request, url_for

from reekg.errors import BadParameter, NotFound
from reekg.loaders.diff import diff
from reekg.loaders.namespaces import shorten
from reekg.loaders.releases import Release, dumps_dir, list_releases
from reekg.loaders.store import MANIFEST, StoreHome

from . import browse, pages

bp = Blueprint("changes", __name__)

RELEASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_CACHE_SIZE = 4  # diffs kept (each holds the changed lines of one release pair)


@dataclass(frozen=True)
class Change:
    """One statement added (+) or removed (-): its subject, predicate, object and named graph as terms."""

    sign: str
    subject: str
    predicate: str
    object: ox.NamedNode | ox.Literal | ox.BlankNode
    graph: str | None


@dataclass
class Comparison:
    old: Release | None  # None: no earlier release to compare with
    new: str  # the served build's id
    changes: list[Change]


class _Diffs:
    """The parsed diffs of (release, build) pairs, a few kept: a page view reads the whole diff once."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.kept: OrderedDict[tuple[str, str], list[Change]] = OrderedDict()

    def get(self, release: Release, build: str, store: Path) -> list[Change]:
        key = (str(release.path), build)
        with self.lock:
            if key in self.kept:
                self.kept.move_to_end(key)
                return self.kept[key]
        result = diff(str(release.path), str(store))
        changes = [*_parsed("+", result.added, result.quads), *_parsed("-", result.removed, result.quads)]
        with self.lock:
            self.kept[key] = changes
            while len(self.kept) > _CACHE_SIZE:
                self.kept.popitem(last=False)
        return changes


_DIFFS = _Diffs()


def _parsed(sign: str, lines: list[str], quads: bool) -> list[Change]:
    text = "".join(lines).encode("utf-8")
    fmt = ox.RdfFormat.N_QUADS if quads else ox.RdfFormat.N_TRIPLES
    found = []
    for quad in ox.parse(text, format=fmt):
        graph = quad.graph_name.value if isinstance(quad.graph_name, ox.NamedNode) else None
        subject = quad.subject.value if isinstance(quad.subject, ox.NamedNode) else str(quad.subject)
        found.append(Change(sign, subject, quad.predicate.value, quad.object, graph))
    return found


def comparison() -> Comparison:
    """The served build against ``?since`` or the newest release of another build; 404 when there is no such
    release or the store is remote (a release and the served build are both read from HOME)."""
    settings = current_app.config["REEKG"]
    if settings["store"] != "embedded":
        raise NotFound("the changes page compares releases with the embedded store's build (store = embedded)")
    home = StoreHome(settings["home"])
    build = current_app.extensions["reekg.backend"].snapshot().build_id  # the build served, even a fallback
    store = home.stores / build
    if not (store / MANIFEST).exists():  # a store handed to create_app (embedding, tests): the home's current
        build, store = (home.manifest() or {}).get("build_id"), home.current()
        if build is None or store is None:
            raise NotFound("no build is served from HOME")
    releases = list_releases(dumps_dir(settings["home"]))
    since = _since()
    if since is not None:
        old = next((r for r in releases if r.name == since), None)
        if old is None:
            known = ", ".join(r.name for r in releases) or "none yet (reekg export writes one)"
            raise BadParameter("since", f"no release {since!r}; the releases are: {known}")
    else:
        older = [r for r in releases if r.info.get("build_id") != build]
        old = older[-1] if older else None
    changes = _DIFFS.get(old, build, store) if old is not None else []
    return Comparison(old, build, changes)


def _since() -> str | None:
    for name in request.args:
        if name != "since":
            raise BadParameter(name, "not a parameter of this page (only since)")
    values = request.args.getlist("since")
    if not values:
        return None
    if len(values) > 1 or not RELEASE.fullmatch(values[0]):
        raise BadParameter("since", "one release name, e.g. 2026-12-03-90b514f31659")
    return values[0]


def robot_things(robot_iri: str) -> dict[str, str]:
    """The resources a robot's answers read, each with the hop that reached it (robot-chain.rq)."""
    rows = browse._answers().rows("robot-chain", robot=robot_iri)
    return {row["thing"]["value"]: row["hop"]["value"] for row in rows if row["thing"]["type"] == "uri"}


def robots() -> list[dict[str, Any]]:
    """Every robot model with its label (the browser's list of the kind)."""
    return [{"id": e.id, "label": e.label or e.id, "iri": e.iri} for e in browse.entries("robot")]


def _counts(changes: list[Change], things: dict[str, str]) -> dict[str, int]:
    mine = [c for c in changes if c.subject in things]
    return {"added": sum(c.sign == "+" for c in mine), "removed": sum(c.sign == "-" for c in mine)}


def _term(term: Any, prefixes: dict[str, str]) -> dict[str, Any]:
    if isinstance(term, ox.Literal):
        return {"type": "literal", "value": term.value, "datatype": term.datatype.value,
                "language": term.language}
    iri = term.value if isinstance(term, ox.NamedNode) else str(term)
    return {"type": "uri", "value": iri, "prefixed": _prefixed(iri, prefixes)}


def _prefixed(iri: str, prefixes: dict[str, str]) -> str:
    return shorten(iri, prefixes, strict=True) or f"<{iri}>"


def robot_changes(ident: str, compared: Comparison) -> dict[str, Any]:
    """The changed statements of robot ``ident``, grouped by subject (each with its hop and label)."""
    ns = current_app.extensions["reekg.namespaces"]
    known = {r["id"]: r for r in robots()}
    if ident not in known:
        raise NotFound(f"no robot model {ident!r}: the graph has {', '.join(sorted(known)) or 'none'}")
    things = robot_things(str(ns.entity("robot", ident)))
    prefixes = ns.prefixes()
    groups: dict[str, dict[str, Any]] = {}
    for change in compared.changes:
        if change.subject not in things:
            continue
        group = groups.setdefault(change.subject, {
            "subject": _term(ox.NamedNode(change.subject), prefixes), "hop": things[change.subject],
            "added": [], "removed": []})
        group["added" if change.sign == "+" else "removed"].append(
            {"predicate": _term(ox.NamedNode(change.predicate), prefixes), "object": _term(change.object, prefixes),
             "graph": change.graph})
    return {"robot": known[ident], "groups": sorted(groups.values(), key=lambda g: (g["hop"], g["subject"]["value"])),
            **_counts(compared.changes, things)}


def _basis(compared: Comparison) -> dict[str, Any]:
    old = compared.old
    return {"since": None if old is None else {"release": old.name, "build": old.info.get("build_id"),
                                               "builtAt": old.info.get("built_at")},
            "served": compared.new,
            "note": None if old is not None else
            "no release of another build has been published yet (reekg export writes one): nothing to compare with"}


def _json(body: dict[str, Any]) -> Response:
    response = Response(json.dumps({"ok": True, **body}, ensure_ascii=False), content_type="application/json")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _permalink(endpoint: str, compared: Comparison, **values: Any) -> str:
    since = compared.old.name if compared.old is not None else None
    return url_for(endpoint, **values, **({"since": since} if since else {}))


@bp.get("/changes")
@bp.get("/changes.json", defaults={"as_json": True}, endpoint="summary_json")
def summary(as_json: bool = False) -> Response:
    compared = comparison()
    rows = []
    for robot in robots():
        things = robot_things(robot["iri"]) if compared.old is not None else {}
        rows.append({**robot, **_counts(compared.changes, things),
                     "href": _permalink("changes.robot", compared, ident=robot["id"])})
    body = {**_basis(compared), "added": sum(c.sign == "+" for c in compared.changes),
            "removed": sum(c.sign == "-" for c in compared.changes), "robots": rows}
    if as_json:
        return _json(body)
    return pages._render("changes/summary.html", title="What changed since the last release", body=body,
                         permalink=_permalink("changes.summary", compared),
                         json_url=_permalink("changes.summary_json", compared))


@bp.get("/changes/robot/<ident>")
@bp.get("/changes/robot/<ident>.json", defaults={"as_json": True}, endpoint="robot_json")
def robot(ident: str, as_json: bool = False) -> Response:
    if not browse.VALUE.fullmatch(ident):
        raise BadParameter("id", "a robot id such as tesla-optimus")
    compared = comparison()
    body = {**_basis(compared), **robot_changes(ident, compared)}
    if as_json:
        return _json(body)
    return pages._render("changes/robot.html", title=f"What changed for {body['robot']['label']}", body=body,
                         permalink=_permalink("changes.robot", compared, ident=ident),
                         json_url=_permalink("changes.robot_json", compared, ident=ident))
