"""Validated writes to the live graph: SPARQL 1.1 Update and the Graph Store operations (issue 3, item 2).

Every write is one transaction, run by the loaders (the only writer) under the build lock:

1. load the current store's quads into an in-memory pyoxigraph Store;
2. apply the change there (an update, or a Graph Store PUT/POST/DELETE);
3. refuse it if it touches a reserved graph (``…/graph/inferred`` is recomputed, ``…/graph/ontology``
   comes from files), a source graph's own provenance triples, a source graph that does not exist, or any
   graph outside ``…/graph/source/`` and ``…/graph/partner/``;
4. recompute the inferred graph from the new asserted triples (the ontology's rules, run in the working
   store by :func:`~.inference.infer_into`);
5. validate asserted + inferred + ontology with the project's SHACL shapes: only the focus nodes the write
   touches (:mod:`.incremental`), or every node with the setting ``write_validation = full``;
6. only if it conforms, publish a new store with :meth:`StoreHome.write` (a new build id; the manifest
   names the write and its parent build). Otherwise :class:`WriteInvalid` carries the report and nothing
   changes.

Publishing is write-then-switch (see :mod:`.store`): a crash at any point before the ``current`` symlink
is replaced leaves the last committed store serving. A dry run (:func:`validate_update`, ``publish=False``)
takes the same path and stops before step 6.

Where the served graph lives is a :class:`Target`, chosen by the ``store`` setting (:func:`target_for`): the
embedded store home (:class:`EmbeddedTarget`) or a remote SPARQL 1.1 store (:class:`RemoteTarget`, issue 6).
On a remote store, step 1 reads the graphs its meta graph lists, steps 2–5 run here as above, and step 6
stages only the graphs the write changed (the asserted ones and, when it changed, the inferred graph) and
switches them in with one update (:func:`.remote.publish`) — only if the remote store still serves the build
the write read. A remote store that fails raises :class:`StoreUnavailable` (a publish that fails leaves the
served graphs unchanged); one that another writer changed meanwhile, :class:`WriteConflict`. Writers on one
machine are serialised by the same lock as builds, on either kind of store.

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
from rdflib import BNode, Graph, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

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
from reekg.terms import from_oxigraph, to_oxigraph

from .build import load_shapes, new_manifest, store_statistics, union_graph
from .inference import compile_rules, infer_into
from .namespaces import Namespaces
from .problems import Place
from .store import StoreHome, content_hash, content_hash_update
from .validation import ValidationReport, validate
from .write_targets import EmbeddedTarget, RemoteTarget, Target, served_graphs, target_for

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


def _result_entries(report: ValidationReport) -> list[dict[str, Any]]:
    """The SHACL results in plain words: focus, path, value, message, severity, shape."""
    graph, entries = report.graph, []

    def shown(node: Node | None) -> str | None:
        if node is None:
            return None
        if isinstance(node, Literal):
            return str(node)
        return node.n3(graph.namespace_manager) if isinstance(node, URIRef) else str(node)

    for result in graph.subjects(SH.resultSeverity, None):
        severity = graph.value(result, SH.resultSeverity)
        message = graph.value(result, SH.resultMessage)
        shape = graph.value(result, SH.sourceShape)
        entries.append({
            "focus": shown(graph.value(result, SH.focusNode)),
            "path": shown(graph.value(result, SH.resultPath)),
            "value": shown(graph.value(result, SH.value)),
            "message": str(message) if message is not None else f"fails {shown(shape)}",
            "severity": str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation",
            "shape": shown(shape),
        })
    entries.sort(key=lambda e: (e["severity"] != "Violation", e["focus"] or "", e["path"] or "", e["message"]))
    return entries


def _locator(store: ox.Store) -> Callable[[Node, Node | None, Node | None], Place]:
    """Place a SHACL result in the graph that describes its focus node (looked up when a result needs it)."""

    def locate(focus: Node, path: Node | None, value: Node | None = None) -> Place:
        graph = "(graph)"
        if isinstance(focus, (URIRef, BNode)):
            for q in store.quads_for_pattern(to_oxigraph(focus), None, None, None):
                if isinstance(q.graph_name, ox.NamedNode):
                    graph = q.graph_name.value
                    break
        return Place(graph, None, str(path) if path is not None else str(focus))

    return locate


@dataclass
class _Working:
    """A write's working copy: the served quads before the change and the in-memory store after it."""

    ns: Namespaces
    memory: ox.Store
    before: set[ox.Quad]
    after: set[ox.Quad] = field(default_factory=set)  # the quads after the change, before reasoning
    inferred_before: set[ox.Quad] = field(default_factory=set)
    inferred_after: set[ox.Quad] = field(default_factory=set)
    inferred: Any = None  # what infer_into says of the new inferred graph

    @property
    def changed(self) -> set[ox.Quad]:
        return self.after ^ self.before

    @property
    def inferred_node(self) -> ox.NamedNode:
        return ox.NamedNode(str(self.ns.inferred_graph))


def transact(settings: dict[str, Any], kind: str, change: Change, *, publish: bool = True,
             home: StoreHome | None = None, shapes: Graph | None = None, target: Target | None = None
             ) -> WriteResult:
    """Apply ``change`` to a copy of the served graph, check, recompute, validate and (if ``publish``)
    publish it as a new build on ``target`` (by default the one the ``store`` setting names). Raises a
    :class:`WriteError`, :class:`WriteInvalid` or :class:`StoreUnavailable`; nothing changes then."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    ns = Namespaces(settings["base_iri"])
    target = target or target_for(settings, home)
    with target.lock():
        before, parent = target.read()
        timings["read"] = time.perf_counter() - started
        work, result = _apply(change, kind, ns, before, parent, timings)
        if not result.changed:
            result.timings = {"total": time.perf_counter() - started}
            return result
        _reason(work, timings)
        _validate(work, settings, shapes, result, timings)
        if publish:
            _publish(work, target, parent, settings, result, timings)
        timings["total"] = time.perf_counter() - started
        result.timings = timings
        return result


def _apply(change: Change, kind: str, ns: Namespaces, before: set[ox.Quad], parent: dict[str, Any],
           timings: dict[str, float]) -> tuple[_Working, WriteResult]:
    """Steps 1–3: the change applied to an in-memory copy, refused if it touches a graph no write may."""
    memory = ox.Store()
    memory.bulk_extend(before)
    context = _Context(ns)
    mark = time.perf_counter()
    change(memory, context)
    timings["apply"] = time.perf_counter() - mark
    work = _Working(ns, memory, before, set(memory.quads_for_pattern(None, None, None, None)))
    touched = _check_graphs(work.changed, before, ns)
    parent_id = parent.get("build_id")
    result = WriteResult(kind=kind, build_id=parent_id or "", parent_build_id=parent_id, changed=bool(work.changed),
                         published=False, added=len(work.after - before), removed=len(before - work.after),
                         graphs=touched, created=context.created)
    return work, result


def _reason(work: _Working, timings: dict[str, float]) -> None:
    """Step 4: inference again, in the working store (the same rules as a build, see .inference)."""
    mark = time.perf_counter()
    memory, inferred_node = work.memory, work.inferred_node
    work.inferred_before = set(memory.quads_for_pattern(None, None, None, inferred_node))
    memory.remove_graph(inferred_node)
    ontology = Graph()
    for q in memory.quads_for_pattern(None, None, None, ox.NamedNode(str(work.ns.ontology_graph))):
        ontology.add((from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object)))
    work.inferred = infer_into(memory, compile_rules(ontology), instance_prefix=str(work.ns.id), graph=inferred_node)
    work.inferred_after = set(memory.quads_for_pattern(None, None, None, inferred_node))
    timings["infer"] = time.perf_counter() - mark


def _validate(work: _Working, settings: dict[str, Any], shapes: Graph | None, result: WriteResult,
              timings: dict[str, float]) -> None:
    """Step 5: SHACL on the focus nodes the write touched (or every node); WriteInvalid if it breaks a shape."""
    mark = time.perf_counter()
    memory, ns = work.memory, work.ns
    shapes = shapes if shapes is not None else load_shapes(ns)
    locate = _locator(memory)
    if write_validation(settings) == "full":
        report = validate(lambda: union_graph(memory, ns), shapes, locate, store=memory)
    else:
        # the focus nodes of every triple, asserted or inferred, that the write changed
        from .validation import StoreIndex, validate_focus

        triples = {q.triple for q in work.changed if q.graph_name != work.inferred_node}
        triples |= {q.triple for q in work.inferred_before ^ work.inferred_after}
        changes = [(from_oxigraph(t.subject), from_oxigraph(t.predicate), from_oxigraph(t.object))
                   for t in triples]
        report = validate_focus(StoreIndex(memory), shapes, locate, ns, changes=changes,
                                full_graph=lambda: union_graph(memory, ns)).report
    timings["validate"] = time.perf_counter() - mark
    results = _result_entries(report)
    result.report = report
    result.warnings = [r for r in results if r["severity"] != "Violation"]
    if not report.conforms:
        raise WriteInvalid(report, results)


def _publish(work: _Working, target: Target, parent: dict[str, Any], settings: dict[str, Any],
             result: WriteResult, timings: dict[str, float]) -> None:
    """Step 6: the new build, its manifest naming the write and its parent, published on ``target``."""
    mark = time.perf_counter()
    memory, parent_id = work.memory, result.parent_build_id
    quads = list(memory)
    added = (work.after - work.before) | (work.inferred_after - work.inferred_before)
    removed = (work.before - work.after) | (work.inferred_before - work.inferred_after)
    digest = (content_hash_update(parent["content_sha256"], added=added, removed=removed)
              if parent.get("content_sha256") else content_hash(quads))
    manifest = new_manifest(
        digest, work.ns, result.report, validation=write_validation(settings),
        **{k: v for k, v in parent.items() if k == "rows_per_table"},
        inferred=work.inferred, **store_statistics(memory, work.ns),
        write={"kind": result.kind, "parent_build_id": parent_id, "added": result.added,
               "removed": result.removed, "graphs": result.graphs},
    )
    build_id = manifest["build_id"]
    changed_graphs = {q.graph_name.value for q in work.changed if isinstance(q.graph_name, ox.NamedNode)}
    if work.inferred_before != work.inferred_after:
        changed_graphs.add(work.inferred_node.value)
    target.publish(build_id, quads, {**manifest, "timings_s": timings}, parent_id=parent_id,
                   changed=changed_graphs)
    timings["write"] = time.perf_counter() - mark
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
    return transact(settings, "update", _update_change(update_text, base_iri), publish=publish, **kwargs)


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

    return transact(settings, "graph-put", change, publish=publish, **kwargs)


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

    return transact(settings, "graph-post", change, publish=publish, **kwargs)


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

    return transact(settings, "graph-delete", change, publish=publish, **kwargs)


__all__ = [
    "EmbeddedTarget", "GraphNotFound", "RemoteTarget", "StoreUnavailable", "Target", "UnsupportedFormat",
    "WriteConflict", "WriteError", "WriteInvalid", "WriteRefused", "WriteResult", "WriteSyntaxError",
    "apply_update", "default_write_graph", "graph_delete", "graph_post", "graph_put", "parse_rdf", "rdf_format",
    "served_graphs", "target_for", "transact", "validate_update",
]
