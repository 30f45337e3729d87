"""Shared fixtures: a CLI runner, a copy of the curated tables, one real build of them per session, and an
in-process app over that build with its Flask test client (the flaskr way: no server process, queries run in
process with no time limit)."""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from reekg import settings as settings_registry
from reekg.loaders.build import BuildResult, assemble, build, default_data_dir
from reekg.loaders.namespaces import Namespaces
from reekg.server.app import create_app

sys.path.insert(0, str(Path(__file__).resolve().parent / "server"))  # serverkit, shared by every folder
from serverkit import Server, running_server

# --- counts that the closing notes cite (hostile requests tried, faults injected), summed over xdist workers -----

_COUNTS = pytest.StashKey[dict]()


def pytest_configure(config) -> None:
    config.stash[_COUNTS] = {}


def _add_counts(config, totals: dict) -> None:
    mine = config.stash[_COUNTS]
    for template, counts in totals.items():
        mine.setdefault(template, Counter()).update(counts)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error) -> None:
    """xdist: the controller adds up what each worker counted."""
    _add_counts(node.config, getattr(node, "workeroutput", {}).get("reekg_counts", {}))


def pytest_sessionfinish(session) -> None:
    if hasattr(session.config, "workeroutput"):  # an xdist worker: hand the counts to the controller
        session.config.workeroutput["reekg_counts"] = {t: dict(c) for t, c in session.config.stash[_COUNTS].items()}


def pytest_terminal_summary(terminalreporter) -> None:
    for template, counts in terminalreporter.config.stash[_COUNTS].items():
        terminalreporter.write_line(template.format(**counts))


# --- xdist: which tests one worker runs together ------------------------------------------------------------
# scripts/test runs `-n 2 --dist loadscope` with the scopes below: every test module is one unit (its module
# fixtures, a server or a wheel, are made once), a remote-store module one unit per engine (its engine fixture is
# module-scoped and parametrized, so the two engines' halves share nothing and two workers can run them), and the
# modules that share one expensive session resource form one unit, so only one worker makes it. xdist's own
# loadgroup marks are not used: pytest-xdist 3.8 adds the group to `item._nodeid`, which pytest 9.2 no longer
# reads, so they group nothing.
_ENGINE = re.compile(r"\[(oxigraph|virtuoso)[-\]]")  # the remote engine (a module fixture's param) in a test id
_SHARED = {"curated-server": ("tests/browser/", "tests/server/test_schemathesis.py"),  # curated_server, browser
           "writable-server": ("tests/server/test_server_writes.py", "tests/server/test_server_protocol_fixes.py"),
           "linked-data": ("tests/linked_data/",)}  # ld_home, a build of its own


def work_unit(nodeid: str) -> str:
    """The unit of work a test belongs to: its remote engine, the shared resource of its module, or its module."""
    path = nodeid.split("::", 1)[0]
    engine = _ENGINE.search(nodeid)
    if path.startswith("tests/remote/") and engine:
        return f"{path}[{engine.group(1)}]"  # a module's engine is its own (module-scoped): one unit per engine
    return next((unit for unit, prefixes in _SHARED.items() if path.startswith(prefixes)), path)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class SharedResourceScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return SharedResourceScheduling(config, log)


@pytest.fixture(scope="session")
def report_counts(request) -> Callable[..., None]:
    """``report_counts("hostile requests: {tried} tried, {failed} failed", tried=3, failed=0)``: the counts are
    added up over the run (every xdist worker too) and the line printed once at its end."""
    def add(template: str, **counts: int) -> None:
        _add_counts(request.config, {template: counts})
    return add


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def tables(tmp_path) -> Path:
    """A private copy of the curated tables that a test may break."""
    target = tmp_path / "data"
    shutil.copytree(default_data_dir(), target, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    return target


@pytest.fixture(scope="session")
def curated_build(tmp_path_factory) -> BuildResult:
    """The curated graph, built once into a session store (the real on-disk store)."""
    home = tmp_path_factory.mktemp("home")
    return build(settings_registry.load({"home": str(home)}, environ={}))


@pytest.fixture(scope="session")
def curated_home(curated_build) -> Path:
    return curated_build.store_path.parent.parent


@pytest.fixture(scope="session")
def curated_dataset():
    """Ontology + tables + inferred triples, as one rdflib Graph (no store)."""
    return assemble(Namespaces()).union()


@pytest.fixture(scope="session")
def app(curated_build):
    """The service over the curated build, in process (InProcessBackend), opened read-only once per session.
    No background warm-up (tests/server/test_warmup.py tests it): its tests compare /readyz before and after
    a request, and every query they count or wait for is their own."""
    store = ox.Store.read_only(str(curated_build.store_path))
    return create_app({"home": str(curated_build.store_path.parent.parent), "warm_up": False}, store=store)


@pytest.fixture
def client(app):
    """A Flask test client of `app`: for protocol, content-negotiation, parameter and page cases."""
    return app.test_client()


@pytest.fixture(scope="session")
def curated_server(curated_home, tmp_path_factory) -> Iterator[Server]:
    """One real, read-only `reekg serve` on the curated build for the session, for the suites where the process
    matters (a browser over real HTTP, schemathesis); started the first time one asks for it."""
    log = tmp_path_factory.mktemp("curated-serve-log") / "serve.log"
    with running_server(curated_home, log, query_workers=2) as srv:
        yield srv
