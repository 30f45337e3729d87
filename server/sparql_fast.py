"""A lean front for the SPARQL query operation: GET and POST ``/sparql`` with a query, answered without Flask's
per-request machinery (issue 13).

Measured with py-spy on small lookups (answer cache off, 8 clients), Flask's request path (contexts, sessions,
routing, the before/after hooks, the response object) took about a third of the HTTP process's CPU, more than
the engine. This WSGI middleware reads the request with werkzeug's plain ``Request``, plans the query with the
view's own :func:`reekg.server.sparql.plan`, runs it on the same backend (so the same worker pool, time limit,
fairness and caps) and writes the answer with :func:`reekg.server.sparql.answer`: the same status, headers and
body as the view.

Anything else goes to Flask untouched: other routes and methods, a request without a query (the service
description, the query page), a request that carries an ``Origin`` when CORS is on, and every request the
planning refuses (Flask plans it again and answers the error as always; a POST body is handed on). An error
met while running the query is handed to the view, which raises it (:data:`reekg.server.sparql.FAILED`), so
errors keep their one mapping (:mod:`reekg.server.error_responses`). Request ids, the metrics and the access log
are kept as :func:`reekg.server.app._observe` keeps them.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from werkzeug.wrappers import Request

from reekg.errors import ReekgError

from .observe import log_access
from .observe import request_id as new_request_id
from .sparql import FAILED, answer, plan

ROUTE = "/sparql"


class FastSparql:
    """WSGI middleware in front of ``app``'s own WSGI callable (``app.wsgi_app``)."""

    def __init__(self, app: Flask, wsgi_app: Callable):
        self.next = wsgi_app
        self.settings = app.config["REEKG"]
        self.namespaces = app.extensions["reekg.namespaces"]
        self.backend = app.extensions["reekg.backend"]
        self.metrics = app.extensions["reekg.metrics"]
        self.cors = bool(self.settings["cors_origins"].split())

    def _mine(self, environ: dict[str, Any]) -> bool:
        method = environ.get("REQUEST_METHOD")
        if environ.get("PATH_INFO") != ROUTE or method not in ("GET", "POST"):
            return False
        if self.cors and "HTTP_ORIGIN" in environ:
            return False  # the CORS headers are the app's after_request
        if method == "GET":
            return "query=" in environ.get("QUERY_STRING", "")
        length = environ.get("CONTENT_LENGTH") or ""
        # no length (chunked) or past the limit: Flask reads it and answers as always
        return length.isdigit() and int(length) <= self.settings["max_request_bytes"]

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        if not self._mine(environ):
            return self.next(environ, start_response)
        started = time.perf_counter()
        body = b""
        if environ["REQUEST_METHOD"] == "POST":
            body = environ["wsgi.input"].read(int(environ["CONTENT_LENGTH"]))
            environ["wsgi.input"] = io.BytesIO(body)
        try:
            planned = plan(Request(environ), self.settings, self.namespaces, self.backend)
        except Exception:  # refused or malformed: Flask plans it again and answers the error
            planned = None
        if planned is None:
            environ["wsgi.input"] = io.BytesIO(body)
            return self.next(environ, start_response)
        try:
            reply = self.backend.execute(planned.job, planned.timeout)
            payload, headers = answer(reply, self.settings["max_rows"])
        except Exception as exc:  # every failure is answered by the view's one error mapping
            environ[FAILED] = exc if isinstance(exc, ReekgError) else _Unexpected(exc)
            return self.next(environ, start_response)
        if reply.truncated:
            self.metrics.count_truncated()
        request_id = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
        headers.append(("X-Request-Id", request_id))
        start_response("200 OK", headers)
        self._observe(environ, started, request_id, len(payload))
        return [payload]

    def _observe(self, environ: dict[str, Any], started: float, request_id: str, size: int) -> None:
        elapsed = time.perf_counter() - started
        method = environ["REQUEST_METHOD"]
        self.metrics.observe_request(ROUTE, method, 200, elapsed)
        log_access(request_id, method, ROUTE, 200, elapsed, bytes=size, remote=environ.get("REMOTE_ADDR"))


class _Unexpected(Exception):
    """A failure that is no :class:`ReekgError`, carried to the view so that its catch-all answers the 500."""

    def __init__(self, cause: BaseException):
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.__cause__ = cause


def mount(app: Flask) -> None:
    """Put the lean front before the app's WSGI callable (inside the answer cache, if any is mounted later)."""
    app.wsgi_app = FastSparql(app, app.wsgi_app)  # type: ignore[method-assign]
