"""The build: tables (and partner RDF) → RDF with provenance → OWL RL inference → SHACL → the store.

Nothing is written unless every step succeeds, so a failed build leaves the last good graph serving.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import time
from collections import Counter
from collections.abc import Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Graph
from rdflib.compare import to_canonical_graph
from rdflib.namespace import RDF
from rdflib.term import Node
from tqdm import tqdm

from reekg import __version__
from reekg.settings import DEFAULT_BASE_IRI

from .csvw import MappedTables, map_tables
from .errors import LoadError, Place
from .inference import materialise
from .namespaces import PROV, Namespaces
from .rdf_files import from_oxigraph, read_triples
from .remote import RemoteError, RemoteStore, publish
from .remote import partner_quads as remote_partner_quads
from .store import StoreHome, content_hash, to_oxigraph
from .validation import ValidationReport, validate

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
    """Everything a build produces before it is written: quads by graph, and where facts came from."""

    ns: Namespaces
    quads: list[Quad]
    ontology: Graph
    tables: MappedTables
    partner_subjects: dict[Node, Place] = field(default_factory=dict)
    inferred: int = 0

    def locate(self, focus: Node, path: Node | None) -> Place:
        """The CSV cell or file a SHACL result points at."""
        if path is not None and (focus, path) in self.tables.origins:
            return self.tables.origins[(focus, path)]
        if focus in self.tables.subjects:
            place = self.tables.subjects[focus]
            field_name = path.n3(self.ontology.namespace_manager) if path is not None else None
            return Place(place.file, place.line, field_name)
        if focus in self.tables.referrers:  # a link to something no row describes (an unknown code)
            return self.tables.referrers[focus]
        if focus in self.partner_subjects:
            return Place(self.partner_subjects[focus].file, None, str(focus))
        return Place("(graph)", None, str(focus))

    def union(self) -> Graph:
        graph = Graph()
        for prefix, iri in self.ns.prefixes().items():
            graph.bind(prefix, iri)
        for s, p, o, _ in self.quads:
            graph.add((s, p, o))
        return graph


@dataclass
class BuildResult:
    build_id: str
    store_path: Path | None
    report: ValidationReport
    manifest: dict[str, Any]


def assemble(ns: Namespaces, data_dir: Path | None = None, extra_rdf: Iterable[Path] = (),
             *, kept: Iterable[Quad] = (), progress: bool = False) -> Assembled:
    """Map the tables and partner files, add ``kept`` quads (partner graphs carried over from the live store),
    the ontology and the inferred graph."""
    data_dir = Path(data_dir) if data_dir else default_data_dir()
    metadata = data_dir / METADATA_FILE
    if not metadata.exists():
        raise LoadError([], f"no {METADATA_FILE} in {data_dir}")
    ontology = load_ontology(ns)
    with tqdm(desc="tables", unit="row", disable=not progress, leave=False) as rows:
        tables = map_tables(metadata, ns, on_row=lambda: rows.update())
    quads: list[Quad] = [(s, p, o, ns.ontology_graph) for s, p, o in ontology]
    quads.extend(tables.quads)
    # Describe each source graph inside itself: the graph is derived from its source (PROV-O).
    for graph in {q[3] for q in tables.quads}:
        if str(graph).startswith(str(ns.source_graph(""))):
            source_id = str(graph)[len(str(ns.source_graph(""))):]
            quads.append((graph, PROV.wasDerivedFrom, ns.entity("source", source_id), graph))
    assembled = Assembled(ns=ns, quads=quads, ontology=ontology, tables=tables)
    for s, p, o, g in kept:
        quads.append((s, p, o, g))
        assembled.partner_subjects.setdefault(s, Place(f"(kept from the store) {g}"))
    for path in extra_rdf:
        path = Path(path)
        graph = ns.partner_graph(path.stem)
        triples = read_triples(path)
        if any(isinstance(t, BNode) for triple in triples for t in triple):  # canonical names: a stable hash
            triples = to_canonical_graph(triples)  # (slow and memory-hungry: skipped when there are none)
        for s, p, o in triples:
            quads.append((s, p, o, graph))
            assembled.partner_subjects.setdefault(s, Place(str(path)))
    asserted = {(s, p, o) for s, p, o, g in quads if g != ns.ontology_graph}
    inferred = materialise(asserted, ontology, instance_prefix=str(ns.id))
    quads.extend((s, p, o, ns.inferred_graph) for s, p, o in sorted(inferred))
    assembled.inferred = len(inferred)
    return assembled


def statistics(assembled: Assembled) -> dict[str, Any]:
    ns = assembled.ns
    per_graph = Counter(str(g) for _, _, _, g in assembled.quads)
    reekg = str(ns.reekg)
    # a class counted once per instance even if typed in two graphs (asserted and inferred)
    instances: dict[str, set] = {}
    for s, p, o, _ in assembled.quads:
        if p == RDF.type and str(o).startswith(reekg) and str(s).startswith(str(ns.id)):
            instances.setdefault(str(o)[len(reekg):], set()).add(s)
    per_class = Counter({k: len(v) for k, v in instances.items()})
    return {
        "quads": len(assembled.quads),
        "triples_per_graph": dict(sorted(per_graph.items())),
        "instances_per_class": dict(sorted(per_class.items())),
        "rows_per_table": dict(sorted(assembled.tables.rows.items())),
        "inferred": assembled.inferred,
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
def _build_lock(home: Path):
    """One build at a time per home: concurrent writers are serialised, never interleaved."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / ".build.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def partner_quads(home: StoreHome, ns: Namespaces, *, replaced: set[str] = frozenset()) -> list[Quad]:
    """The partner graphs of the live store (loaded with --add or written through the service), so that a
    rebuild from the tables does not lose them; graphs in ``replaced`` are left out (a file re-added)."""
    if home.current() is None:
        return []
    prefix = str(ns.partner_graph(""))
    store = home.open()
    return [
        (from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object), from_oxigraph(q.graph_name))
        for graph in store.named_graphs() if graph.value.startswith(prefix) and graph.value not in replaced
        for q in store.quads_for_pattern(None, None, None, graph)
    ]


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


def build(settings: dict[str, Any], *, extra_rdf: Iterable[Path] = (), progress: bool = False,
          write: bool = True, keep_partner_graphs: bool = True, on_batch=None,
          validation: str = "full") -> BuildResult:
    """Build, validate and (if ``write``) publish a new store. Raises LoadError on bad input or violations.

    With ``store = sparql`` the build is published to the remote SPARQL store instead (staged, then switched
    in; see :mod:`reekg.loaders.remote`); ``on_batch`` is its progress hook.

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
    kept: list[Quad] = []
    remote = _remote(settings)
    if keep_partner_graphs:
        replaced = {str(ns.partner_graph(p.stem)) for p in extra_rdf}
        if remote is None:
            kept = partner_quads(StoreHome(settings["home"]), ns, replaced=replaced)
        else:
            kept = _remote_call(lambda: remote_partner_quads(remote, ns.base, str(ns.partner_graph("")),
                                                             replaced=replaced), "reading the partner graphs")
    assembled = assemble(ns, data_dir, extra_rdf, kept=kept, progress=progress)
    timings["assemble"] = time.perf_counter() - started
    mark = time.perf_counter()
    if validation == "full":
        report = validate(assembled.union(), load_shapes(ns), assembled.locate)
    elif validation == "incremental":
        from .incremental import GraphIndex, validate_focus

        union = assembled.union()
        partner_graphs = {ns.partner_graph(p.stem) for p in extra_rdf}
        changes = [(s, p, o) for s, p, o, g in assembled.quads if g in partner_graphs]
        report = validate_focus(GraphIndex(union), load_shapes(ns), assembled.locate, ns, changes=changes,
                                full_graph=lambda: union).report
    else:
        report = ValidationReport(conforms=True)
    timings["validate"] = time.perf_counter() - mark
    if not report.conforms:
        raise LoadError(report.violations, report.summary())
    digest = content_hash(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), to_oxigraph(g))
                          for s, p, o, g in assembled.quads)
    manifest = new_manifest(digest, ns, report, validation=validation, **statistics(assembled))
    build_id = manifest["build_id"]
    store_path = None
    if write and remote is not None:
        mark = time.perf_counter()
        with _build_lock(Path(settings["home"]).expanduser()):
            _remote_call(lambda: publish(remote, ns.base, build_id, assembled.quads, {**manifest, "timings_s": timings},
                                         on_batch=on_batch), "publishing the build")
        timings["write"] = time.perf_counter() - mark
    elif write:
        home = StoreHome(settings["home"])
        mark = time.perf_counter()
        with _build_lock(home.home):
            store_path = home.write(build_id, assembled.quads, {**manifest, "timings_s": timings})
            home.prune()
        timings["write"] = time.perf_counter() - mark
    timings["total"] = time.perf_counter() - started
    manifest["timings_s"] = {k: round(v, 3) for k, v in timings.items()}
    return BuildResult(build_id, store_path, report, manifest)
