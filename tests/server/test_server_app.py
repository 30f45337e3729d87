"""The app in process (no time limit, no HTTP): the factory, CORS opt-in and the 500 contract."""

from __future__ import annotations

import logging

import pyoxigraph as ox
import pytest
from serverkit import fixture_quads

from reekg.read.jobs import Reply
from reekg.server.app import create_app
from reekg.settings import SettingsError
from reekg.terms import to_oxigraph


@pytest.fixture
def store() -> ox.Store:
    memory = ox.Store()
    memory.extend(ox.Quad(*(to_oxigraph(t) for t in quad)) for quad in fixture_quads()[:12])
    return memory


def test_an_unknown_or_mistyped_setting_stops_the_app():
    with pytest.raises(SettingsError, match="unknown setting 'max_rowz'"):
        create_app({"max_rowz": 5}, store=ox.Store())
    with pytest.raises(SettingsError, match="max_rows"):
        create_app({"max_rows": "many"}, store=ox.Store())


def test_cors_is_off_unless_origins_are_listed(store):
    query = {"query": "ASK {}"}
    plain = create_app(store=store).test_client().get("/sparql", query_string=query,
                                                      headers={"Origin": "https://yasgui.example"})
    assert "Access-Control-Allow-Origin" not in plain.headers
    app = create_app({"cors_origins": "https://yasgui.example"}, store=store)
    allowed = app.test_client().get("/sparql", query_string=query, headers={"Origin": "https://yasgui.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://yasgui.example"
    other = app.test_client().get("/sparql", query_string=query, headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    preflight = app.test_client().options("/sparql", headers={"Origin": "https://yasgui.example",
                                                              "Access-Control-Request-Method": "POST"})
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]


class _Broken:
    def snapshot(self):
        from reekg.read import Snapshot

        return Snapshot("x", frozenset())

    def execute(self, job, timeout):
        raise RuntimeError("secret internals /etc/passwd")

    def status(self):
        return {"workers_ready": 1}

    def close(self):
        pass


def test_a_500_shows_no_trace_and_is_logged_with_its_request_id(caplog):
    app = create_app(backend=_Broken())
    with caplog.at_level(logging.ERROR, logger="reekg.server"):
        answer = app.test_client().get("/sparql", query_string={"query": "ASK {}"}, headers={"X-Request-Id": "r-1"})
    assert answer.status_code == 500
    body = answer.get_data(as_text=True)
    assert "secret" not in body and "Traceback" not in body
    assert "r-1" in body and answer.headers["X-Request-Id"] == "r-1"
    assert any("r-1" in record.getMessage() for record in caplog.records)


class _Failing(_Broken):
    def execute(self, job, timeout):
        return Reply(ok=False, error="evaluation", message="engine said no")


def test_an_engine_failure_is_our_fault_not_a_400(caplog):
    with caplog.at_level(logging.ERROR, logger="reekg.server"):
        answer = create_app(backend=_Failing()).test_client().get("/sparql", query_string={"query": "ASK {}"})
    assert answer.status_code == 500
    assert "engine said no" not in answer.get_data(as_text=True)


def test_readyz_is_503_without_a_store(tmp_path):
    app = create_app({"home": str(tmp_path / "empty"), "query_workers": 1})
    try:
        answer = app.test_client().get("/readyz")
        assert answer.status_code == 503
        assert answer.json["ok"] is False and "no store" in answer.json["error"]
        assert answer.headers["Retry-After"]
    finally:
        app.extensions["reekg.backend"].close()
