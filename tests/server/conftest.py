"""Fixtures of the server tests: one real `reekg serve` process for the session, and a loopback trap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from serverkit import Listener, Server, running_server, write_fixture_store


@pytest.fixture(scope="session")
def fixture_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("server-home")
    write_fixture_store(home)
    return home


@pytest.fixture(scope="session")
def server(fixture_home, tmp_path_factory) -> Iterator[Server]:
    """One real server for the protocol, client and safety tests (row cap 1000, 10 s limit)."""
    log = tmp_path_factory.mktemp("server-log") / "serve.log"
    with running_server(fixture_home, log, max_rows=1000, max_request_bytes=20000, query_workers=2,
                        max_concurrent_queries=4) as srv:
        yield srv


@pytest.fixture
def listener() -> Iterator[Listener]:
    trap = Listener()
    yield trap
    trap.close()
