"""Validated writes (loaders/transact.py) on a private copy of the curated store: a write commits a new build
only if it passes the shapes, never touches the reserved graphs, and a crash leaves the last commit serving."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pyoxigraph as ox
import pytest

from reekg import settings as settings_registry
from reekg.errors import HomeUnavailable
from reekg.loaders import transact
from reekg.loaders.build import load_shapes
from reekg.loaders.namespaces import Namespaces
from reekg.loaders.store import StoreHome, content_hash

BASE = "https://w3id.org/reekg/"
PARTNER = BASE + "graph/partner/acme"
INFERRED = BASE + "graph/inferred"
NS = Namespaces()


@pytest.fixture(scope="module")
def shapes():
    return load_shapes(NS)


@pytest.fixture
def home(curated_home, tmp_path) -> Path:
    target = tmp_path / "home"
    shutil.copytree(curated_home, target, symlinks=True)
    return target


@pytest.fixture
def settings(home) -> dict:
    return settings_registry.load({"home": str(home)}, environ={})


def _ask(home: Path, query: str) -> bool:
    store = StoreHome(home).open()
    return bool(store.query(query, prefixes=NS.prefixes(), use_default_graph_as_union=True))


def _pointer(home: Path) -> str:
    return os.readlink(home / "current")


def test_a_valid_update_commits_a_new_build_that_names_its_parent(settings, home, shapes):
    parent = StoreHome(home).manifest()["build_id"]
    result = transact.apply_update(settings,
                                   f'INSERT DATA {{ GRAPH <{PARTNER}> {{ element:Nd rdfs:comment "x"@en }} }}',
                                   shapes=shapes)
    assert result.published and result.changed
    assert (result.added, result.removed, result.graphs) == (1, 0, [PARTNER])
    manifest = StoreHome(home).manifest()
    assert manifest["build_id"] == result.build_id != parent
    assert manifest["write"] == {"kind": "update", "parent_build_id": parent, "added": 1, "removed": 0,
                                 "graphs": [PARTNER]}
    assert manifest["triples_per_graph"][PARTNER] == 1
    assert _ask(home, f'ASK {{ GRAPH <{PARTNER}> {{ element:Nd rdfs:comment "x"@en }} }}')


def test_the_inferred_graph_is_recomputed(settings, home, shapes):
    inferred = f"ASK {{ GRAPH <{INFERRED}> {{ facility:noveon-san-marcos reekg:hasUpstream mine:bear-lodge }} }}"
    assert not _ask(home, inferred)
    transact.apply_update(settings, f"INSERT DATA {{ GRAPH <{PARTNER}> {{ "
                                  "mine:bear-lodge reekg:feeds facility:noveon-san-marcos } }", shapes=shapes)
    assert _ask(home, inferred)
    transact.apply_update(settings, f"DELETE DATA {{ GRAPH <{PARTNER}> {{ "
                                  "mine:bear-lodge reekg:feeds facility:noveon-san-marcos } }", shapes=shapes)
    assert not _ask(home, inferred)
    # the hash a write carries forward from its parent (added and removed quads only) is the graph's own
    assert StoreHome(home).manifest()["content_sha256"] == content_hash(StoreHome(home).open())


@pytest.mark.parametrize("update", [
    # a mine in a country that does not exist
    f"INSERT DATA {{ GRAPH <{PARTNER}> {{ mine:mount-weld reekg:locatedIn country:XX }} }}",
    # a share of world production above 1
    "DELETE { GRAPH ?g { ?o reekg:shareOfWorld ?s } } INSERT { GRAPH ?g { ?o reekg:shareOfWorld 1.5 } } "
    "WHERE { GRAPH ?g { ?o reekg:shareOfWorld ?s } FILTER(?o = observation:usgs-mcs-2026-ca-2025-mine-production) }",
])
def test_a_write_that_breaks_a_shape_changes_nothing(settings, home, shapes, update):
    before_pointer, stores_before = _pointer(home), sorted((home / "stores").iterdir())
    with pytest.raises(transact.WriteInvalid) as caught:
        transact.apply_update(settings, update, shapes=shapes)
    assert caught.value.report.violations
    violation = next(r for r in caught.value.results if r["severity"] == "Violation")
    assert set(violation) >= {"focus", "path", "message", "severity"}
    assert _pointer(home) == before_pointer
    assert sorted((home / "stores").iterdir()) == stores_before


@pytest.mark.parametrize(("update", "words"), [
    (f'INSERT DATA {{ GRAPH <{INFERRED}> {{ element:Nd rdfs:comment "x" }} }}', "recomputed"),
    (f'INSERT DATA {{ GRAPH <{BASE}graph/ontology> {{ element:Nd rdfs:comment "x" }} }}', "ontology files"),
    ("DROP ALL", "no write may change"),
    ("DELETE WHERE { GRAPH ?g { ?g prov:wasDerivedFrom ?source } }", "provenance"),
    (f'INSERT DATA {{ GRAPH <{BASE}graph/source/invented> {{ element:Nd rdfs:comment "x" }} }}',
     "not a source graph"),
    ('INSERT DATA { GRAPH <http://example.org/g> { element:Nd rdfs:comment "x" } }', "not writable"),
])
def test_reserved_graphs_and_provenance_are_refused(settings, home, shapes, update, words):
    before = _pointer(home)
    with pytest.raises(transact.WriteRefused, match=words):
        transact.apply_update(settings, update, shapes=shapes)
    assert _pointer(home) == before


def test_a_syntax_error_names_its_position(settings):
    with pytest.raises(transact.WriteSyntaxError, match=r"1:\d+"):
        transact.apply_update(settings, "INSERT DATA { element:Nd }")


def test_a_write_that_changes_nothing_publishes_nothing(settings, home):
    before = _pointer(home)
    result = transact.apply_update(settings,
                                   f'DELETE DATA {{ GRAPH <{PARTNER}> {{ element:Nd rdfs:comment "nope" }} }}')
    assert not result.changed and not result.published
    assert _pointer(home) == before


def test_a_dry_run_validates_without_writing(settings, home, shapes):
    before = _pointer(home)
    result = transact.validate_update(settings,
                                      f'INSERT DATA {{ GRAPH <{PARTNER}> {{ element:Nd rdfs:comment "x" }} }}',
                                      shapes=shapes)
    assert result.changed and not result.published and result.report.conforms
    assert _pointer(home) == before


def test_the_default_graph_of_an_update_is_the_partner_default_graph(settings, home, shapes):
    alias = transact.default_write_graph(NS)
    transact.apply_update(settings, 'INSERT DATA { element:Nd rdfs:comment "d1", "d2" }', shapes=shapes)
    assert _ask(home, f'ASK {{ GRAPH <{alias}> {{ element:Nd rdfs:comment "d1", "d2" }} }}')
    transact.apply_update(settings, 'DELETE WHERE { element:Nd rdfs:comment "d1" }', shapes=shapes)
    assert not _ask(home, 'ASK { GRAPH ?g { element:Nd rdfs:comment "d1" } }')
    assert _ask(home, f'ASK {{ GRAPH <{alias}> {{ element:Nd rdfs:comment "d2" }} }}')


def test_graph_store_put_post_delete(settings, home, shapes):
    turtle = b'@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n' \
             b'<https://w3id.org/reekg/id/element/Nd> rdfs:comment "one"@en .'
    put = transact.graph_put(settings, PARTNER, turtle, "text/turtle", shapes=shapes)
    assert put.created and put.published
    post = transact.graph_post(settings, PARTNER, b'<https://w3id.org/reekg/id/element/Dy> '
                               b'<http://www.w3.org/2000/01/rdf-schema#comment> "two" .', "application/n-triples",
                               shapes=shapes)
    assert not post.created and post.added == 1
    replaced = transact.graph_put(settings, PARTNER, turtle.replace(b"one", b"three"), "text/turtle", shapes=shapes)
    assert (replaced.added, replaced.removed) == (1, 2)
    assert _ask(home, f'ASK {{ GRAPH <{PARTNER}> {{ element:Nd rdfs:comment "three"@en }} }}')
    transact.graph_delete(settings, PARTNER, shapes=shapes)
    assert not _ask(home, f"ASK {{ GRAPH <{PARTNER}> {{ ?s ?p ?o }} }}")
    with pytest.raises(transact.GraphNotFound):
        transact.graph_delete(settings, PARTNER)


def test_graph_store_bodies_are_checked(settings):
    with pytest.raises(transact.UnsupportedFormat):
        transact.graph_put(settings, PARTNER, b"x", "application/x-unknown")
    with pytest.raises(transact.WriteSyntaxError, match=r"line|1:"):
        transact.graph_put(settings, PARTNER, b"<a> <b> .", "text/turtle")
    with pytest.raises(transact.WriteRefused, match="names graphs"):
        transact.graph_put(settings, PARTNER, b"<http://e/a> <http://e/b> <http://e/c> <http://e/g> .",
                           "application/n-quads")


def test_an_error_after_validation_leaves_the_last_commit(settings, home, shapes, monkeypatch):
    before = _pointer(home)

    def broken_switch(self, target):
        raise OSError("disk full")

    monkeypatch.setattr(StoreHome, "_point_to", broken_switch)
    with pytest.raises(HomeUnavailable, match="disk full"):  # the server answers it with 503, naming the cause
        transact.apply_update(settings, f'INSERT DATA {{ GRAPH <{PARTNER}> {{ element:Nd rdfs:comment "x" }} }}',
                              shapes=shapes)
    assert _pointer(home) == before
    assert not _ask(home, 'ASK { element:Nd rdfs:comment "x" }')


@pytest.mark.parametrize("crash_at", ["before-write", "before-switch"])
def test_a_process_killed_mid_write_leaves_the_last_commit(home, crash_at):
    """A real crash (SIGKILL) after validation: before anything is written, or with the new store complete
    on disk but not yet current. The lock dies with the process, so the next write goes through."""
    before = _pointer(home)
    script = textwrap.dedent(f"""
        import os, signal
        from reekg import settings
        from reekg.loaders import store
        from reekg.loaders import transact
        def die(*args, **kwargs):
            os.kill(os.getpid(), signal.SIGKILL)
        if {crash_at!r} == "before-write":
            store.StoreHome.write = die
        else:
            store.StoreHome._point_to = die
        transact.apply_update(settings.load({{"home": {str(home)!r}}}, environ={{}}),
                              'INSERT DATA {{ GRAPH <{PARTNER}> {{ element:Nd rdfs:comment "x" }} }}')
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=120)
    assert done.returncode == -9, done.stderr.decode()
    assert _pointer(home) == before
    assert not _ask(home, 'ASK { element:Nd rdfs:comment "x" }')
    result = transact.apply_update(settings_registry.load({"home": str(home)}, environ={}),
                                   f'INSERT DATA {{ GRAPH <{PARTNER}> {{ element:Nd rdfs:comment "y" }} }}')
    assert result.published and _pointer(home) != before
    assert ox.Store.read_only(str(StoreHome(home).current())) is not None
