"""Fixtures of the remote-store tests: each engine (``oxigraph serve``, Virtuoso) started in a temporary
folder on free loopback ports, the curated graph published into it with ``reekg build`` (store = sparql) and a
real ``reekg serve`` on it.

An engine that is not installed here skips its tests, saying why. On CI (``CI`` set) ``oxigraph serve`` must
run (the ``oxigraph`` package is in the test extra); Virtuoso runs when installed (scripts/test does not
install it yet: its answers still differ on the queries in VIRTUOSO_KNOWN; issue 6 stays open for them).
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

# Virtuoso 7.2.5 deviations not handled yet, per library query (server/queries/NAME.rq), each with what was seen.
# The deviations the adapter handles are named by tests in test_remote_store.py.
VIRTUOSO_KNOWN = {
    "functions": "GROUP_CONCAT over a group where some members leave ?componentLabel unbound: the embedded store "
                 "(Oxigraph) leaves ?components unbound, Virtuoso concatenates the bound values (SPARQL 1.1 "
                 "§18.5.1 leaves errors in aggregates open); Oxigraph also keeps the common language tag on "
                 "GROUP_CONCAT, Virtuoso gives a simple literal (as SPARQL 1.1 says)",
    "heavy-sources": "GROUP_CONCAT over only unbound values is \"\" on Virtuoso, unbound on Oxigraph (as in "
                     "functions); and two Greenland mines are missing: FILTER(… || EXISTS { ?site "
                     "reekg:elementEmphasis ?heavy }) with ?heavy from a BIND outside the EXISTS is not matched "
                     "by Virtuoso",
    "production-share": "xsd:decimal division: Virtuoso keeps 15 significant digits (0.692307692307692), "
                        "Oxigraph 18 (XSD 1.0 asks for at least 18)",
    "substitutes": "no rows on Virtuoso (embedded: 12); not yet reduced to the construct that differs",
    "trace": "87 rows on Virtuoso, 112 embedded: \"upstream\" hops are missing; not yet reduced to the construct "
             "that differs (candidates: nested UNION with GRAPH ?gSite, FILTER(… || EXISTS { … }))",
}
# The API tests borrowed from tests/server that still fail on Virtuoso, and the library query behind each. (The
# trace and scenario tests pass there: their checks do not reach the rows trace and substitutes lose.)
API_QUERIES = {
    "test_substitutes_for_dy_in_magnets_are_ranked_with_trade_offs_and_control_status": ("substitutes",),
}


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if not callspec or callspec.params.get("engine") != "virtuoso":
            continue
        queries = (callspec.params["name"],) if "name" in callspec.params else API_QUERIES.get(item.originalname, ())
        known = [q for q in queries if q in VIRTUOSO_KNOWN]
        if known:
            reason = "; ".join(f"{q}: {VIRTUOSO_KNOWN[q]}" for q in known)
            item.add_marker(pytest.mark.xfail(reason=f"Virtuoso 7.2.5 deviation not handled yet — {reason}",
                                              strict=True))


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
