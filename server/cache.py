"""An answer cache in front of Flask, keyed by the data version.

The graph changes only when a build or a validated write publishes a new store, so a read-only request
asked again of the same build has the same answer. This WSGI middleware replays 200 answers of GET
requests to the read routes (``/sparql``, ``/api/v1/…``, ``/data/…``) for as long as the build id is the
same, without entering Flask: the Flask request path costs ~0.5 ms of CPU per request and was the
bottleneck of small lookups (bench/README.md), not the query engine. Answers carry a strong ETag made of
the build id and the request, so clients can revalidate with ``If-None-Match`` and get a 304.

Bounded: at most ``max_bytes`` in all, no answer above ``max_entry`` bytes, least recently used first out;
a new build empties it. Requests with credentials are never cached; every replay gets its own request id.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from .observe import request_id as new_request_id

CACHEABLE_PREFIXES = ("/sparql", "/api/v1/", "/data/")
_VARY = ("HTTP_ACCEPT", "HTTP_ORIGIN", "HTTP_ACCEPT_LANGUAGE")

# observe(environ, status code, seconds, request id): the app's metrics and access log for a replay
Observer = Callable[[dict[str, Any], int, float, str], None]


class AnswerCache:
    def __init__(self, app: Callable, build_id: Callable[[], str | None], *, max_bytes: int = 64 << 20,
                 max_entry: int = 1 << 20, observe: Observer | None = None):
        self.app = app
        self.build_id = build_id
        self.max_bytes = max_bytes
        self.max_entry = max_entry
        self.observe = observe
        self.entries: OrderedDict[tuple, tuple[str, list[tuple[str, str]], bytes]] = OrderedDict()
        self.size = 0
        self.build: str | None = None
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        started = time.perf_counter()
        path = environ.get("PATH_INFO", "")
        if (environ.get("REQUEST_METHOD") != "GET" or not path.startswith(CACHEABLE_PREFIXES)
                or "HTTP_AUTHORIZATION" in environ or (path == "/sparql" and not environ.get("QUERY_STRING"))):
            return self.app(environ, start_response)
        try:
            build = self.build_id()
        except Exception:  # not ready: let the app answer (it says why)
            return self.app(environ, start_response)
        if build is None:
            return self.app(environ, start_response)
        key = (path, environ.get("QUERY_STRING", ""), *(environ.get(h, "") for h in _VARY))
        etag = '"' + hashlib.sha256(repr((build, key)).encode()).hexdigest()[:32] + '"'
        with self.lock:
            if build != self.build:
                self.entries.clear()
                self.size = 0
                self.build = build
            entry = self.entries.get(key)
            if entry is not None:
                self.entries.move_to_end(key)
        if entry is not None:
            status, headers, body = entry
            request_id = new_request_id(environ.get("HTTP_X_REQUEST_ID"))
            fresh = [*headers, ("X-Request-Id", request_id), ("X-Cache", "hit")]
            if environ.get("HTTP_IF_NONE_MATCH") == etag:
                status = "304 Not Modified"
                fresh = [(k, v) for k, v in fresh if k.lower() != "content-length"]
                body = b""
            start_response(status, fresh)
            if self.observe:
                self.observe(environ, int(status[:3]), time.perf_counter() - started, request_id)
            return [body]
        return self._miss(environ, start_response, key, build, etag)

    def _miss(self, environ: dict[str, Any], start_response: Callable, key: tuple, build: str,
              etag: str) -> Iterable[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable:
            captured["status"], captured["headers"] = status, headers
            if status.startswith("200 "):
                headers.append(("ETag", etag))
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        result = self.app(environ, capture)
        try:
            body = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close:
                close()
        status = captured.get("status", "")
        if status.startswith("200 ") and len(body) <= self.max_entry:
            headers = [(k, v) for k, v in captured["headers"] if k.lower() not in ("x-request-id", "set-cookie")]
            with self.lock:
                if self.build == build and key not in self.entries:
                    self.entries[key] = (status, headers, body)
                    self.size += len(body)
                    while self.size > self.max_bytes and self.entries:
                        _, (_, _, old) = self.entries.popitem(last=False)
                        self.size -= len(old)
        return [body]
