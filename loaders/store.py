"""The on-disk stores and the atomic switch between them (the loaders are the only writer).

Layout under the ``home`` setting::

    home/stores/<build-id>/     a pyoxigraph (RocksDB) store, and build.json once it is complete
    home/current -> stores/<build-id>

A build writes a new store beside the live one and only then swaps the ``current`` symlink with
``os.replace``, which is atomic on POSIX: readers see the old graph or the new one, never half of one,
and a failed build leaves ``current`` untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.term import Node

MANIFEST = "build.json"


def content_hash(quads: Iterable[ox.Quad]) -> str:
    """The identity of a set of quads: the same graph always gets the same hash, whether a build, a write or a
    remote store produced it, and in whatever order the quads come.

    Each quad's N-Quads line (as Oxigraph writes it) is hashed with SHA-256 and the digests are added modulo
    2^256 (an incremental multiset hash, Bellare and Micciancio's AdHash): it streams, so a 10^6-quad build
    needs no sorted copy of its lines in memory. Give each quad once (a store's quads are distinct)."""
    return content_hash_update(f"{0:064x}", added=quads)


def _quad_digest(quad: ox.Quad) -> int:
    return int.from_bytes(hashlib.sha256(f"{quad} .\n".encode()).digest(), "big")


def content_hash_update(digest: str, *, added: Iterable[ox.Quad] = (), removed: Iterable[ox.Quad] = ()) -> str:
    """:func:`content_hash` of a graph whose hash was ``digest`` after ``added`` quads (not in it before) came
    in and ``removed`` ones (in it before) went: what a small write costs, not what the graph costs."""
    total = int(digest, 16)
    total += sum(_quad_digest(q) for q in added)
    total -= sum(_quad_digest(q) for q in removed)
    return f"{total % 2**256:064x}"


def to_oxigraph(term: Node) -> ox.NamedNode | ox.BlankNode | ox.Literal:
    """An rdflib term as a pyoxigraph term (a pyoxigraph term is returned as it is)."""
    if isinstance(term, (ox.NamedNode, ox.BlankNode, ox.Literal)):
        return term
    if isinstance(term, URIRef):
        return ox.NamedNode(str(term))
    if isinstance(term, BNode):
        return ox.BlankNode(str(term))
    if isinstance(term, Literal):
        if term.language:
            return ox.Literal(str(term), language=term.language)
        if term.datatype:
            return ox.Literal(str(term), datatype=ox.NamedNode(str(term.datatype)))
        return ox.Literal(str(term))
    raise TypeError(f"cannot store {term!r}")


class StoreHome:
    """The folder that holds every built store and the ``current`` pointer."""

    def __init__(self, home: str | Path):
        self.home = Path(home).expanduser()
        self.stores = self.home / "stores"
        self.pointer = self.home / "current"

    def current(self) -> Path | None:
        """The live store's folder, or None before the first successful build."""
        if not self.pointer.is_symlink() and not self.pointer.exists():
            return None
        target = self.pointer.resolve()
        return target if (target / MANIFEST).exists() else None

    def manifest(self) -> dict[str, Any] | None:
        path = self.current()
        return json.loads((path / MANIFEST).read_text()) if path else None

    def open(self) -> ox.Store:
        """Open the live store read-only (many processes may do so at once)."""
        path = self.current()
        if path is None:
            raise FileNotFoundError(f"no store has been built under {self.home} yet: run `reekg build`")
        return ox.Store.read_only(str(path))

    def write(self, build_id: str, quads: ox.Store | Iterable[tuple[Node, Node, Node, Node] | ox.Quad],
              manifest: dict[str, Any]) -> Path:
        """Write a complete new store (an in-memory store, or rdflib or pyoxigraph quads), then make it current.
        Nothing is switched if this raises."""
        self.stores.mkdir(parents=True, exist_ok=True)
        target = self.stores / build_id
        if target.exists():
            shutil.rmtree(target)
        store = ox.Store(str(target))
        # (Store.load and bulk_load would rename blank nodes, and the content hash with them.)
        store.bulk_extend(q if isinstance(q, ox.Quad) else ox.Quad(*(to_oxigraph(t) for t in q)) for q in quads)
        store.flush()
        store.optimize()
        del store  # closes RocksDB before the store is published
        # build.json is written last: a folder without it is an interrupted build, never served.
        (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        self._point_to(target)
        return target

    def scratch(self) -> Path:
        """A new, empty folder for a store being built (outside ``stores/``: prune never takes it)."""
        folder = self.home / ".building" / f"{os.getpid()}-{time.time_ns()}"
        folder.mkdir(parents=True)
        return folder

    def adopt(self, folder: Path, build_id: str, manifest: dict[str, Any]) -> Path:
        """Make a complete store built in ``folder`` (closed) the build ``build_id``, then current."""
        self.stores.mkdir(parents=True, exist_ok=True)
        target = self.stores / build_id
        if target.exists():
            shutil.rmtree(target)
        os.replace(folder, target)
        (target / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
        self._point_to(target)
        return target

    def _point_to(self, target: Path) -> None:
        temporary = self.home / f".current.{os.getpid()}"
        if temporary.is_symlink() or temporary.exists():
            temporary.unlink()
        temporary.symlink_to(target.relative_to(self.home))
        os.replace(temporary, self.pointer)

    def prune(self, keep: int = 3) -> list[Path]:
        """Remove all but the ``keep`` newest complete stores (never the current one) and any partial ones."""
        if not self.stores.exists():
            return []
        live = self.current()
        complete = sorted((p for p in self.stores.iterdir() if (p / MANIFEST).exists()),
                          key=lambda p: p.name, reverse=True)  # build ids start with their UTC time
        doomed = [p for p in self.stores.iterdir() if not (p / MANIFEST).exists()]
        doomed += [p for p in complete[keep:] if p != live]
        building = self.home / ".building"
        if building.exists():  # stores whose build was killed (the folder name starts with its pid)
            doomed += [p for p in building.iterdir() if not _alive(int(p.name.split("-")[0]))]
        for path in doomed:
            shutil.rmtree(path, ignore_errors=True)
        return doomed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
