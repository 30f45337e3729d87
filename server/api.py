"""The analyst API, ``/api/v1/``: the questions of :mod:`reekg.answers` as JSON (and CSV for lists).

Each route is declared once in :data:`ROUTES` — path, parameters, summary — and that table drives the
handlers' parameter checks, the OpenAPI 3.1 document (``/api/v1/openapi.json``) and the docs page, so they
cannot disagree. Queries run in the killable query workers like any SPARQL query, with the same limits;
answers are cached per build id (a new build empties the cache), since the graph only changes by a build
or a validated write.

Every answer: ``{"ok": true, …, "data": …, "sources": […], "sparql": {name: text}}``; every error:
``{"ok": false, "status": …, "error": "…", "errors": […]}``.
"""

from __future__ import annotations

import csv
import io
import json
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from reekg.answers import SITE_STATUSES, STAGES, Answers, BadParameter
from reekg.errors import ServiceFailure, UnsupportedMediaType
from reekg.questions.library import Query
from reekg.questions.params import ID_SCHEMA, Param, json_body, query_params
from reekg.read.jobs import Job
from reekg.terms import encode_term

from . import conneg

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@dataclass(frozen=True)
class Route:
    path: str  # Flask rule under /api/v1
    name: str
    summary: str
    params: tuple[Param, ...] = ()
    method: str = "GET"
    lists: bool = True  # CSV available
    path_param: Param | None = None
    body: dict[str, Any] | None = None  # the JSON Schema of the request body (with an "example")
    example_path: str = ""
    queries: tuple[str, ...] = field(default_factory=tuple)

    def query_params(self) -> tuple[Param, ...]:
        """The query-string parameters, with ``format`` (json or csv) on routes that answer lists."""
        return self.params + ((_FORMAT,) if self.lists and self.method == "GET" else ())

    def body_schema(self) -> dict[str, Any] | None:
        """The JSON Schema the body is checked against, as the OpenAPI document publishes it."""
        return None if self.body is None else {k: v for k, v in self.body.items() if k != "example"}


_UNVERIFIED = Param("unverified", "boolean", help="also follow facts the curators marked unverified", example=False)
_ON = Param("on", "date", help="the day to judge export controls on (YYYY-MM-DD); today when absent",
            example="2025-06-01")
_STATUS_ON = Param("on", "date", help="the day to judge site statuses on (YYYY-MM-DD); today when absent",
                   example="2025-06-01")
_FORMAT = Param("format", "choice", help="csv for a table of the answer's list (as the .csv suffix does)",
                choices=("json", "csv"))
_MAX_RESTRICTIONS = 50
_MAX_ELEMENTS = 50
SCENARIO_BODY: dict[str, Any] = {
    "type": "object", "required": ["restrictions"], "additionalProperties": False,
    "properties": {
        "restrictions": {"type": "array", "minItems": 1, "maxItems": _MAX_RESTRICTIONS, "items": {
            "type": "object", "required": ["country"], "additionalProperties": False,
            "properties": {
                "country": {**ID_SCHEMA, "description": "ISO 3166-1 alpha-2 code"},
                "elements": {"type": "array", "maxItems": _MAX_ELEMENTS, "uniqueItems": True, "items": ID_SCHEMA,
                             "description": "element symbols; every element when absent or empty"},
                "stages": {"type": "array", "uniqueItems": True, "items": {"type": "string", "enum": list(STAGES)},
                           "description": "stages; every stage when absent or empty"}}}},
        "on": _ON.schema()},
    "example": {"restrictions": [{"country": "CN", "elements": ["Dy", "Tb"], "stages": ["separation"]}],
                "on": "2025-06-01"}}

ROUTES: tuple[Route, ...] = (
    Route("/dependents", "dependents", "Subsystems and robot models that depend on an element, with each path",
          (Param("element", required=True, help="element symbol", example="Dy"), _UNVERIFIED),
          queries=("dependents",)),
    Route("/trace", "trace", "Every path from a subsystem to mines, plants and countries, each hop with its source, "
          "each site with its dated status, and the gaps: elements and stages with no supplier in the graph",
          (Param("subsystem", required=True, help="subsystem id", example="joint-actuation"),
           Param("robot", help="robot id", example="tesla-optimus"), Param("element", help="element symbol"),
           _UNVERIFIED, _STATUS_ON), queries=("trace", "stage-shares", "dependencies", "element-sites", "site-status")),
    Route("/exposure", "exposure", "A robot fleet's magnet and element masses, controls in force (controlStatus "
          "yes / no / unknown with controlAsOf; controlledOn is deprecated: true / false, null when unknown), "
          "concentration",
          (Param("robot", required=True, help="robot id", example="tesla-optimus"),
           Param("units", "integer", required=True, help="fleet size", example=5000), _ON, _UNVERIFIED),
          queries=("fleet-magnet-mass", "in-force", "stage-shares", "robot-grades", "material-contents",
                   "element-sites", "site-status")),
    Route("/substitutes", "substitutes", "Substitutes for an element, ranked, with trade-offs and control status "
          "(avoidsControlsStatus and stillUsesStatus yes / no / unknown; avoidsControls, null when unknown, and "
          "stillUses in the old words are deprecated); with min_temperature, options below it are excluded and "
          "options of unknown temperature flagged",
          (Param("element", required=True, help="element symbol", example="Dy"),
           Param("function", help="function id", example="magnet"), _ON, _UNVERIFIED,
           Param("min_temperature", "integer", help="the operating temperature (°C) an option must hold",
                 example=180, maximum=10_000)),
          queries=("substitutes", "in-force", "substitute-temperatures")),
    Route("/sites", "sites", "Mines and plants by element, stage and status, leaving a country out: each with its "
          "stages, country and dated status (unknown where the graph has none)",
          (Param("element", help="element symbol", example="Dy"),
           Param("stage", "choice", help="a supply-chain stage", choices=STAGES, example="separation"),
           Param("outside", help="leave out sites in this country (ISO 3166-1 alpha-2)", example="CN"),
           Param("status", "choice", help="only sites with this status on the day", choices=SITE_STATUSES,
                 example="operating"), _STATUS_ON, _UNVERIFIED),
          queries=("element-sites", "site-status")),
    Route("/coverage", "coverage", "Element × stage: sites in the graph, how many operate, the share used and its "
          "basis, the newest year; and every gap", (_STATUS_ON, _UNVERIFIED),
          queries=("element-sites", "dependencies", "stage-shares", "site-status")),
    Route("/scenario", "scenario", "What-if: restrict countries, elements and stages; see what is cut",
          (), method="POST", body=SCENARIO_BODY,
          queries=("stage-shares", "dependencies", "element-sites", "site-status", "substitutes", "in-force")),
    Route("/search", "search", "Find any entity by label in en, zh-Hant or zh-Hans (ranked, fuzzy when no match)",
          (Param("q", "text", required=True, help="text to look for", example="釹"),), queries=("search",)),
    Route("/elements/<ident>", "element", "An element with its statements and links", lists=False,
          path_param=Param("ident", required=True, help="element symbol", example="Nd"), queries=("entity",)),
    Route("/functions/<ident>", "function", "A function with its statements and links", lists=False,
          path_param=Param("ident", required=True, help="function id", example="phosphor"), queries=("entity",)),
    Route("/subsystems/<ident>", "subsystem", "A robot subsystem with its statements and links", lists=False,
          path_param=Param("ident", required=True, help="subsystem id", example="joint-actuation"),
          queries=("entity",)),
    Route("/robots/<ident>", "robot", "A robot model with its statements and links", lists=False,
          path_param=Param("ident", required=True, help="robot id", example="tesla-optimus"), queries=("entity",)),
    Route("/countries/<ident>", "country", "A country with production and shares by year and edition",
          lists=False, path_param=Param("ident", required=True, help="ISO 3166-1 alpha-2 code", example="CN"),
          queries=("entity", "country-observations")),
)


def route(name: str) -> Route:
    """The route called ``name`` (the pages use its parameter declarations too)."""
    return next(r for r in ROUTES if r.name == name)


_CACHE_SIZE = 256


class _Service:
    """The app's Answers over its backend, and the per-build answer cache."""

    def __init__(self, app: Any):
        self.app = app
        settings = app.config["REEKG"]
        self.settings = settings
        self.ns = app.extensions["reekg.namespaces"]
        self.answers = Answers(self._run, self.ns, concentration_threshold=settings["concentration_threshold"])
        self.cache: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self.cache_build: str | None = None
        self.lock = threading.Lock()

    def _run(self, query: Query, params: dict[str, Any]) -> tuple[list, str | None]:
        bindings = query.bind(self.ns, **params)
        job = Job(query=query.text, result_format="json", max_rows=self.settings["answer_max_rows"],
                  prefixes=self.ns.prefixes(),
                  substitutions=tuple((v.value, encode_term(t)) for v, t in bindings.items()))
        reply = self.app.extensions["reekg.backend"].execute(job, self.settings["query_timeout"])
        if not reply.ok:
            raise ServiceFailure(f"query {query.name} failed ({reply.error}): {reply.message}")
        if reply.truncated:  # an answer computed from a cut result would be silently wrong
            raise ServiceFailure(f"query {query.name} returned more than answer_max_rows="
                                 f"{self.settings['answer_max_rows']} rows")
        return json.loads(reply.body)["results"]["bindings"], reply.build_id

    def answer(self, key: tuple, compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        if self.settings["answer_cache_mb"] == 0:  # one switch for every answer cache
            return compute()
        build = self.app.extensions["reekg.backend"].snapshot().build_id
        with self.lock:
            if build != self.cache_build:
                self.cache.clear()
                self.cache_build = build
            if key in self.cache:
                self.cache.move_to_end(key)
                return self.cache[key]
        result = compute()
        with self.lock:
            if self.cache_build == build:
                self.cache[key] = result
                while len(self.cache) > _CACHE_SIZE:
                    self.cache.popitem(last=False)
        return result


def _service() -> _Service:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    service = app.extensions.get("reekg.api")
    if service is None:
        service = app.extensions["reekg.api"] = _Service(app)
    return service


def _params(route: Route) -> dict[str, Any]:
    """The query-string parameters of ``route``, typed (see :func:`reekg.questions.params.query_params`)."""
    values = query_params(route.query_params(), request.args, where=f"{bp.url_prefix}{route.path}")
    values.pop("format", None)
    return values


def _wants_csv(route: Route, suffix: bool) -> bool:
    if suffix:
        return True
    if not route.lists:
        return False
    fmt = request.args.get("format")  # checked by _params: json or csv
    if fmt:
        return fmt == "csv"
    chosen = conneg.best_of(request.headers.get("Accept"), ["application/json", "text/csv"])
    return chosen == "text/csv"


def _respond(route: Route, result: dict[str, Any], csv_out: bool) -> Response:
    if csv_out:
        rows = _table_of(route.name, result)
        buffer = io.StringIO()
        columns = list(dict.fromkeys(k for row in rows for k in row))
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in row.items()})
        response = Response(buffer.getvalue(), mimetype="text/csv")
    else:
        response = Response(json.dumps(result, ensure_ascii=False), mimetype="application/json")
    response.vary.add("Accept")
    return response


def _table_of(name: str, result: dict[str, Any]) -> list[dict[str, Any]]:
    """The list a CSV answer holds: the data itself, or the main list of an object answer."""
    data = result["data"]
    if name == "exposure":
        return [{"symbol": e["symbol"], "controlStatus": e["controlStatus"], "controlledOn": e["controlledOn"],
                 "controlAsOf": e["controlAsOf"],
                 "fleetTotalKg": e["fleetTotalKg"], "massPerUnitKg": e["massPerUnitKg"],
                 "fleetMassKg": e["fleetMassKg"], "controls": e["controls"]} for e in data["elements"]]
    if name == "scenario":
        return [{"kind": "subsystem", "id": s["subsystem"], "status": s["status"], "impacts": s["impacts"]}
                for s in data["subsystems"]] + [
                {"kind": "robot", "id": r["robot"], "status": r["status"], "impacts": r["impacts"]}
                for r in data["robots"]]
    return data if isinstance(data, list) else [data]


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _handler(route: Route) -> Callable[..., Response]:
    def handle(ident: str | None = None, suffix: bool = False) -> Response:
        service = _service()
        answers = service.answers
        if route.method == "POST" and route.body is not None:
            if request.args:
                raise BadParameter(next(iter(request.args)), "this route takes a JSON body, not query parameters")
            if request.mimetype != "application/json":
                raise UnsupportedMediaType(f"send the body as application/json, not {request.mimetype or 'nothing'}")
            body = json_body(request.get_data(cache=False), route.body_schema() or {}, route.body["example"])
            key = (route.name, json.dumps(body, sort_keys=True))
            result = service.answer(key, lambda: answers.scenario(body.get("restrictions"), body.get("on")))
            return _respond(route, result, _wants_csv(route, suffix))
        params = _params(route)
        key = (route.name, ident, tuple(sorted(params.items())))
        compute = {
            "dependents": lambda: answers.dependents(**params),
            "trace": lambda: answers.trace(**params),
            "exposure": lambda: answers.exposure(**params),
            "substitutes": lambda: answers.substitutes(**params),
            "search": lambda: answers.search(**params),
            "sites": lambda: answers.sites(**params),
            "coverage": lambda: answers.coverage(**params),
        }.get(route.name) or (lambda: answers.entity(route.name, ident))
        return _respond(route, service.answer(key, compute), _wants_csv(route, suffix))

    handle.__name__ = f"api_{route.name}"
    return handle


for _route in ROUTES:
    _view = _handler(_route)
    bp.add_url_rule(_route.path, view_func=_view, methods=[_route.method])
    if _route.lists:
        bp.add_url_rule(_route.path + ".csv", endpoint=f"{_view.__name__}_csv", view_func=_view,
                        methods=[_route.method], defaults={"suffix": True})


@bp.get("/openapi.json")
def openapi() -> Response:
    return Response(json.dumps(openapi_document(request.host_url.rstrip("/")), ensure_ascii=False),
                    mimetype="application/json")


@bp.get("/docs")
def docs() -> str:
    return render_template("api_docs.html", routes=ROUTES, prefix=bp.url_prefix)


_ERROR_SCHEMA = {"$ref": "#/components/schemas/Error"}


def openapi_document(server_url: str = "") -> dict[str, Any]:
    """The OpenAPI 3.1 description of every route in :data:`ROUTES`."""
    paths: dict[str, Any] = {}
    for route in ROUTES:
        parameters = []
        if route.path_param:
            p = route.path_param
            parameters.append({"name": p.name, "in": "path", "required": True, "description": p.help,
                               "schema": p.schema(), "example": p.example})
        for p in route.query_params():
            parameters.append({"name": p.name, "in": "query", "required": p.required, "description": p.help,
                               "schema": p.schema(), **({"example": p.example} if p.example is not None else {})})
        content = {"application/json": {"schema": {"$ref": "#/components/schemas/Answer"}}}
        if route.lists:
            content["text/csv"] = {"schema": {"type": "string"}}
        operation: dict[str, Any] = {
            "operationId": route.name, "summary": route.summary, "parameters": parameters,
            "responses": {
                "200": {"description": "the answer, its sources and the SPARQL behind it", "content": content},
                "400": {"description": "a malformed or unknown parameter",
                        "content": {"application/json": {"schema": _ERROR_SCHEMA}}},
                "404": {"description": "an id that names nothing; closest matches in errors",
                        "content": {"application/json": {"schema": _ERROR_SCHEMA}}},
                **({"413": {"description": "a body larger than the max_request_bytes setting",
                            "content": {"application/json": {"schema": _ERROR_SCHEMA}}},
                    "415": {"description": "a body that is not application/json",
                            "content": {"application/json": {"schema": _ERROR_SCHEMA}}}} if route.body else {}),
                "503": {"description": "busy, or a query ran past its time limit",
                        "content": {"application/json": {"schema": _ERROR_SCHEMA}}},
            },
            "description": "SPARQL behind it: " + ", ".join(f"reekg/questions/sparql/{q}.rq" for q in route.queries),
        }
        if route.body:
            operation["requestBody"] = {"required": True, "content": {"application/json": {
                "schema": route.body_schema(), "example": route.body["example"]}}}
        path = (bp.url_prefix or "") + route.path.replace("<ident>", "{ident}")
        paths.setdefault(path, {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {"title": "reekg analyst API", "version": "1",
                 "description": "Dependency, traceability, exposure, substitution and what-if answers over the "
                                "Rare-Earth Element Knowledge Graph. Every answer cites its sources and carries the "
                                "SPARQL it ran.",
                 "license": {"name": "CC BY 4.0 (data); MIT (code)", "identifier": "CC-BY-4.0"}},
        "servers": [{"url": server_url or "/"}],
        "paths": paths,
        "components": {"schemas": {
            "Answer": {"type": "object", "required": ["ok", "data", "sources", "sparql"], "properties": {
                "ok": {"const": True}, "data": {}, "sources": {"type": "array", "items": {"type": "object"}},
                "sparql": {"type": "object", "additionalProperties": {"type": "string"}}}},
            "Error": {"type": "object", "required": ["ok", "status", "error", "errors"], "properties": {
                "ok": {"const": False}, "status": {"type": "integer"}, "error": {"type": "string"},
                "errors": {"type": "array"}}},
        }},
    }
