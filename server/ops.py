"""Operations: ``/healthz`` (the process answers), ``/readyz`` (a store is open and a query worker is up)
and ``/metrics`` (Prometheus text format)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from .errors import NotReady, ServiceError

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    return jsonify({"ok": True, "status": "alive"})


@bp.get("/readyz")
def readyz() -> Response:
    backend = current_app.extensions["reekg.backend"]
    try:
        snapshot = backend.snapshot()
    except ServiceError as exc:
        raise NotReady(f"not ready: {exc.message}") from None
    status = backend.status()
    if not status.get("workers_alive", status.get("workers_ready", 0)):
        raise NotReady("not ready: no query worker has started yet")
    return jsonify({"ok": True, "build_id": snapshot.build_id, "graphs": len(snapshot.graphs), "backend": status})


@bp.get("/metrics")
def metrics() -> Response:
    text = current_app.extensions["reekg.metrics"].render()
    return Response(text, content_type="text/plain; version=0.0.4; charset=utf-8")
