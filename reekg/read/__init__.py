"""The read side of a store: a query as a :class:`Job`, its answer as a :class:`Reply`, and the backends that
run one (the embedded store's worker pool, the embedded store in this process, a remote SPARQL store).

:func:`open_backend` is the one way to open a backend: the service (:func:`reekg.server.app.create_app`) and the
CLI both use it. The write side is :mod:`reekg.loaders`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pyoxigraph as ox

from .jobs import Backend, Job, Reply, Snapshot

__all__ = ["Backend", "Job", "Reply", "Snapshot", "open_backend"]


def open_backend(settings: Mapping[str, Any], *, in_process: bool = False, store: ox.Store | None = None) -> Backend:
    """The backend the settings name: the remote SPARQL store when ``store = sparql``; else the embedded store
    under ``home``, in killable worker processes (the service) or, with ``in_process``, opened read-only in
    this process (the CLI: no time limit). A given pyoxigraph ``store`` is read in process (tests, embedding)."""
    if store is not None:
        from .embedded import InProcessBackend

        return InProcessBackend(store)
    if settings["store"] == "sparql":
        from .remote import RemoteBackend

        return RemoteBackend.from_settings(dict(settings))
    if in_process:
        from .embedded import InProcessBackend

        return InProcessBackend.open(settings["home"])
    from .pool import ProcessPool

    return ProcessPool(settings["home"], workers=settings["query_workers"],
                       max_concurrent=settings["max_concurrent_queries"], long_after=settings["long_query_seconds"],
                       extra=settings["query_extra_workers"], fair=settings["query_fairness"],
                       memory_mb=settings["query_memory_mb"], inline=settings["query_inline"])
