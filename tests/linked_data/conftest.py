"""Fixtures of the linked-data tests: the curated graph (plus a hostile partner file) built with the real CLI
into a temporary home, and one real `reekg serve` process on it for the whole folder."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))  # serverkit, shared with the server tests

from ldkit import PARTNER
from serverkit import Server, running_server


@pytest.fixture(scope="session")
def ld_home(tmp_path_factory) -> Path:
    home = tmp_path_factory.mktemp("ld-home")
    partner = home.parent / "partner.ttl"
    partner.write_text(PARTNER, encoding="utf-8")
    reekg = Path(sys.executable).with_name("reekg")
    done = subprocess.run([str(reekg), "--home", str(home), "build", "--add", str(partner)],
                          capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"}, timeout=300)
    assert done.returncode == 0, done.stderr
    return home


@pytest.fixture(scope="session")
def ld_server(ld_home, tmp_path_factory) -> Iterator[Server]:
    log = tmp_path_factory.mktemp("ld-log") / "serve.log"
    with running_server(ld_home, log, query_workers=2) as srv:
        yield srv
