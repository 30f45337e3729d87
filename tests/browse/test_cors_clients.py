"""CORS for a browser client on another origin, as the README describes it (issue 14, item 6): off by default;
with cors_origins listing an origin, the browser's JSON routes and /sparql answer it, a preflight is allowed, and
an origin not listed gets no CORS headers."""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from reekg.server.app import create_app

ORIGIN = "https://dashboard.example.org"


@pytest.fixture(scope="module")
def store(curated_build):
    return ox.Store.read_only(str(curated_build.store_path))


def app_with(store, tmp_path, origins: str):
    return create_app({"home": str(tmp_path), "cors_origins": origins}, store=store).test_client()


@pytest.mark.parametrize("path", ["/doc/element/index.json", "/browse/suggest?q=dys", "/map.json",
                                  "/sparql?query=ASK%20%7B%7D"])
def test_a_listed_origin_may_read_the_answer(store, tmp_path, path):
    client = app_with(store, tmp_path, f"{ORIGIN} http://localhost:5173")
    response = client.get(path, headers={"Origin": ORIGIN, "Accept": "application/sparql-results+json"})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response.vary
    assert "Reekg-Truncated" in response.headers["Access-Control-Expose-Headers"]


def test_a_preflight_is_allowed_for_a_listed_origin(store, tmp_path):
    client = app_with(store, tmp_path, ORIGIN)
    response = client.options("/sparql", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST",
                                                  "Access-Control-Request-Headers": "Content-Type"})
    assert response.status_code == 200
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]
    assert response.headers["Access-Control-Max-Age"] == "600"


@pytest.mark.parametrize("origins", ["", ORIGIN])
def test_cors_is_off_by_default_and_for_other_origins(store, tmp_path, origins):
    client = app_with(store, tmp_path, origins)
    response = client.get("/browse/suggest?q=dys", headers={"Origin": "https://elsewhere.example"})
    assert response.status_code == 200 and "Access-Control-Allow-Origin" not in response.headers


def test_any_origin_with_a_star(store, tmp_path):
    client = app_with(store, tmp_path, "*")
    response = client.get("/doc/element/index.json", headers={"Origin": "https://elsewhere.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
