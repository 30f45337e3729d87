"""Fixtures of the linked-data tests: the curated graph (plus a hostile partner file) built with the real CLI
into a temporary home, and the service on it in process for the whole folder."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))  # serverkit, shared with the server tests

from ldkit import PARTNER
from serverkit import InProcess, in_process


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
def ld_server(ld_home) -> InProcess:
    """The service on that home, in process: dereferencing, negotiation, dumps and pages do not depend on the
    process (the process-level cases live in tests/server)."""
    return in_process(ld_home)
