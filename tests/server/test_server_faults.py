"""Faults injected into a real `reekg serve` process (issue 10, item 2): state is never silently lost, and a
broken store never leaves the service half-alive.

Every fault starts from the same home, seeded as a service's life would leave it: a first store, two partner
graphs written through ``/update`` (each write publishes a store), then a rebuild that carried both partner
graphs over (a new store with the same quads, as ``reekg build`` makes one) and a release of it under
``dumps/``. The fault then hits that home; afterwards the partner graphs written before it must still be served
(*data lost* counts those that are not, although an intact store on disk still holds them, plus any store the
service removed or overwrote). The module prints ``faults injected: N, data lost: M`` at its end.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyoxigraph as ox
import pytest
from serverkit import Server, running_server, write_fixture_store

from reekg.loaders import releases
from reekg.loaders.store import MANIFEST, StoreHome

TOKEN = "fault-token"
WRITE = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/sparql-update"}
BASE = "https://w3id.org/reekg/"
PARTNERS = [BASE + "graph/partner/faults-a", BASE + "graph/partner/faults-b"]
COMMENT = "http://www.w3.org/2000/01/rdf-schema#comment"


def insert(graph: str, text: str) -> bytes:
    return f'INSERT DATA {{ GRAPH <{graph}> {{ <{BASE}id/note/{text}> <{COMMENT}> "{text}" }} }}'.encode()


class Tally:
    faults = 0
    lost = 0


@pytest.fixture(scope="module")
def tally(report_counts) -> Iterator[type[Tally]]:
    yield Tally
    report_counts("faults injected: {faults}, data lost: {lost}", faults=Tally.faults, lost=Tally.lost)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> Path:
    """The home every fault starts from (see the module docstring); current → the rebuild."""
    home = tmp_path_factory.mktemp("faults") / "home"
    write_fixture_store(home)
    with running_server(home, home.parent / "seed.log", update_token=TOKEN) as server:
        for graph, text in zip(PARTNERS, ("a", "b"), strict=True):
            answer = server.request("POST", "/update", body=insert(graph, text), headers=WRITE)
            assert answer.status == 200, answer.text
    store_home = StoreHome(home)
    written = store_home.current()
    quads = list(ox.Store.read_only(str(written)))
    manifest = json.loads((written / MANIFEST).read_text())
    rebuild_id = "29990101T000000Z-" + manifest["content_sha256"][:12]  # sorts after every real build
    store_home.write(rebuild_id, quads, {**manifest, "build_id": rebuild_id, "built_at": "2999-01-01T00:00:00+00:00"})
    releases.export_current(home)
    assert len(list(store_home.stores.iterdir())) == 4
    return home


def fresh(seeded: Path, tmp_path: Path) -> tuple[Path, StoreHome]:
    """A copy of the seeded home and the StoreHome on it."""
    home = tmp_path / "home"
    shutil.copytree(seeded, home, symlinks=True)
    return home, StoreHome(home)


def newest(store_home: StoreHome, rank: int = 0) -> Path:
    """The ``rank``-th newest store by publication (two writes may share a build id's second)."""
    def published(path: Path) -> tuple[str, int]:
        return json.loads((path / MANIFEST).read_text()).get("built_at", ""), (path / MANIFEST).stat().st_mtime_ns

    return sorted(store_home.stores.iterdir(), key=published, reverse=True)[rank]


def served_partners(server: Server) -> set[str]:
    found = set()
    for graph in PARTNERS:
        answer = server.get(params={"query": f"ASK {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}"},
                            headers={"Accept": "application/sparql-results+json"})
        assert answer.status == 200, answer.text
        if answer.json()["boolean"]:
            found.add(graph)
    return found


def count_lost(tally: type[Tally], server: Server) -> None:
    tally.faults += 1
    tally.lost += len(set(PARTNERS) - served_partners(server))


def garble_manifest(store: Path) -> None:
    for path in store.glob("MANIFEST-*"):
        with path.open("r+b") as handle:
            handle.write(b"\xff" * 64)


def truncate_current(store: Path) -> None:
    (store / "CURRENT").write_text("")


# --- a broken `current`, older intact stores: serve the newest intact one ---------------------------------

def _rename(store_home: StoreHome) -> tuple[str, int]:
    live = newest(store_home)
    live.rename(store_home.stores / (live.name + "-moved"))
    return "does not exist", 0  # the renamed store is still the newest intact one: serve it


def _delete(store_home: StoreHome) -> tuple[str, int]:
    shutil.rmtree(newest(store_home))
    return "does not exist", 1


def _garble(store_home: StoreHome) -> tuple[str, int]:
    garble_manifest(newest(store_home))
    return "Corruption", 1


def _truncate(store_home: StoreHome) -> tuple[str, int]:
    truncate_current(newest(store_home))
    return "Corruption", 1


@pytest.mark.parametrize("fault", [_rename, _delete, _garble, _truncate],
                         ids=["current-renamed", "current-deleted", "manifest-garbled", "current-file-truncated"])
def test_a_broken_current_serves_the_newest_intact_store_and_says_so(seeded, tmp_path, tally, fault):
    home, store_home = fresh(seeded, tmp_path)
    before = [newest(store_home, rank).name for rank in range(2)]
    cause, fallback_rank = fault(store_home)
    expected_folder = before[fallback_rank] + ("-moved" if fault is _rename else "")
    expected = json.loads((store_home.stores / expected_folder / MANIFEST).read_text())["build_id"]
    log = tmp_path / "serve.log"
    with running_server(home, log, update_token=TOKEN) as server:
        ready = server.get("/readyz").json()
        assert ready["build_id"] == expected, ready
        assert ready["fallback"]["serving"] == expected and cause in ready["fallback"]["reason"], ready
        assert "serving the newest intact store" in log.read_text()
        assert served_partners(server) == set(PARTNERS)  # never a silent rebuild from the tables
        count_lost(tally, server)
        dumps = server.get("/dumps/")
        assert dumps.status == 200, dumps.text

        # a write reads the store served (the same decision), publishes, and `current` is whole again
        answer = server.request("POST", "/update", body=insert(PARTNERS[0], "after"), headers=WRITE)
        assert answer.status == 200, answer.text
        assert answer.json()["parent_build_id"] == expected
        ready = server.get("/readyz").json()
        assert ready["build_id"] == answer.json()["build_id"] and "fallback" not in ready
        assert served_partners(server) == set(PARTNERS)
    assert len([p for p in store_home.stores.iterdir() if (p / MANIFEST).exists()]) >= 3  # nothing rebuilt over


# --- no intact store at all: 503 naming the cause everywhere, nothing rebuilt --------------------------------

def test_when_no_store_opens_every_route_answers_503_naming_the_cause(seeded, tmp_path, tally):
    home, store_home = fresh(seeded, tmp_path)
    for store in store_home.stores.iterdir():
        garble_manifest(store)
    before = sorted((p.name, (p / MANIFEST).read_bytes()) for p in store_home.stores.iterdir())
    with running_server(home, tmp_path / "serve.log", until="/healthz", update_token=TOKEN) as server:
        health = server.get("/healthz")
        assert health.status == 200 and "Corruption" in health.json()["store"]
        routes = [("GET", "/readyz"), ("GET", "/sparql?query=ASK%7B%7D"), ("GET", "/api/v1/dependents?element=Dy"),
                  ("GET", "/id/element/Dy"), ("GET", "/dumps/"), ("POST", "/update")]
        for method, path in routes:
            body = insert(PARTNERS[0], "refused") if method == "POST" else None
            answer = server.request(method, path, body=body, headers=WRITE if body else {})
            assert answer.status == 503, (path, answer.status, answer.text)
            assert "Corruption" in answer.text and "no store under" in answer.text, (path, answer.text)
        assert "Traceback" not in server.log.read_text()
    after = sorted((p.name, (p / MANIFEST).read_bytes()) for p in store_home.stores.iterdir())
    assert after == before  # no store was rebuilt, removed or overwritten: restoring one brings all data back
    tally.faults += 1


# --- a read-only home ------------------------------------------------------------------------------------------

def _read_only(home: Path) -> tuple[str, ...]:
    """A command prefix that runs the server with ``home`` mounted read-only: a user and mount namespace of
    its own (util-linux unshare) with a read-only bind mount, which stops root too (chmod does not)."""
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"no user namespaces here for a read-only mount: {probe.stderr.decode().strip()}")
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"'
    return ("unshare", "--user", "--map-root-user", "--mount", "sh", "-c", script, str(home))


@pytest.mark.parametrize("released", [True, False], ids=["dumps-exist", "no-dumps"])
def test_a_read_only_home_serves_reads_and_refuses_writes_with_503(seeded, tmp_path, tally, released):
    home, _ = fresh(seeded, tmp_path)
    if not released:
        shutil.rmtree(home / "dumps")
    with running_server(home, tmp_path / "serve.log", prefix=_read_only(home), update_token=TOKEN) as server:
        assert served_partners(server) == set(PARTNERS)
        count_lost(tally, server)
        answer = server.request("POST", "/update", body=insert(PARTNERS[0], "refused"), headers=WRITE)
        assert answer.status == 503, answer.text
        assert "Read-only file system" in answer.text and "nothing was changed" in answer.text
        assert answer.header("Content-Type").startswith("text/plain")  # a SPARQL protocol route
        dumps = server.get("/dumps/")
        if released:
            assert dumps.status == 200, dumps.text
            (release,) = releases.list_releases(home / "dumps")
            assert release.name in dumps.text
            assert server.get(f"/dumps/{release.name}/").status == 200
            assert server.get(f"/dumps/{release.name}/{release.files[0]['name']}").status == 200
        else:
            assert dumps.status == 503, dumps.text
            assert "Read-only file system" in dumps.text
        assert served_partners(server) == set(PARTNERS)
        assert "Traceback" not in server.log.read_text()


# --- an impossible home ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["build"]])
def test_an_impossible_home_exits_1_with_one_plain_line(tmp_path, tally, command):
    afile = tmp_path / "a-file"
    afile.write_text("not a folder")
    reekg = str(Path(sys.executable).with_name("reekg"))
    done = subprocess.run([reekg, "--home", str(afile / "x"), *command], capture_output=True, text=True,
                          timeout=120, env={**{k: v for k, v in os.environ.items() if not k.startswith("REEKG_")},
                                            "HOME": str(tmp_path)})
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: the home {afile / 'x'} cannot be used: {afile} is a file, not a folder "
        "(set --home or REEKG_HOME to a folder)"]
    tally.faults += 1
