"""No input reaches a 500 on the entity browser's routes (issue 14, item 1), as properties: arbitrary text in
the kind, every query parameter and the suggest text always answers below 500, and a 400 names the parameter.
In process, over the curated store (queries run inline), like tests/server/test_api_properties.py."""

from __future__ import annotations

import urllib.parse

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
TRICKY = ["CN\n", "mine\n", "²", "１２", "", " ", "\x00", "%00", "..", "a" * 5000, 'x" } ; DROP ALL ; #',
          "<http://evil.example/>", "0", "-1", "9" * 40, "釹", "index.csv", "label\n", "US"]
TEXT = st.one_of(st.sampled_from(TRICKY), st.text(max_size=30))
PARAMS = st.sampled_from(["country", "stage", "status", "confidence", "sort", "page", "size", "q", "x"])
KINDS = st.one_of(st.sampled_from(["element", "facility", "mine", "source", "nope"]), TEXT)


def check(response):
    assert response.status_code < 500, response.get_data(as_text=True)[:300]
    if response.status_code == 400:
        body = response.get_json()
        assert body["ok"] is False and body["errors"][0]["parameter"]
    return response


@PROPERTY
@given(kind=KINDS, suffix=st.sampled_from(["", "index.csv", "index.json"]),
       query=st.lists(st.tuples(PARAMS, TEXT), max_size=4))
@example(kind="facility", suffix="", query=[("country", "US\n")])
@example(kind="facility", suffix="index.json", query=[("page", "²")])
@example(kind="mine\n", suffix="", query=[])
def test_index_routes_never_answer_500(client, kind, suffix, query):
    path = "/doc/" + urllib.parse.quote(kind, safe="") + "/" + suffix
    check(client.get(path, query_string=query))


@PROPERTY
@given(query=st.lists(st.tuples(st.sampled_from(["q", "q", "limit"]), TEXT), max_size=3))
@example(query=[("q", "Dy\n")])
@example(query=[("q", "\x00")])
def test_suggest_never_answers_500(client, query):
    response = check(client.get("/browse/suggest", query_string=query))
    if response.status_code == 200:
        assert len(response.get_json()["suggestions"]) <= 10
