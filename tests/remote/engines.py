"""Start and stop the remote SPARQL engines the remote-store tests run against (issue 6, item 2).

* ``oxigraph serve`` (pip package ``oxigraph``) on a temporary folder, with ``--union-default-graph``.
* Virtuoso open source (Debian package ``virtuoso-opensource``): ``virtuoso-t +foreground`` with a copy of
  Debian's ini whose database files live in a temporary folder, both ports on 127.0.0.1, the result cap
  (``ResultSetMaxRows``, 10,000 by default) and the time limit (``MaxQueryExecutionTime``, 60 s) raised, and
  SPARQL_UPDATE granted to the SPARQL user so that its update and Graph Store endpoints accept writes.

Used by tests/remote/conftest.py and by ``scripts/engines start|stop``. Every wait is bounded.
"""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

VIRTUOSO_INI = Path("/etc/virtuoso-opensource-7/virtuoso.ini")
ENGINES = ("oxigraph", "virtuoso")
# Every graph an engine holds, its system graphs included. GROUP BY, not DISTINCT: Virtuoso 7.2 answers
# `SELECT DISTINCT ?g … GRAPH ?g { ?s ?p ?o }` by scanning every quad (24–36 s on the test machine with its system
# graphs) but GROUP BY ?g from its graph index (0.02 s), the same 157 graphs.
EVERY_GRAPH = "SELECT ?g WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def oxigraph_command() -> str | None:
    local = Path(sys.executable).with_name("oxigraph")
    return str(local) if local.exists() else shutil.which("oxigraph")


def missing(kind: str) -> str | None:
    """Why ``kind`` cannot run here, or None when it can."""
    if kind == "oxigraph":
        return None if oxigraph_command() else "the `oxigraph` command is not installed (pip install oxigraph)"
    if not shutil.which("virtuoso-t") or not shutil.which("isql-vt") or not VIRTUOSO_INI.exists():
        return "Virtuoso is not installed (apt-get install virtuoso-opensource)"
    return None


@dataclass
class Engine:
    kind: str
    folder: Path
    http_port: int = 0
    sql_port: int = 0
    process: subprocess.Popen | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log = self.folder / f"{self.kind}.log"
        self.http_port = self.http_port or free_port()
        self.sql_port = self.sql_port or free_port()

    # the URLs reekg's settings name --------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def settings(self) -> dict[str, str]:
        if self.kind == "oxigraph":
            return {"store": "sparql", "remote_query_url": self.base + "/query",
                    "remote_update_url": self.base + "/update", "remote_store_url": self.base + "/store"}
        return {"store": "sparql", "remote_query_url": self.base + "/sparql",
                "remote_update_url": self.base + "/sparql", "remote_store_url": self.base + "/sparql-graph-crud"}

    # life cycle ----------------------------------------------------------------------------------
    def start(self, timeout: float = 60) -> Engine:
        if self.kind == "oxigraph":
            command = [oxigraph_command(), "serve", "--location", str(self.folder / "data"),
                       "--bind", f"127.0.0.1:{self.http_port}", "--union-default-graph"]
        else:
            ini = self._virtuoso_ini()
            command = ["virtuoso-t", "+foreground", "+configfile", str(ini)]
        with self.log.open("ab") as sink:
            self.process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, cwd=self.folder,
                                            start_new_session=True)
        self._wait_ready(timeout)
        if self.kind == "virtuoso":
            self._grant_update()
        return self

    def stop(self, timeout: float = 30) -> None:
        """Stop the engine (SIGTERM, then SIGKILL) and wait for it to exit."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def kill(self) -> None:
        """Stop the engine abruptly, as a crash would (Virtuoso replays its transaction log on restart)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        probe = self.settings["remote_query_url"] + "?" + urllib.parse.urlencode({"query": "ASK {}"})
        while True:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited with {self.process.returncode}:\n{self._log_tail()}")
            try:
                request = urllib.request.Request(probe, headers={"Accept": "application/sparql-results+json"})
                with urllib.request.urlopen(request, timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            if time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"{self.kind} was not ready within {timeout:g} s:\n{self._log_tail()}")
            time.sleep(0.2)

    def _log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return "(no log)"

    # Virtuoso ------------------------------------------------------------------------------------
    def _virtuoso_ini(self) -> Path:
        db = self.folder / "db"
        db.mkdir(exist_ok=True)
        text = VIRTUOSO_INI.read_text()
        replacements = {
            "DatabaseFile": None, "ErrorLogFile": str(db / "virtuoso.log"), "LockFile": str(db / "virtuoso.lck"),
            "TransactionFile": None, "xa_persistent_file": str(db / "virtuoso.pxa"),
            "ResultSetMaxRows": "1000000", "MaxQueryExecutionTime": "0", "MaxQueryCostEstimationTime": "0",
        }
        section = ""
        out = []
        for line in text.splitlines():
            header = re.match(r"^\[(\w[\w ]*)\]", line)
            if header:
                section = header.group(1)
            key = re.match(r"^(\w+)\s*=", line)
            name = key.group(1) if key else None
            if name in ("DatabaseFile", "TransactionFile"):
                stem = "virtuoso-temp" if section == "TempDatabase" else "virtuoso"
                suffix = ".db" if name == "DatabaseFile" else ".trx"
                line = f"{name} = {db / (stem + suffix)}"
            elif name == "ServerPort" and section == "Parameters":
                line = f"ServerPort = 127.0.0.1:{self.sql_port}"
            elif name == "ServerPort" and section == "HTTPServer":
                line = f"ServerPort = 127.0.0.1:{self.http_port}"
            elif name in replacements and replacements[name] is not None:
                line = f"{name} = {replacements[name]}"
            elif name == "DirsAllowed":
                line = f"DirsAllowed = ., {self.folder}, /usr/share/virtuoso-opensource-7/vad"
            out.append(line)
        ini = self.folder / "virtuoso.ini"
        ini.write_text("\n".join(out) + "\n")
        return ini

    def isql(self, statement: str, timeout: float = 60) -> str:
        done = subprocess.run(["isql-vt", f"127.0.0.1:{self.sql_port}", "dba", "dba", f"exec={statement}"],
                              capture_output=True, text=True, timeout=timeout)
        if done.returncode != 0 or "*** Error" in done.stdout + done.stderr:
            raise RuntimeError(f"isql-vt {statement!r} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def _grant_update(self) -> None:
        try:
            self.isql('GRANT SPARQL_UPDATE TO "SPARQL";')
        except RuntimeError as exc:  # a restarted engine keeps its grants
            if "already have role" not in str(exc):
                raise
        # The Graph Store endpoint (/sparql-graph-crud) writes as the SPARQL user too.
        self.isql("DB.DBA.RDF_DEFAULT_USER_PERMS_SET ('nobody', 7);")


def remote_settings(engine: Engine, home: Path, **extra) -> dict:
    """reekg's settings for a home whose store is ``engine`` (the test modules import this from here, not from
    conftest: with several folders' conftests loaded, ``import conftest`` may find another folder's)."""
    from reekg import settings as settings_registry

    return settings_registry.load({"home": str(home), **engine.settings, **extra}, environ={})


def main(argv: list[str]) -> int:
    """``engines.py start FOLDER`` prints the settings as REEKG_* lines and leaves the engines running;
    ``engines.py stop FOLDER`` stops them (their pids are in FOLDER/*.pid)."""
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print("usage: engines.py start|stop FOLDER", file=sys.stderr)
        return 2
    action, folder = argv[0], Path(argv[1])
    if action == "start":
        for kind in ENGINES:
            reason = missing(kind)
            if reason:
                print(f"# {kind}: skipped: {reason}")
                continue
            engine = Engine(kind, folder / kind).start()
            (folder / f"{kind}.pid").write_text(str(engine.process.pid))
            for key, value in engine.settings.items():
                print(f"{kind}: REEKG_{key.upper()}={value}")
        return 0
    for pid_file in folder.glob("*.pid"):
        try:
            pid = int(pid_file.read_text())
            import os

            os.kill(pid, signal.SIGTERM)
        except (OSError, ValueError):
            pass
        pid_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
