"""The load generator: a lean HTTP/1.1 keep-alive client, a latency loop and a multi-process throughput run.

The client is deliberately thin (a pre-built request, a socket, Content-Length or chunked framing) because a
Python client can itself be the bottleneck; each client process reports the CPU time it spent, so the run
can say how much of the machine the clients took and what rate they could reach on their own.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import socket
import statistics
import threading
import time
import urllib.parse
from dataclasses import dataclass


class HttpError(RuntimeError):
    pass


class Connection:
    """One keep-alive connection to ``host:port`` (reconnects when the server closes it)."""

    def __init__(self, host: str, port: int, timeout: float = 120.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock: socket.socket | None = None
        self.buffer = b""
        self.reconnects = 0

    def _connect(self) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        return sock

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _fill(self) -> None:
        assert self.sock is not None
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionResetError("server closed the connection")
        self.buffer += chunk

    def _read_exactly(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._fill()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def _read_line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def request(self, raw: bytes) -> tuple[int, bytes]:
        """Send one pre-built request; the status and body of the answer."""
        for attempt in (0, 1):
            if self.sock is None:
                self.sock = self._connect()
            try:
                self.sock.sendall(raw)
                return self._response()
            except (ConnectionResetError, BrokenPipeError):
                self.close()
                self.reconnects += 1
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def _response(self) -> tuple[int, bytes]:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            headers[name.strip().lower()] = value.strip().lower()
        if b"content-length" in headers:
            body = self._read_exactly(int(headers[b"content-length"]))
        elif headers.get(b"transfer-encoding") == b"chunked":
            parts = []
            while True:
                size = int(self._read_line().split(b";")[0], 16)
                if size == 0:
                    while self._read_line():  # trailers, then the blank line
                        pass
                    break
                parts.append(self._read_exactly(size))
                self._read_exactly(2)
            body = b"".join(parts)
        else:  # the body runs to the end of the connection
            try:
                while True:
                    self._fill()
            except ConnectionResetError:
                pass
            body, self.buffer = self.buffer, b""
            self.close()
        if headers.get(b"connection") == b"close":
            self.close()
        return status, body


MAX_GET_BYTES = 4096


@dataclass(frozen=True)
class Target:
    """A SPARQL query operation: where it lives and how to ask it (GET, results as SPARQL JSON)."""

    host: str
    port: int
    path: str

    def get(self, query: str, accept: str = "application/sparql-results+json") -> bytes:
        """The request for ``query``: a GET, or a form POST when the URL would pass :data:`MAX_GET_BYTES`
        (``oxigraph serve`` refuses request heads over 8 KiB, and the traceability query is longer)."""
        qs = urllib.parse.urlencode({"query": query})
        head = f"Host: {self.host}:{self.port}\r\nAccept: {accept}\r\nUser-Agent: reekg-bench\r\n"
        if len(qs) <= MAX_GET_BYTES:
            return f"GET {self.path}?{qs} HTTP/1.1\r\n{head}\r\n".encode("ascii")
        return (f"POST {self.path} HTTP/1.1\r\n{head}Content-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(qs)}\r\n\r\n{qs}").encode("ascii")


@dataclass
class Latency:
    samples_ms: list[float]
    warmup: int

    @property
    def median(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples_ms)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def latency(target: Target, query: str, *, warmup: int, count: int, max_seconds: float) -> Latency:
    """One client, one keep-alive connection: ``warmup`` unrecorded requests (or as many as fit in a quarter
    of ``max_seconds``, at least one), then up to ``count`` recorded ones or ``max_seconds``, whichever comes
    first (at least 5 are recorded)."""
    raw = target.get(query)
    conn = Connection(target.host, target.port)
    try:
        warm_until = time.monotonic() + max_seconds / 4
        for i in range(warmup):
            if i and time.monotonic() > warm_until:  # a slow engine: a few warm-ups are enough
                break
            status, body = conn.request(raw)
            if status != 200:
                raise HttpError(f"{target}: HTTP {status}: {body[:300]!r}")
        samples: list[float] = []
        deadline = time.monotonic() + max_seconds
        while len(samples) < count and (len(samples) < 5 or time.monotonic() < deadline):
            started = time.perf_counter()
            status, body = conn.request(raw)
            samples.append((time.perf_counter() - started) * 1000)
            if status != 200:
                raise HttpError(f"{target}: HTTP {status}: {body[:300]!r}")
        return Latency(samples, warmup)
    finally:
        conn.close()


@dataclass
class Throughput:
    clients: int
    seconds: float
    requests: int
    errors: int
    statuses: dict[int, int]
    client_cpu_seconds: float
    server_cpu_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    @property
    def server_share(self) -> float:
        """The share of the machine's CPU that the server's process tree used during the counted window."""
        return self.server_cpu_seconds / (self.seconds * (os.cpu_count() or 1))

    @property
    def server_cpu_per_request_ms(self) -> float:
        return 1000 * self.server_cpu_seconds / max(1, self.requests + self.errors)

    @property
    def client_cpu_per_request_ms(self) -> float:
        return 1000 * self.client_cpu_seconds / max(1, self.requests + self.errors)

    @property
    def client_share(self) -> float:
        """The share of the machine's CPU that the clients themselves used during the measured window."""
        return self.client_cpu_seconds / (self.seconds * (os.cpu_count() or 1))

    @property
    def client_ceiling(self) -> float:
        """Requests per second the clients could drive if they had every core and the server cost nothing."""
        return (os.cpu_count() or 1) * 1000 / max(1e-9, self.client_cpu_per_request_ms)


def _client(target: Target, raw: bytes, barrier, warmup: float, seconds: float, out) -> None:
    conn = Connection(target.host, target.port)
    statuses: dict[int, int] = {}
    ok = errors = 0
    try:
        try:
            conn.request(raw)  # connect before the start line
        except Exception:
            barrier.abort()  # nobody waits for a client that cannot connect
            raise
        barrier.wait()
        start = time.monotonic()
        measure_from, measure_to = start + warmup, start + warmup + seconds
        while time.monotonic() < measure_from:
            conn.request(raw)
        cpu = time.process_time()
        while time.monotonic() < measure_to:
            status, _ = conn.request(raw)
            statuses[status] = statuses.get(status, 0) + 1
            if status == 200:
                ok += 1
            else:
                errors += 1
        cpu = time.process_time() - cpu
    except Exception as exc:  # reported, not hidden: the run shows the error count
        out.put(("error", repr(exc)))
        return
    finally:
        conn.close()
    out.put(("ok", ok, errors, statuses, cpu))


def throughput(target: Target, query: str, *, clients: int, warmup: float, seconds: float,
               server_cpu=None) -> Throughput:
    """``clients`` separate processes, each with its own keep-alive connection, asking ``query`` in a loop;
    counted over ``seconds`` after ``warmup`` seconds. ``server_cpu`` (a function returning the server's CPU
    seconds) is sampled at both ends of the counted window."""
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(clients + 1)
    out = ctx.Queue()
    raw = target.get(query)
    procs = [ctx.Process(target=_client, args=(target, raw, barrier, warmup, seconds, out), daemon=True)
             for _ in range(clients)]
    for p in procs:
        p.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a client failed: its report says why
        barrier.wait(timeout=300)
    time.sleep(warmup)
    cpu_before = server_cpu() if server_cpu else 0.0
    time.sleep(seconds)
    server_seconds = (server_cpu() - cpu_before) if server_cpu else 0.0
    results = [out.get(timeout=warmup + seconds + 300) for _ in procs]
    for p in procs:
        p.join(30)
    failures = [r[1] for r in results if r[0] == "error"]
    if failures:
        raise HttpError(f"{len(failures)} client(s) failed: {failures[0]}")
    statuses: dict[int, int] = {}
    for r in results:
        for status, n in r[3].items():
            statuses[status] = statuses.get(status, 0) + n
    return Throughput(clients, seconds, sum(r[1] for r in results), sum(r[2] for r in results), statuses,
                      sum(r[4] for r in results), server_seconds)
