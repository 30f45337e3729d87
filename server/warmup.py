"""The background warm-up of a build's indexes: when a new build is served (at start-up, after a write, after a
build published by another process), one daemon thread per app reads the per-build memos the analyst routes
share (:meth:`reekg.questions.core.Answers.memo`: the trace's supply network, site stages and statuses, the
stage shares and their summaries, the dependencies, element sites, today's controls, the scenario's uses and
sources), so that the build's first request finds them ready instead of reading them itself (at 10^7 triples
the trace's first request of a build took 237 s).

* The same code paths as the routes (:data:`STEPS`), on the app's own :class:`Answers` and its runner: the memo
  entries are exactly the ones the routes read, and every query keeps the routes' time limit and row caps.
* One warm-up at a time (one thread per app; each HTTP worker process of granian or gunicorn builds its own app,
  so each warms its own Answers). It targets the build served when it starts; if another is served meanwhile,
  it stops between two memos and the next warm-up targets the newest.
* It never blocks or fails a request: a request that asks for a memo the warm-up is computing waits for that
  computation (no double work) and computes it itself if it fails (:meth:`Answers.memo`); before each memo the
  warm-up waits until no query of this process is running, so it takes a query worker only when the pool is
  idle. Its query still takes one of the ``max_concurrent_queries`` a process accepts: with a single one a
  request arriving in the middle of a warm-up query would be told busy, so there is no warm-up then
  (:class:`reekg.server.api._Service`).
* A failure is logged (``reekg.server``) and never ends the thread or the process; a memo that failed is read by
  the first request that needs it, and the build is not warmed again.
* ``/readyz`` reports the state (:meth:`Warmup.status`: the build being warmed, the last one warmed). The
  ``warm_up`` setting turns it off.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from reekg.errors import ReekgError
from reekg.questions.controls import controls
from reekg.questions.core import Answers, dependencies
from reekg.questions.scenario import scenario_sources, scenario_uses
from reekg.questions.shares import element_shares, share_summaries, stage_shares
from reekg.questions.statuses import element_sites, site_statuses
from reekg.questions.supply_paths import network
from reekg.questions.trace import site_stages
from reekg.read.jobs import can_answer

log = logging.getLogger("reekg.server")

POLL_SECONDS = 1.0  # how often the served build is looked at (a write in this process wakes the thread at once)
QUIET_SECONDS = 0.05  # how often a warm-up waiting for the query pool to be idle looks again
_PASSES = 3  # passes over the steps when the catalog changed under one (a reply from an older build)

# The memos the routes read, in the order they are warmed: those most routes share first (coverage, exposure,
# sites, scenario, trace), then the trace's supply network, the largest. Each is the call a route makes.
STEPS: tuple[tuple[str, Callable[[Answers], Any]], ...] = (
    ("site statuses", site_statuses),
    ("element sites", lambda a: element_sites(a, False)),
    ("element sites (unverified)", lambda a: element_sites(a, True)),
    ("dependencies", lambda a: dependencies(a, False)),
    ("dependencies (unverified)", lambda a: dependencies(a, True)),
    ("stage shares", stage_shares),
    ("share summaries", share_summaries),
    ("element shares", element_shares),
    ("controls today", lambda a: controls(a, a.today().isoformat())),
    ("scenario uses", scenario_uses),
    ("scenario sources", scenario_sources),
    ("site stages", site_stages),
    ("supply network", network),
)


class Warmup:
    """The warm-up of one app's :class:`Answers` over its query ``backend`` (see the module docstring)."""

    def __init__(self, answers: Answers, backend: Any, *,
                 steps: tuple[tuple[str, Callable[[Answers], Any]], ...] = STEPS, poll: float = POLL_SECONDS):
        self.answers = answers
        self.backend = backend
        self.steps = steps
        self.poll = poll
        self.thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._closed = False
        self._warming: str | None = None
        self._warm: str | None = None
        self._seconds: float | None = None
        self._failed: list[str] = []
        self._done: str | None = None  # the last build warmed (failed memos included): not warmed again

    def start(self) -> None:
        """Start the thread (once). It holds the warm-up weakly and ends when the app is gone or closed."""
        with self._lock:
            if self.thread is not None or self._closed:
                return
            self.thread = threading.Thread(target=_loop, args=(weakref.ref(self), self._wake, self.poll),
                                           name="reekg-warm-up", daemon=True)
        self.thread.start()

    def nudge(self) -> None:
        """Look at the served build now (a write here has just published one)."""
        self._wake.set()

    def close(self) -> None:
        """End the thread after the memo it is computing, if any."""
        self._closed = True
        self._wake.set()

    def status(self) -> dict[str, Any]:
        """The build being warmed (None: none), the last build warmed, how long that took and the memos that
        failed in it (the first request that needs one reads it)."""
        with self._lock:
            return {"enabled": True, "warming": self._warming, "warm": self._warm, "seconds": self._seconds,
                    "failed": list(self._failed)}

    # --- the thread -------------------------------------------------------------------------------------

    def tick(self) -> None:
        """Warm the served build unless it is warm already (or nothing can be served yet)."""
        build = self._served()
        if build is not None and build != self._done:
            self._warm_up(build)

    def _served(self) -> str | None:
        """The build served now, once a query worker is up (what /readyz calls ready); None before."""
        try:
            build = self.backend.snapshot().build_id
            status = self.backend.status()
        except (ReekgError, OSError):  # no store yet, a remote store down: /readyz says why; look again later
            return None
        if not can_answer(status):
            return None
        return build

    def _quiet(self) -> bool:
        """Whether no query of this process is running: every live query worker is idle."""
        try:
            status = self.backend.status()
        except (ReekgError, OSError):
            return False
        ready = status.get("workers_ready", 0)
        return ready > 0 and ready >= status.get("workers_alive", ready)

    def _wait_quiet(self, build: str) -> bool:
        """Wait until the pool is idle; False when closed or another build is served meanwhile."""
        while True:
            if self._closed:
                return False
            if self._served() != build:
                self._wake.set()  # the next warm-up targets the newest build at once
                return False
            if self._quiet():
                return True
            time.sleep(QUIET_SECONDS)

    def _warm_up(self, build: str) -> None:
        started = time.monotonic()
        with self._lock:
            self._warming = build
        failed: dict[str, str] = {}
        try:
            for _ in range(_PASSES):
                catalog = None
                for name, step in self.steps:
                    if not self._wait_quiet(build):
                        if not self._closed:
                            log.info("warm-up of build %s stopped: another build is served", build)
                        return
                    try:
                        self.answers.start()  # the catalog of the build served (it is `build`: just checked)
                        catalog = catalog or self.answers.catalog()
                        step(self.answers)
                        failed.pop(name, None)
                    except Exception as exc:  # a time limit, a busy pool, a failing store: never the process
                        failed[name] = _reason(exc)
                        log.warning("warm-up of build %s: %s failed (%s); the first request that needs it reads "
                                    "it", build, name, failed[name])
                if catalog is None or self.answers.catalog() is catalog:
                    break  # every memo is in the catalog the routes read (else one went to an older build's)
            if self._served() != build:
                self._wake.set()
                return
            seconds = round(time.monotonic() - started, 3)
            with self._lock:
                self._warm, self._seconds, self._failed, self._done = build, seconds, sorted(failed), build
            log.info("warm-up of build %s: %d of %d indexes read in %.1f s", build, len(self.steps) - len(failed),
                     len(self.steps), seconds)
        finally:
            with self._lock:
                self._warming = None


def _loop(ref: weakref.ref[Warmup], wake: threading.Event, poll: float) -> None:
    """The thread: a warm-up whenever the served build changes, looked at every ``poll`` seconds or when woken."""
    last_error = None
    while True:
        wake.clear()
        warmup = ref()
        if warmup is None or warmup._closed:
            return
        try:
            warmup.tick()
            last_error = None
        except Exception as exc:  # never end the thread; say it once, not every poll
            if _reason(exc) != last_error:
                log.exception("warm-up failed")
            last_error = _reason(exc)
        del warmup  # held weakly between looks: the app may go
        wake.wait(poll)


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None) if isinstance(exc, ReekgError) else None
    return message or f"{type(exc).__name__}: {exc}"
