"""What a write changed, and what follows from it, at the cost of the change, not of the graph (issue 13).

:func:`snapshot` reads the graphs a change can touch (all of them when it cannot say), so the difference before
and after is the write's asserted delta; :func:`reason` brings the inferred graph up to date from it
(:mod:`.inference_delta`, or the full reasoner when that cannot be exact); :func:`statistics` carries the parent
build's counts forward by the delta instead of counting the store again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pyoxigraph as ox
from rdflib import Graph

from reekg.terms import from_oxigraph

from .build import store_statistics
from .inference import compile_rules, infer_into
from .inference_delta import asserted_delta, infer_change, instances_only
from .namespaces import Namespaces

_TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


def _graph_nodes(graphs: Iterable[str]) -> list[ox.NamedNode]:
    nodes = []
    for name in graphs:
        try:
            nodes.append(ox.NamedNode(name))
        except ValueError:  # not an IRI the store can hold: no graph has that name
            continue
    return nodes


def snapshot(store: ox.Store, graphs: frozenset[str] | None) -> set[ox.Quad]:
    """The quads of the default graph and of ``graphs`` (None: every quad of the store)."""
    if graphs is None:
        return set(store.quads_for_pattern(None, None, None, None))
    quads = set(store.quads_for_pattern(None, None, None, ox.DefaultGraph()))
    for node in _graph_nodes(graphs):
        quads.update(store.quads_for_pattern(None, None, None, node))
    return quads


def drop_empty_graphs(store: ox.Store, graphs: frozenset[str] | None) -> None:
    """Forget the named graphs (of ``graphs``, or all) left empty: a store written from quads has none, and the
    checkpoint of one must serve the same graphs."""
    names = store.named_graphs() if graphs is None else _graph_nodes(graphs)
    for node in list(names):
        if store.contains_named_graph(node) and next(store.quads_for_pattern(None, None, None, node), None) is None:
            store.remove_graph(node)


@dataclass
class Reasoned:
    """The inferred graph's change, its size now, whether the next write may reason incrementally, and how."""

    added: set[ox.Quad]
    removed: set[ox.Quad]
    count: int
    local: bool
    incremental: bool


def _rules(store: ox.Store, ns: Namespaces):
    ontology = Graph()
    for q in store.quads_for_pattern(None, None, None, ox.NamedNode(str(ns.ontology_graph))):
        ontology.add((from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object)))
    return compile_rules(ontology)


def reason(store: ox.Store, ns: Namespaces, parent: dict[str, Any], added: set[ox.Quad],
           removed: set[ox.Quad]) -> Reasoned:
    """Update the inferred graph of ``store`` (which holds the write) for the asserted quads ``added`` and
    ``removed``: incrementally when the parent build says it reasons about instances only (``inference_local``
    in its manifest; measured once when it does not say) and the delta allows it, else from scratch."""
    graph, prefix = ox.NamedNode(str(ns.inferred_graph)), str(ns.id)
    rules = _rules(store, ns)
    local = parent.get("inference_local")
    if local is None:
        local = instances_only(store, rules, instance_prefix=prefix, graph=graph)
    change = None
    if local and isinstance(parent.get("inferred"), int):
        new, gone = asserted_delta(store, added, removed, graph)
        change = infer_change(store, rules, instance_prefix=prefix, graph=graph, added=new, removed=gone)
    if change is not None:
        count = parent["inferred"] + len(change.added) - len(change.removed)
        return Reasoned(change.added, change.removed, count, True, True)
    before = set(store.quads_for_pattern(None, None, None, graph))
    store.remove_graph(graph)
    count = infer_into(store, rules, instance_prefix=prefix, graph=graph)
    after = set(store.quads_for_pattern(None, None, None, graph))
    local = instances_only(store, rules, instance_prefix=prefix, graph=graph)
    return Reasoned(after - before, before - after, count, local, False)


def _class_counts(store: ox.Store, ns: Namespaces, counts: dict[str, int], added: set[ox.Quad],
                  removed: set[ox.Quad]) -> dict[str, int]:
    """``instances_per_class`` (a class counted once per instance) after the typing quads that came and went."""
    reekg, ids = str(ns.reekg), str(ns.id)
    gained: dict[tuple[Any, Any], set] = {}
    lost: dict[tuple[Any, Any], set] = {}
    for quads, into in ((added, gained), (removed, lost)):
        for q in quads:
            if (q.predicate == _TYPE and isinstance(q.object, ox.NamedNode) and q.object.value.startswith(reekg)
                    and isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(ids)):
                into.setdefault((q.subject, q.object), set()).add(q.graph_name)
    counts = dict(counts)
    for subject, cls in gained.keys() | lost.keys():
        now = {q.graph_name for q in store.quads_for_pattern(subject, _TYPE, cls, None)}
        before = (now - gained.get((subject, cls), set())) | lost.get((subject, cls), set())
        name = cls.value[len(reekg):]
        counts[name] = counts.get(name, 0) + bool(now) - bool(before)
        if not counts[name]:
            del counts[name]
    return dict(sorted(counts.items()))


def statistics(store: ox.Store, ns: Namespaces, parent: dict[str, Any], added: set[ox.Quad],
               removed: set[ox.Quad]) -> dict[str, Any]:
    """:func:`~.build.store_statistics` of ``store``, from the parent build's and the quads that came and went
    (all of them, asserted and inferred); counted afresh if the parent has none."""
    if not all(isinstance(parent.get(k), int | dict) for k in ("quads", "triples_per_graph", "instances_per_class")):
        return store_statistics(store, ns)
    per_graph = dict(parent["triples_per_graph"])
    for quads, sign in ((added, 1), (removed, -1)):
        for q in quads:
            if isinstance(q.graph_name, ox.NamedNode):
                per_graph[q.graph_name.value] = per_graph.get(q.graph_name.value, 0) + sign
    return {
        "quads": parent["quads"] + len(added) - len(removed),
        "triples_per_graph": dict(sorted((g, n) for g, n in per_graph.items() if n)),
        "instances_per_class": _class_counts(store, ns, parent["instances_per_class"], added, removed),
    }
