"""Validated writes, dumps and the CLI on a remote SPARQL store (issue 6), on each engine the fixtures start.

* Writes through `reekg serve` (store = sparql): the write cases shared with the embedded store (tests/server/
  writekit.py: updates, the Graph Store, 422 with nothing changed, /validate, serialised writers, no
  outbound request) run here unchanged; and a write publishes a new build in the remote store's meta graph and
  leaves no staging graph; a build published elsewhere meanwhile refuses the switch; the engine stopped
  mid-write is a 503 naming the cause, and after a restart the served data is what it was; a committed write
  survives an engine crash.
* `reekg export` and `/dumps/` read the served quads back from the remote store and write the release the
  embedded store writes for the same data, file for file.
* The analyst commands and `reekg query` give the embedded store's answers; with the engine down they exit 1
  with the engine's message.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator

import pytest
from engines import EVERY_GRAPH, remote_settings
from serverkit import Answer, Listener, Server, free_port, running_server
from writekit import TOKEN, WriteCases
from writekit import ask as _ask
from writekit import select as _select

from reekg.cli import main
from reekg.loaders.namespaces import Namespaces
from reekg.loaders.releases import DUMP_FORMATS, export_store
from reekg.loaders.remote_store import RemoteStore
from reekg.read.jobs import Job
from reekg.read.remote import RemoteBackend
from reekg.server.app import create_app

NS = Namespaces()
BASE = NS.base
AUTH = {"Authorization": f"Bearer {TOKEN}"}
UPDATE = {"Content-Type": "application/sparql-update", **AUTH}
PARTNER = BASE + "graph/partner/acme"
INFERRED = BASE + "graph/inferred"
COUNT = "SELECT (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } }"
TURTLE = (b"@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n"
          b'<https://w3id.org/reekg/id/element/Nd> rdfs:comment "put one"@en .\n')


def _remote(engine) -> RemoteStore:
    """The test's own client of the engine. Its timeout is a hang deadline, not a speed check (on the shared 2
    cores, with the other worker busy, an engine can stall for seconds)."""
    s = engine.settings
    return RemoteStore(s["remote_query_url"], s["remote_update_url"], s["remote_store_url"], timeout=60)


def _env(engine, **extra: str) -> dict[str, str]:
    return {**{f"REEKG_{k.upper()}": v for k, v in engine.settings.items()}, **extra}


def _graphs_on_the_engine(engine) -> set[str]:
    """Every graph the engine holds (staging graphs included), straight from the engine."""
    answer = _remote(engine).query(EVERY_GRAPH,
                                   accept="application/sparql-results+json")
    return {row["g"]["value"] for row in json.loads(answer.body)["results"]["bindings"]}


# --- export and dumps (on the build as published: these run before any write) ---------------------------

def test_export_on_the_remote_store_writes_the_embedded_release(engine, published, remote_home, curated_build,
                                                                 runner, tmp_path):
    assert published.manifest["content_sha256"] == curated_build.manifest["content_sha256"]
    embedded = export_store(curated_build.store_path, tmp_path / "embedded")
    result = runner.invoke(main, ["--home", str(remote_home), "export", "--out", str(tmp_path / "remote"),
                                  "--json"], env=_env(engine))
    assert result.exit_code == 0, result.output
    remote = json.loads(result.output)
    assert remote["build_id"] == published.build_id
    assert remote["release"] == embedded.name
    assert remote["content_sha256"] == embedded.info["content_sha256"]
    assert (remote["triples"], remote["quads"], remote["graphs"]) == (
        embedded.info["triples"], embedded.info["quads"], embedded.info["graphs"])
    # the dumps are the same bytes: the same quads, blank nodes under the build's labels (Virtuoso relabels them)
    by_format = {f["format"]: f["sha256"] for f in remote["files"]}
    assert by_format == {f["format"]: f["sha256"] for f in embedded.files}
    assert set(by_format) == {fmt.key for fmt in DUMP_FORMATS}


def test_dumps_and_the_catalog_are_served_from_the_remote_store(write_api, published, curated_build):
    listing = write_api.get("/dumps/", headers={"Accept": "text/html"})
    assert listing.status == 200, listing.text
    name = f"{published.manifest['built_at'][:10]}-{published.manifest['content_sha256'][:12]}"
    assert name in listing.text
    sums = write_api.get(f"/dumps/{name}/SHA256SUMS")
    assert sums.status == 200 and f"reekg-{name}.nq.gz" in sums.text
    catalog = write_api.get("/catalog", headers={"Accept": "application/n-triples"})
    assert catalog.status == 200
    triples = sum(curated_build.manifest["triples_per_graph"].values())
    assert f'"{triples}"^^<http://www.w3.org/2001/XMLSchema#integer>' in catalog.text


# --- the CLI gives the embedded store's answers ------------------------------------------------------------

ANSWERS = {
    "dependents": ["dependents", "Dy", "--json"],
    "trace": ["trace", "joint-actuation", "--element", "Dy", "--json"],
    "exposure": ["exposure", "tesla-optimus", "--units", "5000", "--on", "2025-06-01", "--json"],
    "substitutes": ["substitutes", "Dy", "--function", "magnet", "--on", "2025-06-01", "--json"],
    "scenario": ["scenario", "--restrict", "CN:Dy,Tb:separation", "--on", "2025-06-01", "--json"],
    "search": ["search", "neodym", "--json"],
    "search-chinese": ["search", "釹", "--json"],
    "query-csv": ["query", "SELECT ?e ?l WHERE { ?e a reekg:ChemicalElement ; rdfs:label ?l } ORDER BY ?e ?l",
                  "--format", "csv"],
    "query-table": ["query", "SELECT ?e (COUNT(?l) AS ?n) WHERE { ?e a reekg:ChemicalElement ; rdfs:label ?l } "
                             "GROUP BY ?e ORDER BY ?e"],
    "query-ask": ["query", "ASK { element:Nd reekg:symbol 'Nd' }"],
    "query-construct": ["query", "CONSTRUCT { ?e reekg:symbol ?s } WHERE { ?e reekg:symbol ?s }", "--format", "nt"],
}
def _comparable(command: str, output: str):
    if command.startswith("query"):
        lines = output.splitlines()
        return sorted(lines) if command == "query-construct" else lines
    answer = json.loads(output)
    answer.pop("build_id", None)
    return answer


@pytest.mark.parametrize("command", list(ANSWERS))
def test_cli_answers_on_the_remote_store_are_the_embedded_ones(command, engine, published, remote_home,
                                                               curated_home, runner):
    embedded = runner.invoke(main, ["--home", str(curated_home), *ANSWERS[command]], env={"REEKG_STORE": "embedded"})
    remote = runner.invoke(main, ["--home", str(remote_home), *ANSWERS[command]], env=_env(engine))
    assert embedded.exit_code == 0, embedded.output
    assert remote.exit_code == 0, remote.output
    assert _comparable(command, remote.output) == _comparable(command, embedded.output)
    assert len(remote.output.splitlines()) > 1 or command == "query-ask"


DEAD = {"query": ["query", "ASK {}"], "dependents": ["dependents", "Dy"], "trace": ["trace", "joint-actuation"],
        "exposure": ["exposure", "tesla-optimus", "--units", "10"], "substitutes": ["substitutes", "Dy"],
        "scenario": ["scenario", "--restrict", "CN"], "search": ["search", "Nd"], "export": ["export"]}


@pytest.mark.parametrize("command", list(DEAD))
def test_cli_with_the_engine_down_exits_1_with_its_message(command, runner, tmp_path):
    env = {"REEKG_STORE": "sparql", "REEKG_REMOTE_QUERY_URL": f"http://127.0.0.1:{free_port()}/sparql",
           "REEKG_REMOTE_TIMEOUT": "2"}
    result = runner.invoke(main, ["--home", str(tmp_path), *DEAD[command]], env=env)
    assert result.exit_code == 1, result.output
    assert "cannot reach the remote store" in result.output and "Connection refused" in result.output
    assert "Traceback" not in result.output


def test_cli_validate_needs_no_store(runner, tmp_path, tables):
    """`reekg validate` checks files, never the served graph: it works with store = sparql, engine or not."""
    env = {"REEKG_STORE": "sparql", "REEKG_REMOTE_QUERY_URL": f"http://127.0.0.1:{free_port()}/sparql"}
    result = runner.invoke(main, ["--home", str(tmp_path), "validate", str(tables)], env=env)
    assert result.exit_code == 0, result.output
    assert "conforms" in result.output.lower()


# --- writes through `reekg serve` on the remote store ------------------------------------------------------
# The embedded store's write tests (imported above) run on `write_server`; the tests here check what only a
# remote store has: its meta graph, its staging graphs, a writer elsewhere, the engine failing.

@pytest.fixture(scope="module")
def write_api(engine, published, remote_home, tmp_path_factory) -> Iterator[Server]:
    """`reekg serve` on the engine with writes turned on."""
    log = tmp_path_factory.mktemp("remote-write-log") / "serve.log"
    with running_server(remote_home, log, update_token=TOKEN, max_request_bytes=200_000,
                        **engine.settings) as srv:
        yield srv


@pytest.fixture(scope="module")
def write_server(write_api) -> Server:
    return write_api


@pytest.fixture
def listener() -> Iterator[Listener]:
    trap = Listener()
    yield trap
    trap.close()


def _update(server: Server, text: str) -> Answer:
    return server.request("POST", "/update", body=text.encode(), headers=UPDATE, timeout=120)


def test_a_valid_update_is_published_in_the_meta_graph_and_leaves_no_staging_graph(write_api, engine):
    _, build_before = _select(write_api, COUNT)
    answer = _update(write_api, f'INSERT DATA {{ GRAPH <{PARTNER}> {{ element:Nd rdfs:comment "remote"@en }} }}')
    assert answer.status == 200, answer.text
    summary = answer.json()
    assert summary["published"] and summary["parent_build_id"] == build_before
    assert _ask(write_api, 'ASK { element:Nd rdfs:comment "remote"@en }')
    meta = _remote(engine).meta(BASE)
    assert meta["build_id"] == summary["build_id"] and PARTNER in meta["graphs"]
    assert meta["manifest"]["write"]["parent_build_id"] == build_before
    assert not any("/graph/staging/" in g for g in _graphs_on_the_engine(engine))


def test_the_inferred_graph_is_recomputed_on_the_remote_store(write_api):
    inferred = f"ASK {{ GRAPH <{INFERRED}> {{ facility:noveon-san-marcos reekg:hasUpstream mine:bear-lodge }} }}"
    assert not _ask(write_api, inferred)
    fact = f"GRAPH <{PARTNER}> {{ mine:bear-lodge reekg:feeds facility:noveon-san-marcos }}"
    added = _update(write_api, f"INSERT DATA {{ {fact} }}")
    assert added.status == 200, added.text
    assert _ask(write_api, inferred)
    removed = _update(write_api, f"DELETE DATA {{ {fact} }}")
    assert removed.status == 200, removed.text
    assert not _ask(write_api, inferred)


def test_a_deleted_graph_leaves_the_meta_graph_and_the_engine(write_api, engine):
    graph = BASE + "graph/partner/put"
    target = "/store?" + urllib.parse.urlencode({"graph": graph})
    created = write_api.request("PUT", target, body=TURTLE, headers={"Content-Type": "text/turtle", **AUTH})
    assert created.status == 201, created.text
    assert graph in _remote(engine).meta(BASE)["graphs"] and graph in _graphs_on_the_engine(engine)
    deleted = write_api.request("DELETE", target, headers=AUTH)
    assert deleted.status == 200, deleted.text
    assert graph not in _remote(engine).meta(BASE)["graphs"] and graph not in _graphs_on_the_engine(engine)


def test_an_invalid_write_stages_nothing(write_api, engine):
    graphs_before, build_before = _graphs_on_the_engine(engine), _remote(engine).meta(BASE)["build_id"]
    answer = _update(write_api, f"INSERT DATA {{ GRAPH <{PARTNER}> {{ mine:mount-weld reekg:locatedIn country:XX }} }}")
    assert answer.status == 422, answer.text
    assert _remote(engine).meta(BASE)["build_id"] == build_before
    assert _graphs_on_the_engine(engine) == graphs_before


def test_a_write_on_a_build_published_meanwhile_is_refused_and_changes_nothing(engine, published, remote_home,
                                                                              monkeypatch):
    """Writers on other machines are not under this machine's lock: the switch checks the build it read."""
    from reekg.loaders import remote_store as remote_module
    from reekg.loaders import transact

    settings = remote_settings(engine, remote_home)
    remote = _remote(engine)
    before = remote.meta(BASE)
    meta, build_term = f"<{BASE}graph/meta>", f"<{BASE}meta#buildId>"

    def set_build(build_id: str) -> None:
        remote.update(f"DELETE {{ GRAPH {meta} {{ {meta} {build_term} ?b }} }} "
                      f"INSERT {{ GRAPH {meta} {{ {meta} {build_term} \"{build_id}\" }} }} "
                      f"WHERE {{ GRAPH {meta} {{ {meta} {build_term} ?b }} }}")

    real_post = remote_module.RemoteStore.post_triples

    def post_while_another_writer_publishes(self, *args, **kwargs):
        real_post(self, *args, **kwargs)
        set_build("20990101T000000Z-elsewhere")

    monkeypatch.setattr(remote_module.RemoteStore, "post_triples", post_while_another_writer_publishes)
    try:
        with pytest.raises(transact.WriteConflict, match="published meanwhile"):
            late = f'INSERT DATA {{ GRAPH <{PARTNER}> {{ element:Nd rdfs:comment "late"@en }} }}'
            transact.apply_update(settings, late)
    finally:
        set_build(before["build_id"])
    after = remote.meta(BASE)
    assert sorted(after["graphs"]) == sorted(before["graphs"])
    assert not any("/graph/staging/" in g for g in _graphs_on_the_engine(engine))
    backend = RemoteBackend.from_settings(settings)
    assert json.loads(backend.execute(Job(query='ASK { element:Nd rdfs:comment "late"@en }',
                                          prefixes=NS.prefixes()), 30).body)["boolean"] is False


def test_the_engine_stopped_mid_write_is_503_and_the_served_data_is_unchanged(engine, published, remote_home,
                                                                              monkeypatch):
    from reekg.loaders import remote_store as remote_module

    settings = remote_settings(engine, remote_home, update_token=TOKEN, remote_timeout=5.0)
    app = create_app(settings)
    client = app.test_client()
    before = _remote(engine).meta(BASE)
    question = Job(query='ASK { element:Nd rdfs:comment "lost"@en }', prefixes=NS.prefixes())
    count = Job(query=COUNT, prefixes=NS.prefixes())
    count_before = RemoteBackend.from_settings(settings).execute(count, 30).body

    real_post = remote_module.RemoteStore.post_triples
    staged = []

    def post_then_crash(self, graph, *args, **kwargs):
        real_post(self, graph, *args, **kwargs)
        staged.append(graph)
        engine.kill()  # the engine dies once the write's first graph is staged, before the switch

    monkeypatch.setattr(remote_module.RemoteStore, "post_triples", post_then_crash)
    try:
        answer = client.post("/update", headers=UPDATE,
                             data=f'INSERT DATA {{ GRAPH <{PARTNER}> {{ element:Nd rdfs:comment "lost"@en }} }}')
    finally:
        monkeypatch.undo()
        if not engine.alive():
            engine.start()
    assert staged and "/graph/staging/" in staged[0]
    assert answer.status_code == 503, answer.text
    assert "remote store" in answer.text and "nothing was changed" in answer.text
    assert answer.headers["Retry-After"]
    after = _remote(engine).meta(BASE)
    assert after["build_id"] == before["build_id"] and sorted(after["graphs"]) == sorted(before["graphs"])
    fresh = RemoteBackend.from_settings(settings)
    assert json.loads(fresh.execute(question, 30).body)["boolean"] is False
    assert fresh.execute(count, 30).body == count_before


def test_a_committed_write_survives_an_engine_crash(write_api, engine):
    """The switch replaces a served graph by its difference, not MOVE: Virtuoso 7.2.5 lost 211 of 1,030 inferred
    triples that a MOVE had written when it was killed before its next checkpoint."""
    fact = f"GRAPH <{PARTNER}> {{ mine:bear-lodge reekg:feeds facility:noveon-san-marcos }}"
    inferred = f"ASK {{ GRAPH <{INFERRED}> {{ facility:noveon-san-marcos reekg:hasUpstream mine:bear-lodge }} }}"
    per_graph = "SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g ORDER BY ?g"
    answer = _update(write_api, f"INSERT DATA {{ {fact} }}")
    assert answer.status == 200, answer.text
    assert _ask(write_api, inferred)  # the write replaced the inferred graph too
    counts = _select(write_api, per_graph)
    engine.kill()
    engine.start()
    try:
        assert _select(write_api, per_graph) == counts
        assert _ask(write_api, inferred)
    finally:
        assert _update(write_api, f"DELETE DATA {{ {fact} }}").status == 200


def test_writes_with_the_engine_down_are_503_naming_the_cause(tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/sparql"
    app = create_app({"home": str(tmp_path), "store": "sparql", "remote_query_url": dead, "update_token": TOKEN,
                      "remote_timeout": 2.0})
    client = app.test_client()
    update = client.post("/update", headers=UPDATE, data=f"INSERT DATA {{ GRAPH <{PARTNER}> {{ <urn:a> <urn:b> 1 }} }}")
    put = client.put("/store?graph=" + PARTNER, headers={"Content-Type": "text/turtle", **AUTH}, data=TURTLE)
    dumps = client.get("/dumps/", headers={"Accept": "text/html"})
    for answer in (update, put, dumps):
        assert answer.status_code == 503, answer.text
        assert "cannot reach the remote store" in answer.text and answer.headers["Retry-After"]


def test_a_remote_write_reports_where_its_time_went(write_api, engine):
    """As on the embedded store: the answer names the write's phases and their seconds."""
    answer = _update(write_api, f'INSERT DATA {{ GRAPH <{PARTNER}> {{ element:Nd rdfs:comment "latency"@en }} }}')
    assert answer.status == 200, answer.text
    timings = answer.json()["timings_s"]
    assert {"read", "validate", "total"} <= set(timings), (engine.kind, timings)
    assert all(isinstance(v, int | float) and v >= 0 for v in timings.values()), timings
    assert timings["total"] >= max(v for k, v in timings.items() if k != "total")


# The shared write cases (tests/server/writekit.py), run on `write_server` (this engine's `reekg serve`). Defined
# last: pytest runs a module's tests in the order their names were bound, and the export and CLI tests above compare
# the build as published, before any write.
class TestWritesOnTheRemoteStore(WriteCases):
    """The embedded store's write cases, unchanged, on this engine."""
