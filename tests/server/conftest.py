"""Fixtures of the server tests: one real `reekg serve` process for the session on the small fixture store, one
real writable server on a copy of the curated store (writes publish builds in its own home), and a loopback
trap."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from serverkit import InProcess, Listener, Server, in_process, running_server, write_fixture_store
from writekit import TOKEN


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


@pytest.fixture(scope="session")
def app_server(fixture_home) -> InProcess:
    """The same service as `server` (the same store and caps), in process: for protocol, negotiation and page
    cases, where no process, worker pool or socket is under test."""
    return in_process(fixture_home, max_rows=1000, max_request_bytes=20000)


@pytest.fixture(scope="session")
def writable_server(curated_home, tmp_path_factory) -> Iterator[Server]:
    """`reekg serve` with writes on (writekit.TOKEN) over a copy of the curated home, shared by every module
    whose writes add to what is there (each test compares before and after, never with a fresh store)."""
    home = tmp_path_factory.mktemp("write-home") / "home"
    shutil.copytree(curated_home, home, symlinks=True)
    log = tmp_path_factory.mktemp("write-log") / "serve.log"
    with running_server(home, log, update_token=TOKEN, max_request_bytes=200_000, query_workers=2) as srv:
        yield srv


@pytest.fixture
def listener() -> Iterator[Listener]:
    trap = Listener()
    yield trap
    trap.close()
