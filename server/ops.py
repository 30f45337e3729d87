"""Operations: ``/healthz`` (the process answers), ``/readyz`` (a store is open and a query worker is up; its
``warm_up`` says which build's indexes this process is reading or has read, :mod:`.warmup`) and ``/metrics``
(Prometheus text format)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from reekg.errors import NotReady, ServiceError
from reekg.read.jobs import can_answer

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers (200 even when no store can be served: restarting would not help;
    ``/readyz`` answers 503 then, and this body says why)."""
    body = {"ok": True, "status": "alive"}
    try:
        current_app.extensions["reekg.backend"].snapshot()
    except ServiceError as exc:
        body["store"] = f"unavailable: {exc.message}"
    return jsonify(body)


@bp.get("/readyz")
def readyz() -> Response:
    backend = current_app.extensions["reekg.backend"]
    try:
        snapshot = backend.snapshot()
    except ServiceError as exc:
        raise NotReady(f"not ready: {exc.message}") from None
    status = backend.status()
    if not can_answer(status):
        raise NotReady("not ready: no query worker has started yet")
    body = {"ok": True, "build_id": snapshot.build_id, "graphs": len(snapshot.graphs), "backend": status}
    warmup = current_app.extensions.get("reekg.warmup")  # ready means "can answer": warming or not
    body["warm_up"] = warmup.status() if warmup is not None else {"enabled": False}
    fallback = getattr(snapshot, "fallback", None)
    if fallback:  # serving an older intact store: ready, and saying so (issue 10)
        body["fallback"] = {"reason": fallback, "serving": snapshot.build_id}
    return jsonify(body)


@bp.get("/metrics")
def metrics() -> Response:
    text = current_app.extensions["reekg.metrics"].render()
    return Response(text, content_type="text/plain; version=0.0.4; charset=utf-8")
