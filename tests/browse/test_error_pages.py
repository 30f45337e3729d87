"""HTML error pages for browsers and the favicon (issue 14, item 4), in process: a client that prefers
text/html gets a small page with the message and the site navigation; JSON clients keep the JSON error shape and
the SPARQL protocol routes keep text/plain."""

from __future__ import annotations

import logging

import pyoxigraph as ox
import pytest
from browsekit import BROWSER
from flask import abort

from reekg.server.app import create_app


@pytest.mark.parametrize("path, status, words", [
    ("/doc/no-such-kind/", 404, "no kind of entity"),
    ("/no/such/page", 404, "Not Found"),
    ("/doc/element/Zz", 404, "nothing is known"),
    ("/dumps/not-a-release/", 404, ""),
])
def test_browsers_get_an_html_error_page(client, path, status, words):
    response = client.get(path, headers={"Accept": BROWSER})
    assert response.status_code == status
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert words in page
    assert '<nav aria-label="Site">' in page and 'href="/doc/"' in page
    assert 'rel="icon"' in page
    assert "Accept" in response.vary and "Content-Security-Policy" in response.headers


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json, text/html;q=0.5"])
def test_other_clients_keep_the_json_error_shape(client, accept):
    headers = {"Accept": accept} if accept else {}
    response = client.get("/no/such/page", headers=headers)
    assert response.status_code == 404 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["ok"] is False and body["status"] == 404 and body["errors"]


def test_sparql_protocol_errors_stay_plain_text_for_browsers(client):
    response = client.get("/sparql", query_string={"query": "SELEC nothing"}, headers={"Accept": BROWSER})
    assert response.status_code in (400, 406)
    assert response.mimetype == "text/plain"


def test_a_500_is_a_page_with_the_request_id_and_no_trace(tmp_path, caplog):
    app = create_app({"home": str(tmp_path)}, store=ox.Store())

    @app.get("/test-only/boom")
    def _boom():
        raise RuntimeError("secret internals")

    @app.get("/test-only/teapot")
    def _teapot():
        abort(400, "the kettle")

    client = app.test_client()
    with caplog.at_level(logging.ERROR, logger="reekg.server"):
        response = client.get("/test-only/boom", headers={"Accept": BROWSER, "X-Request-Id": "req-42"})
    assert response.status_code == 500 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "req-42" in page and "secret internals" not in page and "Traceback" not in page
    json_response = client.get("/test-only/boom", headers={"X-Request-Id": "req-43"})
    assert json_response.status_code == 500 and json_response.get_json()["status"] == 500
    bad = client.get("/test-only/teapot", headers={"Accept": BROWSER})
    assert bad.status_code == 400 and "the kettle" in bad.get_data(as_text=True)


def test_an_error_page_that_cannot_be_drawn_falls_back_to_json(client, monkeypatch):
    from reekg.server import error_pages

    def broken(*args, **kwargs):
        raise RuntimeError("template broke")

    monkeypatch.setattr(error_pages, "render_template", broken)
    response = client.get("/no/such/page", headers={"Accept": BROWSER})
    assert response.status_code == 404 and response.mimetype == "application/json"


def test_favicon_is_an_svg_cached_for_long(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    assert response.get_data(as_text=True).startswith("<svg")
    assert "max-age=31536000" in response.headers["Cache-Control"]
    again = client.get("/favicon.ico", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_browser_pages_name_the_icon(client):
    page = client.get("/doc/").get_data(as_text=True)
    assert 'rel="icon" type="image/svg+xml" href="/assets/' in page
