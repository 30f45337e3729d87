"""The three engines as real processes on loopback ports, all serving the same N-Quads.

* reekg: ``reekg serve`` (gunicorn) on a store home built from the curated tables;
* ``oxigraph serve`` (pip package ``oxigraph``) on a RocksDB folder made by ``oxigraph load`` from the N-Quads
  export of that store, with ``--union-default-graph``;
* rdflib-endpoint under uvicorn (:mod:`bench.rdflib_peer`) on an rdflib Dataset with ``default_union``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from .client import Connection, Target

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Engine:
    name: str
    target: Target
    process: subprocess.Popen
    log: Path
    notes: list[str] = field(default_factory=list)

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server's whole process tree (workers and query workers included)."""
        return tree_cpu(self.process.pid)


def tree(root: int) -> list[int]:
    """A process and all its descendants (read from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                text = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            children.setdefault(int(text[text.rindex(")") + 2:].split()[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def tree_cpu(root: int) -> float:
    """User + system CPU seconds of a process tree."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in tree(root):
        with contextlib.suppress(OSError):
            text = Path(f"/proc/{pid}/stat").read_text()
            fields = text[text.rindex(")") + 2:].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def tree_rss_mib(root: int) -> float:
    """Resident memory of a process tree (MiB)."""
    total = 0
    for pid in tree(root):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def _wait_ready(engine: Engine, probe: bytes, seconds: float = 600) -> None:
    deadline = time.monotonic() + seconds
    while True:
        if engine.process.poll() is not None:
            raise RuntimeError(f"{engine.name} exited with {engine.process.returncode}:\n"
                               f"{engine.log.read_text()[-3000:]}")
        conn = Connection(engine.target.host, engine.target.port, timeout=5)
        try:
            status, _ = conn.request(probe)
            if status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{engine.name} was not ready within {seconds:g} s:\n{engine.log.read_text()[-3000:]}")
        time.sleep(0.2)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)


@contextlib.contextmanager
def _running(name: str, argv: list[str], target: Target, probe_path: str, log: Path,
             env: dict[str, str] | None = None, notes: list[str] | None = None) -> Iterator[Engine]:
    with log.open("wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.STDOUT, env=env,
                                   start_new_session=True)
    engine = Engine(name, target, process, log, notes or [])
    try:
        probe = Target(target.host, target.port, probe_path).get("ASK { }")
        _wait_ready(engine, probe)
        yield engine
    finally:
        _stop(process)


def reekg(home: Path, work: Path, settings: dict[str, str],
          label: bool = False) -> contextlib.AbstractContextManager[Engine]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REEKG_")}
    env.update({f"REEKG_{k.upper()}": str(v) for k, v in settings.items()})
    argv = [str(BIN / "reekg"), "--home", str(home), "serve", "--port", str(port)]
    shown = ", ".join(f"{k}={v}" for k, v in settings.items())
    name = f"reekg serve ({shown})" if label else "reekg serve"
    return _running(name, argv, Target("127.0.0.1", port, "/sparql"), "/sparql", work / "reekg.log",
                    env, [shown])


def oxigraph(nquads: Path, work: Path) -> contextlib.AbstractContextManager[Engine]:
    location = work / "oxigraph-db"
    subprocess.run([str(BIN / "oxigraph"), "load", "--location", str(location), "--file", str(nquads)],
                   check=True, capture_output=True)
    port = free_port()
    argv = [str(BIN / "oxigraph"), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}",
            "--union-default-graph"]
    return _running("oxigraph serve", argv, Target("127.0.0.1", port, "/query"), "/query",
                    work / "oxigraph.log", notes=["on disk (RocksDB), --union-default-graph"])


def rdflib_endpoint(nquads: Path, work: Path) -> contextlib.AbstractContextManager[Engine]:
    port = free_port()
    argv = [sys.executable, "-m", "bench.rdflib_peer", str(nquads), str(port)]
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parent.parent) + os.pathsep + env.get("PYTHONPATH", "")
    return _running("rdflib-endpoint", argv, Target("127.0.0.1", port, "/"), "/", work / "rdflib-endpoint.log",
                    env, notes=["uvicorn, 1 process; Dataset(default_union=True)"])
