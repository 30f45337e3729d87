"""`reekg diff` on two builds that differ by exactly one fact reports exactly that fact."""

from __future__ import annotations

import csv
import json
import shutil

import pyoxigraph as ox
import pytest

from reekg import settings as settings_registry
from reekg.cli import main
from reekg.loaders.build import build, default_data_dir
from reekg.loaders.diff import diff
from reekg.loaders.releases import export_store, verify
from reekg.server.app import create_app

MINE = "<https://w3id.org/reekg/id/mine/bayan-obo>"
ORE = "<https://w3id.org/reekg/ontology#oreMinerals>"
GRAPH = "<https://w3id.org/reekg/graph/source/bayan-obo-nsenergy>"


@pytest.fixture(scope="module")
def two_releases(curated_build, tmp_path_factory):
    """The curated build and one whose only change is one CSV cell, both exported as releases."""
    tables = tmp_path_factory.mktemp("edited") / "data"
    shutil.copytree(default_data_dir(), tables, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    path = tables / "mines.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
        fields = list(rows[0])
    (row,) = [r for r in rows if r["id"] == "bayan-obo"]
    assert row["ore_minerals"] == "bastnäsite, monazite"
    row["ore_minerals"] = "bastnäsite, monazite, xenotime"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    home = tmp_path_factory.mktemp("edited-home")
    edited = build(settings_registry.load({"home": str(home), "data_dir": str(tables)}, environ={}))
    out = home / "dumps"  # where the server publishes releases from
    old = export_store(curated_build.store_path, out)
    new = export_store(edited.store_path, out)
    return curated_build, edited, old, new


def test_the_release_page_shows_the_changelog(two_releases):
    _, edited, old, new = two_releases
    store = ox.Store.read_only(str(edited.store_path))
    app = create_app({"home": str(edited.store_path.parent.parent)}, store=store)
    page = app.test_client().get(f"/dumps/{new.name}/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert f'href="/dumps/{old.name}/"' in text and "1 quads added, 1 removed" in text
    assert "+ &lt;https://w3id.org/reekg/id/mine/bayan-obo&gt;" in text and "xenotime" in text
    listing = app.test_client().get("/dumps/").get_data(as_text=True)
    assert listing.index(new.name) < listing.index(old.name)  # newest first


def test_one_changed_cell_is_one_removed_and_one_added_quad(two_releases):
    _, _, old, new = two_releases
    assert old.name != new.name and verify(old) == [] and verify(new) == []
    change = diff(str(old.path), str(new.path))
    assert change.quads
    assert change.removed == [f'{MINE} {ORE} "bastnäsite, monazite" {GRAPH} .\n']
    assert change.added == [f'{MINE} {ORE} "bastnäsite, monazite, xenotime" {GRAPH} .\n']


def test_the_same_change_from_stores_and_from_merged_dumps(two_releases):
    old_build, new_build, old, new = two_releases
    assert diff(str(old_build.store_path), str(new_build.store_path)).added == [
        f'{MINE} {ORE} "bastnäsite, monazite, xenotime" {GRAPH} .\n']
    for fmt in ("nt.gz", "ttl", "jsonld"):  # merged files: triples, no graphs
        (old_file,) = [old.path / f["name"] for f in old.files if f["format"] == fmt]
        (new_file,) = [new.path / f["name"] for f in new.files if f["format"] == fmt]
        change = diff(str(old_file), str(new_file))
        assert not change.quads
        assert change.removed == [f'{MINE} {ORE} "bastnäsite, monazite" .\n'], fmt
        assert change.added == [f'{MINE} {ORE} "bastnäsite, monazite, xenotime" .\n'], fmt


def test_the_cli_lists_the_change_with_counts(runner, two_releases):
    _, _, old, new = two_releases
    result = runner.invoke(main, ["diff", str(old.path), str(new.path)], env={})
    assert result.exit_code == 1  # like diff(1): 1 when there are differences
    lines = result.output.splitlines()
    assert lines[0] == f'- {MINE} {ORE} "bastnäsite, monazite" {GRAPH} .'
    assert lines[1] == f'+ {MINE} {ORE} "bastnäsite, monazite, xenotime" {GRAPH} .'
    assert lines[2].endswith("1 quads added, 1 removed")
    same = runner.invoke(main, ["diff", "--summary", str(old.path), str(old.path)], env={})
    assert same.exit_code == 0 and "0 quads added, 0 removed" in same.output


def test_the_cli_exports_the_current_build(runner, curated_home, tmp_path):
    result = runner.invoke(main, ["--home", str(curated_home), "export", "--out", str(tmp_path), "--json"], env={})
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert sorted(p.name for p in (tmp_path / info["release"]).iterdir()) == sorted(
        [f["name"] for f in info["files"]] + ["void.ttl", "release.json", "SHA256SUMS"])
