"""Docs cannot drift: the README lists every setting (as the registry says) and every CLI command."""

from __future__ import annotations

import re
from pathlib import Path

from reekg.cli import main

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_the_readme_settings_table_is_the_registry(runner):
    generated = runner.invoke(main, ["settings", "--markdown"], env={}).output
    block = re.search(r"<!-- settings:.*?-->\n(.*?)<!-- /settings -->", README, re.S)
    assert block, "README has no generated settings block"
    assert block.group(1) == generated


def test_the_readme_names_every_command():
    missing = [name for name in main.commands if f"reekg {name}" not in README]
    assert missing == []
