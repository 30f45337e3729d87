"""The application factory.

``create_app(config=None, *, store=None, backend=None)``: settings come from the registry in
:mod:`reekg.settings` (defaults, then ``REEKG_*`` variables, then ``config``). Collaborators are
parameters: by default queries run in a :class:`~reekg.read.pool.ProcessPool` over the store under the
``home`` setting (or on a remote SPARQL store when the ``store`` setting is ``sparql``); pass ``store`` (a
pyoxigraph Store) to run them in process without a time limit (tests, embedding), or any ``backend``
(:func:`reekg.read.open_backend` is the one decision, shared with the CLI).

Blueprints: ``sparql`` (the protocol), ``writes`` (Update, Graph Store, /validate; off unless ``update_token``
is set; on either kind of store, see :mod:`reekg.loaders.transact`), ``ops`` (health, readiness, metrics). The
query page slots in as a further blueprint.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Mapping
from typing import Any

import pyoxigraph as ox
from flask import Flask, Response, g, request

from reekg import settings as settings_registry
from reekg.loaders.namespaces import Namespaces
from reekg.read import Backend, open_backend

from . import error_responses, sparql_fast
from .metrics import Metrics
from .observe import BatchedLines, log_access
from .observe import request_id as new_request_id


def create_app(config: Mapping[str, Any] | None = None, *, store: ox.Store | None = None,
               backend: Backend | None = None) -> Flask:
    """Build the Flask app (see the module docstring)."""
    settings = settings_registry.load(config)
    app = Flask("reekg.server")
    app.config["REEKG"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings["max_request_bytes"]
    app.json.sort_keys = False  # type: ignore[attr-defined]

    if backend is None:
        backend = open_backend(settings, store=store)
    app.extensions["reekg.backend"] = backend
    app.extensions["reekg.namespaces"] = Namespaces(settings["base_iri"])
    metrics = Metrics()
    app.extensions["reekg.metrics"] = metrics
    metrics.gauges["reekg_query_workers_ready"] = lambda: float(backend.status().get("workers_ready", 0))

    from .api import bp as api_bp
    from .browse import bp as browse_bp
    from .changes import bp as changes_bp
    from .ld import bp as ld_bp
    from .ops import bp as ops_bp
    from .pages import bp as pages_bp
    from .sparql import bp as sparql_bp
    from .ui import bp as ui_bp
    from .writes import bp as writes_bp

    app.register_blueprint(sparql_bp)
    app.register_blueprint(ops_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(ui_bp)
    app.register_blueprint(writes_bp)
    app.register_blueprint(ld_bp)
    app.register_blueprint(changes_bp)
    app.register_blueprint(pages_bp)
    app.register_blueprint(browse_bp)
    error_responses.register(app)
    _observe(app, metrics)
    sparql_fast.mount(app)
    if settings["answer_cache_mb"] > 0:
        from .cache import AnswerCache

        app.wsgi_app = AnswerCache(app.wsgi_app, lambda: backend.snapshot().build_id,  # type: ignore[method-assign]
                                   max_bytes=settings["answer_cache_mb"] << 20, observe=_observe_replay(metrics))
    _cors(app, settings["cors_origins"].split())
    from .api import install as install_api

    install_api(app)  # the analyst service now, with its warm-up of the build's indexes (not at the first request)
    return app


def _observe(app: Flask, metrics: Metrics) -> None:
    """Request ids, the JSON access log and the request metrics."""

    @app.before_request
    def _start() -> None:
        g.request_id = new_request_id(request.headers.get("X-Request-Id"))
        g.started = time.perf_counter()

    @app.after_request
    def _finish(response: Response) -> Response:
        elapsed = time.perf_counter() - g.get("started", time.perf_counter())
        response.headers["X-Request-Id"] = g.get("request_id", "")
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.observe_request(route, request.method, response.status_code, elapsed)
        log_access(g.get("request_id"), request.method, request.path, response.status_code, elapsed,
                   bytes=response.content_length, remote=request.remote_addr)
        return response


def _observe_replay(metrics: Metrics):
    """Metrics and the access log for an answer the cache replayed without entering Flask."""

    def observe(environ: dict[str, Any], status: int, seconds: float, request_id: str) -> None:
        path = environ.get("PATH_INFO", "")
        route = "/sparql" if path == "/sparql" else "/" + "/".join(path.split("/")[1:3])  # bounded labels
        metrics.count_cache_hit()
        metrics.observe_request(route, "GET", status, seconds)
        log_access(request_id, "GET", path, status, seconds, cache="hit", remote=environ.get("REMOTE_ADDR"))

    return observe


def _cors(app: Flask, origins: list[str]) -> None:
    """CORS, only when the cors_origins setting lists origins (or '*')."""
    if not origins:
        return

    @app.after_request
    def _allow(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if origin and ("*" in origins or origin in origins):
            response.headers["Access-Control-Allow-Origin"] = "*" if "*" in origins else origin
            response.headers["Access-Control-Expose-Headers"] = "Reekg-Truncated, X-Request-Id, Retry-After"
            if request.method == "OPTIONS":
                response.headers["Access-Control-Allow-Methods"] = "GET, POST, HEAD, OPTIONS"
                response.headers["Access-Control-Allow-Headers"] = "Content-Type, Accept, Authorization"
                response.headers["Access-Control-Max-Age"] = "600"
            if "*" not in origins:
                response.vary.add("Origin")
        return response


def configure_logging(level: int = logging.INFO) -> None:
    """Plain lines for reekg.server, one JSON object a line for reekg.access, on stderr."""
    for name, make in (("reekg.access", BatchedLines), ("reekg.server", logging.StreamHandler)):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = make(sys.stderr)
            handler.setFormatter(logging.Formatter("%(message)s"))
            logger.addHandler(handler)
        logger.setLevel(level)
        logger.propagate = False
