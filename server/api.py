"""The analyst API, ``/api/v1/``: the questions of :mod:`reekg.questions` as JSON (and CSV for lists).

Each question is declared once (:class:`reekg.questions.Question`: path, parameters, summary, body schema,
the function that answers it) and the registry drives the routes registered here, their parameter checks, the
OpenAPI 3.1 document (``/api/v1/openapi.json``) and the docs page, so they cannot disagree. Queries run
through the one runner (:class:`reekg.questions.runner.BackendRunner`) in the killable query workers like any
SPARQL query, with the same limits; answers are cached per build id (a new build empties the cache), since the
graph only changes by a build or a validated write.

Every answer: ``{"ok": true, …, "data": …, "sources": […], "sparql": {name: text}}``; every error:
``{"ok": false, "status": …, "error": "…", "errors": […]}``.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from importlib import resources
from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from reekg.errors import BadParameter, UnsupportedMediaType
from reekg.questions import Question, question, questions
from reekg.questions.core import Answers
from reekg.questions.params import json_body, query_params
from reekg.questions.runner import BackendRunner

from . import conneg, ui
from .warmup import Warmup

bp = Blueprint("api", __name__, url_prefix="/api/v1")
log = logging.getLogger("reekg.server")


# Every question of the registry that has a route, in the order they are published.
ROUTES: tuple[Question, ...] = questions()


def route(name: str) -> Question:
    """The question called ``name`` (the pages use its parameter declarations too)."""
    return question(name)


_CACHE_SIZE = 256


class _Service:
    """The app's Answers over its backend (through the one runner), and the per-build answer cache."""

    def __init__(self, app: Any):
        self.app = app
        settings = app.config["REEKG"]
        self.settings = settings
        self.ns = app.extensions["reekg.namespaces"]
        self.runner = BackendRunner(app.extensions["reekg.backend"], self.ns, max_rows=settings["answer_max_rows"],
                                    timeout=settings["query_timeout"])
        self.answers = Answers(self.runner, self.ns, concentration_threshold=settings["concentration_threshold"])
        # the build's indexes read in the background when a new build is served (the warm_up setting); not
        # beside a single query slot, which each of its queries would take from the requests (503 busy)
        self.warmup: Warmup | None = None
        if settings["warm_up"] and settings["max_concurrent_queries"] < 2:
            log.info("no warm-up of the builds' indexes: max_concurrent_queries = 1 leaves it no query of its own")
        elif settings["warm_up"]:
            self.warmup = Warmup(self.answers, app.extensions["reekg.backend"])
        self.cache: OrderedDict[tuple, dict[str, Any]] = OrderedDict()
        self.cache_build: str | None = None
        self.lock = threading.Lock()

    def _run(self, query: Any, params: dict[str, Any]) -> tuple[list, str | None]:
        """Rows of a query that is not a question's (the browser's), through the same runner."""
        return self.runner(query, params)

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


def install(app: Any) -> _Service:
    """The app's service, made when the app is (not at its first request) and its warm-up started: the first
    request after start-up then finds the build's indexes read (:mod:`.warmup`)."""
    service = app.extensions.get("reekg.api")
    if service is None:
        service = app.extensions["reekg.api"] = _Service(app)
        app.extensions["reekg.warmup"] = service.warmup
        if service.warmup is not None:
            service.warmup.start()
    return service


def _service() -> _Service:
    return install(current_app._get_current_object())  # type: ignore[attr-defined]


def _params(q: Question) -> dict[str, Any]:
    """The query-string parameters of ``q``, typed (see :func:`reekg.questions.params.query_params`)."""
    values = query_params(q.query_params(), request.args, where=f"{bp.url_prefix}{q.path}")
    values.pop("format", None)
    return values


def _body(q: Question) -> dict[str, Any]:
    """The JSON body of ``q``, checked against its schema."""
    if request.args:
        raise BadParameter(next(iter(request.args)), "this route takes a JSON body, not query parameters")
    if request.mimetype != "application/json":
        raise UnsupportedMediaType(f"send the body as application/json, not {request.mimetype or 'nothing'}")
    return json_body(request.get_data(cache=False), q.body_schema() or {}, (q.body or {}).get("example"))


def _wants_csv(q: Question, suffix: bool) -> bool:
    if suffix:
        return True
    if not q.lists:
        return False
    fmt = request.args.get("format")  # checked by _params: json or csv
    if fmt:
        return fmt == "csv"
    chosen = conneg.best_of(request.headers.get("Accept"), ["application/json", "text/csv"])
    return chosen == "text/csv"


def _respond(q: Question, result: dict[str, Any], csv_out: bool) -> Response:
    if csv_out:
        rows = q.rows(result)
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


def _cell(value: Any) -> Any:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _handler(q: Question) -> Callable[..., Response]:
    def handle(ident: str | None = None, suffix: bool = False) -> Response:
        service = _service()
        values = _body(q) if q.body is not None else _params(q)
        result = service.answer(q.key(values, ident), lambda: q.ask(service.answers, values, ident))
        return _respond(q, result, _wants_csv(q, suffix))

    handle.__name__ = f"api_{q.name}"
    return handle


for _q in ROUTES:
    _view = _handler(_q)
    bp.add_url_rule(_q.path, view_func=_view, methods=[_q.method])
    if _q.lists:
        bp.add_url_rule(_q.path + ".csv", endpoint=f"{_view.__name__}_csv", view_func=_view,
                        methods=[_q.method], defaults={"suffix": True})


@bp.get("/openapi.json")
def openapi() -> Response:
    return Response(json.dumps(openapi_document(request.host_url.rstrip("/")), ensure_ascii=False),
                    mimetype="application/json")


@functools.cache
def _swagger_ui_version() -> str:
    """The vendored Swagger UI's version, from the VERSION file scripts/refresh-swagger-ui writes."""
    text = (resources.files("reekg.server") / "static" / "vendor" / "swagger_ui" / "VERSION").read_text("utf-8")
    return next((line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("version:")),
                "unknown")


def _query_text(value: Any) -> str:
    """A parameter's example as a query string spells it: JSON's ``false``, not Python's ``False``."""
    return value if isinstance(value, str) else json.dumps(value)


@bp.get("/docs")
def docs() -> Response:
    """Swagger UI (vendored, ``static/vendor/swagger_ui``) on :func:`openapi`, started by ``static/api_docs.js``
    (no inline script: the CSP allows only this origin's files); without JavaScript, the list of routes."""
    html = render_template("api_docs.html", routes=ROUTES, prefix=bp.url_prefix, asset_url=ui.asset_url,
                           example=_query_text, swagger_version=_swagger_ui_version())
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = ui.CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


_ERROR_SCHEMA = {"$ref": "#/components/schemas/Error"}


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR_SCHEMA}}}


def _parameters(q: Question) -> list[dict[str, Any]]:
    parameters = []
    if q.path_param:
        p = q.path_param
        parameters.append({"name": p.name, "in": "path", "required": True, "description": p.help,
                           "schema": p.schema(), "example": p.example})
    for p in q.query_params():
        parameters.append({"name": p.name, "in": "query", "required": p.required, "description": p.help,
                           "schema": p.schema(), **({"example": p.example} if p.example is not None else {})})
    return parameters


def _operation(q: Question) -> dict[str, Any]:
    """The OpenAPI operation of one question's route."""
    content = {"application/json": {"schema": {"$ref": f"#/components/schemas/{answer_schema_name(q)}"}}}
    if q.lists:
        content["text/csv"] = {"schema": {"type": "string"}}
    body_errors = {"413": _error("a body larger than the max_request_bytes setting"),
                   "415": _error("a body that is not application/json")}
    operation: dict[str, Any] = {
        "operationId": q.name, "summary": q.summary, "parameters": _parameters(q),
        "responses": {
            "200": {"description": "the answer, its sources and the SPARQL behind it", "content": content},
            "400": _error("a malformed or unknown parameter"),
            "404": _error("an id that names nothing; closest matches in errors"),
            **(body_errors if q.body else {}),
            "503": _error("busy, or a query ran past its time limit"),
        },
        "description": "SPARQL behind it: " + ", ".join(f"reekg/questions/sparql/{name}.rq" for name in q.queries),
    }
    if q.body:
        operation["requestBody"] = {"required": True, "content": {"application/json": {
            "schema": q.body_schema(), "example": q.body["example"]}}}
    return operation


def answer_schema_name(q: Question) -> str:
    """The component schema of ``q``'s answer: ``material-users`` → ``MaterialUsersAnswer``."""
    return "".join(part.capitalize() for part in q.name.split("-")) + "Answer"


def _answer_schema(q: Question) -> dict[str, Any]:
    """The envelope every answer shares, with ``q``'s data (``Question.response``; any JSON when undeclared)."""
    return {"description": q.summary, "allOf": [
        {"$ref": "#/components/schemas/Answer"},
        {"type": "object", "properties": {"data": q.response if q.response is not None else {}}}]}


_SOURCE = {"type": "object", "description": "a source the answer cites",
           "required": ["id", "iri", "label", "title", "publisher", "issued", "url"], "properties": {
               "id": {"type": "string"}, "iri": {"type": "string"},
               **{k: {"type": ["string", "null"]} for k in ("label", "title", "publisher", "issued", "url")}}}


def openapi_document(server_url: str = "") -> dict[str, Any]:
    """The OpenAPI 3.1 description of every route in :data:`ROUTES`, with each answer's schema."""
    paths: dict[str, Any] = {}
    for q in ROUTES:
        path = (bp.url_prefix or "") + q.path.replace("<ident>", "{ident}")
        paths.setdefault(path, {})[q.method.lower()] = _operation(q)
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
                "ok": {"const": True}, "data": {},
                "sources": {"type": "array", "items": {"$ref": "#/components/schemas/Source"}},
                "sparql": {"type": "object", "additionalProperties": {"type": "string"},
                           "description": "the SPARQL the answer ran, by saved-query name"}}},
            "Source": _SOURCE,
            **{answer_schema_name(q): _answer_schema(q) for q in ROUTES},
            "Error": {"type": "object", "required": ["ok", "status", "error", "errors"], "properties": {
                "ok": {"const": False}, "status": {"type": "integer"}, "error": {"type": "string"},
                "errors": {"type": "array"}}},
        }},
    }
