"""Helpers for the server tests: a small store written straight through StoreHome (independent of the
curated build), a real ``reekg serve`` process on it, the same HTTP interface over an in-process app (for the
cases where the process does not matter) and a loopback trap."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rdflib import Literal, URIRef

from reekg.loaders.store import StoreHome

BASE = "https://w3id.org/reekg/"
RDF_TYPE = URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
RDFS_LABEL = URIRef("http://www.w3.org/2000/01/rdf-schema#label")
ELEMENTS_GRAPH = BASE + "graph/source/test"
BULK_GRAPH = BASE + "graph/source/bulk"
BULK_ITEMS = 3000  # a cross product of these is 9·10^6 rows: far past a 1 s limit with ORDER BY
BUILD_ID = "20250101T000000Z-fixture"
ELEMENTS = [("Nd", "neodymium", "钕"), ("Dy", "dysprosium", "鏑"), ("Tb", "terbium", "鋱")]


def fixture_quads() -> list:
    g, bulk = URIRef(ELEMENTS_GRAPH), URIRef(BULK_GRAPH)
    quads = []
    for symbol, en, zh in ELEMENTS:
        s = URIRef(f"{BASE}id/element/{symbol}")
        quads += [(s, RDF_TYPE, URIRef(BASE + "ontology#ChemicalElement"), g),
                  (s, RDFS_LABEL, Literal(en, lang="en"), g),
                  (s, RDFS_LABEL, Literal(zh, lang="zh-Hant"), g),
                  (s, URIRef(BASE + "ontology#symbol"), Literal(symbol), g)]
    quads += [(URIRef(f"{BASE}id/item/{i}"), URIRef(BASE + "ontology#rank"), Literal(i), bulk)
              for i in range(BULK_ITEMS)]
    return quads


def write_fixture_store(home: Path) -> Path:
    return StoreHome(home).write(BUILD_ID, fixture_quads(), {"build_id": BUILD_ID})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> dict:
        return json.loads(self.body)

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: Path

    def request(self, method: str, path: str = "/sparql", params: dict | list | None = None,
                headers: dict[str, str] | None = None, body: bytes | None = None, timeout: float = 30) -> Answer:
        url = self.url + path
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
        try:
            with urllib.request.urlopen(req, timeout=timeout) as response:
                return Answer(response.status, {k.lower(): v for k, v in response.headers.items()},
                              response.read())
        except urllib.error.HTTPError as exc:
            with exc:
                return Answer(exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read())

    def get(self, path: str = "/sparql", **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    def metric(self, name: str) -> float:
        """The value of one sample line (name with labels, exactly as rendered) in /metrics, 0 if absent."""
        for line in self.get("/metrics").text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return 0.0


class InProcess:
    """The `Server` interface (request, get, metric, url) over an in-process app and its Flask test client: for
    protocol, negotiation and page cases, where no process, worker pool or socket is under test. Redirects are
    not followed, as with a real server and urllib's 3xx left to the caller."""

    url = "http://localhost"

    def __init__(self, app) -> None:
        self.app = app
        self.client = app.test_client()

    def request(self, method: str, path: str = "/sparql", params: dict | list | None = None,
                headers: dict[str, str] | None = None, body: bytes | None = None, timeout: float = 30) -> Answer:
        if params:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(params, doseq=True)
        with self.client.open(path, method=method, headers=headers or {}, data=body) as response:
            return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, response.data)

    def get(self, path: str = "/sparql", **kwargs) -> Answer:
        return self.request("GET", path, **kwargs)

    metric = Server.metric


def in_process(home: Path, **settings) -> InProcess:
    """An in-process app over the home's current store, opened read-only (queries run in process)."""
    import pyoxigraph as ox

    from reekg.server.app import create_app

    store = ox.Store.read_only(str(StoreHome(home).require()))
    return InProcess(create_app({"home": str(home), **settings}, store=store))


@contextlib.contextmanager
def running_server(home: Path | None, log: Path, *, prefix: tuple[str, ...] = (), environ: dict | None = None,
                   until: str = "/readyz", ready_within: float = 60, stop_within: float = 20,
                   **settings: str) -> Iterator[Server]:
    """`reekg serve` as a real process (gunicorn); stopped with SIGTERM at the end.

    ``home`` None: no --home (the default home of ``environ``'s HOME). ``prefix``: a command that runs the
    server (a namespace with a read-only home, say). ``until``: the route whose 200 means started (``/healthz``
    for a server expected not to become ready); ``ready_within``: the seconds that may take. ``stop_within``: the
    seconds SIGTERM is given before the server's whole process group (its query workers too) is killed, for a
    test that leaves long queries running on purpose."""
    port = free_port()
    reekg = Path(sys.executable).with_name("reekg")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEKG_")}
    env.update(environ or {})
    env.update({f"REEKG_{k.upper()}": str(v) for k, v in settings.items()})
    where = ["--home", str(home)] if home is not None else []
    with log.open("wb") as sink:
        process = subprocess.Popen([*prefix, str(reekg), *where, "serve", "--port", str(port), "--workers", "1"],
                                   stdout=sink, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    server = Server(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + ready_within
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"reekg serve exited with {process.returncode}:\n{log.read_text()}")
            try:
                if server.get(until, timeout=2).status == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"reekg serve was not ready within {ready_within:g} s:\n{log.read_text()}")
            time.sleep(0.1)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(stop_within)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # its own session (start_new_session): nothing else
            process.wait(5)


class Listener:
    """A loopback TCP listener that records every connection made to it (an outbound-request trap)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/sparql"
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/sparql-results+json\r\n"
                                 b"Content-Length: 43\r\nConnection: close\r\n\r\n"
                                 b'{"head":{"vars":[]},"results":{"bindings":[]}}'[:43])

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
