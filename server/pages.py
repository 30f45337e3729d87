"""The web pages for people (issue 5, item 4): home and search, trace, exposure and scenario.

Server-rendered Jinja pages over the same answers as the JSON API (the questions of :mod:`reekg.questions`, through
the API's per-build cache under the same keys), so every page works without JavaScript: its text, tables and forms
are plain HTML. Charts are progressive enhancement — Apache ECharts, vendored under ``static/vendor/echarts`` by
``scripts/refresh-vendor`` — fed from a ``<script type="application/json">`` block written with ``tojson`` (which
escapes ``<``, ``>`` and ``&``), never from JavaScript built out of data. Labels from the graph are text
everywhere: Jinja autoescapes them, the chart draws them as SVG text and its tooltips as rich text, never as HTML.
Entity names link to the linked-data pages, ``/doc/{kind}/{id}``; every page links to the SPARQL behind it and to
the query page.
"""

from __future__ import annotations

import re
import urllib.parse
from collections import Counter, defaultdict
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.routing import BuildError

from reekg.questions import question
from reekg.questions.core import ID_PATTERN, STAGES, AnswerError
from reekg.questions.params import check_body

from . import api, error_responses, ui

bp = Blueprint("pages", __name__, template_folder="templates")

DEFAULT_UNITS = 1000
_ID = re.compile(ID_PATTERN)  # fullmatch: Python's `$` would pass "Dy\n"
# The 17 rare earths by symbol: stage shares (USGS, IEA) are of rare earths as a group, so the exposure page
# draws them for these elements only (B and Fe of a magnet get no share bars).
RARE_EARTHS = ("Sc", "Y", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu")
STAGE_LABELS = {"mining": "mining", "separation": "separation", "magnet-making": "magnet making"}
# Columns of the Sankey diagram, left to right: raw ore to the subsystem.
COLUMNS = ("country", "mine", "plant", "element", "maker", "component", "subsystem")
COLUMN_LABELS = {"country": "country", "mine": "mine", "plant": "separation / processing plant",
                 "element": "element", "maker": "magnet maker", "component": "component",
                 "subsystem": "subsystem"}
# A thin but visible width for a link whose weight is zero (a mine in a country with no reported output).
MIN_WEIGHT = 0.002


def _service() -> api._Service:
    return api._service()


def _answer(name: str, values: dict[str, Any], ident: str | None = None) -> dict[str, Any]:
    """The answer of question ``name`` through the API's per-build cache (the question's own key, so the page
    and the API share it)."""
    service = _service()
    q = question(name)
    return service.answer(q.key(values, ident), lambda: q.ask(service.answers, values, ident))


def _url(endpoint: str, fallback: str, **values: Any) -> str:
    """A URL of another blueprint, or ``fallback`` when that blueprint is not registered."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return fallback


def doc_url(kind: str | None, ident: str | None) -> str | None:
    """The linked-data page of an entity (``/doc/{kind}/{id}``), or None when the kind or id is unknown."""
    if not kind or not ident or not _ID.fullmatch(str(kind)) or not _ID.fullmatch(str(ident)):
        return None  # not an id of ours (a graph IRI, a missing value): shown as text, never as a link
    return (request.script_root + "/doc/" + urllib.parse.quote(str(kind), safe="") + "/"
            + urllib.parse.quote(str(ident), safe=""))


def sparql_url(text: str) -> str:
    return _url("sparql.query", "/sparql") + "?" + urllib.parse.urlencode({"query": text})


def _render(template: str, status: int = 200, **context: Any) -> Response:
    html = render_template(
        template, asset_url=ui.asset_url, doc_url=doc_url, sparql_url=sparql_url,
        query_page=_url("ui.page", "/sparql"), api_docs=_url("api.docs", "/api/v1/docs"),
        dumps=_url("ld.dumps", "/dumps/"), stage_labels=STAGE_LABELS, **context)
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = ui.CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _error_page(status: int, message: str, details: list[Any]) -> Response:
    """A bad or unknown parameter as a page: the message and, for an unknown id, links to the closest ids
    (reekg.server.error_responses decides when a page answers and with which status)."""
    closest = []
    for error in details:
        if not isinstance(error, dict):
            continue
        for match in error.get("closest") or []:
            closest.append({**match, "href": _suggestion(error.get("parameter"), match["id"])})
    return _render("pages/error.html", status=status, title="Not found" if status == 404 else "Bad request",
                   message=message, closest=closest)


error_responses.draws_its_own_error_pages(bp, _error_page)


def _suggestion(parameter: str | None, ident: str) -> str | None:
    """This page with ``parameter`` (a path or query parameter) set to ``ident`` instead."""
    if not parameter or request.endpoint is None:
        return None
    view_args = dict(request.view_args or {})
    if parameter in view_args:
        view_args[parameter] = ident
        return url_for(request.endpoint, **view_args, **request.args.to_dict())
    if parameter in request.args:
        args = request.args.to_dict()
        args[parameter] = ident
        return url_for(request.endpoint, **view_args, **args)
    return None


def _page_params(route: str, *names: str) -> dict[str, Any]:
    """The query-string values ``names`` of this page, checked and typed by the question's declarations of
    them (one declaration for the API, its OpenAPI document, the CLI and the pages). Empty form fields are
    absent."""
    declared = {p.name: p for p in question(route).params}
    return {name: declared[name].parse(raw) for name in names if (raw := request.args.get(name))}


def _catalog_list(kind: str) -> list[dict[str, Any]]:
    rows = _service().answers.kind_entities(kind)
    return [{"id": ident, "label": row.get("labelEn") or ident, "zh": row.get("labelZhHant")}
            for ident, row in sorted(rows.items(), key=lambda kv: (kv[1].get("labelEn") or kv[0]).casefold())]


# --- home and search -----------------------------------------------------------------------------------------

@bp.get("/")
def home() -> Response:
    lists = {kind: _catalog_list(kind) for kind in ("subsystem", "robot", "element", "country")}
    return _render("pages/home.html", title="reekg — the Rare-Earth Element Knowledge Graph", lists=lists)


@bp.get("/search")
def search() -> Response:
    q = request.args.get("q", "")
    if not q.strip():
        return _render("pages/search.html", title="Search", q=q, answer=None)
    answer = _answer("search", {"q": q})
    return _render("pages/search.html", title=f"Search: {q}", q=q, answer=answer)


# --- trace -------------------------------------------------------------------------------------------------

@bp.get("/trace")
def trace_index() -> Response:
    subsystem = request.args.get("subsystem")
    if subsystem:
        params = {k: v for k in ("robot", "element") if (v := request.args.get(k))}
        return redirect(url_for("pages.trace", subsystem=subsystem, **params), 303)
    return _render("pages/pick.html", title="Trace a subsystem", action="pages.trace_index",
                   field="subsystem", choices=_catalog_list("subsystem"),
                   intro="Pick a robot subsystem to trace to the mines, plants and countries its rare earths "
                         "come from.")


@bp.get("/trace/<subsystem>")
def trace(subsystem: str) -> Response:
    params = _page_params("trace", "robot", "element")
    answer = _answer("trace", {"subsystem": subsystem, **params})
    answers = _service().answers
    chart = sankey(answer, {kind: answers.kind_entities(kind) for kind in SANKEY_KINDS})
    return _render("pages/trace.html", title=f"Trace: {subsystem}", answer=answer, chart=chart, params=params,
                   robots=_catalog_list("robot"), elements=_catalog_list("element"))


def _weights(paths: list[dict[str, Any]], shares: dict[str, Any]) -> list[tuple[float, str]]:
    """One weight per path, and its basis ("share" or "paths").

    Each site is put at a stage: mines at mining, magnet makers at magnet making, other plants at
    separation when they separate, else at their own first stage. Where a source publishes country shares of
    that stage, a country's paths at that stage share its share equally (so a country's links sum to its
    share of world output), and the rest of the world's paths share what is left. Stages without published
    shares weigh every path equally, one world in all, so columns stay comparable.
    """
    stage_of = [_stage_of(p) for p in paths]
    by_stage_country: Counter[tuple[str, str]] = Counter()
    by_stage: Counter[str] = Counter()
    for path, stage in zip(paths, stage_of, strict=True):
        by_stage_country[(stage, path.get("country") or "")] += 1
        by_stage[stage] += 1
    weights = []
    for path, stage in zip(paths, stage_of, strict=True):
        summary = shares.get(stage)
        country = path.get("country") or ""
        if summary:
            published = {s["country"]: s["share"] for s in summary["shares"]}
            if country in published:
                weights.append((published[country] / by_stage_country[(stage, country)], "share"))
                continue
            others = sum(n for (st, c), n in by_stage_country.items() if st == stage and c not in published)
            rest = max(0.0, 1.0 - sum(published.values()))
            weights.append((rest / others if others else 0.0, "share"))
        else:
            weights.append((1.0 / by_stage[stage], "paths"))
    return weights


def _stage_of(path: dict[str, Any]) -> str:
    """The stage whose country shares size a path: its site's stage, steps between folded into the nearest
    stage with published shares (concentration with mining, cracking with separation, metal and alloy
    making and recycling with magnet making)."""
    if path["hop"] == "magnet-making":
        return "magnet-making"
    if path["siteKind"] == "mine":
        return "mining"
    stages = path.get("stages") or []
    for stage in ("separation", "cracking", "magnet-making", "metal-alloy", "recycling", "mining", "concentration"):
        if stage in stages:
            return _FOLDED.get(stage, stage)
    return "separation"


_FOLDED = {"cracking": "separation", "metal-alloy": "magnet-making", "recycling": "magnet-making",
           "concentration": "mining"}


# The kinds whose labels the trace diagram looks up (the rest come with the answer's rows).
SANKEY_KINDS = ("subsystem", "component", "country", "mine", "facility")


def sankey(answer: dict[str, Any], catalog: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The trace answer as Sankey nodes and links (see the trace page for how to read it).

    Nodes are keyed by column and id (a company's plant and its magnet works are separate nodes, so the
    diagram stays acyclic); each link carries its weight, the number of paths through it and the sources of
    the hop it draws (the first one is where a click goes).
    """
    paths = answer["data"]
    diagram = _Diagram(catalog, paths)
    subsystem = answer["subsystem"]
    sink = diagram.node("subsystem", subsystem, diagram.label_of("subsystem", subsystem), "subsystem")
    for path, (weight, basis) in zip(paths, _weights(paths, answer.get("shares") or {}), strict=True):
        diagram.draw(path, sink, weight, basis)
    return diagram.drawn()


class _Diagram:
    """The nodes and links of a trace's Sankey diagram, filled path by path."""

    def __init__(self, catalog: dict[str, dict[str, Any]], paths: list[dict[str, Any]]):
        self.catalog, self.paths = catalog, paths
        self.nodes: dict[str, dict[str, Any]] = {}
        self.links: dict[tuple[str, str], dict[str, Any]] = {}
        self.site_info = {p["site"]: (p.get("siteLabel"), p.get("country")) for p in paths}
        self.made = {(p["component"], p["material"]) for p in paths if p["hop"] == "magnet-making"}

    def label_of(self, kind: str, ident: str | None) -> str | None:
        return (self.catalog.get(kind, {}).get(ident or "") or {}).get("labelEn")

    def node(self, column: str, ident: str, label: str | None, kind: str, country: str | None = None) -> str:
        key = f"{column}:{ident}"
        if key not in self.nodes:
            shown = label or ident
            if country and column in ("mine", "plant", "maker"):
                shown = f"{shown} ({country})"
            self.nodes[key] = {"name": key, "label": shown, "column": column, "depth": COLUMNS.index(column),
                               "href": doc_url(kind, ident)}
        return key

    def link(self, source: str, target: str, weight: float, basis: str, cited: str | None, hop: str) -> None:
        entry = self.links.setdefault((source, target), {"source": source, "target": target, "weight": 0.0,
                                                          "paths": 0, "basis": basis, "hop": hop,
                                                          "sources": Counter()})
        entry["weight"] += weight
        entry["paths"] += 1
        if basis == "share":
            entry["basis"] = "share"
        if cited:
            entry["sources"][cited] += 1

    def draw(self, path: dict[str, Any], sink: str, weight: float, basis: str) -> None:
        """The links of one path: site to element to component to subsystem (or through a magnet maker)."""
        cited = path.get("hopSources") or {}
        site, kind, country = path["site"], path["siteKind"], path.get("country")
        element = self.node("element", path["element"], path["element"], "element")
        component = self.node("component", path["component"], self.label_of("component", path["component"]),
                              "component")
        if path["hop"] == "magnet-making":
            maker = self.node("maker", site, path.get("siteLabel"), kind, country)
            self.link(element, maker, weight, basis, cited.get("site"), "material made at")
            self.link(maker, component, weight, basis, cited.get("material"), "component uses material")
            self.link(component, sink, weight, basis, cited.get("component"), "subsystem has component")
            return
        column = "mine" if kind == "mine" else "plant"
        here = self.node(column, site, path.get("siteLabel"), kind, country)
        if column == "mine" and country:
            origin = self.node("country", country, self.label_of("country", country) or country, "country")
            self.link(origin, here, weight, basis, cited.get("country"), "located in")
        if path["hop"] == "upstream" and path.get("fedSite"):
            self._feed(path, here, weight, basis, cited.get("feed"))
            return
        self.link(here, element, weight, basis, cited.get("site"), "produces")
        if (path["component"], path["material"]) not in self.made:
            self.link(element, component, weight, basis, cited.get("element"), "material contains element")
            self.link(component, sink, weight, basis, cited.get("component"), "subsystem has component")

    def _feed(self, path: dict[str, Any], here: str, weight: float, basis: str, cited: str | None) -> None:
        """An upstream site's link to the site it supplies."""
        fed = path["fedSite"]
        fed_kind = "mine" if fed in self.catalog.get("mine", {}) else "facility"
        fed_column = "maker" if f"maker:{fed}" in self.nodes or _makes_magnets(self.paths, fed) else "plant"
        fed_label, fed_country = self.site_info.get(fed, (self.label_of(fed_kind, fed), None))
        target = self.node(fed_column, fed, fed_label or self.label_of(fed_kind, fed), fed_kind, fed_country)
        if target != here:
            self.link(here, target, weight, basis, cited, "supplies")

    def drawn(self) -> dict[str, Any]:
        """The diagram: nodes in columns, the links minus any that would close a cycle."""
        out_links = []
        for entry in _acyclic(list(self.links.values())):
            sources = [s for s, _ in entry["sources"].most_common()]
            out_links.append({
                "source": entry["source"], "target": entry["target"],
                "value": round(max(entry["weight"], MIN_WEIGHT), 6), "weight": round(entry["weight"], 6),
                "paths": entry["paths"], "basis": entry["basis"], "hop": entry["hop"], "sources": sources,
                "href": doc_url("source", sources[0]) if sources else None,
                "sourceLabel": self.nodes[entry["source"]]["label"],
                "targetLabel": self.nodes[entry["target"]]["label"],
            })
        used = {x for link_ in out_links for x in (link_["source"], link_["target"])}
        depth = _depths(self.nodes, out_links)
        for key, entry in self.nodes.items():
            entry["depth"] = depth[key]
        ordered = sorted((n for n in self.nodes.values() if n["name"] in used), key=lambda n: (n["depth"], n["label"]))
        return {"nodes": ordered, "links": out_links, "columns": [COLUMN_LABELS[c] for c in COLUMNS]}


def _depths(nodes: dict[str, dict[str, Any]], links: list[dict[str, Any]]) -> dict[str, int]:
    """Each node's column: at least its kind's column, and right of everything that feeds it (a cracking
    plant that feeds a separation plant sits one column left of it)."""
    incoming: dict[str, list[str]] = defaultdict(list)
    for entry in links:
        incoming[entry["target"]].append(entry["source"])
    depth: dict[str, int] = {}

    def place(key: str) -> int:
        if key not in depth:
            depth[key] = COLUMNS.index(nodes[key]["column"])  # a floor, and a guard while recursing
            depth[key] = max([depth[key], *(place(source) + 1 for source in incoming[key])])
        return depth[key]

    for key in sorted(nodes, key=lambda k: COLUMNS.index(nodes[k]["column"])):
        place(key)
    return depth


def _makes_magnets(paths: list[dict[str, Any]], site: str) -> bool:
    return any(p["hop"] == "magnet-making" and p["site"] == site for p in paths)


def _acyclic(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The links minus any that would close a cycle (a Sankey diagram must be acyclic); the paths table still
    lists every path."""
    out: dict[str, set[str]] = defaultdict(set)
    kept = []

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            here = stack.pop()
            if here == goal:
                return True
            if here not in seen:
                seen.add(here)
                stack.extend(out[here])
        return False

    for entry in links:
        if entry["source"] == entry["target"] or reaches(entry["target"], entry["source"]):
            continue
        out[entry["source"]].add(entry["target"])
        kept.append(entry)
    return kept


# --- exposure ----------------------------------------------------------------------------------------------

@bp.get("/exposure")
def exposure_index() -> Response:
    robot = request.args.get("robot")
    if robot:
        params = {k: v for k in ("units", "on") if (v := request.args.get(k))}
        return redirect(url_for("pages.exposure", robot=robot, **params), 303)
    return _render("pages/pick.html", title="Exposure of a robot fleet", action="pages.exposure_index",
                   field="robot", choices=_catalog_list("robot"),
                   intro="Pick a robot model to see its fleet's rare-earth masses, the export controls on them "
                         "and where each stage of their supply is concentrated.")


@bp.get("/exposure/<robot>")
def exposure(robot: str) -> Response:
    given = _page_params("exposure", "units", "on")
    units = given.get("units", DEFAULT_UNITS)
    on = given.get("on")
    params = {"robot": robot, "units": units, **({"on": on} if on else {})}
    answer = _answer("exposure", params)
    names = {e["symbol"]: _names("element", e["symbol"]) for e in answer["data"]["elements"]}
    chart = exposure_chart(answer)
    return _render("pages/exposure.html", title=f"Exposure: {answer['robot']}", answer=answer, names=names,
                   chart=chart, units=units, on=answer["on"], rare_earths=RARE_EARTHS)


def _names(kind: str, ident: str) -> list[str]:
    """Every rdfs:label of an entity (all languages; partner labels included), English first."""
    try:
        entity = _answer(kind, {}, ident)
    except AnswerError:
        return []
    data = entity["data"]
    first = [v for v in data.get("labels", {}).values() if v]
    rest = [s["value"] for s in data.get("statements", []) if s["property"] == "rdfs:label"]
    return list(dict.fromkeys(first + rest))


def exposure_chart(answer: dict[str, Any]) -> dict[str, Any]:
    """Stacked bars: one bar per (rare-earth element, stage), one series per country, the unattributed rest."""
    stages = answer["data"]["stages"]
    elements = [e for e in answer["data"]["elements"] if e["symbol"] in RARE_EARTHS]
    countries: list[str] = []
    for stage in STAGES:
        for s in (stages.get(stage) or {}).get("shares", []):
            if s["share"] > 0 and s["country"] not in countries:
                countries.append(s["country"])
    categories, controlled = [], []
    series: dict[str, list[float | None]] = {c: [] for c in [*countries, "rest"]}
    for element in elements:
        for stage in STAGES:
            summary = stages.get(stage)
            categories.append(f"{element['symbol']} · {STAGE_LABELS[stage]}")
            controlled.append(element["controlStatus"] == "yes")
            published = {s["country"]: s["share"] for s in (summary or {}).get("shares", [])}
            for country in countries:
                series[country].append(round(published.get(country, 0.0), 6) if summary else None)
            series["rest"].append(round(max(0.0, 1 - sum(published.values())), 6) if summary else None)
    return {"categories": categories, "controlled": controlled,
            "series": [{"name": "not attributed" if c == "rest" else c, "data": v} for c, v in series.items()]}


# --- coverage ----------------------------------------------------------------------------------------------

@bp.get("/coverage")
def coverage() -> Response:
    given = _page_params("coverage", "on")
    on = given.get("on")
    answer = _answer("coverage", {**({"on": on} if on else {})})
    return _render("pages/coverage.html", title="Coverage", answer=answer)


# --- scenario ----------------------------------------------------------------------------------------------

@bp.get("/scenario")
def scenario() -> Response:
    countries = request.args.getlist("country")
    elements = request.args.getlist("element")
    stages = request.args.getlist("stage")
    on = request.args.get("on") or None
    answer = None
    if countries:
        restrictions = [{"country": c, "elements": elements, "stages": stages or list(STAGES)} for c in countries]
        body = {"restrictions": restrictions, **({"on": on} if on else {})}
        check_body(body, question("scenario").body_schema() or {})  # the API's body schema
        answer = _answer("scenario", body)
    return _render("pages/scenario.html", title="Scenario: what if supply is cut?", answer=answer,
                   picked={"country": set(countries), "element": set(elements), "stage": set(stages)}, on=on or "",
                   countries=_catalog_list("country"),
                   elements=[e for e in _catalog_list("element") if e["id"] in RARE_EARTHS], stages=STAGES)
