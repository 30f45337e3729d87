"""The embedded store read in this process: no worker, no time limit (the CLI, tests and embedding).

The store is opened read-only, so any number of these may read it beside a running server; a query runs on a
deep-stack thread of this process (:func:`reekg.read.jobs.run`) and cannot be stopped, which is why the service
uses :class:`reekg.read.pool.ProcessPool` instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyoxigraph as ox

from reekg.errors import NotReady
from reekg.loaders.store import StoreHome

from .jobs import Job, Reply, Snapshot, run


class InProcessBackend:
    """Runs queries in the calling process on a given store (the :class:`~reekg.read.jobs.Backend` protocol)."""

    def __init__(self, store: ox.Store, build_id: str = "inline"):
        self.store = store
        self.build_id = build_id

    @classmethod
    def open(cls, home: str | Path) -> InProcessBackend:
        """The store ``home`` serves (:meth:`StoreHome.serving`), opened read-only; NotReady before the first
        build, HomeUnavailable when stores exist but none opens."""
        store_home = StoreHome(home)
        try:
            store = store_home.open()
        except FileNotFoundError as exc:
            raise NotReady(str(exc)) from None
        return cls(store, (store_home.manifest() or {}).get("build_id", "inline"))

    def snapshot(self) -> Snapshot:
        graphs = frozenset(g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode))
        return Snapshot(self.build_id, graphs)

    def execute(self, job: Job, timeout: float) -> Reply:
        return run(self.store, job, self.build_id)

    def status(self) -> dict[str, Any]:
        return {"kind": "inline", "workers_ready": 1}

    def close(self) -> None:
        pass
