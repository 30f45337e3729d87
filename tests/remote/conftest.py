"""Fixtures of the remote-store tests: each engine (``oxigraph serve``, Virtuoso) started in a temporary
folder on free loopback ports, the curated graph published into it with ``reekg build`` (store = sparql) and a
real ``reekg serve`` on it.

An engine that is not installed here skips its tests, saying why. On CI (``CI`` set) ``oxigraph serve`` must
run (the ``oxigraph`` package is in the test extra); Virtuoso is not installed by the project's scripts yet,
because its answers still differ on the queries marked below (issue 6 stays open for them).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "server"))

from engines import ENGINES, Engine, missing
from serverkit import running_server

from reekg import settings as settings_registry
from reekg.loaders.build import BuildResult, build

REQUIRED_ON_CI = {"oxigraph"}

# Virtuoso 7.2.5 deviations not handled yet (seen on this machine): its SPARQL compiler fails on queries with
# many VALUES blocks (SP031 sparp_tree_full_clone_int), IF(…) that should yield IRIs yields literals, and one
# query runs past its 60 s limit. These answers differ from the embedded store's; marked, not hidden.
VIRTUOSO_KNOWN = {
    "test_every_library_query_binds_like_the_embedded_store",
    "test_trace_reaches_mines_and_countries_and_cites_every_hop",
    "test_substitutes_for_dy_in_magnets_are_ranked_with_trade_offs_and_control_status",
    "test_scenario_cutting_chinese_dy_tb_separation_affects_joint_actuation_and_changes_nothing",
    "test_search_finds_neodymium_by_its_chinese_names",
}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and callspec.params.get("engine") == "virtuoso" and item.originalname in VIRTUOSO_KNOWN:
            item.add_marker(pytest.mark.xfail(reason="Virtuoso 7.2.5 deviation not handled yet (see conftest)",
                                              strict=False))


def start_engine(kind: str, folder: Path) -> Engine:
    reason = missing(kind)
    if reason:
        if os.environ.get("CI") and kind in REQUIRED_ON_CI:
            pytest.fail(f"{kind} must run on CI: {reason}")
        pytest.skip(reason)
    return Engine(kind, folder).start()


def remote_settings(engine: Engine, home: Path, **extra) -> dict:
    return settings_registry.load({"home": str(home), **engine.settings, **extra}, environ={})


@pytest.fixture(scope="module", params=ENGINES)
def engine(request, tmp_path_factory) -> Iterator[Engine]:
    started = start_engine(request.param, tmp_path_factory.mktemp(f"engine-{request.param}"))
    yield started
    started.stop()


@pytest.fixture(scope="module")
def remote_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("remote-home")


@pytest.fixture(scope="module")
def published(engine, remote_home) -> BuildResult:
    """The curated graph, built and published into the engine."""
    return build(remote_settings(engine, remote_home))


@pytest.fixture(scope="module")
def api(engine, published, remote_home, tmp_path_factory):
    """`reekg serve` on the engine (row cap 20,000: the protocol tests cut an answer past it)."""
    log = tmp_path_factory.mktemp("remote-serve-log") / "serve.log"
    with running_server(remote_home, log, max_rows=20000, **engine.settings) as srv:
        yield srv
