"""The trace answer paged and summarised (issue 13): pages never drop or repeat a path, the summary adds up to
the paths, and the ids bound as a VALUES block give the rows the saved query gives with substitutions."""

from __future__ import annotations

import json
import urllib.parse
from collections import Counter

import pyoxigraph as ox
import pytest

from reekg.loaders.namespaces import Namespaces
from reekg.loaders.store import StoreHome
from reekg.questions.core import Answers
from reekg.questions.library import library

NS = Namespaces()
CASES = [{"subsystem": "joint-actuation"}, {"subsystem": "position-sensing", "unverified": True},
         {"subsystem": "joint-actuation", "robot": "tesla-optimus", "element": "Nd"}]


@pytest.fixture(scope="module")
def store(curated_home):
    return StoreHome(curated_home).open()


@pytest.fixture(scope="module")
def answers(store) -> Answers:
    def runner(query, params):
        result = store.query(query.text, substitutions=query.bind(NS, **params), use_default_graph_as_union=True,
                             prefixes=NS.prefixes(), base_iri=NS.base)
        return json.loads(result.serialize(format=ox.QueryResultsFormat.JSON))["results"]["bindings"], "build"

    return Answers(runner, NS)


def key(path):
    return json.dumps({k: v for k, v in path.items() if k != "siteStatus"}, sort_keys=True)


@pytest.mark.parametrize("case", CASES)
def test_pages_hold_every_path_once_in_order(answers, case):
    whole = answers.ask("trace", on="2025-06-01", **case)
    assert whole["total"] == len(whole["data"]) > 0 and whole["next"] is None
    seen, offset, pages = [], 0, 0
    while True:
        page = answers.ask("trace", on="2025-06-01", limit=37, offset=offset, **case)
        assert page["total"] == whole["total"] and len(page["data"]) <= 37
        seen += page["data"]
        pages += 1
        if page["next"] is None:
            break
        asked = dict(urllib.parse.parse_qsl(page["next"].lstrip("?")))
        assert asked["subsystem"] == case["subsystem"] and int(asked["limit"]) == 37
        offset = int(asked["offset"])
        assert offset == len(seen)
    assert pages == -(-whole["total"] // 37)
    assert [key(p) for p in seen] == [key(p) for p in whole["data"]]


@pytest.mark.parametrize("case", CASES)
def test_the_summary_adds_up_to_the_paths(answers, case):
    answer = answers.ask("trace", on="2025-06-01", **case)
    paths = answer["data"]
    assert sum(c["paths"] for c in answer["summary"]) == answer["total"] == len(paths)
    for entry in answer["summary"]:
        mine = [p for p in paths if p["country"] == entry["country"]]
        assert entry["paths"] == len(mine) and entry["sites"] == len({p["site"] for p in mine})
        stages = Counter(s for p in mine for s in p["stages"])
        assert {s: v["paths"] for s, v in entry["stages"].items()} == dict(stages)
    assert {c["country"] for c in answer["summary"]} - {None} == set(answer["countries"])


def test_a_page_past_the_end_is_empty_and_says_the_total(answers):
    answer = answers.ask("trace", "joint-actuation", offset=10**6)
    assert answer["data"] == [] and answer["total"] > 0 and answer["next"] is None


@pytest.mark.parametrize("case", CASES)
def test_ids_bound_as_values_give_the_saved_querys_rows(store, answers, case):
    ids = {"subsystem": NS.entity("subsystem", case["subsystem"])}
    for name, kind in (("robot", "robot"), ("element", "element")):
        if case.get(name):
            ids[name] = NS.entity(kind, case[name])
    rows = library()["trace"].run(store, NS, **{k: str(v) for k, v in ids.items()},
                                  unverified="true" if case.get("unverified") else "false")
    answer = answers.ask("trace", **case)
    assert answer["total"] == len(rows) > 0
    expected = Counter((local(r["site"]), r["hop"].value, local(r["fedSite"])) for r in rows)
    assert Counter((p["site"], p["hop"], p["fedSite"]) for p in answer["data"]) == expected


def local(term):
    return None if term is None else term.value.rsplit("/", 1)[-1]


def test_limit_and_offset_are_checked_by_the_route(client):
    for query, name in (("limit=0", "limit"), ("limit=100001", "limit"), ("offset=-1", "offset")):
        response = client.get(f"/api/v1/trace?subsystem=joint-actuation&{query}")
        assert response.status_code == 400, query
        assert response.get_json()["errors"][0]["parameter"] == name


def test_the_routes_next_link_gives_the_next_page(client):
    first = client.get("/api/v1/trace?subsystem=joint-actuation&limit=100").get_json()
    assert len(first["data"]) == 100 and first["next"].startswith("?")
    second = client.get("/api/v1/trace" + first["next"]).get_json()
    assert second["offset"] == 100 and second["total"] == first["total"]
    whole = client.get("/api/v1/trace?subsystem=joint-actuation").get_json()
    assert [key(p) for p in first["data"] + second["data"]] == [key(p) for p in whole["data"][:200]]
