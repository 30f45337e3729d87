"""The embedded store's query backend: a pool of killable worker processes.

pyoxigraph has no timeout or cancellation in its Python API, so a query that must stop is run where it can
be stopped: in a worker process that the pool kills (and replaces) when the time limit passes. Each worker
holds an in-memory copy of a small store (up to the ``query_memory_mb`` setting on disk), or opens a larger
one read-only on disk: at 10^6 quads a copy took ~480 MiB per worker (1.4 GiB served with two), while the trace
query ran ~1.5× and a grouped count no slower on disk (issue 13). It reopens the store when ``home/current``
points at a new build.

Workers are started with the ``forkserver`` context: never ``fork`` from a threaded server.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import threading
import time
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from reekg.errors import Busy, NotReady, QueryTimeout, ServiceFailure
from reekg.loaders.store import MANIFEST, StoreHome

from .jobs import ENGINE_STACK_BYTES, Job, Reply, Snapshot, run_here

log = logging.getLogger("reekg.server")


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
        self._pointer_path = str(home.pointer)  # read per request: no pathlib
        self._lock = threading.Lock()
        self._key: tuple[int, int, int] | None = None
        self._snapshot: Snapshot | None = None

    def _pointer(self) -> tuple[int, int, int] | None:
        """What ``current`` points at, in one system call: the target folder's device, inode and change time
        (a new build is a new folder; a target gone is None). A readlink and an isdir per request, twice per
        lookup, were a tenth of an uncached lookup's server CPU."""
        try:
            found = os.stat(self._pointer_path)
        except OSError:
            return None
        return found.st_dev, found.st_ino, found.st_ctime_ns

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


# --- the worker process ---------------------------------------------------------------------------

def store_bytes(path: Path) -> int:
    """The size of a store's folder on disk."""
    with os.scandir(path) as entries:
        return sum(entry.stat().st_size for entry in entries if entry.is_file())


def _load_store(home: StoreHome, memory_mb: int) -> tuple[ox.Store, str | None, str | None]:
    """The current store, the pointer target it came from and its build id: copied into memory when it takes at
    most ``memory_mb`` MiB on disk, else the on-disk store opened read-only (its pages are shared by every
    worker through the page cache, so memory does not grow with workers; see the query_memory_mb setting)."""
    try:
        target = os.readlink(home.pointer)
    except OSError:
        target = None
    serving = home.serving()  # the same decision as the catalog's (a fallback, or none)
    if serving.path is None:
        return ox.Store(), target, None
    try:
        disk = ox.Store.read_only(str(serving.path))
        if store_bytes(serving.path) <= memory_mb << 20:
            memory = ox.Store()
            memory.bulk_load(disk.dump(format=ox.RdfFormat.N_QUADS), format=ox.RdfFormat.N_QUADS)
            disk = memory
    except (OSError, RuntimeError):  # gone or damaged since it was checked: serve nothing, the catalog says why
        return ox.Store(), target, None
    return disk, target, serving.build_id or _build_id(serving.path)


def worker_main(conn: Connection, home_path: str, memory_mb: int = 1 << 20) -> None:
    """Serve jobs from ``conn`` until the pool closes it. Runs in a child process, on one thread with the
    engine's deep stack (see :data:`reekg.read.jobs.ENGINE_STACK_BYTES`): handing each job to another thread
    cost a wake-up per query, as much as a small lookup's evaluation."""
    threading.stack_size(ENGINE_STACK_BYTES)
    serving = threading.Thread(target=_serve, args=(conn, home_path, memory_mb), name="reekg-query")
    serving.start()
    serving.join()


def _serve(conn: Connection, home_path: str, memory_mb: int) -> None:
    home = StoreHome(home_path)
    store, target, build_id = _load_store(home, memory_mb)
    conn.send(("ready", build_id))
    while True:
        try:
            job = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return
        try:
            current = os.readlink(home.pointer)
        except OSError:
            current = None
        if current != target:
            del store  # a read-only store is closed before the next is opened
            store, target, build_id = _load_store(home, memory_mb)
        try:
            reply = run_here(store, job, build_id)
        except Exception as exc:  # a bug here must not kill the worker silently
            reply = Reply(ok=False, error="internal", message=f"{type(exc).__name__}: {exc}", build_id=build_id)
        try:
            conn.send_bytes(pickle.dumps(reply, pickle.HIGHEST_PROTOCOL))
        except (EOFError, OSError):
            return


# The most rows a bounded query reads in the HTTP process: its cost grows with its answer, so under a row cap set
# above this (the max_rows setting, 10,000 by default) a longer answer is left to a worker.
INLINE_MAX_ROWS = 10_000


class FrontStore:
    """The served store opened read-only in the requesting process, for the queries whose cost is bounded by
    their capped answer (:attr:`Job.bounded`: one triple pattern, see :func:`reekg.sparql_text.one_pattern`).

    Such a lookup needs no worker to be killable, and the hand-off is most of its cost: two pipe messages, two
    process wake-ups and pickling took 0.4 ms of an uncached lookup's 0.5 ms of server CPU (issue 13). Opened as
    a worker opens it (copied into memory up to ``memory_mb`` on disk, else read on disk), so that the two give
    the same answer in the same order; reopened when ``current`` moves, as a worker does; None when no store can
    be opened, and the query then goes to a worker as any other."""

    def __init__(self, home: StoreHome, memory_mb: int):
        self.home, self.memory_mb = home, memory_mb
        self._lock = threading.Lock()
        self._opened: tuple[Snapshot, ox.Store, str] | None = None  # the snapshot it was opened for

    def get(self, snapshot: Snapshot) -> tuple[ox.Store, str] | None:
        """The store to answer on while ``snapshot`` (the catalog's, which moves with ``current``) is served."""
        opened = self._opened
        if opened is not None and opened[0] is snapshot:
            return opened[1], opened[2]
        with self._lock:
            opened = self._opened
            if opened is None or opened[0] is not snapshot:
                store, _target, build_id = _load_store(self.home, self.memory_mb)
                self._opened = None if build_id is None else (snapshot, store, build_id)
            return None if self._opened is None else (self._opened[1], self._opened[2])


class _Worker:
    def __init__(self, ctx: Any, home: str, memory_mb: int):
        parent, child = ctx.Pipe(duplex=True)
        self.conn: Connection = parent
        self.process = ctx.Process(target=worker_main, args=(child, home, memory_mb), daemon=True,
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


@dataclass
class _Running:
    """A query on a worker: when it started, whether it has run long, whether the pool stopped it."""

    started: float
    long: bool = False
    stopped: bool = False


def _lower_priority(pid: int, niceness: int = 10) -> None:
    """Renice every thread of a worker (Linux niceness is per thread; the query runs on one the worker made)."""
    try:
        tids = [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        tids = [pid]
    for tid in tids:
        with contextlib.suppress(OSError):  # the thread ended, or renicing is not allowed: the lanes still hold
            os.setpriority(os.PRIO_PROCESS, tid, niceness)


class ProcessPool:
    """Query worker processes; a query past its time limit kills its worker, and a fresh one starts.

    Fairness (issue 10, item 4), unless ``fair`` is off. A query that has run longer than ``long_after`` seconds
    is *long*; short queries must keep being answered while long ones run, as in any multi-user service:

    * a long query's worker is reniced (nice 10), so short queries win the CPU, and it is retired when the
      query ends (a process may not lower its niceness again);
    * while long queries hold workers the pool starts up to ``extra`` workers beyond ``workers``, one per long
      query, so that short queries keep their lanes; the extra ones are retired as the long queries end;
    * when a query is waiting, every worker is busy with a long query and no further worker may start, the
      oldest long query is stopped: it answers 503 saying so and how long it had run.

    ``max_concurrent`` caps the short queries (waiting or running) this pool accepts at once; a query stops
    counting once it runs long. Past the cap :class:`Busy` is raised at once (503 with ``Retry-After``).
    With ``fair`` off every query counts and none is ever long: the first-come pool of before (benchmarks).
    """

    def __init__(self, home: str | Path, *, workers: int = 2, max_concurrent: int = 4,
                 start_timeout: float = 120.0, on_timeout: Any = None, long_after: float = 0.5,
                 extra: int = 2, fair: bool = True, memory_mb: int = 256, inline: bool = True,
                 inline_max_rows: int = INLINE_MAX_ROWS):
        self.home = StoreHome(home)
        self.inline_max_rows = inline_max_rows
        self.front = FrontStore(self.home, memory_mb) if inline else None
        self.inline_queries = 0
        self.memory_mb = memory_mb
        self.catalog = Catalog(self.home)
        self.size = max(1, workers)
        self.start_timeout = start_timeout
        self.fair = fair
        self.long_after = long_after if fair else float("inf")
        self.extra = max(0, extra) if fair else 0
        self.max_concurrent = max(1, max_concurrent)
        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(["reekg.read.pool"])  # respawns after a kill are then quick
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # a worker became idle, started or went
        # The watcher's own wake-up: a query began to wait, or a worker went. Sharing _changed woke the
        # watcher at every query's end (a thread switch per query) for nothing.
        self._wake_watch = threading.Condition(self._lock)
        self._idle: list[_Worker] = []
        self._busy: dict[_Worker, _Running] = {}
        self._admitted = 0  # short queries waiting or running
        self._waiting = 0
        self._closed = False
        self._all: set[_Worker] = set()
        self._starting = 0
        self.restarts = 0
        self.stopped = 0  # long queries stopped to keep short ones answered
        for _ in range(self.size):
            self._spawn_async()
        if fair:
            threading.Thread(target=self._watch, name="reekg-pool-watch", daemon=True).start()

    # workers -------------------------------------------------------------------------------------
    def _spawn_async(self) -> None:
        with self._lock:
            self._starting += 1
        threading.Thread(target=self._spawn, name="reekg-pool-spawn", daemon=True).start()

    def _spawn(self) -> None:
        try:
            worker = _Worker(self._ctx, str(self.home.home), self.memory_mb)
            ready = worker.wait_ready(self.start_timeout)
        except Exception:
            log.exception("could not start a query worker")
            ready, worker = False, None
        with self._lock:
            self._starting -= 1
            if worker is not None and ready and not self._closed:
                self._all.add(worker)
                self._idle.append(worker)
                self._changed.notify()  # one idle worker: one waiter (each rechecks _idle first)
                return
        if worker is not None:
            worker.kill()

    def _wanted_locked(self) -> int:
        """How many workers there should be: ``size``, plus one per long query up to ``extra``."""
        long_queries = sum(1 for running in self._busy.values() if running.long)
        return self.size + min(self.extra, long_queries)

    def _top_up_locked(self) -> int:
        """How many workers to start now (the caller starts them after releasing the lock)."""
        if self._closed:
            return 0
        return max(0, self._wanted_locked() - len(self._all) - self._starting)

    def _start(self, count: int) -> None:
        for _ in range(count):
            self._spawn_async()

    def _discard(self, worker: _Worker, *, restart: bool = True) -> None:
        """Kill a worker (past its limit, dead, stopped or retired) and start what the pool now lacks."""
        with self._lock:
            self._all.discard(worker)
            self._changed.notify_all()
            self._wake_watch.notify()
        worker.kill()
        if restart and not self._closed:
            self.restarts += 1
        with self._lock:
            missing = self._top_up_locked()
        self._start(missing)

    def _release(self, worker: _Worker, running: _Running) -> None:
        """Give a worker back after a query, or retire it (it ran long, or it is an extra no longer wanted)."""
        with self._lock:
            surplus = len(self._all) + self._starting > self._wanted_locked() and not self._waiting
            if not running.long and not surplus and not self._closed:
                self._idle.append(worker)
                # one idle worker, one waiter: notify_all woke every waiting request thread (six of eight
                # clients' threads on two workers) to find one worker, a thread switch each
                self._changed.notify()
                return
        self._discard(worker, restart=False)

    # fairness ------------------------------------------------------------------------------------
    def _watch(self) -> None:
        """Mark queries long as they pass ``long_after``, start extra workers, stop the oldest long query when
        a query waits and no worker can be had otherwise."""
        while True:
            with self._lock:
                if self._closed:
                    return
                now = time.monotonic()
                for worker, running in self._busy.items():
                    if not running.long and now - running.started >= self.long_after:
                        running.long = True
                        self._admitted -= 1  # it no longer holds a short query's place
                        _lower_priority(worker.process.pid)
                self._stop_oldest_locked(now)
                missing = self._top_up_locked()
            self._start(missing)
            with self._lock:
                self._wake_watch.wait(0.05)

    def _long_soon_locked(self) -> bool:
        """Whether a running query is long or due to be marked long: only then can the watcher act for a
        waiting query before its next tick (waking it for every waiting query cost a thread switch each)."""
        due = time.monotonic() - self.long_after
        return any(running.long or running.started <= due for running in self._busy.values())

    def _stop_oldest_locked(self, now: float) -> None:
        if not self._waiting or self._idle or self._starting or len(self._all) < self.size + self.extra:
            return
        running = [(r.started, id(w), w, r) for w, r in self._busy.items() if not r.stopped]
        if not running or not all(r.long for *_, r in running):
            return  # a short query will be done soon: the waiting one gets its worker
        started, _, worker, victim = min(running)
        victim.stopped = True
        self.stopped += 1
        log.warning("stopped a query that had run %.1f s: every query worker was busy with a long query and "
                    "%d more waited", now - started, self._waiting)
        worker.process.kill()  # its execute() sees the pipe close and answers 503

    # the Backend protocol ------------------------------------------------------------------------
    def snapshot(self) -> Snapshot:
        return self.catalog.snapshot()

    def _acquire(self, timeout: float, deadline: float) -> tuple[_Worker, _Running]:
        with self._lock:
            if self._admitted >= self.max_concurrent:
                raise Busy("too many queries are running; try again shortly")
            self._admitted += 1
            self._waiting += 1
            if not self._idle and self._long_soon_locked():
                self._wake_watch.notify()  # a long query may have to be stopped for this one
            try:
                while not self._idle:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or self._closed:
                        self._admitted -= 1
                        raise Busy(f"no query worker became free within the {timeout:g} s limit")
                    self._changed.wait(remaining)
            finally:
                self._waiting -= 1
            worker = self._idle.pop()
            running = _Running(time.monotonic())
            self._busy[worker] = running
            return worker, running

    def execute(self, job: Job, timeout: float) -> Reply:
        snapshot = self.catalog.snapshot()  # NotReady (503, naming the cause) when no store can be served
        if job.bounded and self.front is not None:
            opened = self.front.get(snapshot)
            if opened is not None:
                reply = self._inline(job, *opened)
                if reply is not None:
                    return reply
        deadline = time.monotonic() + timeout
        worker, running = self._acquire(timeout, deadline)
        reply: Reply | None = None
        failure: BaseException | None = None
        try:  # plain pickle over the pipe: multiprocessing's own send() built a ForkingPickler per message
            worker.conn.send_bytes(pickle.dumps(job, pickle.HIGHEST_PROTOCOL))
            if worker.conn.poll(max(0.0, deadline - time.monotonic())):
                reply = pickle.loads(worker.conn.recv_bytes())
        except (EOFError, OSError) as exc:
            failure = exc
        with self._lock:
            del self._busy[worker]
            if not running.long:
                self._admitted -= 1
        if reply is not None and not running.stopped:
            self._release(worker, running)
            return reply
        self._discard(worker, restart=not running.stopped)
        if reply is not None:
            return reply  # it finished as it was being stopped
        if running.stopped:
            ran = time.monotonic() - running.started
            raise Busy(f"query stopped to keep the service responsive for other clients; it had run {ran:.1f} s "
                       "(every query worker was busy with a long query); try again later or make it cheaper")
        if failure is not None:
            raise ServiceFailure(f"query worker died: {failure}") from failure
        raise QueryTimeout(timeout)

    def _inline(self, job: Job, store: ox.Store, build_id: str) -> Reply | None:
        """``job`` answered here, or None when its answer is longer than ``inline_max_rows`` (a worker reads it).
        Under a larger row cap it is first read up to ``inline_max_rows``: an answer that fits is whole, the one
        the larger cap gives too (the same rows, not cut); one that does not is left to a worker."""
        # a few hundred tokens: any thread's stack holds them
        if job.max_rows <= self.inline_max_rows:
            reply = run_here(store, job, build_id)
        else:
            reply = run_here(store, replace(job, max_rows=self.inline_max_rows), build_id)
            if not reply.ok or reply.truncated:
                return None
        self.inline_queries += 1  # a lost increment under threads only blurs a status figure
        return reply

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {"kind": "processes", "workers": self.size, "memory_mb": self.memory_mb,
                    "workers_ready": len(self._idle),
                    "workers_alive": len(self._all), "workers_starting": self._starting,
                    "queries_long": sum(1 for r in self._busy.values() if r.long),
                    "restarts": self.restarts, "stopped_long_queries": self.stopped, "fair": self.fair,
                    "inline": self.front is not None, "inline_queries": self.inline_queries}

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
            self._changed.notify_all()
        for worker in workers:
            worker.kill()
