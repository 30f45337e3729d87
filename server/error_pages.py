"""Errors as pages for browsers (issue 14): a client that prefers ``text/html`` gets a small HTML page with the
message and the site's navigation; every other client keeps the project's JSON error shape, and the SPARQL
protocol routes keep ``text/plain``. Which error gets a page is decided in
:func:`reekg.server.error_responses.error_response`.

A browser is told apart as the query page does (:func:`reekg.server.ui.prefers_html`): its Accept header names
HTML by type, at least as highly as anything else it names; ``*/*``, ``application/json`` or no Accept at all
get JSON. If the page itself cannot be drawn the client still gets the JSON error, never a second failure.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, render_template, request
from werkzeug.datastructures import MultiDict

log = logging.getLogger("reekg.server")
TITLES = {400: "Bad request", 401: "Unauthorized", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
          406: "Not acceptable", 413: "Request too large", 414: "Request URI too long", 415: "Unsupported media type",
          422: "Invalid data", 500: "Internal error", 503: "Service unavailable"}


def wants_html() -> bool:
    """Whether this request comes from a browser that prefers an HTML page."""
    from .ui import prefers_html

    return prefers_html(request.headers.get("Accept"), MultiDict())


def html_error(status: int, message: str, errors: list[Any] | None = None) -> Response | None:
    """The error as a page, or None when the page cannot be drawn (the caller answers JSON instead)."""
    from .ui import CONTENT_SECURITY_POLICY, asset_url

    details = [e["message"] if isinstance(e, dict) and "message" in e else str(e) for e in errors or []]
    parameters = [e["parameter"] for e in errors or [] if isinstance(e, dict) and "parameter" in e]
    try:
        html = render_template("browse/error.html", title=TITLES.get(status, f"Error {status}"), status=status,
                               message=message, details=[d for d in details if d != message],
                               parameters=parameters, asset_url=asset_url)
    except Exception:  # an error page must never fail in turn: the JSON error is still an answer
        log.exception("the HTML error page could not be drawn")
        return None
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response

