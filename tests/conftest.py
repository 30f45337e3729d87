"""Shared fixtures: a CLI runner, a copy of the curated tables, one real build of them per session, and an
in-process app over that build with its Flask test client (the flaskr way: no server process, queries run in
process with no time limit)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
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
    """The service over the curated build, in process (InProcessBackend), opened read-only once per session."""
    store = ox.Store.read_only(str(curated_build.store_path))
    return create_app({"home": str(curated_build.store_path.parent.parent)}, store=store)


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
