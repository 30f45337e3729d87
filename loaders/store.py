"""The on-disk stores and the atomic switch between them (the loaders are the only writer).

Layout under the ``home`` setting::

    home/stores/<build-id>/     a pyoxigraph (RocksDB) store, and build.json once it is complete
    home/current -> stores/<build-id>

A build writes a new store beside the live one and only then swaps the ``current`` symlink with
``os.replace``, which is atomic on POSIX: readers see the old graph or the new one, never half of one,
and a failed build leaves ``current`` untouched.

Which store is served is decided in one place, :meth:`StoreHome.serving`, used by the catalog, the query
workers, writes, builds and dumps (issue 10, item 2): the store ``current`` points at if it opens, else the
newest other complete store that opens (a *fallback*, reported with its reason), else none. A home whose
stores all fail to open is *unavailable* (:class:`HomeUnavailable`, naming the cause), never silently rebuilt
from the tables, which would drop every partner graph.

pyoxigraph (RocksDB) state is not fork-safe (FIELD-NOTES.md): a process that opened a store must not fork
workers that open stores later (they hang in RocksDB). Open stores only in the process that uses them.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib.term import Node

from reekg.errors import HomeUnavailable
from reekg.terms import to_oxigraph

MANIFEST = "build.json"


@dataclass(frozen=True)
class Serving:
    """The decision :meth:`StoreHome.serving` takes: the store to serve, or why there is none.

    ``path`` is None before the first build (``problem`` None: a build may make one) or when stores exist but
    none opens (``problem`` names why: serve nothing, rebuild nothing). ``fallback`` names why ``path`` is not
    the store ``current`` points at."""

    path: Path | None
    build_id: str | None = None
    fallback: str | None = None
    problem: str | None = None


# The verdict on a store folder (None: it opens; else why not), by its path and the names, sizes and times of
# its files: a published store never changes, so it is opened once per process, not on every request.
_VERDICTS: dict[tuple[str, tuple[tuple[str, int, int], ...]], str | None] = {}
_VERDICTS_LOCK = threading.Lock()


def _signature(path: Path) -> tuple[tuple[str, int, int], ...]:
    entries = []
    with os.scandir(path) as found:
        for entry in found:
            info = entry.stat(follow_symlinks=False)
            entries.append((entry.name, info.st_size, info.st_mtime_ns))
    return tuple(sorted(entries))


def store_problem(path: Path) -> str | None:
    """None if the complete store in ``path`` opens read-only (RocksDB checks its CURRENT and MANIFEST files
    then), else why it cannot be served."""
    try:
        key = (str(path), _signature(path))
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})"
    if not (path / MANIFEST).is_file():
        return f"it has no {MANIFEST} (an interrupted build)"
    with _VERDICTS_LOCK:
        if key in _VERDICTS:
            return _VERDICTS[key]
    try:
        store = ox.Store.read_only(str(path))
        next(iter(store.named_graphs()), None)
        del store
        verdict = None
    except (OSError, RuntimeError, ValueError) as exc:
        verdict = f"it cannot be opened ({' '.join(str(exc).split())})"
    with _VERDICTS_LOCK:
        _VERDICTS[key] = verdict
    return verdict


def _manifest_of(path: Path) -> dict[str, Any]:
    try:
        return json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _cause(exc: OSError) -> str:
    """An OSError in plain words: "Read-only file system: /home/…/.build.lock"."""
    return f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")


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


class StoreHome:
    """The folder that holds every built store and the ``current`` pointer."""

    def __init__(self, home: str | Path):
        self.home = Path(home).expanduser()
        self.stores = self.home / "stores"
        self.pointer = self.home / "current"

    def check(self) -> None:
        """Raise :class:`HomeUnavailable` if the home is not a folder and cannot become one (a path under a
        regular file, say). Nothing is created."""
        path = self.home.absolute()
        while not path.exists() and path != path.parent:
            path = path.parent
        if not path.is_dir():
            raise HomeUnavailable(f"the home {self.home} cannot be used: {path} is a file, not a folder "
                                  "(set --home or REEKG_HOME to a folder)")

    def serving(self) -> Serving:
        """The store to serve now: the one ``current`` points at if it opens, else the newest other complete
        store that opens (a fallback that says why), else none (see :class:`Serving`). The one decision every
        reader and writer of the embedded store takes."""
        try:
            pointed = os.readlink(self.pointer)
        except OSError:
            pointed = None
        reason = None
        if pointed is not None:
            target = (self.home / pointed).resolve()
            problem = store_problem(target) if target.is_dir() else "it does not exist"
            if problem is None:
                return Serving(target, _manifest_of(target).get("build_id", target.name))
            reason = f"current points at {pointed}, but {problem}"
        candidates = self._complete_stores()
        if pointed is not None:
            candidates = [c for c in candidates if c.resolve() != target]
        refused = []
        for candidate in candidates:
            problem = store_problem(candidate)
            if problem is None:
                build_id = _manifest_of(candidate).get("build_id", candidate.name)
                return Serving(candidate, build_id, fallback=reason or "current is missing")
            refused.append(f"{candidate.name}: {problem}")
        if reason is None and not refused:
            return Serving(None)  # nothing has been built yet
        causes = "; ".join(([reason] if reason else []) + refused)
        return Serving(None, problem=f"no store under {self.home} can be served: {causes}")

    def _complete_stores(self) -> list[Path]:
        """Every store folder with a manifest, newest published first."""
        try:
            folders = [p for p in self.stores.iterdir() if (p / MANIFEST).is_file()]
        except OSError:
            return []

        def published(path: Path) -> tuple[str, int]:
            try:
                mtime = (path / MANIFEST).stat().st_mtime_ns  # build.json is written last
            except OSError:
                mtime = 0
            return str(_manifest_of(path).get("built_at", "")), mtime

        return sorted(folders, key=published, reverse=True)

    def current(self) -> Path | None:
        """The folder of the store to serve (:meth:`serving`), or None when there is none."""
        return self.serving().path

    def require(self) -> Path:
        """The folder of the store to serve; FileNotFoundError before the first build, HomeUnavailable when
        stores exist but none opens."""
        serving = self.serving()
        if serving.path is None:
            if serving.problem:
                raise HomeUnavailable(serving.problem)
            raise FileNotFoundError(f"no store has been built under {self.home} yet: run `reekg build`")
        return serving.path

    def manifest(self) -> dict[str, Any] | None:
        path = self.current()
        return json.loads((path / MANIFEST).read_text()) if path else None

    def open(self) -> ox.Store:
        """Open the store to serve read-only (many processes may do so at once)."""
        return ox.Store.read_only(str(self.require()))

    @contextmanager
    def writing(self, what: str) -> Iterator[None]:
        """Turn a failure to write into the home (read-only, no permission, no space) into HomeUnavailable."""
        try:
            yield
        except OSError as exc:
            raise HomeUnavailable(f"{what} failed: the home {self.home} cannot be written ({_cause(exc)})"
                                  ) from None

    def write(self, build_id: str, quads: Path | ox.Store | Iterable[tuple[Node, Node, Node, Node] | ox.Quad],
              manifest: dict[str, Any]) -> Path:
        """Write a complete new store (an in-memory store, or rdflib or pyoxigraph quads, or the folder of a
        closed on-disk store, which is moved: :meth:`adopt`), then make it current. Nothing is switched if this
        raises (HomeUnavailable when the home cannot be written)."""
        if isinstance(quads, Path):
            return self.adopt(quads, build_id, manifest)
        with self.writing("writing a store"):
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
        self.check()
        folder = self.home / ".building" / f"{os.getpid()}-{time.time_ns()}"
        with self.writing("starting a build"):
            folder.mkdir(parents=True)
        return folder

    def adopt(self, folder: Path, build_id: str, manifest: dict[str, Any]) -> Path:
        """Make a complete store built in ``folder`` (closed) the build ``build_id``, then current."""
        with self.writing("publishing a build"):
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
