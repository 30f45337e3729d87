"""Validated writes to the live graph: SPARQL 1.1 Update and the Graph Store operations (issue 3, item 2).

Every write is one transaction, run by the loaders (the only writer) under the build lock:

1. take a working copy of the served store: on the embedded store a RocksDB checkpoint, which hard-links its
   files (milliseconds at 10^6 triples, see :mod:`.write_targets`); on a remote store an in-memory copy;
2. apply the change there (an update, or a Graph Store PUT/POST/DELETE), reading the graphs it can touch before
   and after it: that difference is the write's delta. A Graph Store write, ``INSERT DATA``/``DELETE DATA`` and
   any update that names its graphs touch only those (:mod:`.update_scope`); an update that may write wherever
   a variable says (``GRAPH ?g`` in it, ``DROP ALL``) is compared over every graph: correct, but as slow as a
   read of the whole store;
3. refuse it if it touches a reserved graph (``…/graph/inferred`` is derived, ``…/graph/ontology``
   comes from files), a source graph's own provenance triples, a source graph that does not exist, or any
   graph outside ``…/graph/source/`` and ``…/graph/partner/``;
4. bring the inferred graph up to date for the delta (:mod:`.inference_delta`: DRed and semi-naive rules,
   proven equal to reasoning from scratch; the full reasoner when that proof's condition fails, see
   :func:`.write_delta.reason`);
5. validate asserted + inferred + ontology with the project's SHACL shapes: only the focus nodes the write
   touches (:mod:`.incremental`), or every node with the setting ``write_validation = full``;
6. only if it conforms, publish the working copy as a new build with :meth:`StoreHome.write` (a new build id;
   the manifest names the write and its parent build, its hash and counts carried forward by the delta).
   Otherwise :class:`WriteInvalid` carries the report, the copy is deleted and nothing changes.

Publishing is write-then-switch (see :mod:`.store`): the served store is never written, and a crash at any
point before the ``current`` symlink is replaced leaves the last committed store serving. A dry run
(:func:`validate_update`, ``publish=False``) takes the same path and stops before step 6.

Where the served graph lives is a :class:`Target`, chosen by the ``store`` setting (:func:`target_for`): the
embedded store home (:class:`EmbeddedTarget`) or a remote SPARQL 1.1 store (:class:`RemoteTarget`, issue 6).
On a remote store, step 6 stages only the graphs the write changed (the asserted ones and, when it changed, the
inferred graph) and switches them in with one update (:func:`.remote.publish`) — only if the remote store still
serves the build the write read. A remote store that fails raises :class:`StoreUnavailable` (a publish that
fails leaves the served graphs unchanged); one that another writer changed meanwhile, :class:`WriteConflict`.
Writers on one machine are serialised by the same lock as builds, on either kind of store.

The default graph. Every fact here lives in a named graph, so the default graph of a write is an alias of
one configured graph, :func:`default_write_graph` (``…/graph/partner/default``): Graph Store ``?default``
reads and writes it, and in a SPARQL update the default graph starts as a copy of it and whatever the update
leaves there is written back to it. Patterns over the curated data in an update name their graph
(``GRAPH ?g { … }`` or ``USING``); queries at ``/sparql`` still see the union of every graph.

Nothing here imports Flask; the server maps these exceptions to HTTP statuses.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pyoxigraph as ox
from rdflib import Graph

from reekg import formats
from reekg.errors import (
    GraphNotFound,
    StoreUnavailable,
    UnsupportedFormat,
    WriteConflict,
    WriteError,
    WriteInvalid,
    WriteRefused,
    WriteSyntaxError,
)
from reekg.terms import from_oxigraph

from .build import load_shapes, new_manifest, prefixes_graph, union_graph
from .namespaces import Namespaces
from .store import StoreHome, content_hash, content_hash_update
from .update_scope import update_graphs
from .validation import ValidationReport, validate
from .write_delta import Reasoned, drop_empty_graphs, reason, snapshot, statistics
from .write_report import locator, result_entries
from .write_targets import EmbeddedTarget, RemoteTarget, Target, Working, served_graphs, target_for

DEFAULT_GRAPH_NAME = "default"

# Formats of Graph Store bodies that carry graph names of their own (N-Quads, TriG).
QUAD_FORMATS = frozenset(f.rdf for f in formats.GRAPH if f.named_graphs)


@dataclass
class WriteResult:
    """What a write did (or, for a dry run, would do)."""

    kind: str
    build_id: str  # the new build, or the unchanged current one
    parent_build_id: str | None
    changed: bool
    published: bool
    added: int = 0
    removed: int = 0
    graphs: list[str] = field(default_factory=list)  # the asserted graphs the write changed
    created: bool = False  # a Graph Store write that made a new graph (201)
    report: ValidationReport | None = None
    warnings: list[dict[str, Any]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "kind": self.kind, "build_id": self.build_id, "parent_build_id": self.parent_build_id,
            "changed": self.changed, "published": self.published, "added": self.added,
            "removed": self.removed, "graphs": self.graphs, "warnings": self.warnings,
            "timings_s": {k: round(v, 3) for k, v in self.timings.items()},
        }


def default_write_graph(ns: Namespaces) -> str:
    """The named graph that stands for the default graph in writes (see the module docstring)."""
    return str(ns.partner_graph(DEFAULT_GRAPH_NAME))


# --- terms ----------------------------------------------------------------------------------------

def _triples(store: ox.Store, graph: ox.NamedNode | ox.DefaultGraph) -> set[ox.Quad]:
    return set(store.quads_for_pattern(None, None, None, graph))


def graph_iri(value: str) -> ox.NamedNode:
    """An absolute IRI as a graph name, or WriteRefused."""
    try:
        node = ox.NamedNode(value)
    except ValueError:
        raise WriteRefused(f"{value!r} is not an absolute IRI") from None
    if ":" not in value:
        raise WriteRefused(f"{value!r} is not an absolute IRI")
    return node


def rdf_format(content_type: str | None) -> ox.RdfFormat:
    """The RDF format of a media type, or UnsupportedFormat naming the ones we read."""
    fmt = formats.for_body(content_type)
    if fmt is None:
        shown = content_type or "no Content-Type"
        known = [f.media_type for f in formats.GRAPH]
        raise UnsupportedFormat(f"cannot read RDF of type {shown}; send {', '.join(known[:-1])} or {known[-1]}")
    return fmt.rdf


def parse_rdf(data: bytes, content_type: str | None, *, base_iri: str | None = None) -> list[ox.Quad]:
    """Every quad of an RDF body; blank nodes are renamed so that they never merge with stored ones."""
    fmt = rdf_format(content_type)
    if fmt == ox.RdfFormat.RDF_XML:
        from .rdf_files import DTD_REFUSED, xml_dtd_line

        line = xml_dtd_line([data])
        if line is not None:
            raise WriteRefused(f"the RDF/XML body, line {line}: {DTD_REFUSED}")
    try:
        return list(ox.parse(data, format=fmt, base_iri=base_iri, rename_blank_nodes=True))
    except SyntaxError as exc:
        raise WriteSyntaxError(f"the {fmt.name} body is not valid RDF: {exc}") from None
    except ValueError as exc:
        raise WriteSyntaxError(f"the {fmt.name} body cannot be read: {exc}") from None


# --- the transaction ------------------------------------------------------------------------------

Change = Callable[[ox.Store, "_Context"], None]


@dataclass
class _Context:
    ns: Namespaces
    created: bool = False


def _check_graphs(changed: set[ox.Quad], before: set[ox.Quad], ns: Namespaces) -> list[str]:
    """Refuse changes outside the writable graphs; return the names of the graphs changed."""
    reserved = {str(ns.inferred_graph): "the inferred graph is recomputed from the asserted triples on "
                                        "every write",
                str(ns.ontology_graph): "the ontology graph comes from the ontology files (ontology/)"}
    source_prefix, partner_prefix = str(ns.source_graph("")), str(ns.partner_graph(""))
    existing = {q.graph_name.value for q in before if isinstance(q.graph_name, ox.NamedNode)}
    touched = sorted({q.graph_name.value if isinstance(q.graph_name, ox.NamedNode) else "" for q in changed})
    for name in touched:
        if name in reserved:
            raise WriteRefused(f"the write changes <{name}>, which no write may change: {reserved[name]}. "
                               "Name the graph you mean (for example filter GRAPH ?g) and write to "
                               f"{partner_prefix}{{name}}")
        if name.startswith(source_prefix):
            if name not in existing:
                raise WriteRefused(f"<{name}> is not a source graph of this store: source graphs come from "
                                   f"the curated tables; write new facts to {partner_prefix}{{name}}")
            continue
        if not name.startswith(partner_prefix) or name == partner_prefix:
            raise WriteRefused(f"<{name or 'the default graph'}> is not writable: write to a partner graph "
                               f"{partner_prefix}{{name}} (or a source graph under {source_prefix})")
    for quad in changed:
        graph = quad.graph_name
        if (isinstance(graph, ox.NamedNode) and graph.value.startswith(source_prefix)
                and quad.subject == graph):
            raise WriteRefused(f"the write changes the provenance of <{graph.value}> ({quad.predicate} "
                               f"{quad.object}); a source graph's own description comes from the build")
    return touched


@dataclass
class _Working:
    """A write's working copy (:class:`~.write_targets.Working`) and what the write changed in it: the quads of
    the graphs it could touch before and after the change, and the inferred graph's change."""

    ns: Namespaces
    copy: Working
    before: set[ox.Quad]
    after: set[ox.Quad] = field(default_factory=set)  # the same graphs after the change, before reasoning
    reasoned: Reasoned | None = None

    @property
    def store(self) -> ox.Store:
        return self.copy.store

    @property
    def changed(self) -> set[ox.Quad]:
        return self.after ^ self.before

    @property
    def inferred_node(self) -> ox.NamedNode:
        return ox.NamedNode(str(self.ns.inferred_graph))

    def delta(self) -> tuple[set[ox.Quad], set[ox.Quad]]:
        """Every quad added and removed, asserted and inferred."""
        inferred = self.reasoned or Reasoned(set(), set(), 0, False, False)
        return (self.after - self.before) | inferred.added, (self.before - self.after) | inferred.removed


def transact(settings: dict[str, Any], kind: str, change: Change, *, publish: bool = True,
             home: StoreHome | None = None, shapes: Graph | None = None, target: Target | None = None,
             graphs: frozenset[str] | None = None) -> WriteResult:
    """Apply ``change`` to a working copy of the served graph, check, reason, validate and (if ``publish``)
    publish it as a new build on ``target`` (by default the one the ``store`` setting names). ``graphs`` names
    every graph ``change`` can alter besides the default graph (None: it may alter any). Raises a
    :class:`WriteError`, :class:`WriteInvalid` or :class:`StoreUnavailable`; nothing changes then."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    ns = Namespaces(settings["base_iri"])
    target = target or target_for(settings, home)
    with target.lock(), target.working() as copy:
        timings["read"] = timings["checkpoint"] = time.perf_counter() - started
        work, result = _apply(change, kind, ns, copy, graphs, timings)
        if not result.changed:
            result.timings = {"total": time.perf_counter() - started}
            return result
        _reason(work, timings)
        _validate(work, settings, shapes, result, timings)
        if publish:
            _publish(work, target, settings, result, timings)
        timings["total"] = time.perf_counter() - started
        result.timings = timings
        return result


def _apply(change: Change, kind: str, ns: Namespaces, copy: Working, graphs: frozenset[str] | None,
           timings: dict[str, float]) -> tuple[_Working, WriteResult]:
    """Steps 1–3: the change applied to the working copy, refused if it touches a graph no write may."""
    mark = time.perf_counter()
    context = _Context(ns)
    work = _Working(ns, copy, snapshot(copy.store, graphs))
    change(copy.store, context)
    drop_empty_graphs(copy.store, graphs)
    work.after = snapshot(copy.store, graphs)
    timings["apply"] = time.perf_counter() - mark
    touched = _check_graphs(work.changed, work.before, ns)
    parent_id = copy.parent.get("build_id")
    result = WriteResult(kind=kind, build_id=parent_id or "", parent_build_id=parent_id, changed=bool(work.changed),
                         published=False, added=len(work.after - work.before),
                         removed=len(work.before - work.after), graphs=touched, created=context.created)
    return work, result


def _reason(work: _Working, timings: dict[str, float]) -> None:
    """Step 4: the inferred graph brought up to date (incrementally when that is exact, see .write_delta)."""
    mark = time.perf_counter()
    work.reasoned = reason(work.store, work.ns, work.copy.parent, work.after - work.before,
                           work.before - work.after)
    timings["infer"] = time.perf_counter() - mark


def _validate(work: _Working, settings: dict[str, Any], shapes: Graph | None, result: WriteResult,
              timings: dict[str, float]) -> None:
    """Step 5: SHACL on the focus nodes the write touched (or every node); WriteInvalid if it breaks a shape."""
    mark = time.perf_counter()
    store, ns = work.store, work.ns
    shapes = shapes if shapes is not None else load_shapes(ns)
    locate = locator(store)
    if write_validation(settings) == "full":
        report = validate(lambda: union_graph(store, ns), shapes, locate, store=store, namespaces=prefixes_graph(ns))
    else:
        # the focus nodes of every triple, asserted or inferred, that the write changed
        from .validation import StoreIndex, validate_focus

        added, removed = work.delta()
        changes = [(from_oxigraph(t.subject), from_oxigraph(t.predicate), from_oxigraph(t.object))
                   for t in {q.triple for q in added | removed}]
        report = validate_focus(StoreIndex(store), shapes, locate, ns, changes=changes,
                                full_graph=lambda: union_graph(store, ns)).report
    timings["validate"] = time.perf_counter() - mark
    results = result_entries(report)
    result.report = report
    result.warnings = [r for r in results if r["severity"] != "Violation"]
    if not report.conforms:
        raise WriteInvalid(report, results)


def _publish(work: _Working, target: Target, settings: dict[str, Any], result: WriteResult,
             timings: dict[str, float]) -> None:
    """Step 6: the new build, its manifest naming the write and its parent, published on ``target``."""
    mark = time.perf_counter()
    parent, parent_id, reasoned = work.copy.parent, result.parent_build_id, work.reasoned
    assert reasoned is not None
    added, removed = work.delta()
    digest = (content_hash_update(parent["content_sha256"], added=added, removed=removed)
              if parent.get("content_sha256") else content_hash(work.store))
    manifest = new_manifest(
        digest, work.ns, result.report, validation=write_validation(settings),
        **{k: v for k, v in parent.items() if k == "rows_per_table"},
        inferred=reasoned.count, inference_local=reasoned.local,
        **statistics(work.store, work.ns, parent, added, removed),
        write={"kind": result.kind, "parent_build_id": parent_id, "added": result.added,
               "removed": result.removed, "graphs": result.graphs},
    )
    build_id = manifest["build_id"]
    changed_graphs = {q.graph_name.value for q in work.changed if isinstance(q.graph_name, ox.NamedNode)}
    if reasoned.added or reasoned.removed:
        changed_graphs.add(work.inferred_node.value)
    timings["manifest"] = time.perf_counter() - mark
    target.publish(build_id, work.copy, {**manifest, "timings_s": timings}, parent_id=parent_id,
                   changed=changed_graphs)
    timings["write"] = timings["publish"] = time.perf_counter() - mark
    result.build_id, result.published = build_id, True


def write_validation(settings: dict[str, Any]) -> str:
    """``incremental`` (the default: only the focus nodes a write touches, see :mod:`.incremental`) or ``full``
    (every node), from the ``write_validation`` setting."""
    mode = settings.get("write_validation") or "incremental"
    if mode not in ("incremental", "full"):
        raise ValueError(f"write validation must be 'incremental' or 'full', not {mode!r}")
    return mode


# --- SPARQL 1.1 Update ----------------------------------------------------------------------------

def _update_change(update_text: str, base_iri: str | None = None) -> Change:
    def change(store: ox.Store, context: _Context) -> None:
        ns = context.ns
        alias = ox.NamedNode(default_write_graph(ns))
        # The default graph starts as a copy of the alias graph (see the module docstring).
        alias_before = {ox.Quad(q.subject, q.predicate, q.object, ox.DefaultGraph()) for q in _triples(store, alias)}
        store.bulk_extend(alias_before)
        try:
            store.update(update_text, prefixes=ns.prefixes(), base_iri=base_iri)
        except SyntaxError as exc:
            raise WriteSyntaxError(f"SPARQL update syntax error: {exc}") from None
        except (OSError, ValueError, RuntimeError) as exc:
            raise WriteRefused(f"the update cannot be applied: {exc}") from None
        default_after = _triples(store, ox.DefaultGraph())
        for q in default_after:
            store.remove(q)
        for q in alias_before - default_after:  # removed through the default graph
            store.remove(ox.Quad(q.subject, q.predicate, q.object, alias))
        for q in default_after - alias_before:  # added through the default graph
            store.add(ox.Quad(q.subject, q.predicate, q.object, alias))

    return change


def apply_update(settings: dict[str, Any], update_text: str, *, publish: bool = True, base_iri: str | None = None,
                 **kwargs: Any) -> WriteResult:
    """Run a SPARQL 1.1 update as one validated transaction (``publish=False``: a dry run). Relative IRIs
    resolve against ``base_iri`` (the service passes its endpoint's URL); without one they are an error.

    The caller gates outbound requests first (LOAD and SERVICE make pyoxigraph fetch)."""
    ns = Namespaces(settings["base_iri"])
    graphs = update_graphs(update_text, ns.prefixes())
    if graphs is not None:
        graphs |= {default_write_graph(ns)}  # the default graph is written back to it
    return transact(settings, "update", _update_change(update_text, base_iri), publish=publish, graphs=graphs,
                    **kwargs)


def validate_update(settings: dict[str, Any], update_text: str, **kwargs: Any) -> WriteResult:
    """The dry run of :func:`apply_update`: the same checks, nothing written."""
    return apply_update(settings, update_text, publish=False, **kwargs)


# --- the Graph Store HTTP Protocol ----------------------------------------------------------------

def _target(ns: Namespaces, graph: str | None) -> ox.NamedNode:
    return graph_iri(graph) if graph is not None else ox.NamedNode(default_write_graph(ns))


def _as_triples(quads: list[ox.Quad], target: ox.NamedNode) -> list[ox.Quad]:
    if any(not isinstance(q.graph_name, ox.DefaultGraph) for q in quads):
        raise WriteRefused("the body names graphs of its own (TriG or N-Quads with GRAPH); send it to /store "
                           "without ?graph= or ?default to write each quad to its graph")
    return [ox.Quad(q.subject, q.predicate, q.object, target) for q in quads]


def graph_put(settings: dict[str, Any], graph: str | None, data: bytes, content_type: str | None, *,
              publish: bool = True, **kwargs: Any) -> WriteResult:
    """Replace the graph (``None``: the default-write graph) with the body's triples."""
    ns = Namespaces(settings["base_iri"])
    target = _target(ns, graph)
    quads = _as_triples(parse_rdf(data, content_type, base_iri=target.value), target)

    def change(store: ox.Store, context: _Context) -> None:
        old = _triples(store, target)
        context.created = not old
        for q in old:
            store.remove(q)
        store.bulk_extend(quads)

    return transact(settings, "graph-put", change, publish=publish, graphs=frozenset({target.value}), **kwargs)


def graph_post(settings: dict[str, Any], graph: str | None, data: bytes, content_type: str | None, *,
               publish: bool = True, dataset: bool = False, **kwargs: Any) -> WriteResult:
    """Merge the body's triples into the graph; with ``dataset`` (no target), TriG/N-Quads go to their own
    graphs and default-graph triples to the default-write graph."""
    ns = Namespaces(settings["base_iri"])
    target = _target(ns, graph)
    parsed = parse_rdf(data, content_type, base_iri=target.value)
    if dataset:
        quads = [q if isinstance(q.graph_name, ox.NamedNode) else ox.Quad(q.subject, q.predicate, q.object, target)
                 for q in parsed]
    else:
        quads = _as_triples(parsed, target)

    def change(store: ox.Store, context: _Context) -> None:
        context.created = not dataset and not _triples(store, target)
        store.bulk_extend(quads)

    graphs = frozenset({target.value} | {q.graph_name.value for q in quads if isinstance(q.graph_name, ox.NamedNode)})
    return transact(settings, "graph-post", change, publish=publish, graphs=graphs, **kwargs)


def graph_delete(settings: dict[str, Any], graph: str | None, *, publish: bool = True,
                 **kwargs: Any) -> WriteResult:
    """Remove the graph and every triple in it; GraphNotFound if it holds none."""
    ns = Namespaces(settings["base_iri"])
    target = _target(ns, graph)

    def change(store: ox.Store, context: _Context) -> None:
        old = _triples(store, target)
        if not old:
            raise GraphNotFound(f"<{target.value}> holds no triples")
        for q in old:
            store.remove(q)

    return transact(settings, "graph-delete", change, publish=publish, graphs=frozenset({target.value}), **kwargs)


__all__ = [
    "EmbeddedTarget", "GraphNotFound", "RemoteTarget", "StoreUnavailable", "Target", "UnsupportedFormat",
    "WriteConflict", "WriteError", "WriteInvalid", "WriteRefused", "WriteResult", "WriteSyntaxError",
    "apply_update", "default_write_graph", "graph_delete", "graph_post", "graph_put", "parse_rdf", "rdf_format",
    "served_graphs", "target_for", "transact", "validate_update",
]
