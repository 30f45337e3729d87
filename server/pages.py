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
from typing import Any

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.routing import BuildError

from reekg.errors import AnswerError, BadParameter, NotFound
from reekg.questions import question
from reekg.questions.core import STAGES
from reekg.questions.params import ID_PATTERN, check_body

from . import api, error_responses, ui
from .sankey import SANKEY_KINDS, sankey

bp = Blueprint("pages", __name__, template_folder="templates")

DEFAULT_UNITS = 1000
_ID = re.compile(ID_PATTERN)  # fullmatch: Python's `$` would pass "Dy\n"
# The 17 rare earths by symbol: stage shares (USGS, IEA) are of rare earths as a group, so the exposure page
# draws them for these elements only (B and Fe of a magnet get no share bars).
RARE_EARTHS = ("Sc", "Y", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu")
STAGE_LABELS = {"mining": "mining", "separation": "separation", "magnet-making": "magnet making"}
_RULE_SPLIT = re.compile(r"[\s;]+")  # one restrict value may hold several rules (the form's text box)


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


def percent(value: Any) -> str:
    """A share (0–1) as a percentage for people: "69.2 %", "0.18 %", "< 0.01 %"; "unknown" when absent (the
    exact value stays in the JSON and in the title of the element that shows it)."""
    if value is None:
        return "unknown"
    share = float(value) * 100
    if share == 0:
        text = "0"
    elif abs(share) < 0.01:
        text = "< 0.01"
    elif abs(share) < 1:
        text = f"{share:.2f}".rstrip("0").rstrip(".")
    else:
        text = f"{share:.1f}".removesuffix(".0")
    return text + "\N{NO-BREAK SPACE}%"


def label(kind: str | None, ident: str | None) -> str | None:
    """The English label of one of our entities (the catalogue the answers resolve ids with), or None."""
    if not kind or not ident or not _ID.fullmatch(str(kind)):
        return None
    row = _service().answers.kind_entities(str(kind)).get(str(ident)) or {}
    return row.get("labelEn")


def _render(template: str, status: int = 200, **context: Any) -> Response:
    html = render_template(
        template, asset_url=ui.asset_url, doc_url=doc_url, sparql_url=sparql_url, label=label, percent=percent,
        query_page=_url("ui.page", "/sparql"), api_docs=_url("api.docs", "/api/v1/docs"),
        dumps=_url("ld.dumps", "/dumps/"), stage_labels=STAGE_LABELS, **context)
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = ui.CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


def _downloads(answer: dict[str, Any], permalink: str, data: str, table: str) -> dict[str, Any]:
    """Where to get this view again: its permalink (every parameter, the day it was judged on included), the
    same answer as JSON and CSV, and each saved SPARQL query it ran as an .rq file."""
    return {"permalink": permalink, "json": data, "csv": table,
            "queries": [{"name": name, "href": url_for("pages.query_file", name=name)}
                        for name in answer.get("sparql") or {}]}


@bp.get("/queries/<name>.rq")
def query_file(name: str) -> Response:
    """A saved query of the answers, as the file it is (``reekg/questions/sparql/{name}.rq``, under this
    graph's base), to download and run anywhere."""
    query = _service().answers.queries.get(name)
    if query is None:
        raise NotFound(f"no saved query is called {name!r}")
    response = Response(query.text, content_type="application/sparql-query; charset=utf-8")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.rq"'
    response.headers["X-Content-Type-Options"] = "nosniff"
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
        params = {k: v for k in ("robot", "element", "on") if (v := request.args.get(k))}
        return redirect(url_for("pages.trace", subsystem=subsystem, **params), 303)
    return _render("pages/pick.html", title="Trace a subsystem", action="pages.trace_index",
                   field="subsystem", choices=_catalog_list("subsystem"),
                   intro="Pick a robot subsystem to trace to the mines, plants and countries its rare earths "
                         "come from.")


@bp.get("/trace/<subsystem>")
def trace(subsystem: str) -> Response:
    params = _page_params("trace", "robot", "element", "on")
    answer = _answer("trace", {"subsystem": subsystem, **params})
    answers = _service().answers
    chart = sankey(answer, {kind: answers.kind_entities(kind) for kind in SANKEY_KINDS}, doc_url)
    shown = {**params, "on": answer["on"]}  # the day judged on, so the permalink gives the same answer tomorrow
    downloads = _downloads(answer, url_for("pages.trace", subsystem=subsystem, **shown),
                           _url("api.api_trace", "/api/v1/trace", subsystem=subsystem, **shown),
                           _url("api.api_trace_csv", "/api/v1/trace.csv", subsystem=subsystem, **shown))
    title = label("subsystem", answer["subsystem"]) or answer["subsystem"]
    return _render("pages/trace.html", title=f"Trace: {title}", answer=answer, chart=chart, params=params,
                   downloads=downloads, robots=_catalog_list("robot"), elements=_catalog_list("element"))


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
    shown = {"units": units, "on": answer["on"]}
    downloads = _downloads(answer, url_for("pages.exposure", robot=robot, **shown),
                           _url("api.api_exposure", "/api/v1/exposure", robot=robot, **shown),
                           _url("api.api_exposure_csv", "/api/v1/exposure.csv", robot=robot, **shown))
    title = label("robot", answer["robot"]) or answer["robot"]
    return _render("pages/exposure.html", title=f"Exposure: {title}", answer=answer, names=names,
                   chart=chart, units=units, on=answer["on"], rare_earths=RARE_EARTHS, downloads=downloads)


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

def restrictions_of(values: list[str]) -> list[dict[str, Any]]:
    """``restrict`` values as the API's restrictions, written as the CLI's ``--restrict COUNTRY:ELEMENTS:STAGES``
    (``CN:Dy,Tb:separation``; an empty part means every element or stage; several rules may share one value,
    separated by spaces or ``;``)."""
    rules = []
    for text in (t for value in values for t in _RULE_SPLIT.split(value) if t):
        parts = text.split(":")
        if len(parts) > 3 or not parts[0]:
            raise BadParameter("restrict", f"{text!r}: write COUNTRY:ELEMENTS:STAGES, e.g. CN:Dy,Tb:separation")
        parts += [""] * (3 - len(parts))
        rules.append({"country": parts[0], "elements": [e for e in parts[1].split(",") if e],
                      "stages": [s for s in parts[2].split(",") if s] or list(STAGES)})
    return rules


def restrict_text(rule: dict[str, Any]) -> str:
    """One restriction as ``COUNTRY:ELEMENTS:STAGES``, empty parts (every element, every stage) left out."""
    stages = "" if set(rule.get("stages") or STAGES) == set(STAGES) else ",".join(rule["stages"])
    return ":".join([rule["country"], ",".join(rule.get("elements") or []), stages]).rstrip(":")


def _scenario_answer() -> tuple[dict[str, Any] | None, list[dict[str, Any]], str | None]:
    """The scenario of this request's ``restrict`` and ``on``, checked as the API checks its body."""
    rules = restrictions_of(request.args.getlist("restrict"))
    on = request.args.get("on") or None
    if not rules:
        return None, rules, on
    body = {"restrictions": rules, **({"on": on} if on else {})}
    check_body(body, question("scenario").body_schema() or {})  # the API's body schema
    return _answer("scenario", body), rules, on


def _form_state(rules: list[dict[str, Any]]) -> dict[str, Any]:
    """The scenario form as the rules fill it: checkboxes when every country shares its elements and stages,
    else the rules as text (the checkboxes cannot say "Dy in CN, Nd in MM")."""
    if len({(tuple(r["elements"]), tuple(r["stages"])) for r in rules}) > 1:
        return {"picked": {"country": set(), "element": set(), "stage": set()},
                "restrict": " ".join(restrict_text(r) for r in rules)}
    every_stage = all(set(r["stages"]) == set(STAGES) for r in rules)
    return {"picked": {"country": {r["country"] for r in rules}, "element": {e for r in rules for e in r["elements"]},
                       "stage": set() if every_stage else {s for r in rules for s in r["stages"]}}, "restrict": ""}


@bp.get("/scenario")
def scenario() -> Response:
    countries = request.args.getlist("country")
    if countries:  # the checkbox form: the same view under its permalink, restrict=COUNTRY:ELEMENTS:STAGES
        elements, stages = request.args.getlist("element"), request.args.getlist("stage")
        restrict = [restrict_text({"country": c, "elements": elements, "stages": stages}) for c in countries]
        restrict = list(dict.fromkeys(restrict + [v for v in request.args.getlist("restrict") if v.strip()]))
        on = request.args.get("on")
        return redirect(url_for("pages.scenario", restrict=restrict, **({"on": on} if on else {})), 303)
    answer, rules, on = _scenario_answer()
    downloads = None
    if answer:
        shown = {"restrict": [restrict_text(r) for r in answer["restrictions"]], "on": answer["on"]}
        downloads = _downloads(answer, url_for("pages.scenario", **shown), url_for("pages.scenario_file", suffix="json",
                               **shown), url_for("pages.scenario_file", suffix="csv", **shown))
    return _render("pages/scenario.html", title="Scenario: what if supply is cut?", answer=answer,
                   on=on or "", downloads=downloads, **_form_state(rules),
                   countries=_catalog_list("country"),
                   elements=[e for e in _catalog_list("element") if e["id"] in RARE_EARTHS], stages=STAGES)


@bp.get("/scenario.json", defaults={"suffix": "json"})
@bp.get("/scenario.csv", defaults={"suffix": "csv"})
def scenario_file(suffix: str) -> Response:
    """The scenario of the page's permalink as the API answers it (JSON, or its CSV table): the API takes a
    POST body, a link cannot."""
    answer, _, _ = _scenario_answer()
    if answer is None:
        raise BadParameter("restrict", "give at least one restriction, e.g. restrict=CN:Dy,Tb:separation")
    return api._respond(question("scenario"), answer, suffix == "csv")
