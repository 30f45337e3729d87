"""The background warm-up of a build's indexes (server/warmup.py), in process on the curated graph: the memos the
routes read are filled for the served build without a request, and again for the build a validated write
publishes; a request that arrives mid-warm-up waits for the memo being computed (each index is read once) and
gets the answer it gets with the warm-up off; the setting off starts no thread; Answers.memo never waits in a
cycle; a failing store is logged and never ends the thread."""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import threading
import time

import pyoxigraph as ox
import pytest
from writekit import AUTH, TOKEN, UPDATE, comment_insert

from reekg.questions.core import Answers
from reekg.read import Snapshot
from reekg.read.embedded import InProcessBackend
from reekg.server.app import create_app

HANG = 120  # seconds: a deadline that only detects a hang (a query worker's start, a write), never a speed
WARM_UP = "reekg-warm-up"


def memo_keys(today: dt.date | None = None) -> set[str]:
    """The memos the analyst routes read on a build (their defaults: today, no robot), as the warm-up fills them."""
    today = today or dt.date.today()
    return {"site-status", "element-sites False", "element-sites True", "dependencies False", "dependencies True",
            "stage-shares", f"share-summaries {today}", f"element-shares {today.year}",
            f"in-force {today.isoformat()} ", "scenario uses", "scenario sources", "site-stages", "supply-network"}


def wait_for(predicate, what: str, timeout: float = HANG):
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


def warm(app, build: str | None = None) -> dict:
    """The warm-up's status once it has warmed ``build`` (any build when None)."""
    warmup = app.extensions["reekg.warmup"]
    return wait_for(lambda: (s := warmup.status())["warm"] and (build is None or s["warm"] == build) and s,
                    f"the warm-up of {build or 'the served build'}")


def warm_up_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == WARM_UP}


class Recording(InProcessBackend):
    """The curated store in process, recording every query's text; with ``gate`` cleared, the warm-up thread's
    queries wait for it (a request can then arrive while the warm-up is computing a memo)."""

    def __init__(self, store: ox.Store, gate: threading.Event | None = None):
        super().__init__(store)
        self.gate = gate
        self.queries: list[str] = []
        self.lock = threading.Lock()
        self.warm_up_waiting = threading.Event()

    def execute(self, job, timeout):
        if self.gate is not None and threading.current_thread().name == WARM_UP and not self.gate.is_set():
            self.warm_up_waiting.set()
            assert self.gate.wait(HANG), "the test never opened the gate"
        with self.lock:
            self.queries.append(job.query)
        return super().execute(job, timeout)

    def count(self, text: str) -> int:
        with self.lock:
            return self.queries.count(text)


@pytest.fixture(scope="module")
def curated_store(curated_build) -> ox.Store:
    return ox.Store.read_only(str(curated_build.store_path))


def _app(curated_build, backend, **settings):
    return create_app({"home": str(curated_build.store_path.parent.parent), **settings}, backend=backend)


def _close(app) -> None:
    warmup = app.extensions.get("reekg.warmup")
    if warmup is not None:
        warmup.close()
        warmup.thread.join(HANG)


def test_at_start_up_the_warm_up_fills_the_routes_memos_without_a_request(curated_build, curated_store):
    backend = Recording(curated_store)
    app = _app(curated_build, backend)
    try:
        status = warm(app)
        answers = app.extensions["reekg.api"].answers
        catalog = answers.catalog()
        assert status["warm"] == catalog.build_id == backend.snapshot().build_id
        assert status["failed"] == [] and status["warming"] is None
        assert memo_keys(answers.today()) <= set(catalog.memo)
        ready = app.test_client().get("/readyz").get_json()
        assert ready["warm_up"]["warm"] == ready["build_id"] and ready["warm_up"]["enabled"] is True
        # they are the memos the routes read: a trace and a scenario run none of their queries again
        network = [answers.queries[name].text for name in ("trace-upstream", "trace-made-at", "site-stages",
                                                           "site-status", "stage-shares")]
        before = [backend.count(text) for text in network]
        assert before == [1] * len(network)
        client = app.test_client()
        assert client.get("/api/v1/trace", query_string={"subsystem": "joint-actuation"}).status_code == 200
        scenario = client.post("/api/v1/scenario", json={"restrictions": [{"country": "CN"}]})
        assert scenario.status_code == 200, scenario.get_data(as_text=True)
        assert [backend.count(text) for text in network] == before
    finally:
        _close(app)


def test_a_request_during_the_warm_up_waits_for_its_memo_and_gets_the_same_answer(curated_build, curated_store):
    query = {"subsystem": "joint-actuation", "on": "2025-06-01"}
    cold = _app(curated_build, Recording(curated_store), warm_up=False)
    expected = cold.test_client().get("/api/v1/trace", query_string=query)
    assert expected.status_code == 200

    gate = threading.Event()
    backend = Recording(curated_store, gate)
    app = _app(curated_build, backend)
    answers = app.extensions["reekg.api"].answers
    try:
        assert backend.warm_up_waiting.wait(HANG), "the warm-up never ran a query"
        assert app.extensions["reekg.warmup"].status()["warming"] == backend.snapshot().build_id
        box: dict = {}
        request = threading.Thread(target=lambda: box.setdefault("answer", app.test_client().get(
            "/api/v1/trace", query_string=query)), daemon=True)
        request.start()
        # the request reaches the memo the warm-up is computing (site statuses, its first) and waits for it
        wait_for(lambda: answers._waiting or not request.is_alive(), "the request to wait for the warm-up's memo")
        assert request.is_alive(), "the request did not wait for the memo the warm-up was computing"
        gate.set()
        request.join(HANG)
        assert not request.is_alive()
        got = box["answer"]
        assert got.status_code == 200
        assert got.get_json() == expected.get_json()
        warm(app)
        # every index was read once, by the warm-up or by the request, never by both
        for name in ("site-status", "trace-upstream", "trace-made-at", "site-stages", "stage-shares"):
            assert backend.count(answers.queries[name].text) == 1, name
    finally:
        gate.set()
        _close(app)


def test_after_a_validated_write_the_memos_are_read_again_for_the_new_build(curated_home, tmp_path):
    """The real query workers (a ProcessPool over a copy of the curated home): a write through /update
    publishes a build, and the warm-up reads its memos without a request."""
    home = tmp_path / "home"
    shutil.copytree(curated_home, home, symlinks=True)
    app = create_app({"home": str(home), "update_token": TOKEN, "query_workers": 1, "query_extra_workers": 0})
    try:
        first = warm(app)["warm"]
        answers = app.extensions["reekg.api"].answers
        network = answers.catalog().memo["supply-network"]
        answer = app.test_client().post("/update", data=comment_insert("warm-up after a write"),
                                        headers={**UPDATE, **AUTH})
        assert answer.status_code == 200, answer.get_data(as_text=True)
        second = answer.get_json()["build_id"]
        assert second != first
        status = warm(app, second)
        assert status["failed"] == []
        catalog = answers.catalog()
        assert catalog.build_id == second
        assert memo_keys(answers.today()) <= set(catalog.memo)
        assert catalog.memo["supply-network"] is not network  # read again on the new build, not carried over
        assert app.test_client().get("/readyz").get_json()["warm_up"]["warm"] == second
    finally:
        _close(app)
        app.extensions["reekg.backend"].close()


def test_with_the_setting_off_no_warm_up_thread_runs(curated_build, curated_store):
    before = warm_up_threads()
    app = _app(curated_build, Recording(curated_store), warm_up=False)
    client = app.test_client()
    assert client.get("/api/v1/dependents", query_string={"element": "Dy"}).status_code == 200
    assert client.get("/readyz").get_json()["warm_up"] == {"enabled": False}
    time.sleep(0.3)
    assert app.extensions["reekg.warmup"] is None
    assert not warm_up_threads() - before
    assert app.extensions["reekg.api"].answers.catalog().memo == {}  # nothing read in the background
    on = _app(curated_build, Recording(curated_store))  # the same app with it on does start one
    try:
        assert on.extensions["reekg.warmup"].thread in warm_up_threads() - before
    finally:
        _close(on)


def test_a_failing_store_is_logged_and_never_ends_the_warm_up(caplog):
    class Broken:
        def snapshot(self):
            return Snapshot("broken", frozenset())

        def execute(self, job, timeout):
            raise RuntimeError("the engine fell over")

        def status(self):
            return {"workers_ready": 1}

        def close(self):
            pass

    with caplog.at_level(logging.WARNING, logger="reekg.server"):
        app = create_app({"warm_up": True}, backend=Broken())
        try:
            status = warm(app, "broken")
            assert len(status["failed"]) == len(app.extensions["reekg.warmup"].steps)
            assert app.extensions["reekg.warmup"].thread.is_alive()
            assert app.test_client().get("/readyz").status_code == 200
        finally:
            _close(app)
    assert any("the engine fell over" in r.getMessage() for r in caplog.records)


def test_memo_computes_once_across_threads_and_never_waits_in_a_cycle():
    """Two threads whose memos need each other's (A needs B, B needs A) both finish: the one that would wait in
    a cycle computes the memo itself. A memo asked for by many threads at once is computed once."""
    answers = Answers(lambda query, params: ([], "b1"))
    entered = {"a": threading.Event(), "b": threading.Event()}
    results: dict[str, str] = {}

    def a() -> str:  # computing "a" needs "b"
        entered["a"].set()
        entered["b"].wait(HANG)
        return "a+" + answers.memo("b", b)

    def b() -> str:  # computing "b" needs "a"
        entered["b"].set()
        entered["a"].wait(HANG)
        return "b+" + answers.memo("a", lambda: "a")

    threads = [threading.Thread(target=lambda k=k, f=f: results.setdefault(k, answers.memo(k, f)), daemon=True)
               for k, f in (("a", a), ("b", b))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads), "memo waited in a cycle"
    assert set(results) == {"a", "b"} and results["a"].startswith("a+b+")

    calls = []
    release = threading.Event()

    def slow() -> int:
        calls.append(1)
        release.wait(HANG)
        return 42

    many = [threading.Thread(target=lambda: results.setdefault(str(threading.get_ident()),
                                                                answers.memo("slow", slow)), daemon=True)
            for _ in range(6)]
    for t in many:
        t.start()
    wait_for(lambda: len(answers._waiting) == 5, "five threads to wait for the one computing")
    release.set()
    for t in many:
        t.join(HANG)
    assert calls == [1]
