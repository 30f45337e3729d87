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

A request the front has planned before (the same method, query string, body, Content-Type, Accept and request
URL) on the same served build reuses that plan: :func:`plan` reads nothing else, so the job is the one it would
build again (about a third of the front's CPU on a repeated lookup, py-spy). Refusals are never kept.
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
from .sparql import FAILED, Planned, answer, plan

ROUTE = "/sparql"
# What plan() reads of a request beyond its query string, body and method (see _plan_key).
_PLAN_KEYS = ("CONTENT_TYPE", "HTTP_ACCEPT", "wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT",
              "SCRIPT_NAME")
_PLANS_KEPT = 256
_PLAN_CHARS = 4096  # longer requests are planned every time (at most ~256 x 8 KB kept)


class FastSparql:
    """WSGI middleware in front of ``app``'s own WSGI callable (``app.wsgi_app``)."""

    def __init__(self, app: Flask, wsgi_app: Callable):
        self.next = wsgi_app
        self.settings = app.config["REEKG"]
        self.namespaces = app.extensions["reekg.namespaces"]
        self.backend = app.extensions["reekg.backend"]
        self.metrics = app.extensions["reekg.metrics"]
        self.cors = bool(self.settings["cors_origins"].split())
        self._plans: dict[tuple, tuple[Any, Planned]] = {}  # request key -> (the snapshot it was planned on, plan)

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
        planned = self._plan(environ, body)
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

    def _plan(self, environ: dict[str, Any], body: bytes) -> Planned | None:
        """The request's plan (the one made before for the same request on the same build), or None when
        planning refused it or found no query (Flask plans it again and answers)."""
        key = _plan_key(environ, body)
        try:
            snapshot = self.backend.snapshot()  # as plan() reads it: NotReady goes to Flask
            kept = self._plans.get(key) if key is not None else None
            if kept is not None and (kept[0] is snapshot or kept[0] == snapshot):  # plan() reads its graphs
                return kept[1]
            planned = plan(Request(environ), self.settings, self.namespaces, self.backend)
        except Exception:  # refused or malformed: Flask plans it again and answers the error
            return None
        if planned is not None and key is not None:
            if len(self._plans) >= _PLANS_KEPT:
                self._plans.clear()
            self._plans[key] = (snapshot, planned)
        return planned

    def _observe(self, environ: dict[str, Any], started: float, request_id: str, size: int) -> None:
        elapsed = time.perf_counter() - started
        method = environ["REQUEST_METHOD"]
        self.metrics.observe_request(ROUTE, method, 200, elapsed)
        log_access(request_id, method, ROUTE, 200, elapsed, bytes=size, remote=environ.get("REMOTE_ADDR"))


def _plan_key(environ: dict[str, Any], body: bytes) -> tuple | None:
    """What a request's plan depends on, or None for a request too long to keep."""
    query = environ.get("QUERY_STRING", "")
    if len(query) + len(body) > _PLAN_CHARS:
        return None
    return (environ["REQUEST_METHOD"], query, body, *(environ.get(name) for name in _PLAN_KEYS))


class _Unexpected(Exception):
    """A failure that is no :class:`ReekgError`, carried to the view so that its catch-all answers the 500."""

    def __init__(self, cause: BaseException):
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.__cause__ = cause


def mount(app: Flask) -> None:
    """Put the lean front before the app's WSGI callable (inside the answer cache, if any is mounted later)."""
    app.wsgi_app = FastSparql(app, app.wsgi_app)  # type: ignore[method-assign]
