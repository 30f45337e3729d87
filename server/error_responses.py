"""The one place that turns errors into responses (the errors themselves, each with its HTTP status, are
:mod:`reekg.errors`).

SPARQL protocol routes answer errors as ``text/plain`` (the parser's message and position for a syntax
error); every other route answers the project's JSON error shape ``{"ok": false, "status", "error",
"errors"}``, or a small HTML page to a browser that prefers text/html (:mod:`reekg.server.error_pages`).
A 500 never shows a stack trace: it is logged with the request id, which the response repeats.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, request
from werkzeug.exceptions import HTTPException

from reekg.errors import ReekgError, ValidationFailed, error_body

from .conneg import parse_accept

log = logging.getLogger("reekg.server")


# --- the one mapping of errors to responses -----------------------------------------------------------------

PageRenderer = Callable[[int, str, list[Any]], Response]
_PAGE_RENDERERS = "reekg.error_pages"  # app.extensions key: blueprint name -> its error page renderer


def draws_its_own_error_pages(bp: Blueprint, render: PageRenderer) -> None:
    """Let the HTML pages of ``bp`` draw a client's mistake (a 4xx :class:`ReekgError`) as a page of their own
    (the pages link the closest ids of an unknown one). The status, and which errors get such a page, are still
    decided here."""
    bp.record_once(lambda state: state.app.extensions.setdefault(_PAGE_RENDERERS, {}).__setitem__(bp.name, render))


def _is_protocol_route() -> bool:
    """The SPARQL protocol's query and update operations answer errors as text/plain."""
    return request.blueprint == "sparql" or request.path.rstrip("/") in ("/sparql", "/update")


def _is_json_route() -> bool:
    """The domain API, the browser's JSON routes and the list downloads answer JSON even to a browser."""
    return request.blueprint == "api" or request.path.startswith(("/api/", "/browse/")) or request.path.endswith(
        (".json", ".csv"))  # by path too: a 404 or 405 matched no route, so it has no blueprint


def _prefers_turtle() -> bool:
    ranges = parse_accept(request.headers.get("Accept") or "")

    def quality(media_type: str) -> float:
        matching = [(r.specificity(media_type), r.q) for r in ranges if r.specificity(media_type) >= 0]
        return max(matching)[1] if matching else 0.0

    return quality("text/turtle") > quality("application/json")


def json_error(status: int, message: str, errors: list[Any] | None = None, **extra: Any) -> Response:
    """The project's JSON error shape as a response (the body from :func:`reekg.errors.error_body`)."""
    return Response(json.dumps(error_body(status, message, errors, **extra), ensure_ascii=False), status=status,
                    mimetype="application/json")


def validation_response(exc: ValidationFailed) -> Response:
    """422 with the report: JSON (the project's error shape, results as objects), or the SHACL report graph
    as Turtle when the client prefers text/turtle."""
    if _prefers_turtle():
        response = Response(exc.report_turtle, status=exc.status, mimetype="text/turtle")
    else:
        response = json_error(exc.status, exc.message, exc.results, report_turtle=exc.report_turtle)
    response.vary.add("Accept")
    return response


def error_response(status: int, message: str, headers: dict[str, str] | None = None,
                   errors: list[Any] | None = None, *, own_page: bool = False) -> Response:
    """The error in the style of the route it happened on: text/plain on the SPARQL protocol routes; the
    page's own error page where ``own_page`` and its blueprint draws one; JSON on the API and downloads; an
    HTML page for a browser that prefers one (issue 14); else the JSON error shape."""
    from .error_pages import html_error, wants_html

    render = current_app.extensions.get(_PAGE_RENDERERS, {}).get(request.blueprint) if own_page else None
    if _is_protocol_route():
        response = Response(message.rstrip("\n") + "\n", status=status, mimetype="text/plain")
    elif render is not None:
        response = render(status, message, errors if errors is not None else [message])
    else:
        page = html_error(status, message, errors) if not _is_json_route() and wants_html() else None
        response = page if page is not None else json_error(status, message, errors)
    response.vary.add("Accept")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _our_fault(status: int) -> bool:
    """A 500 is our fault and its message stays in the log; a 502/503/504 names a store or engine that is
    down, busy or slow, which the client may wait out."""
    return status >= 500 and status not in (502, 503, 504)


def register(app: Flask) -> None:
    """Map every error to a response, in one place."""

    @app.errorhandler(ReekgError)
    def _reekg_error(exc: ReekgError) -> Response:
        if isinstance(exc, ValidationFailed):
            return validation_response(exc)
        if _our_fault(exc.status):
            log.error("request %s failed: %s", g.get("request_id"), exc.message)
            return error_response(exc.status, f"internal error (request id {g.get('request_id')})")
        return error_response(exc.status, exc.message, exc.headers, exc.errors, own_page=exc.status < 500)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        message = exc.description or exc.name
        if exc.code == 413:
            message = f"request body too large: the limit is {app.config['MAX_CONTENT_LENGTH']} bytes"
        response = error_response(exc.code or 500, f"{exc.name}: {message}")
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("request %s failed", g.get("request_id"))
        return error_response(500, f"internal error (request id {g.get('request_id')})")
