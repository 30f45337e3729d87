"""No input reaches a 500 (issue 10, item 3), as properties: arbitrary text — newlines, Unicode digits, huge
numbers, NUL, quotes — in every path segment and query parameter of the API, the linked-data routes and the
pages, and arbitrary JSON in the scenario body, always answers below 500; the JSON routes in the one error
shape, naming the parameter. In process (Flask's test client over the curated store, queries run inline):
what is checked is the handlers, not the server process (tests/server/test_schemathesis.py fuzzes that).

The examples each property always tries first are the requests that gave 500 before: ``Dy\\n`` (Python's
``$`` matches before a final newline), ``units=²`` (``str.isdigit()`` is true, ``int()`` refuses it), wrong
JSON types and a body nested 10^5 arrays deep.
"""

from __future__ import annotations

import json
import urllib.parse
from collections import Counter

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reekg.questions import params
from reekg.server.api import ROUTES, openapi_document, route

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])

# Values that broke a handler once, or could: a final newline, digits that are not ASCII, numbers past any
# bound, markup and SPARQL, separators, NUL, and a very long one.
TRICKY = ["Dy\n", "CN\n", "Dy\r\n", "\nDy", "²", "٣", "１２", "٢٠٢٥-٠٦-٠١", "2025-06-01\n", "2025-02-30", "0000-01-01",
          "-1", "1e999", "99999999999", "9" * 40, "NaN", "", " ", "\x00", "\t", "%00", "%0A", ".", "..", "~",
          "a" * 10_000, "Ｄｙ", "dy", "DY", 'x" } ; DROP ALL ; #', "<http://evil.example/>", "null", "true",
          "{}", "[]", "Nd.ttl", "Nd.ttl\n", "joint-actuation\n", "tesla-optimus\n"]
TEXT = st.one_of(st.sampled_from(TRICKY), st.text(max_size=30),
                 st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._-]{0,8}", fullmatch=True).map(lambda s: s + "\n"),
                 st.integers(min_value=-10**30, max_value=10**30).map(str))

tally: Counter[str] = Counter()  # requests tried and 5xx answers, reported at the end of the module


@pytest.fixture(scope="module")
def client(app, report_counts):
    yield app.test_client()  # the session's in-process app over the curated build (tests/conftest.py)
    # printed at the end of the run, summed over xdist workers (the closing note's count)
    report_counts("hostile requests in process: {tried} tried, {server_errors} answered 5xx",
                  tried=tally["tried"], server_errors=tally["5xx"])


def call(client, method: str, path: str, query: list[tuple[str, str]] | None = None, **kwargs):
    """One request; counted, and asserted never to be a server error."""
    response = client.open(path, method=method, query_string=query, **kwargs)
    tally["tried"] += 1
    if response.status_code >= 500:
        tally["5xx"] += 1
    assert response.status_code < 500, (method, path, query, response.get_data(as_text=True)[:300])
    return response


def assert_error_shape(response, parameter: str | None = None) -> dict:
    """A JSON error in the project's one shape; with ``parameter``, its first error names it."""
    assert response.mimetype == "application/json", response.get_data(as_text=True)[:200]
    body = response.get_json()
    assert body["ok"] is False and body["status"] == response.status_code
    assert isinstance(body["error"], str) and body["error"]
    assert isinstance(body["errors"], list) and body["errors"]
    if parameter is not None:
        assert body["errors"][0]["parameter"] == parameter, body
    return body


def segment(text: str) -> str:
    return urllib.parse.quote(text, safe="")


# --- the API ---------------------------------------------------------------------------------------------

ENTITY_ROUTES = [r for r in ROUTES if r.path_param]
GET_ROUTES = [r for r in ROUTES if r.method == "GET" and not r.path_param]


@PROPERTY
@given(which=st.sampled_from(ENTITY_ROUTES), ident=TEXT)
@example(which=route("element"), ident="Dy\n")
@example(which=route("country"), ident="CN\n")
def test_an_entity_id_is_answered_or_refused_never_a_500(client, which, ident):
    response = call(client, "GET", "/api/v1" + which.path.replace("<ident>", segment(ident)))
    if response.status_code != 200:
        body = assert_error_shape(response)
        if response.status_code == 400:
            assert body["errors"][0]["parameter"] == which.name


@st.composite
def query_of(draw, which):
    """Some of the route's parameters (its examples, or hostile text), perhaps repeated or unknown ones."""
    pairs = []
    for param in which.query_params():
        choice = draw(st.sampled_from(["example", "hostile", "absent"]))
        if choice == "example" and param.example is not None:
            pairs.append((param.name, str(param.example).lower() if isinstance(param.example, bool)
                          else str(param.example)))
        elif choice == "hostile":
            pairs.append((param.name, draw(TEXT)))
    if draw(st.integers(0, 9)) == 0:
        pairs.append((draw(st.sampled_from([p.name for p in which.params] + ["colour"])), draw(TEXT)))
    return pairs


@PROPERTY
@given(data=st.data(), which=st.sampled_from(GET_ROUTES), csv=st.booleans())
def test_any_query_string_on_the_api_is_answered_or_refused_naming_the_parameter(client, data, which, csv):
    query = data.draw(query_of(which))
    response = call(client, "GET", "/api/v1" + which.path + (".csv" if csv else ""), query)
    if response.status_code == 400:
        body = assert_error_shape(response)
        named = {p.name for p in which.query_params()} | {"colour"}
        assert body["errors"][0]["parameter"] in named
    elif response.status_code != 200:
        assert_error_shape(response)


@pytest.mark.parametrize(("path", "query", "parameter"), [
    ("/api/v1/exposure", [("robot", "tesla-optimus"), ("units", "²")], "units"),
    ("/api/v1/exposure", [("robot", "tesla-optimus"), ("units", "1000000001")], "units"),
    ("/api/v1/exposure", [("robot", "tesla-optimus"), ("units", "5"), ("on", "٢٠٢٥-٠٦-٠١")], "on"),
    ("/api/v1/dependents", [("element", "Dy\n")], "element"),
    ("/api/v1/trace", [("subsystem", "joint-actuation"), ("robot", "tesla-optimus\n")], "robot"),
    ("/api/v1/dependents", [("element", "Dy"), ("format", "xml")], "format"),
    ("/api/v1/dependents", [("element", "Dy"), ("unverified", "")], "unverified"),
    ("/api/v1/search", [("q", "   ")], "q"),
    ("/api/v1/search", [("q", "x" * 201)], "q"),
])
def test_the_values_that_gave_500_are_400s_naming_their_parameter(client, path, query, parameter):
    assert_error_shape(call(client, "GET", path, query), parameter)


# --- the scenario body -----------------------------------------------------------------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
                    max_leaves=12)
FIELD = st.one_of(JSON, st.sampled_from(["CN", "Dy", "separation", "2025-06-01"]))


@st.composite
def scenario_bodies(draw):
    """Bodies near the schema: the right keys with any values, or anything at all."""
    if draw(st.integers(0, 3)) == 0:
        return draw(JSON)
    rule = {key: draw(FIELD) for key in ("country", "elements", "stages") if draw(st.booleans())}
    if draw(st.booleans()):
        rule["elements"] = draw(st.lists(FIELD, max_size=3))
    body = {"restrictions": draw(st.one_of(st.just([rule]), FIELD))}
    if draw(st.booleans()):
        body["on"] = draw(FIELD)
    return body


SCENARIO_500S = [{"restrictions": [{"country": "CN\n"}]}, {"restrictions": [{"country": 1}]},
                 {"restrictions": [{"country": "CN"}], "on": {}}, {"restrictions": [{"country": "CN"}], "on": []},
                 {"restrictions": [{"country": "CN"}], "on": 0}]


def post_scenario(client, raw: bytes, content_type: str = "application/json"):
    return call(client, "POST", "/api/v1/scenario", data=raw, content_type=content_type)


@PROPERTY
@given(body=scenario_bodies())
@example(body=SCENARIO_500S[0])
@example(body=SCENARIO_500S[1])
@example(body=SCENARIO_500S[2])
def test_any_json_body_on_the_scenario_is_answered_or_refused_naming_the_field(client, body):
    response = post_scenario(client, json.dumps(body).encode())
    if response.status_code == 400:
        name = assert_error_shape(response)["errors"][0]["parameter"]
        assert name == "body" or name.startswith("/"), name  # a JSON pointer to the field
    elif response.status_code != 200:
        assert_error_shape(response)


@pytest.mark.parametrize(("raw", "pointer"), [
    *[(json.dumps(body).encode(), pointer) for body, pointer in zip(SCENARIO_500S, [
        "/restrictions/0/country", "/restrictions/0/country", "/on", "/on", "/on"], strict=True)],
    (b'{"restrictions": [{"country": "CN"}], "on": 1e999}', "/on"),
    (b'{"restrictions": [{"country": "CN"}], "on": ""}', "/on"),  # the schema's format: date refuses it
    (b'{"restrictions": [{"country": "CN"}], "on": NaN}', "body"),
    (b'{"restrictions": [{"country": "CN", "elements": null}]}', "/restrictions/0/elements"),
    (b'{"restrictions": [{"country": "CN", "stages": ["smelting"]}]}', "/restrictions/0/stages/0"),
    (b'{"restrictions": [{"country": "CN", "colour": "red"}]}', "/restrictions/0/colour"),
    (b'{"restrictions": [{}]}', "/restrictions/0/country"),
    (b'{"restrictions": []}', "/restrictions"),
    (b"[" * 100_000 + b"]" * 100_000, "body"),  # RecursionError in json.loads before
    (b'{"restrictions": ' + b"[" * 5_000, "body"),
    (b'"' + b'\\"' * 50_000, "body"),  # an unclosed string of escaped quotes: the depth scan stays linear
    (b"\xff\xfe", "body"),
])
def test_the_bodies_that_gave_500_are_400s_naming_the_field_by_json_pointer(client, raw, pointer):
    assert_error_shape(post_scenario(client, raw), pointer)


def test_a_body_that_is_not_json_is_415_and_query_parameters_are_refused(client):
    assert_error_shape(post_scenario(client, b"restrictions=CN", "application/x-www-form-urlencoded"))
    response = call(client, "POST", "/api/v1/scenario", [("on", "2025-06-01")],
                    data=b'{"restrictions": [{"country": "CN"}]}', content_type="application/json")
    assert_error_shape(response, "on")


# --- one declaration: the handler accepts what the OpenAPI document declares, and refuses the rest --------

def test_the_openapi_document_publishes_the_handlers_own_declarations():
    document = openapi_document()
    for which in ROUTES:
        operation = document["paths"]["/api/v1" + which.path.replace("<ident>", "{ident}")][which.method.lower()]
        declared = {p["name"]: p["schema"] for p in operation["parameters"]}
        expected = {p.name: p.schema() for p in which.query_params()}
        if which.path_param:
            expected[which.path_param.name] = which.path_param.schema()
        assert declared == expected
        if which.body:
            assert operation["requestBody"]["content"]["application/json"]["schema"] == which.body_schema()


@PROPERTY
@given(text=TEXT)
def test_a_value_passes_the_check_exactly_when_it_matches_the_published_schema(text):
    """Param.parse and the JSON Schema it publishes agree on every value (with ECMA `$`, as OpenAPI means)."""
    for param in {p.name: p for r in ROUTES for p in (*r.query_params(), *([r.path_param] if r.path_param else []))
                  }.values():
        schema = param.schema()
        value: object = text
        if schema["type"] == "integer":
            value = int(text) if text.isascii() and text.isdigit() else text
        elif schema["type"] == "boolean":
            value = {"true": True, "false": False}.get(text, text)
        try:
            params.check_body(value, schema)
            valid = True
        except params.BadParameter:
            valid = False
        try:
            param.parse(text)
            parsed = True
        except params.BadParameter:
            parsed = False
        assert parsed == valid, (param.name, text)


# --- linked data and the pages ---------------------------------------------------------------------------

@st.composite
def ld_paths(draw):
    kind = draw(st.one_of(st.sampled_from(["element", "country", "robot", "source", "mine"]), TEXT))
    text = draw(TEXT)
    suffix = draw(st.sampled_from(["ttl", "jsonld", "nt", "rdf", "html", "csv", "", "ttl\n"]))
    return draw(st.sampled_from([
        f"/id/{segment(kind)}/{segment(text)}", f"/doc/{segment(kind)}/{segment(text)}",
        f"/data/{segment(kind)}/{segment(text)}.{segment(suffix)}", f"/ontology/{segment(text)}",
        f"/ontology/{segment(text)}.{segment(suffix)}", f"/ontology.{segment(text)}",
        f"/dumps/{segment(text)}/", f"/dumps/{segment(text)}/{segment(kind)}",
    ]))


@PROPERTY
@given(path=ld_paths())
@example(path="/doc/element/Dy%0A")
@example(path="/id/element/Dy%0A")
@example(path="/data/element/Dy%0A.ttl")
def test_any_linked_data_path_is_answered_or_refused_never_a_500(client, path):
    response = call(client, "GET", path)
    if response.status_code >= 400 and response.mimetype == "application/json":
        assert_error_shape(response)


PAGE_PARAMS = {"/search": ["q"], "/trace": ["subsystem", "robot", "element"], "/exposure": ["robot", "units", "on"],
               "/scenario": ["country", "element", "stage", "on"]}
PAGE_EXAMPLES = {"subsystem": "joint-actuation", "robot": "tesla-optimus", "element": "Dy", "units": "5000",
                 "on": "2025-06-01", "country": "CN", "stage": "separation", "q": "釹"}


@st.composite
def page_requests(draw):
    """A page route (with a hostile path segment where it has one) and a query string of its parameters."""
    base = draw(st.sampled_from(["/search", "/trace", "/exposure", "/scenario", "/trace/", "/exposure/", "/"]))
    if base.endswith("/") and base != "/":
        base += segment(draw(st.one_of(TEXT, st.just("joint-actuation" if "trace" in base else "tesla-optimus"))))
    names = PAGE_PARAMS.get("/" + base.strip("/").split("/")[0], [])
    query = []
    for name in names:
        for _ in range(draw(st.integers(0, 2))):
            query.append((name, draw(st.one_of(TEXT, st.just(PAGE_EXAMPLES[name])))))
    return base, query


@PROPERTY
@given(request=page_requests())
@example(request=("/trace/joint-actuation%0A", []))
@example(request=("/exposure/tesla-optimus", [("units", "²")]))
@example(request=("/exposure/tesla-optimus%0A", []))
@example(request=("/trace/joint-actuation", [("robot", "x\n")]))
@example(request=("/scenario", [("country", "CN\n")]))
def test_any_page_request_is_answered_or_refused_never_a_500(client, request):
    path, query = request
    response = call(client, "GET", path, query)
    if response.status_code in (301, 302, 303, 307, 308):
        call(client, "GET", response.headers["Location"])  # where a redirect leads answers too
    elif response.status_code >= 400 and response.mimetype == "application/json":
        assert_error_shape(response)


def test_the_exposure_page_refuses_a_unicode_digit_naming_units(client):
    response = call(client, "GET", "/exposure/tesla-optimus", [("units", "²")])
    assert response.status_code == 400 and "units" in response.get_data(as_text=True)
