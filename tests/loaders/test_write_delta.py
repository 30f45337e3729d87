"""A write on a checkpoint of the served store (issue 13): the graphs an update can change (update_scope), and
a published write equal to the store a full recompute would make (inferred graph, counts, content hash), its
parent's folder untouched."""

from __future__ import annotations

import json
import shutil

import pyoxigraph as ox
import pytest

from reekg import settings as settings_registry
from reekg.loaders import transact
from reekg.loaders.build import load_shapes, store_statistics
from reekg.loaders.namespaces import Namespaces
from reekg.loaders.store import MANIFEST, StoreHome, content_hash
from reekg.loaders.update_scope import update_graphs
from reekg.loaders.write_delta import reason

NS = Namespaces()
BASE = "https://w3id.org/reekg/"
PARTNER = BASE + "graph/partner/delta"
PREFIXES = {"ex": "http://e/"}


@pytest.mark.parametrize(("update", "graphs"), [
    ('INSERT DATA { GRAPH <http://e/g> { <http://e/s> <http://e/p> "GRAPH ?g" } }',
     {"http://e/g", "http://e/s", "http://e/p"}),
    ("INSERT DATA { GRAPH ex:g.v1 { ex:s ex:p 1 } }", {"http://e/g", "http://e/g.v1", "http://e/s", "http://e/p"}),
    ("PREFIX q: <http://q/> WITH q:g DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }", {"http://q/g"}),
    ("MOVE <http://e/a> TO <http://e/b>", {"http://e/a", "http://e/b"}),
    ("CLEAR DEFAULT", set()),
    ("DELETE { GRAPH ?g { ?s ?p ?o } } WHERE { GRAPH ?g { ?s ?p ?o } }", None),
    ("INSERT { GRAPH $g { ex:s ex:p 1 } } WHERE { BIND(ex:g AS $g) }", None),
    ("DROP ALL", None), ("CLEAR SILENT NAMED", None),
    ("INSERT DATA { <relative> ex:p 1 }", None),  # the engine resolves relative IRIs, not this reading
    ("INSERT DATA { undeclared:s ex:p 1 }", None),
])
def test_the_graphs_an_update_can_change(update, graphs):
    found = update_graphs(update, PREFIXES)
    assert (None if found is None else set(found)) == graphs


@pytest.fixture
def settings(curated_home, tmp_path) -> dict:
    home = tmp_path / "home"
    shutil.copytree(curated_home, home, symlinks=True)
    return settings_registry.load({"home": str(home)}, environ={})


def _recomputed(path) -> tuple[set[ox.Quad], dict]:
    """The inferred graph and counts of the store in ``path`` made again from its asserted quads."""
    store = ox.Store()
    store.bulk_extend(ox.Store.read_only(str(path)))
    inferred = ox.NamedNode(str(NS.inferred_graph))
    reason(store, NS, {"inference_local": False}, set(), set())  # from scratch
    return set(store.quads_for_pattern(None, None, None, inferred)), store_statistics(store, NS)


FEEDS = "mine:bear-lodge reekg:feeds facility:noveon-san-marcos"
INSERT = f'INSERT DATA {{ GRAPH <{PARTNER}> {{ {FEEDS} . element:Nd rdfs:comment "x"@en }} }}'


@pytest.mark.parametrize("updates", [
    [INSERT],
    [INSERT, f"DELETE WHERE {{ GRAPH ?g {{ {FEEDS} }} }}"],  # every graph compared; DRed takes hasUpstream back
    [INSERT, f"DELETE DATA {{ GRAPH <{PARTNER}> {{ {FEEDS} }} }}"],
], ids=["insert", "delete-where", "delete-data"])
def test_a_published_write_is_the_store_a_full_recompute_makes(settings, shapes, updates):
    home = StoreHome(settings["home"])
    for update in updates[:-1]:
        transact.apply_update(settings, update, shapes=shapes)
    parent = home.current()
    parent_hash = json.loads((parent / MANIFEST).read_text())["content_sha256"]
    result = transact.apply_update(settings, updates[-1], shapes=shapes)
    assert result.published and result.changed
    written = home.current()
    assert written != parent and written.name == result.build_id
    manifest = json.loads((written / MANIFEST).read_text())
    inferred, counts = _recomputed(written)
    store = ox.Store.read_only(str(written))
    assert set(store.quads_for_pattern(None, None, None, ox.NamedNode(str(NS.inferred_graph)))) == inferred
    assert manifest["inferred"] == len(inferred)
    assert {k: manifest[k] for k in counts} == counts
    assert manifest["content_sha256"] == content_hash(store)
    assert content_hash(ox.Store.read_only(str(parent))) == parent_hash  # the parent's folder is untouched


@pytest.fixture(scope="module")
def shapes():
    return load_shapes(NS)


def test_a_graph_emptied_by_a_write_is_no_longer_served(settings, shapes):
    turtle = b'<https://w3id.org/reekg/id/element/Nd> <http://www.w3.org/2000/01/rdf-schema#comment> "one" .'
    transact.graph_put(settings, PARTNER, turtle, "application/n-triples", shapes=shapes)
    assert PARTNER in transact.served_graphs(settings)
    transact.graph_delete(settings, PARTNER, shapes=shapes)
    assert PARTNER not in transact.served_graphs(settings)


def test_the_first_write_after_a_build_takes_the_builds_word_for_incremental_inference(settings, shapes,
                                                                                       monkeypatch):
    """The build's manifest says whether writes may reason incrementally, so the first write after it does not
    ask the whole store again (1.5 s at 10^6 triples) and reasons on the delta at once."""
    from reekg.loaders import write_delta

    home = StoreHome(settings["home"])
    assert json.loads((home.current() / MANIFEST).read_text())["inference_local"] is True

    def asked(*args, **kwargs):
        raise AssertionError("the store was asked again")

    monkeypatch.setattr(write_delta, "instances_only", asked)
    reasoned = []
    monkeypatch.setattr(transact, "reason", lambda *a: reasoned.append(reason(*a)) or reasoned[-1])
    result = transact.apply_update(settings, INSERT, shapes=shapes)
    assert result.published and [r.incremental for r in reasoned] == [True]
    monkeypatch.undo()  # the recompute below reasons from scratch, as a check
    inferred, _ = _recomputed(home.current())
    store = ox.Store.read_only(str(home.current()))
    assert set(store.quads_for_pattern(None, None, None, ox.NamedNode(str(NS.inferred_graph)))) == inferred
