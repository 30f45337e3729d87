"""The competency tests' store: the session's curated build, opened once per module."""

from __future__ import annotations

import pytest

from reekg.loaders.store import StoreHome


@pytest.fixture(scope="module")
def store(curated_home):
    return StoreHome(curated_home).open()
