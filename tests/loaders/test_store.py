"""The on-disk store: complete stores only, an atomic switch, and the old store kept on failure."""

from __future__ import annotations

import subprocess
import sys

import pyoxigraph as ox
import pytest
from rdflib import Literal, URIRef

from reekg.loaders.store import MANIFEST, StoreHome, content_hash, content_hash_update

G = URIRef("https://w3id.org/reekg/graph/source/x")


def quads(label: str):
    return [(URIRef("https://w3id.org/reekg/id/element/Nd"), URIRef("http://www.w3.org/2000/01/rdf-schema#label"),
             Literal(label, lang="zh-Hant"), G)]


def labels(home: StoreHome) -> list[str]:
    store = home.open()
    return [q.object.value for q in store.quads_for_pattern(None, None, None, None)]


def test_no_store_before_the_first_build(tmp_path):
    home = StoreHome(tmp_path)
    assert home.current() is None
    with pytest.raises(FileNotFoundError, match="reekg build"):
        home.open()


def test_write_publishes_a_complete_store_and_switches_current(tmp_path):
    home = StoreHome(tmp_path)
    first = home.write("b1", quads("釹"), {"build_id": "b1"})
    assert home.current() == first and labels(home) == ["釹"]
    second = home.write("b2", quads("钕"), {"build_id": "b2"})
    assert home.current() == second and labels(home) == ["钕"]
    assert home.manifest() == {"build_id": "b2"}
    assert (tmp_path / "current").is_symlink()


def test_a_failed_write_leaves_the_last_good_store_current(tmp_path):
    home = StoreHome(tmp_path)
    home.write("b1", quads("釹"), {"build_id": "b1"})

    def broken():
        yield from quads("x")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        home.write("b2", broken(), {"build_id": "b2"})
    assert home.manifest() == {"build_id": "b1"}
    assert labels(home) == ["釹"]
    assert not (tmp_path / "stores" / "b2" / MANIFEST).exists()


def test_prune_keeps_the_newest_and_the_current_and_drops_partial_builds(tmp_path):
    home = StoreHome(tmp_path)
    for n in range(5):
        home.write(f"b{n}", quads(str(n)), {"build_id": f"b{n}"})
    (tmp_path / "stores" / "partial").mkdir()
    removed = {p.name for p in home.prune(keep=2)}
    assert removed == {"b0", "b1", "b2", "partial"}
    assert home.manifest() == {"build_id": "b4"}


def test_readers_in_two_processes_keep_their_build_while_a_new_one_is_switched_in(tmp_path):
    home = StoreHome(tmp_path)
    home.write("b1", quads("釹"), {"build_id": "b1"})
    reader = home.open()
    other_process = subprocess.Popen(
        [sys.executable, "-c", "import sys, pyoxigraph as ox; s = ox.Store.read_only(sys.argv[1]); "
         "sys.stdin.read(); print(','.join(q.object.value for q in s))", str(home.current())],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    home.write("b2", quads("钕"), {"build_id": "b2"})  # a new build while both readers hold b1 open
    out, _ = other_process.communicate("", timeout=60)
    assert other_process.returncode == 0 and out.strip() == "釹"
    assert [q.object.value for q in reader] == ["釹"]
    assert labels(home) == ["钕"]


def test_the_content_hash_follows_a_change_from_the_changed_quads_alone():
    g = ox.NamedNode("http://example.org/g")
    quad = lambda i: ox.Quad(ox.NamedNode(f"http://example.org/s{i}"), ox.NamedNode("http://example.org/p"),  # noqa: E731
                             ox.Literal(f"v{i}"), g)
    before = [quad(i) for i in range(50)]
    after = before[5:] + [quad(i) for i in range(100, 103)]
    updated = content_hash_update(content_hash(before), added=after[-3:], removed=before[:5])
    assert updated == content_hash(after)
    assert updated != content_hash(before)
