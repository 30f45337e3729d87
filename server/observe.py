"""What every answered request leaves behind, however it was answered (by Flask, the lean SPARQL front or the
answer cache's replay): its request id and one JSON line in the access log (``reekg.access``).

The access log is written in batches (:class:`BatchedLines`), as nginx's ``access_log … buffer= flush=``: a
write and the handler's lock per line took a fifth of an uncached lookup's server CPU (8 clients: 1,998
lookups/s with it, 2,491 without any access log, py-spy and bench/client.py on the curated graph)."""

from __future__ import annotations

import atexit
import itertools
import json
import logging
import os
import re
import threading
import time
import uuid
from collections import deque
from typing import IO, Any

access_log = logging.getLogger("reekg.access")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # fullmatch: `$` would pass a final newline


def request_id(incoming: str | None) -> str:
    """The client's ``X-Request-Id`` when it is a plain token, else a new one: this process's random prefix and a
    counter (unique as a uuid4 is, without its system call per request: 4% of an uncached lookup's CPU)."""
    if incoming and _REQUEST_ID.fullmatch(incoming):
        return incoming
    return f"{_prefix}{next(_issued):012x}"  # next() on a count is atomic under the GIL


def _new_prefix() -> None:
    global _prefix, _issued
    _prefix, _issued = uuid.uuid4().hex[:20], itertools.count()


_prefix, _issued = "", itertools.count()
_new_prefix()
os.register_at_fork(after_in_child=_new_prefix)  # a forked worker must not repeat its parent's ids


def log_access(request_id: str | None, method: str, path: str, status: int, seconds: float, **extra: Any) -> None:
    """One access-log line (only built when the log is on: it is on every request's path)."""
    if access_log.isEnabledFor(logging.INFO):
        access_log.info(json.dumps({
            "ts": round(time.time(), 3), "request_id": request_id, "method": method, "path": path,
            "status": status, "duration_ms": round(seconds * 1000, 2), **extra,
        }))


class BatchedLines(logging.Handler):
    """A handler that keeps formatted lines and writes them together: every ``flush_seconds`` (a daemon thread
    of the process that logs, started with its first line), when ``max_lines`` are waiting, and at exit. A
    process killed outright loses at most the lines of the last ``flush_seconds``; a line is never cut or
    interleaved with another."""

    def __init__(self, stream: IO[str], *, flush_seconds: float = 0.2, max_lines: int = 256):
        super().__init__()
        self.stream, self.flush_seconds, self.max_lines = stream, flush_seconds, max_lines
        self._lines: deque[str] = deque()  # append and popleft are atomic: emit takes no lock
        self._write = threading.Lock()  # one batch written at a time, in order
        # A forked process has no timer thread (granian forks its workers after logging is configured), nor the
        # locks' holders: it starts its own with its first line.
        self._timer = False
        os.register_at_fork(after_in_child=self._forked)
        atexit.register(self.flush)

    def _forked(self) -> None:
        self._timer, self._write = False, threading.Lock()

    def _start_timer(self) -> None:
        with self._write:
            if not self._timer:
                self._timer = True
                threading.Thread(target=self._flush_often, name="reekg-access-log", daemon=True).start()

    def handle(self, record: logging.LogRecord) -> bool:
        """:meth:`logging.Handler.handle` without the handler's lock around each line (:meth:`emit` needs none)."""
        if not self.filter(record):
            return False
        self.emit(record)
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # logging's own contract: a bad record is reported, never raised
            self.handleError(record)
            return
        if not self._timer:
            self._start_timer()
        self._lines.append(line)
        if len(self._lines) >= self.max_lines:
            self.flush()

    def flush(self) -> None:
        with self._write:
            waiting = self._lines
            lines = [waiting.popleft() for _ in range(len(waiting))]  # what is there now; later lines wait
            if lines:
                try:
                    self.stream.write("\n".join(lines) + "\n")
                    self.stream.flush()
                except (OSError, ValueError):  # the stream is closed (at exit) or gone: the lines are lost
                    pass

    def _flush_often(self) -> None:
        while True:
            time.sleep(self.flush_seconds)
            self.flush()
