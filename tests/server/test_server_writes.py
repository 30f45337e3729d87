"""Writes against a real `reekg serve` process with an update token, on a copy of the curated store: the shared
write cases of writekit.py (tokens, validated transactions, the Graph Store, /validate, serialised writers, no
outbound request), writes off without a token, and a write's timings."""

from __future__ import annotations

import pytest
from serverkit import Server
from writekit import AUTH, UPDATE, WriteCases, comment_insert, update


@pytest.fixture(scope="module")
def write_server(writable_server) -> Server:
    return writable_server  # the session's writable curated server (tests/server/conftest.py)


class TestWritesOnTheEmbeddedStore(WriteCases):
    """The shared write cases on a copy of the curated store."""


def test_writes_are_off_without_a_configured_token(server):
    answer = server.request("POST", "/update", body=b"CLEAR ALL", headers={**UPDATE, **AUTH})
    assert answer.status == 403
    assert "update_token" in answer.text and "REEKG_UPDATE_TOKEN" in answer.text
    put = server.request("PUT", "/store?default", body=b"", headers={"Content-Type": "text/turtle", **AUTH})
    assert put.status == 403 and put.json()["ok"] is False


def test_a_write_reports_where_its_time_went(write_server):
    """A write answer names its phases and their seconds (what an operator reads to see why a write is slow);
    the benchmarks, not this test, say how long they should take."""
    timings = update(write_server, comment_insert("latency")).json()["timings_s"]
    assert {"read", "apply", "infer", "validate", "total"} <= set(timings), timings
    assert all(isinstance(v, int | float) and v >= 0 for v in timings.values()), timings
    assert timings["total"] >= max(v for k, v in timings.items() if k != "total")
