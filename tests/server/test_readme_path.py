"""The README's first run, exactly (issue 10, item 1): a new user's HOME with nothing in it, `reekg serve`
builds the store itself and serves it; the first write then answered nothing, ever (the HTTP worker, forked
from the process that had just built with RocksDB, hung inside RocksDB's store open holding the build lock).

Here the first and second writes must answer 2xx within a hang-detection deadline, and `reekg build` run while
serving must finish and be served."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from serverkit import running_server

TOKEN = "readme-path-token"
WRITE = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"}
PARTNER = "https://w3id.org/reekg/graph/partner/readme"
HANG = 60  # seconds: far past a write's time here (about 1 s), short of "for ever"


def insert(text: str) -> bytes:
    return (f"INSERT DATA {{ GRAPH <{PARTNER}> {{ <https://w3id.org/reekg/id/element/Nd> "
            f"<http://www.w3.org/2000/01/rdf-schema#comment> \"{text}\" }} }}").encode()


def test_a_fresh_home_builds_serves_and_takes_writes_and_rebuilds(tmp_path):
    user = tmp_path / "user"  # a new user's HOME: the default home is ~/.local/share/reekg, not there yet
    user.mkdir()
    environ = {"HOME": str(user), "XDG_DATA_HOME": "", "REEKG_UPDATE_TOKEN": TOKEN}
    home = user / ".local" / "share" / "reekg"
    with running_server(None, tmp_path / "serve.log", environ=environ, ready_within=600) as server:
        assert "building it first" in server.log.read_text()
        built = server.get("/readyz").json()["build_id"]
        assert (home / "current").is_symlink()

        first = server.request("POST", "/update", body=insert("first write"), headers=WRITE, timeout=HANG)
        assert first.status == 200, first.text
        assert first.json()["parent_build_id"] == built
        second = server.request("POST", "/update", body=insert("second write"), headers=WRITE, timeout=HANG)
        assert second.status == 200, second.text
        written = second.json()["build_id"]
        assert server.get("/readyz").json()["build_id"] == written

        rebuild = subprocess.run([str(Path(sys.executable).with_name("reekg")), "build", "--json"],
                                 env={**environ, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                                 timeout=600)
        assert rebuild.returncode == 0, rebuild.stderr
        rebuilt = json.loads(rebuild.stdout)["build_id"]
        assert rebuilt not in (built, written)
        assert server.get("/readyz").json()["build_id"] == rebuilt

        # the rebuild carried the partner graph over, and the service answers from it
        ask = server.get(params={"query": f'ASK {{ GRAPH <{PARTNER}> {{ ?s ?p "second write" }} }}'},
                         headers={"Accept": "application/sparql-results+json"})
        assert ask.status == 200 and ask.json()["boolean"] is True
        assert ask.header("Reekg-Build") == rebuilt
        third = server.request("POST", "/update", body=insert("after the rebuild"), headers=WRITE, timeout=HANG)
        assert third.status == 200, third.text
