"""Where a validated write (:mod:`.transact`) gets its working copy of the served graph and publishes the new
build: the embedded stores under ``home`` or a remote SPARQL store, behind one :class:`Target` protocol.

On the embedded store the working copy is a RocksDB checkpoint of the served store (issue 13):
:meth:`pyoxigraph.Store.backup` hard-links its immutable SST files into a scratch folder beside it, so a copy of
10^6 triples takes milliseconds; the write changes only that copy, which becomes the new build's folder (a new
build id, ``current`` switched last, exactly as a build is published). The served store is never opened for
writing. A remote store is read into an in-memory store, as before."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pyoxigraph as ox

from reekg.errors import HomeUnavailable, RemoteError, StoreUnavailable, WriteConflict

from .build import build_lock
from .remote_store import RemoteStore, served_quads
from .remote_store import publish as remote_publish
from .store import MANIFEST, StoreHome


@dataclass
class Working:
    """A write's working copy: a store holding the served graph (then the change), the served build's manifest,
    and the checkpoint folder it lives in (None for an in-memory copy)."""

    store: ox.Store
    parent: dict[str, Any]
    folder: Path | None = None


class Target(Protocol):
    """Where the served graph lives, as a write sees it: copy it, name its graphs, publish a new build."""

    def lock(self) -> AbstractContextManager[Any]:
        """Held for the whole transaction: one writer (or build) at a time."""

    def working(self) -> AbstractContextManager[Working]:
        """A working copy of the served graph (FileNotFoundError before any build), discarded on leaving unless
        it was published."""

    def graphs(self) -> frozenset[str]:
        """The named graphs served now (empty before the first build)."""

    def publish(self, build_id: str, work: Working, manifest: dict[str, Any], *, parent_id: str | None,
                changed: set[str]) -> None:
        """Make the working copy the served graph, all or nothing; ``changed`` names the graphs that differ
        from the build ``parent_id`` the write read."""


class EmbeddedTarget:
    """The pyoxigraph stores under the ``home`` setting: a write publishes a whole new store, then switches."""

    def __init__(self, home: StoreHome):
        self.home = home

    def lock(self) -> AbstractContextManager[Any]:
        return build_lock(self.home.home)

    @contextmanager
    def working(self) -> Iterator[Working]:
        path = self.home.require()  # the store served now (HomeUnavailable when none opens)
        parent = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
        scratch = self.home.scratch()
        work = None
        try:
            folder = scratch / "store"
            with self.home.writing("copying the served store"):
                ox.Store.read_only(str(path)).backup(str(folder))
                work = Working(ox.Store(str(folder)), parent, folder)
            yield work
        finally:
            if work is not None:
                work.store = None  # type: ignore[assignment]  # closes RocksDB
            shutil.rmtree(scratch, ignore_errors=True)  # empty once published: the store moved to stores/

    def graphs(self) -> frozenset[str]:
        serving = self.home.serving()
        if serving.problem:
            raise HomeUnavailable(serving.problem)
        path = serving.path
        if path is None:
            return frozenset()
        store = ox.Store.read_only(str(path))
        graphs = frozenset(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode))
        del store
        return graphs

    def publish(self, build_id: str, work: Working, manifest: dict[str, Any], *, parent_id: str | None,
                changed: set[str]) -> None:
        assert work.folder is not None
        with self.home.writing("writing a store"):
            work.store.flush()
        work.store = None  # type: ignore[assignment]  # closes RocksDB before the folder is published
        self.home.write(build_id, work.folder, manifest)
        with self.home.writing("pruning old stores"):
            self.home.prune()


class RemoteTarget:
    """A remote SPARQL 1.1 store (``store = sparql``): read the served graphs, publish the changed ones staged
    (see :mod:`.remote_store`). ``home`` only holds the lock that serialises writers and builds on this machine."""

    def __init__(self, remote: RemoteStore, base: str, home: str | Path):
        self.remote = remote
        self.base = base
        self.home = Path(home).expanduser()

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> RemoteTarget:
        return cls(RemoteStore.from_settings(settings), settings["base_iri"], settings["home"])

    def lock(self) -> AbstractContextManager[Any]:
        return build_lock(self.home)

    def _call(self, action: Callable[[], Any], what: str) -> Any:
        try:
            return action()
        except RemoteError as exc:
            if exc.kind == "conflict":
                raise WriteConflict(f"{what}: {exc.message}") from None
            raise StoreUnavailable(f"{what} failed, nothing was changed: {exc.message}") from None

    def _meta(self) -> dict[str, Any] | None:
        return self._call(lambda: self.remote.meta(self.base), "reading the remote store")

    @contextmanager
    def working(self) -> Iterator[Working]:
        quads, meta = self._call(lambda: served_quads(self.remote, self.base), "reading the remote store")
        if meta is None:
            raise FileNotFoundError(f"nothing has been published to the remote store at {self.remote.describe()} "
                                    "yet: run `reekg build` with store = sparql")
        memory = ox.Store()
        memory.bulk_extend(quads)
        yield Working(memory, {**meta.get("manifest", {}), "build_id": meta["build_id"]})

    def graphs(self) -> frozenset[str]:
        return frozenset((self._meta() or {}).get("graphs", []))

    def publish(self, build_id: str, work: Working, manifest: dict[str, Any], *, parent_id: str | None,
                changed: set[str]) -> None:
        graphs = {g.value for g in work.store.named_graphs() if isinstance(g, ox.NamedNode)}
        staged = [q for g in sorted(changed & graphs) for q in work.store.quads_for_pattern(None, None, None,
                                                                                         ox.NamedNode(g))]
        kept = graphs - changed
        self._call(lambda: remote_publish(self.remote, self.base, build_id, staged, manifest, keep=kept,
                                          expect_build=parent_id), "publishing the write")


def target_for(settings: dict[str, Any], home: StoreHome | None = None) -> Target:
    """The write target the ``store`` setting names (``home`` overrides the embedded one's folder)."""
    if settings.get("store", "embedded") == "sparql":
        return RemoteTarget.from_settings(settings)
    return EmbeddedTarget(home or StoreHome(settings["home"]))


def served_graphs(settings: dict[str, Any]) -> frozenset[str]:
    """The named graphs served now, on either kind of store (empty before the first build)."""
    return target_for(settings).graphs()
