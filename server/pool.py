"""Query backends: a pool of killable worker processes (the real one) and an in-process one for tests.

pyoxigraph has no timeout or cancellation in its Python API, so a query that must stop is run where it can
be stopped: in a worker process that the pool kills (and replaces) when the time limit passes. Each worker
holds an in-memory copy of the current on-disk store (aggregates run 3–5× faster in memory, per
FIELD-NOTES.md) and reloads it when ``home/current`` points at a new build.

Workers are started with the ``forkserver`` context: never ``fork`` from a threaded server.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Protocol

import pyoxigraph as ox

from reekg.loaders.store import MANIFEST, StoreHome

from .errors import Busy, NotReady, QueryTimeout, ServiceFailure
from .execution import Job, Reply, run

log = logging.getLogger("reekg.server")


@dataclass(frozen=True)
class Snapshot:
    """The build a request runs against: its id and the names of its graphs."""

    build_id: str
    graphs: frozenset[str]
    fallback: str | None = None  # why this is not the build ``current`` points at (see StoreHome.serving)


class Backend(Protocol):
    def snapshot(self) -> Snapshot: ...
    def execute(self, job: Job, timeout: float) -> Reply: ...
    def status(self) -> dict[str, Any]: ...
    def close(self) -> None: ...


def _build_id(path: Path) -> str:
    import json

    try:
        return json.loads((path / MANIFEST).read_text())["build_id"]
    except (OSError, ValueError, KeyError):
        return path.name


class Catalog:
    """The served build's id and graph names, re-read only when the ``current`` pointer moves (or its target
    appears or goes). Which store is served is :meth:`StoreHome.serving`'s decision; a fallback is logged."""

    def __init__(self, home: StoreHome):
        self.home = home
        self._lock = threading.Lock()
        self._key: tuple[str | None, bool] | None = None
        self._snapshot: Snapshot | None = None

    def _pointer(self) -> tuple[str | None, bool]:
        try:
            target = os.readlink(self.home.pointer)
        except OSError:
            return None, False
        return target, os.path.isdir(self.home.home / target)

    def snapshot(self) -> Snapshot:
        key = self._pointer()
        snap = self._snapshot
        if snap is not None and key == self._key:
            return snap
        with self._lock:
            serving = self.home.serving()
            if serving.path is None:
                self._snapshot = None
                if serving.problem:
                    raise NotReady(serving.problem)
                raise NotReady(f"no store has been built under {self.home.home} yet")
            try:
                store = ox.Store.read_only(str(serving.path))
                graphs = frozenset(g.value for g in store.named_graphs() if isinstance(g, ox.NamedNode))
                del store
            except (OSError, RuntimeError) as exc:  # removed or damaged since it was checked
                raise NotReady(f"the store {serving.path.name} cannot be opened: {exc}") from None
            build_id = serving.build_id or _build_id(serving.path)
            if serving.fallback and (snap is None or snap.build_id != build_id or snap.fallback != serving.fallback):
                log.warning("serving the store %s instead of the one current points at: %s",
                            build_id, serving.fallback)
            self._snapshot = Snapshot(build_id, graphs, serving.fallback)
            self._key = key
            return self._snapshot


class InlineBackend:
    """Runs queries in the calling thread on a given store: no time limit (tests and embedding only)."""

    def __init__(self, store: ox.Store, build_id: str = "inline"):
        self.store = store
        self.build_id = build_id

    def snapshot(self) -> Snapshot:
        graphs = frozenset(g.value for g in self.store.named_graphs() if isinstance(g, ox.NamedNode))
        return Snapshot(self.build_id, graphs)

    def execute(self, job: Job, timeout: float) -> Reply:
        return run(self.store, job, self.build_id)

    def status(self) -> dict[str, Any]:
        return {"kind": "inline", "workers_ready": 1}

    def close(self) -> None:
        pass


# --- the worker process ---------------------------------------------------------------------------

def _load_memory(home: StoreHome) -> tuple[ox.Store, str | None, str | None]:
    """An in-memory copy of the current store, the pointer target it came from and its build id."""
    try:
        target = os.readlink(home.pointer)
    except OSError:
        target = None
    serving = home.serving()  # the same decision as the catalog's (a fallback, or none)
    memory = ox.Store()
    if serving.path is None:
        return memory, target, None
    try:
        disk = ox.Store.read_only(str(serving.path))
        memory.bulk_load(disk.dump(format=ox.RdfFormat.N_QUADS), format=ox.RdfFormat.N_QUADS)
        del disk
    except (OSError, RuntimeError):  # gone or damaged since it was checked: serve nothing, the catalog says why
        return ox.Store(), target, None
    return memory, target, serving.build_id or _build_id(serving.path)


def worker_main(conn: Connection, home_path: str) -> None:
    """Serve jobs from ``conn`` until the pool closes it. Runs in a child process."""
    home = StoreHome(home_path)
    store, target, build_id = _load_memory(home)
    conn.send(("ready", build_id))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        try:
            current = os.readlink(home.pointer)
        except OSError:
            current = None
        if current != target:
            store, target, build_id = _load_memory(home)
        try:
            reply = run(store, job, build_id)
        except Exception as exc:  # a bug here must not kill the worker silently
            reply = Reply(ok=False, error="internal", message=f"{type(exc).__name__}: {exc}", build_id=build_id)
        try:
            conn.send(reply)
        except (EOFError, OSError):
            return


class _Worker:
    def __init__(self, ctx: Any, home: str):
        parent, child = ctx.Pipe(duplex=True)
        self.conn: Connection = parent
        self.process = ctx.Process(target=worker_main, args=(child, home), daemon=True,
                                   name="reekg-query-worker")
        self.process.start()
        child.close()

    def wait_ready(self, timeout: float) -> bool:
        if not self.conn.poll(timeout):
            return False
        try:
            message = self.conn.recv()
        except (EOFError, OSError):
            return False
        return isinstance(message, tuple) and message[0] == "ready"

    def kill(self) -> None:
        self.process.kill()
        self.process.join(5)
        self.conn.close()
        self.process.close()


class ProcessPool:
    """A fixed number of query worker processes; a query past its limit kills its worker.

    ``max_concurrent`` caps the queries this pool accepts at once (admitted ones wait for a free worker
    within their own time limit); past it :class:`Busy` is raised at once, which the app answers with 503
    and ``Retry-After``.
    """

    def __init__(self, home: str | Path, *, workers: int = 2, max_concurrent: int = 4,
                 start_timeout: float = 120.0, on_timeout: Any = None):
        self.home = StoreHome(home)
        self.catalog = Catalog(self.home)
        self.size = max(1, workers)
        self.start_timeout = start_timeout
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(["reekg.server.pool"])  # respawns after a kill are then quick
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._slots = threading.BoundedSemaphore(max(1, max_concurrent))
        self._closed = False
        self._lock = threading.Lock()
        self._all: set[_Worker] = set()
        self._starting = 0
        self.restarts = 0
        for _ in range(self.size):
            self._spawn_async()

    # workers -------------------------------------------------------------------------------------
    def _spawn_async(self) -> None:
        with self._lock:
            self._starting += 1
        threading.Thread(target=self._spawn, name="reekg-pool-spawn", daemon=True).start()

    def _spawn(self) -> None:
        try:
            worker = _Worker(self._ctx, str(self.home.home))
            ready = worker.wait_ready(self.start_timeout)
        except Exception:
            log.exception("could not start a query worker")
            ready, worker = False, None
        with self._lock:
            self._starting -= 1
            if worker is not None and ready and not self._closed:
                self._all.add(worker)
                self._idle.put(worker)
                return
        if worker is not None:
            worker.kill()

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._all.discard(worker)
        worker.kill()
        if not self._closed:
            self.restarts += 1
            self._spawn_async()

    # the Backend protocol ------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return self.catalog.snapshot()

    def execute(self, job: Job, timeout: float) -> Reply:
        self.catalog.snapshot()  # NotReady (503, naming the cause) when no store can be served: never an empty one
        if not self._slots.acquire(blocking=False):
            raise Busy("too many queries are running; try again shortly")
        try:
            deadline = time.monotonic() + timeout
            try:
                worker = self._idle.get(timeout=timeout)
            except queue.Empty:
                raise Busy(f"no query worker became free within the {timeout:g} s limit") from None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self._idle.put(worker)
                raise Busy(f"no query worker became free within the {timeout:g} s limit")
            try:
                worker.conn.send(job)
                if not worker.conn.poll(remaining):
                    self._discard(worker)
                    raise QueryTimeout(timeout)
                reply = worker.conn.recv()
            except (EOFError, OSError, BrokenPipeError) as exc:
                self._discard(worker)
                raise ServiceFailure(f"query worker died: {exc}") from exc
            self._idle.put(worker)
            return reply
        finally:
            self._slots.release()

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"kind": "processes", "workers": self.size, "workers_ready": self._idle.qsize(),
                    "workers_alive": len(self._all), "workers_starting": self._starting,
                    "restarts": self.restarts}

    def wait_ready(self, timeout: float) -> bool:
        """True once at least one worker is ready (used at start-up and by /readyz)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self._all:
                    return True
            time.sleep(0.02)
        return False

    def close(self) -> None:
        with self._lock:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
        for worker in workers:
            worker.kill()
