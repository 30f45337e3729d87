"""The build: tables (and partner RDF) → RDF with provenance → OWL RL inference → SHACL → the store.

Nothing is written unless every step succeeds, so a failed build leaves the last good graph serving.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import gc
import itertools
import shutil
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph, URIRef
from rdflib.compare import to_canonical_graph
from rdflib.term import Node
from tqdm import tqdm

from reekg import __version__
from reekg.errors import HomeUnavailable, LoadError, RemoteError
from reekg.settings import DEFAULT_BASE_IRI
from reekg.terms import from_oxigraph, to_oxigraph

from .csvw import MappedTables, map_tables
from .inference import compile_rules, infer_into
from .inference_delta import instances_only
from .namespaces import PROV, Namespaces
from .problems import Place
from .rdf_files import stream_into
from .remote_store import RemoteStore, publish
from .remote_store import partner_quads as remote_partner_quads
from .store import StoreHome, content_hash
from .validation import ValidationReport, line_of, validate

Quad = tuple[Node, Node, Node, Node]
METADATA_FILE = "tables.csv-metadata.json"


def default_data_dir() -> Path:
    """The curated tables shipped with reekg (``data/`` in a checkout)."""
    return Path(str(resources.files("reekg.data")))


def _rebased(graph: Graph, ns: Namespaces) -> Graph:
    """The graph under ``ns.base``. Text is rewritten too, not only IRIs: SHACL-SPARQL prefixes
    (``sh:namespace``) and query strings name the base inside literals."""
    if ns.base == DEFAULT_BASE_IRI:
        return graph
    text = graph.serialize(format="nt").replace(DEFAULT_BASE_IRI, ns.base)
    return Graph().parse(data=text, format="nt")


def load_ontology(ns: Namespaces) -> Graph:
    """The ontology under ``ns.base``, its blank nodes (lists, axioms) named canonically so that the same
    files always give the same quads and the same content hash."""
    from reekg.ontology import load_ontology as load

    return to_canonical_graph(_rebased(load(), ns))


def load_shapes(ns: Namespaces) -> Graph:
    from reekg.shapes import load_shapes as load

    return _rebased(load(), ns)


@dataclass
class Assembled:
    """Everything a build produces before it is written: every graph in an in-memory store (ontology, tables,
    partner graphs, inferred), and where the facts came from."""

    ns: Namespaces
    store: ox.Store
    ontology: Graph
    tables: MappedTables
    partner_files: dict[str, Place] = field(default_factory=dict)  # partner graph IRI → where it came from
    inferred: int = 0
    inference_local: bool | None = None  # whether a write may reason incrementally (inference_delta.py)

    def locate(self, focus: Node, path: Node | None, value: Node | None = None) -> Place:
        """The CSV cell or file (and line) a SHACL result points at; a value that a partner file states is
        placed in that file, even if a table also describes the focus node."""
        if value is not None and isinstance(focus, (URIRef, BNode)):
            predicate = to_oxigraph(path) if path is not None else None
            for quad in self.store.quads_for_pattern(to_oxigraph(focus), predicate, to_oxigraph(value), None):
                if quad.graph_name.value in self.partner_files:
                    file = self.partner_files[quad.graph_name.value].file
                    found = from_oxigraph(quad.predicate)
                    return Place(file, line_of(file, focus, found, value), self._short(str(found)))
        if path is not None and (focus, path) in self.tables.origins:
            return self.tables.origins[(focus, path)]
        if focus in self.tables.subjects:
            place = self.tables.subjects[focus]
            field_name = path.n3(self.ontology.namespace_manager) if path is not None else None
            return Place(place.file, place.line, field_name)
        if focus in self.tables.referrers:  # a link to something no row describes (an unknown code)
            return self.tables.referrers[focus]
        if isinstance(focus, (URIRef, BNode)):
            for quad in self.store.quads_for_pattern(to_oxigraph(focus), None, None, None):
                if quad.graph_name.value in self.partner_files:
                    file = self.partner_files[quad.graph_name.value].file
                    return Place(file, line_of(file, focus, path), str(focus))
        return Place("(graph)", None, str(focus))

    def _short(self, iri: str) -> str:
        for prefix, namespace in sorted(self.ns.prefixes().items(), key=lambda item: -len(item[1])):
            if iri.startswith(namespace):
                return f"{prefix}:{iri[len(namespace):]}"
        return f"<{iri}>"

    def close(self) -> None:
        """Let go of the store (an on-disk one is closed when its last reference goes)."""
        self.store = None
        gc.collect()

    def quads(self) -> Iterator[ox.Quad]:
        return iter(self.store)

    def union(self) -> Graph:
        return union_graph(self.store, self.ns)

    def triples_in(self, graphs: Iterable[str]) -> list[tuple[Node, Node, Node]]:
        return [(from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object))
                for g in graphs for q in self.store.quads_for_pattern(None, None, None, ox.NamedNode(g))]


def prefixes_graph(ns: Namespaces) -> Graph:
    """An empty graph bound to reekg's prefixes: what a validation report shortens IRIs with, so that full
    validation need not build the union graph when pySHACL has nothing left to check."""
    graph = Graph()
    for prefix, iri in ns.prefixes().items():
        graph.bind(prefix, iri)
    return graph


def union_graph(store: ox.Store, ns: Namespaces) -> Graph:
    """Every triple of ``store`` (all its graphs) as one rdflib graph with reekg's prefixes, for pySHACL."""
    graph = prefixes_graph(ns)
    graph.addN((from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object), graph)
               for q in store)
    return graph


@dataclass
class BuildResult:
    build_id: str
    store_path: Path | None
    report: ValidationReport
    manifest: dict[str, Any]


def _ox_quad(quad: Quad | ox.Quad) -> ox.Quad:
    return quad if isinstance(quad, ox.Quad) else ox.Quad(*(to_oxigraph(t) for t in quad))


def assemble(ns: Namespaces, data_dir: Path | None = None, extra_rdf: Iterable[Path] = (),
             *, kept: Iterable[Quad | ox.Quad] = (), progress: bool = False,
             store: ox.Store | None = None) -> Assembled:
    """Map the tables, stream the partner files, add ``kept`` quads (partner graphs carried over from the live
    store), the ontology and the inferred graph, all into ``store`` (empty; by default a new in-memory one).
    A build passes its new on-disk store: memory then stays flat however large the partner files are."""
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    metadata = data_dir / METADATA_FILE
    if not metadata.exists():
        raise LoadError([], f"no {METADATA_FILE} in {data_dir}")
    ontology = load_ontology(ns)
    with tqdm(desc="tables", unit="row", disable=not progress, leave=False) as rows:
        tables = map_tables(metadata, ns, on_row=lambda: rows.update())
    store = ox.Store() if store is None else store
    ontology_graph = to_oxigraph(ns.ontology_graph)
    store.extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), ontology_graph) for s, p, o in ontology)
    store.extend(_ox_quad(q) for q in tables.quads)
    # Describe each source graph inside itself: the graph is derived from its source (PROV-O).
    source_prefix = str(ns.source_graph(""))
    for graph in {q[3] for q in tables.quads}:
        if str(graph).startswith(source_prefix):
            source = ns.entity("source", str(graph)[len(source_prefix):])
            store.add(ox.Quad(to_oxigraph(graph), to_oxigraph(PROV.wasDerivedFrom), to_oxigraph(source),
                              to_oxigraph(graph)))
    assembled = Assembled(ns=ns, store=store, ontology=ontology, tables=tables)
    kept_graphs: set[str] = set()

    def carried() -> Iterator[ox.Quad]:
        for quad in kept:
            quad = _ox_quad(quad)
            kept_graphs.add(quad.graph_name.value)
            yield quad

    store.bulk_extend(carried())
    for graph in kept_graphs:
        assembled.partner_files[graph] = Place(f"(kept from the store) {graph}")
    for path in extra_rdf:
        path = Path(path)
        graph = to_oxigraph(ns.partner_graph(path.stem))
        if store.contains_named_graph(graph):  # the same file name twice: the last one wins
            store.remove_graph(graph)
        with tqdm(desc=path.name, unit="triple", unit_scale=True, disable=not progress, leave=False) as bar:
            stream_into(store, path, graph, on_batch=bar.update)
        assembled.partner_files[graph.value] = Place(str(path))
    rules, inferred_graph = compile_rules(ontology), to_oxigraph(ns.inferred_graph)
    assembled.inferred = infer_into(store, rules, instance_prefix=str(ns.id), graph=inferred_graph)
    # said in the manifest, so that the first write after a build need not ask the whole store (1.5 s at 10^6)
    assembled.inference_local = instances_only(store, rules, instance_prefix=str(ns.id), graph=inferred_graph)
    return assembled


def statistics(assembled: Assembled) -> dict[str, Any]:
    return {**store_statistics(assembled.store, assembled.ns),
            "rows_per_table": dict(sorted(assembled.tables.rows.items())), "inferred": assembled.inferred,
            "inference_local": assembled.inference_local}


def store_statistics(store: ox.Store, ns: Namespaces) -> dict[str, Any]:
    """Counts for a manifest, read from the store (SPARQL in Rust, not a Python walk over every quad)."""
    per_graph = {r["g"].value: int(r["n"].value) for r in store.query(
        "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g")}
    reekg, ids = str(ns.reekg), str(ns.id)
    # a class counted once per instance even if typed in two graphs (asserted and inferred)
    per_class = {r["c"].value[len(reekg):]: int(r["n"].value) for r in store.query(
        "SELECT ?c (COUNT(DISTINCT ?s) AS ?n) WHERE { GRAPH ?g { ?s a ?c } "
        f"FILTER(STRSTARTS(STR(?c), {ox.Literal(reekg)}) && STRSTARTS(STR(?s), {ox.Literal(ids)})) }} GROUP BY ?c")}
    return {
        "quads": len(store),
        "triples_per_graph": dict(sorted(per_graph.items())),
        "instances_per_class": dict(sorted(per_class.items())),
    }


def new_manifest(digest: str, ns: Namespaces, report: ValidationReport, *, validation: str,
                 **facts: Any) -> dict[str, Any]:
    """The manifest of a new store (build or write): its id (UTC time + content hash), hash, base, version,
    SHACL summary and ``facts`` (counts, the write's description, …)."""
    now = dt.datetime.now(dt.UTC)
    return {
        "build_id": f"{now:%Y%m%dT%H%M%SZ}-{digest[:12]}",
        "built_at": now.isoformat(timespec="seconds"),
        "content_sha256": digest,
        "base_iri": ns.base,
        "reekg_version": __version__,
        "shacl": {"conforms": True, "violations": 0, "warnings": len(report.warnings), "validation": validation},
        **facts,
    }


@contextmanager
def build_lock(home: Path):
    """One build at a time per home: concurrent writers are serialised, never interleaved. A home that cannot
    hold the lock file (read-only, no permission, under a file) raises HomeUnavailable naming the cause."""
    store_home = StoreHome(home)
    store_home.check()
    with store_home.writing("taking the build lock"):
        home.mkdir(parents=True, exist_ok=True)
        handle = (home / ".build.lock").open("w")
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def partner_quads(home: StoreHome, ns: Namespaces, *, replaced: set[str] = frozenset()) -> Iterator[ox.Quad]:
    """The partner graphs of the live store (loaded with --add or written through the service), so that a
    rebuild from the tables does not lose them; graphs in ``replaced`` are left out (a file re-added)."""
    serving = home.serving()
    if serving.path is None:
        if serving.problem:  # stores exist but none opens: a rebuild would silently drop their partner graphs
            raise HomeUnavailable(f"{serving.problem}; their partner graphs cannot be carried over: restore the "
                                  "store, or build with --drop-partner-graphs")
        return
    prefix = str(ns.partner_graph(""))
    store = ox.Store.read_only(str(serving.path))
    for graph in store.named_graphs():
        if graph.value.startswith(prefix) and graph.value not in replaced:
            yield from store.quads_for_pattern(None, None, None, graph)


def _remote(settings: dict[str, Any]) -> RemoteStore | None:
    """The remote SPARQL store to publish to when the ``store`` setting is ``sparql`` (issue 6), else None."""
    if settings.get("store", "embedded") != "sparql":
        return None
    return RemoteStore.from_settings(settings)


def _remote_call(action, what: str):
    """A remote-store step; its failure is a LoadError that carries the engine's message."""
    try:
        return action()
    except RemoteError as exc:
        raise LoadError([], f"{what} failed: {exc.message} (the graphs the remote store serves are unchanged)"
                        ) from None


def _validate(assembled: Assembled, validation: str, extra_rdf: list[Path]) -> ValidationReport:
    ns = assembled.ns
    if validation == "full":  # SHACL-SPARQL on the store in pyoxigraph, then the rest in pySHACL
        return validate(assembled.union, load_shapes(ns), assembled.locate, store=assembled.store,
                        namespaces=prefixes_graph(ns))
    if validation == "incremental":
        from .validation import StoreIndex, validate_focus

        changes = assembled.triples_in(str(ns.partner_graph(p.stem)) for p in extra_rdf)
        return validate_focus(StoreIndex(assembled.store), load_shapes(ns), assembled.locate, ns,
                              changes=changes, full_graph=assembled.union).report
    return ValidationReport(conforms=True)


def _kept_partner_quads(settings: dict[str, Any], ns: Namespaces, extra_rdf: list[Path],
                        remote: RemoteStore | None) -> Iterable[Quad | ox.Quad]:
    """The live store's partner graphs, but those a file of ``extra_rdf`` replaces."""
    replaced = {str(ns.partner_graph(p.stem)) for p in extra_rdf}
    if remote is not None:
        return _remote_call(lambda: remote_partner_quads(remote, ns.base, str(ns.partner_graph("")),
                                                         replaced=replaced), "reading the partner graphs")
    kept = partner_quads(StoreHome(settings["home"]), ns, replaced=replaced)
    next_quad = next(kept, None)  # refuses now (before the tables are read) if no store can be read
    return kept if next_quad is None else itertools.chain([next_quad], kept)


def _publish(assembled: Assembled, folder: Path, home: StoreHome, remote: RemoteStore | None,
             manifest: dict[str, Any], on_batch) -> Path | None:
    """Publish the build under the build lock: staged and switched in on the remote store, or the scratch
    store adopted as the home's current one (the path it now has)."""
    build_id = manifest["build_id"]
    if remote is not None:
        with build_lock(home.home):
            _remote_call(lambda: publish(remote, assembled.ns.base, build_id, assembled.quads(), manifest,
                                         on_batch=on_batch), "publishing the build")
        return None
    assembled.store.optimize()
    assembled.close()  # RocksDB closed before the folder is moved and published
    with build_lock(home.home):
        store_path = home.adopt(folder, build_id, manifest)
        home.prune()
    return store_path


def build(settings: dict[str, Any], *, extra_rdf: Iterable[Path] = (), progress: bool = False,
          write: bool = True, keep_partner_graphs: bool = True, on_batch=None,
          validation: str = "full") -> BuildResult:
    """Build, validate and (if ``write``) publish a new store. Raises LoadError on bad input or violations.

    With ``store = sparql`` the build is published to the remote SPARQL store instead (staged, then switched
    in; see :mod:`reekg.loaders.remote_store`); ``on_batch`` is its progress hook.

    The partner graphs of the live store are carried over and validated again with the new tables, unless
    ``keep_partner_graphs`` is false; a file given in ``extra_rdf`` replaces the graph of the same name.
    ``validation``: ``full`` (every node), ``incremental`` (the focus nodes of the ``extra_rdf`` files, see
    :mod:`.incremental`; the tables and kept graphs are taken as valid) or ``none`` (a bulk load validated
    apart; the manifest says which).
    """
    if validation not in ("full", "incremental", "none"):
        raise ValueError(f"validation must be full, incremental or none, not {validation!r}")
    started = time.perf_counter()
    timings: dict[str, float] = {}
    ns = Namespaces(settings["base_iri"])
    data_dir = Path(settings["data_dir"]) if settings.get("data_dir") else None
    extra_rdf = [Path(p) for p in extra_rdf]
    remote = _remote(settings)
    StoreHome(settings["home"]).check()
    kept = _kept_partner_quads(settings, ns, extra_rdf, remote) if keep_partner_graphs else ()
    home = StoreHome(settings["home"])
    folder = home.scratch()
    try:
        assembled = assemble(ns, data_dir, extra_rdf, kept=kept, progress=progress, store=ox.Store(str(folder)))
        timings["assemble"] = time.perf_counter() - started
        mark = time.perf_counter()
        report = _validate(assembled, validation, extra_rdf)
        timings["validate"] = time.perf_counter() - mark
        if not report.conforms:
            raise LoadError(report.violations, report.summary())
        mark = time.perf_counter()
        digest = content_hash(assembled.store)
        manifest = new_manifest(digest, ns, report, validation=validation, **statistics(assembled))
        timings["describe"] = time.perf_counter() - mark
        build_id = manifest["build_id"]
        mark = time.perf_counter()
        store_path = None
        if write:
            store_path = _publish(assembled, folder, home, remote, {**manifest, "timings_s": timings}, on_batch)
        timings["write"] = time.perf_counter() - mark
    finally:
        assembled = None
        shutil.rmtree(folder, ignore_errors=True)  # gone already once adopted
    timings["total"] = time.perf_counter() - started
    manifest["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
    return BuildResult(build_id, store_path, report, manifest)
