"""The trace answer paged and summarised (issue 13): pages never drop or repeat a path, the summary adds up to
the paths, and the ids bound as a VALUES block give the rows the saved query gives with substitutions."""

from __future__ import annotations

import json
import urllib.parse
from collections import Counter

import pytest
from competency_kit import store_answers

from reekg import settings
from reekg.loaders.build import build
from reekg.loaders.namespaces import Namespaces
from reekg.loaders.store import StoreHome
from reekg.loaders.synth import write_synth
from reekg.questions.core import Answers
from reekg.questions.library import library
from reekg.questions.supply_paths import trace_rows

NS = Namespaces()
CASES = [{"subsystem": "joint-actuation"}, {"subsystem": "position-sensing", "unverified": True},
         {"subsystem": "joint-actuation", "robot": "tesla-optimus", "element": "Nd"}]


@pytest.fixture(scope="module")
def store(curated_home):
    return StoreHome(curated_home).open()


@pytest.fixture(scope="module")
def answers(store) -> Answers:
    return store_answers(store)


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


SYNTH_CASES = [{"subsystem": "synth-000001-actuation", "unverified": True},
               {"subsystem": "synth-000001-actuation", "element": "Dy", "unverified": True},
               {"subsystem": "synth-000002-actuation", "robot": "synth-000002-robot0"},
               {"subsystem": "synth-000004-actuation", "element": "Dy"}, {"subsystem": "synth-000007-actuation"}]


@pytest.fixture(scope="module")
def synth_store(tmp_path_factory):
    """The curated graph with a small synthetic network (every hop kind, random confidences), built as
    ``reekg build`` builds it, so the inferred hasUpstream closure is there."""
    work = tmp_path_factory.mktemp("synth-trace")
    write_synth(work / "synth.nq", 20_000, seed=0)
    build(settings.load({"home": str(work / "home")}, environ={}), extra_rdf=[work / "synth.nq"],
          validation="none", keep_partner_graphs=False)
    return StoreHome(work / "home").open()


@pytest.mark.parametrize("graph, case", [("curated", c) for c in CASES + [{**c, "unverified": True} for c in CASES]]
                         + [("synth", c) for c in SYNTH_CASES])
def test_the_routes_rows_are_the_saved_querys_rows(request, graph, case):
    """The route joins trace-materials.rq with the build's supply network in Python (supply_paths.py); each
    row it gives, every column, is one trace.rq gives for the same ids, as often, and in its order."""
    store = request.getfixturevalue("store" if graph == "curated" else "synth_store")
    ids = {"subsystem": str(NS.entity("subsystem", case["subsystem"]))}
    for name in ("robot", "element"):
        if case.get(name):
            ids[name] = str(NS.entity(name, case[name]))
    unverified = bool(case.get("unverified"))
    saved = library()["trace"].run(store, NS, **ids, unverified="true" if unverified else "false")
    rows, _ = trace_rows(store_answers(store), ids, unverified)
    assert len(rows) > 0
    assert Counter(map(canonical, rows)) == Counter(map(canonical, saved))
    order = ("component", "material", "symbol", "hop", "site", "fedSite")
    assert [tuple(json.loads(canonical(r)).get(k) for k in order) for r in rows] == \
        [tuple(json.loads(canonical(r)).get(k) for k in order) for r in saved]


def test_the_synthetic_cases_reach_sites_by_every_hop(synth_store):
    """The cases above would prove little without upstream hops and unverified rows to leave out."""
    a = store_answers(synth_store)
    ids = {"subsystem": str(NS.entity("subsystem", "synth-000001-actuation"))}
    everything, _ = trace_rows(a, ids, True)
    verified, _ = trace_rows(a, ids, False)
    assert {r["hop"] for r in everything} == {"magnet-making", "produces", "upstream"}
    assert len(verified) < len(everything)


def test_a_robot_without_the_subsystem_has_no_path_through_it(synth_store):
    """The robot narrows the trace: bound as a VALUES block its test (a FILTER inside a UNION branch) would see
    no robot and keep every path."""
    a = store_answers(synth_store)
    own = a.ask("trace", subsystem="synth-000002-actuation", robot="synth-000002-robot0")
    other = a.ask("trace", subsystem="synth-000002-actuation", robot="synth-000001-robot0")
    assert own["total"] > 0 and other["total"] == 0 and other["data"] == []


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


def canonical(row) -> str:
    """A row as comparable text: terms by their value, booleans as in SPARQL, unbound columns left out."""
    def text(v):
        return ("true" if v else "false") if isinstance(v, bool) else getattr(v, "value", v)
    return json.dumps({k: text(v) for k, v in row.items() if v is not None}, sort_keys=True)


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
