"""Where a validated write (:mod:`.transact`) reads the served graph and publishes the new build: the embedded
stores under ``home`` or a remote SPARQL store, behind one :class:`Target` protocol."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

import pyoxigraph as ox

from reekg.errors import HomeUnavailable, RemoteError, StoreUnavailable, WriteConflict

from .build import build_lock
from .remote_store import RemoteStore, served_quads
from .remote_store import publish as remote_publish
from .store import MANIFEST, StoreHome


class Target(Protocol):
    """Where the served graph lives, as a write sees it: read it, name its graphs, publish a new build."""

    def lock(self) -> AbstractContextManager[Any]:
        """Held for the whole transaction: one writer (or build) at a time."""

    def read(self) -> tuple[set[ox.Quad], dict[str, Any]]:
        """Every served quad and the manifest of the build they belong to (FileNotFoundError before any)."""

    def graphs(self) -> frozenset[str]:
        """The named graphs served now (empty before the first build)."""

    def publish(self, build_id: str, quads: list[ox.Quad], manifest: dict[str, Any], *, parent_id: str | None,
                changed: set[str]) -> None:
        """Make ``quads`` the served graph, all or nothing; ``changed`` names the graphs that differ from the
        build ``parent_id`` the write read."""


class EmbeddedTarget:
    """The pyoxigraph stores under the ``home`` setting: a write publishes a whole new store, then switches."""

    def __init__(self, home: StoreHome):
        self.home = home

    def lock(self) -> AbstractContextManager[Any]:
        return build_lock(self.home.home)

    def read(self) -> tuple[set[ox.Quad], dict[str, Any]]:
        path = self.home.require()  # the store served now (HomeUnavailable when none opens)
        disk = ox.Store.read_only(str(path))
        quads = set(disk.quads_for_pattern(None, None, None, None))
        del disk
        return quads, json.loads((path / MANIFEST).read_text(encoding="utf-8"))

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

    def publish(self, build_id: str, quads: list[ox.Quad], manifest: dict[str, Any], *, parent_id: str | None,
                changed: set[str]) -> None:
        self.home.write(build_id, quads, manifest)
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

    def read(self) -> tuple[set[ox.Quad], dict[str, Any]]:
        quads, meta = self._call(lambda: served_quads(self.remote, self.base), "reading the remote store")
        if meta is None:
            raise FileNotFoundError(f"nothing has been published to the remote store at {self.remote.describe()} "
                                    "yet: run `reekg build` with store = sparql")
        return set(quads), {**meta.get("manifest", {}), "build_id": meta["build_id"]}

    def graphs(self) -> frozenset[str]:
        return frozenset((self._meta() or {}).get("graphs", []))

    def publish(self, build_id: str, quads: list[ox.Quad], manifest: dict[str, Any], *, parent_id: str | None,
                changed: set[str]) -> None:
        staged = [q for q in quads if q.graph_name.value in changed]  # type: ignore[union-attr]
        kept = {q.graph_name.value for q in quads} - changed  # type: ignore[union-attr]
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
