"""One error hierarchy, mapped in one place (issue 12, item 3): every error class derives from
reekg.errors.ReekgError and carries its HTTP status; reekg.server.error_responses.register turns any of them into the
answer in the style of the route; and a walk over every route of the app (a wrong method, an unknown id, bad
parameter values) finds every JSON error in exactly the one shape and every SPARQL protocol error in text/plain."""

from __future__ import annotations

import re

import pyoxigraph as ox
import pytest

from reekg import errors
from reekg.cli import main
from reekg.errors import (
    AnswerError,
    BadParameter,
    HomeUnavailable,
    LoadError,
    ReekgError,
    RemoteError,
    UnknownId,
    error_body,
)
from reekg.loaders.problems import Place, Problem
from reekg.loaders.transact import (
    GraphNotFound,
    StoreUnavailable,
    UnsupportedFormat,
    WriteConflict,
    WriteError,
    WriteRefused,
    WriteSyntaxError,
)
from reekg.questions.library import QueryParameterError
from reekg.server.app import create_app
from reekg.server.lexer import RefusedQuery

PROTOCOL_PATHS = {"/sparql", "/update"}  # the SPARQL protocol's operations answer errors as text/plain
UNKNOWN = "zz-no-such-id"
# Bad values for every parameter name a route of ours reads (a route reports the first it checks)
BAD_VALUES = {"element": "Zz\n", "robot": UNKNOWN, "subsystem": UNKNOWN, "units": "lots", "on": "not-a-day",
              "page": "0", "size": "-1", "sort": "sideways", "stage": "nowhere", "status": "maybe",
              "country": "ZZ", "outside": "ZZ\n", "unverified": "perhaps", "function": UNKNOWN,
              "min_temperature": "hot", "q": "", "query": "SELEC nothing", "update": "INSERT nothing",
              "graph": "not an iri", "timeout": "soon", "no-such-parameter": "1"}


def assert_error_shape(response) -> None:
    body = response.get_json()
    assert set(body) == {"ok", "status", "error", "errors"}, body
    assert body["ok"] is False and body["status"] == response.status_code
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["errors"], list) and body["errors"]


def _url(rule) -> str:
    values = {name: UNKNOWN for name in rule.arguments if name not in (rule.defaults or {})}
    return rule.build(values, append_unknown=False)[1]


def _walk(app, client):
    """Every route: its own method with unknown ids, again with bad parameter values, then a wrong method."""
    for rule in app.url_map.iter_rules():
        url = _url(rule)
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        for method in methods:
            if method in ("GET", "DELETE"):
                yield rule, method, client.open(url, method=method)
                yield rule, method, client.open(url, method=method, query_string=BAD_VALUES)
            else:
                yield rule, method, client.open(url, method=method, data="{", content_type="application/json")
                yield rule, method, client.open(url, method=method, data="x", content_type="text/plain")
        yield rule, "PATCH", client.open(url, method="PATCH")


def test_every_route_answers_errors_in_one_shape(app, client):
    seen: dict[str, set[int]] = {}
    redirected: set[str] = set()  # routes that send any id on (a thing's IRI to its description: 303)
    for rule, method, response in _walk(app, client):
        where = f"{method} {rule.rule} -> {response.status_code} {response.mimetype}"
        if response.status_code < 400:
            if 300 <= response.status_code < 400:
                redirected.add(rule.endpoint)
            continue
        assert response.status_code < 500, where  # a client's mistake is never our fault
        seen.setdefault(rule.endpoint, set()).add(response.status_code)
        path = _url(rule).rstrip("/")
        if path in PROTOCOL_PATHS:
            assert response.mimetype == "text/plain", where
            assert response.get_data(as_text=True).strip(), where
        elif response.mimetype == "text/html":  # only the analyst pages draw their own error page
            assert rule.endpoint.startswith("pages."), where
        else:
            assert response.mimetype == "application/json", where
            assert_error_shape(response)
        if method == "PATCH":
            assert response.status_code == 405 and response.headers["Allow"], where
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert set(seen) == endpoints  # every route answered at least one error (the wrong method at worst)
    unknown_ids = {r.endpoint for r in app.url_map.iter_rules() if r.arguments - set(r.defaults or {})} - redirected
    assert all(seen[e] - {405} for e in unknown_ids), {e: seen[e] for e in unknown_ids if not seen[e] - {405}}


def test_the_api_answers_json_even_to_a_browser(client):
    response = client.get(f"/api/v1/robots/{UNKNOWN}", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 404 and response.mimetype == "application/json"
    assert_error_shape(response)
    response = client.patch("/api/v1/trace", headers={"Accept": "text/html,*/*;q=0.8"})
    assert response.status_code == 405 and response.mimetype == "application/json"
    assert_error_shape(response)


def test_a_page_draws_an_unknown_id_with_the_closest_and_the_mappers_status(client):
    response = client.get("/trace/joint-actuatio")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert 'href="/trace/joint-actuation"' in response.get_data(as_text=True)
    assert "Accept" in response.vary


# --- the hierarchy ------------------------------------------------------------------------------------------

def _problem() -> Problem:
    return Problem(Place("data/mines.csv", 7, "country"), "not a country id")


CLASSES = [
    (errors.BadRequest("x"), 400), (errors.QueryError("x"), 400), (errors.Refused("x"), 400),
    (errors.Unauthorized("x"), 401), (errors.Forbidden("x"), 403), (errors.NotFound("x"), 404),
    (errors.NotAcceptable("x"), 406), (errors.PayloadTooLarge("x"), 413), (errors.UnsupportedMediaType("x"), 415),
    (errors.ValidationFailed("x", [{"message": "m"}], ""), 422), (errors.Busy("x"), 503),
    (errors.QueryTimeout(1.0), 503), (errors.NotReady("x"), 503), (errors.ServiceFailure("x"), 500),
    (AnswerError("x"), 400), (BadParameter("units", "a number"), 400), (UnknownId("robot", "r", []), 404),
    (QueryParameterError("on", "not a date"), 400), (RefusedQuery("SERVICE <x>"), 400),
    (LoadError([_problem()]), 422), (HomeUnavailable("the home is a file"), 503),
    (WriteError("x"), 400), (WriteSyntaxError("x"), 400), (UnsupportedFormat("x"), 415), (WriteRefused("x"), 400),
    (GraphNotFound("x"), 404), (StoreUnavailable("x"), 503), (WriteConflict("x"), 409),
    (RemoteError("unavailable", "cannot reach"), 503),
]


@pytest.mark.parametrize("exc, status", CLASSES, ids=lambda v: type(v).__name__ if isinstance(v, Exception) else "")
def test_every_error_is_a_reekg_error_with_its_status(exc, status):
    assert isinstance(exc, ReekgError) and exc.status == status
    assert isinstance(exc.message, str) and exc.message and isinstance(exc.errors, list) and exc.errors
    assert exc.body() == error_body(status, exc.message, exc.errors)


def test_messages_and_details_keep_their_words():
    load = LoadError([_problem()], "tables rejected")
    assert str(load) == "tables rejected\n  data/mines.csv:7:country: not a country id"
    assert load.message == "tables rejected" and load.errors == ["data/mines.csv:7:country: not a country id"]
    assert str(QueryParameterError("on", "not a date")) == "on: not a date"
    assert isinstance(QueryParameterError("on", "x"), ValueError) and isinstance(RefusedQuery("x"), ValueError)
    remote = RemoteError("engine", "the remote store answered 502", engine_status=502)
    assert remote.status == 503 and remote.engine_status == 502 and remote.transient


@pytest.fixture
def raising_app(tmp_path):
    """A small app with test-only routes that raise errors of every layer, as the views would."""
    app = create_app({"home": str(tmp_path)}, store=ox.Store())
    raised = {
        "graph-not-found": GraphNotFound("no graph <urn:x>"),
        "remote": RemoteError("unavailable", "cannot reach the remote store at http://127.0.0.1:9/"),
        "load": LoadError([_problem()], "the write was refused"),
        "parameter": QueryParameterError("on", "not a date"),
        "conflict": WriteConflict("another writer published"),
        "ours": ReekgError("secret internals"),
    }

    @app.get("/test-only/<name>")
    def _raise(name):
        raise raised[name]

    return app


@pytest.mark.parametrize("name, status, words", [
    ("graph-not-found", 404, "no graph <urn:x>"),
    ("remote", 503, "cannot reach the remote store"),
    ("load", 422, "the write was refused"),
    ("parameter", 400, "on: not a date"),
    ("conflict", 409, "another writer published"),
    ("ours", 500, "internal error (request id req-7)"),
])
def test_any_reekg_error_maps_to_its_status_in_the_one_shape(raising_app, name, status, words):
    response = raising_app.test_client().get(f"/test-only/{name}", headers={"X-Request-Id": "req-7"})
    assert response.status_code == status and response.mimetype == "application/json"
    assert_error_shape(response)
    assert words in response.get_json()["error"]
    if name == "ours":
        assert "secret" not in response.get_data(as_text=True)
    if name == "load":
        assert response.get_json()["errors"] == ["data/mines.csv:7:country: not a country id"]
    if name == "parameter":
        assert response.get_json()["errors"] == [{"parameter": "on", "message": "not a date"}]


# --- the CLI: one place too ---------------------------------------------------------------------------------

def test_the_cli_prints_any_reekg_error_as_error_message_and_exits_1(runner, curated_home):
    unknown = runner.invoke(main, ["--home", str(curated_home), "trace", "joint-actuatio"])
    assert unknown.exit_code == 1
    assert re.match(r"error: no subsystem with id 'joint-actuatio'\n", unknown.output), unknown.output
    assert "joint-actuation" in unknown.output  # the closest id, as a detail line
    remote = runner.invoke(main, ["query", "ASK {}"], env={
        "REEKG_HOME": str(curated_home), "REEKG_STORE": "sparql",
        "REEKG_REMOTE_QUERY_URL": "http://127.0.0.1:9/sparql"})
    assert remote.exit_code == 1 and remote.output.startswith("error: the remote SPARQL store is unavailable")
