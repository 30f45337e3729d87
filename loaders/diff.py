"""The diff of two releases (or dump files, or store builds): the triples, or quads when both sides keep their
named graphs, added and removed from one to the other, as sorted N-Triples/N-Quads lines. ``reekg diff`` and the
changelog on a release's page (``/dumps/{release}/``) read it. Nothing here imports Flask (loaders never do).
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph

from reekg import formats

from .releases import RELEASE_JSON, dumps_dir, list_releases, load_release, nquad_line, ntriple_line, store_quads
from .store import MANIFEST, StoreHome


@dataclass
class Diff:
    old: str
    new: str
    added: list[str]
    removed: list[str]
    quads: bool  # lines are N-Quads (both sides had named graphs) or N-Triples

    def as_dict(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "format": "n-quads" if self.quads else "n-triples",
                "added": len(self.added), "removed": len(self.removed),
                "added_lines": self.added, "removed_lines": self.removed}


def _read_side(spec: str, home: str | Path | None) -> tuple[list[ox.Quad], bool, str]:
    """Quads of a release folder, a dump file or a store build id (``current`` too); whether they have graphs."""
    path = Path(spec)
    if path.is_dir() and (path / RELEASE_JSON).exists():
        release = load_release(path)
        nq = next(f["name"] for f in release.files if f["format"] == "nq.gz")
        return (*_read_file(path / nq), release.name)
    if path.is_dir() and (path / MANIFEST).exists():
        return store_quads(path), True, path.name
    if path.is_file():
        return (*_read_file(path), path.name)
    if home is not None:
        store_home = StoreHome(home)
        target = store_home.current() if spec == "current" else store_home.stores / spec
        if target is not None and (target / MANIFEST).exists():
            return store_quads(target), True, target.name
        for release in list_releases(dumps_dir(home)):
            if release.name == spec:
                return _read_side(str(release.path), None)
    raise FileNotFoundError(f"{spec}: not a release folder, a dump file, a store folder or a build id")


def _read_file(path: Path) -> tuple[list[ox.Quad], bool]:
    compressed = path.name.endswith(".gz")
    name = path.name[:-3] if compressed else path.name
    fmt = formats.by_suffix(name.rsplit(".", 1)[-1])
    if fmt is None:
        known = ", ".join("." + f.suffix for f in formats.GRAPH)
        raise ValueError(f"{path}: cannot tell its RDF format from the name (use {known})")
    raw = path.read_bytes()
    quads = list(ox.parse(io.BytesIO(gzip.decompress(raw) if compressed else raw), format=fmt.rdf))
    return quads, fmt.named_graphs


def _canonical_lines(quads: list[ox.Quad], with_graphs: bool, labels_are_stable: bool) -> set[str]:
    line = nquad_line if with_graphs else ntriple_line
    if labels_are_stable or not any(isinstance(t, ox.BlankNode) for q in quads for t in (q.subject, q.object)):
        return {line(q) for q in quads}
    # a Turtle/JSON-LD/RDF-XML parser invents blank node labels: name them canonically first (triples only)
    from rdflib.compare import to_canonical_graph

    graph = Graph().parse(data=ox.serialize([ox.Triple(q.subject, q.predicate, q.object) for q in quads],
                                            format=ox.RdfFormat.N_TRIPLES) or b"", format="nt")
    canonical = to_canonical_graph(graph).serialize(format="nt")
    return {ntriple_line(t) for t in ox.parse(canonical.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES)}


def diff(old: str, new: str, *, home: str | Path | None = None) -> Diff:
    """Triples (or quads, when both sides keep their graphs) added and removed from ``old`` to ``new``."""
    old_quads, old_graphs, old_name = _read_side(old, home)
    new_quads, new_graphs, new_name = _read_side(new, home)
    with_graphs = old_graphs and new_graphs
    stable = all(_stable_labels(s) for s in (old, new))
    before = _canonical_lines(old_quads, with_graphs, stable)
    after = _canonical_lines(new_quads, with_graphs, stable)
    return Diff(old_name, new_name, sorted(after - before), sorted(before - after), with_graphs)


def _stable_labels(spec: str) -> bool:
    """Stores and N-Triples/N-Quads dumps keep the build's canonical blank node labels; other syntaxes don't."""
    path = Path(spec)
    if path.is_file():
        return path.name.endswith((".nq", ".nt", ".nq.gz", ".nt.gz"))
    return True
