"""The analyst API on the curated graph, in process (the routes, answers and parameters do not depend on the
process; tests/server/test_schemathesis.py drives the same routes through a real `reekg serve`): the competency
answers, one error shape, CSV, hostile values on every route, and an OpenAPI document whose every route
answers."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import urllib.parse

import pytest
from openapi_spec_validator import validate as validate_openapi
from serverkit import InProcess, in_process

from reekg.cli import main
from reekg.loaders.namespaces import Namespaces
from reekg.loaders.store import StoreHome
from reekg.server.api import ROUTES

HOSTILE = ['x" } ; DROP ALL ; #', "}", "<http://evil.example/>", "Nd' . ?s ?p ?o", "a" * 10_000]


@pytest.fixture(scope="module")
def api(app) -> InProcess:
    return InProcess(app)


def get_json(api, path, **params):
    answer = api.get(path, params=params or None)
    return answer.status, answer.json()


def test_dependents_of_dysprosium_name_joint_actuation_and_optimus_with_paths(api):
    status, body = get_json(api, "/api/v1/dependents", element="Dy")
    assert status == 200 and body["ok"] is True
    assert "joint-actuation" in body["subsystems"] and "tesla-optimus" in body["robots"]
    path = next(p for p in body["data"] if p["subsystem"] == "joint-actuation")
    assert path["material"].startswith("sintered-ndfeb") and path["role"] == "magnet"
    assert body["sources"] and "dependents" in body["sparql"]


def test_trace_reaches_mines_and_countries_and_cites_every_hop(api):
    status, body = get_json(api, "/api/v1/trace", subsystem="joint-actuation")
    assert status == 200
    kinds = {p["siteKind"] for p in body["data"]}
    assert {"mine", "facility"} <= kinds
    assert {"CN", "US", "AU"} <= set(body["countries"])
    assert all(p["hopSources"].get("site") and p["hopSources"].get("country") for p in body["data"])
    mining = body["shares"]["mining"]
    assert mining["top"]["country"] == "CN" and mining["concentrated"] is True
    # each site's stages (data/facilities.csv): MP Independence alloys and makes magnets
    stages = {p["site"]: p["stages"] for p in body["data"]}
    assert stages["mp-independence"] == ["magnet-making", "metal-alloy"]


@pytest.fixture(scope="module")
def optimus_exposure(api) -> dict:
    """The exposure of 5,000 Optimus on 2025-06-01 (asked once; tests/remote runs the same tests on each engine)."""
    status, body = get_json(api, "/api/v1/exposure", robot="tesla-optimus", units="5000", on="2025-06-01")
    assert status == 200
    return body["data"]


def _seed_estimate(data: dict) -> dict:
    return next(m for m in data["magnet"] if m["source"] == "seed-article")


def _element(data: dict, symbol: str) -> dict:
    return next(e for e in data["elements"] if e["symbol"] == symbol)


def _at_seed(data: dict, symbol: str) -> dict:
    """An element's fleet mass at the seed article's magnet estimate."""
    estimate = _seed_estimate(data)["estimate"]
    return next(m for m in _element(data, symbol)["fleetMassKg"] if m["estimate"] == estimate)


def test_exposure_of_5000_optimus_gives_17000_kg_at_the_seed_estimate(optimus_exposure):
    seed = _seed_estimate(optimus_exposure)
    assert seed["massPerUnitKg"]["max"] == pytest.approx(3.4)
    assert seed["fleetMassKg"]["max"] == pytest.approx(17_000)
    assert len(optimus_exposure["magnet"]) >= 5  # every sourced estimate side by side


def test_exposure_marks_dy_and_tb_as_controlled(optimus_exposure):
    controlled = {e["symbol"] for e in optimus_exposure["elements"] if e["controlStatus"] == "yes"}
    assert {"Dy", "Tb"} <= controlled
    assert {e["controlStatus"] for e in optimus_exposure["elements"]} <= {"yes", "no", "unknown"}


def test_exposure_leaves_dy_unknown_where_no_source_gives_the_grades_content(optimus_exposure):
    # the joint motor needs H/SH/UH grades, whose Dy no source gives: unknown, not the standard grade's 1.2 wt%
    assert _at_seed(optimus_exposure, "Dy")["max"] is None
    assert _element(optimus_exposure, "Dy")["fleetTotalKg"] == {"min": None, "max": None}


def test_exposure_gives_nd_pr_as_one_combined_figure(optimus_exposure):
    assert _at_seed(optimus_exposure, "Nd+Pr")["max"] == pytest.approx(17_000 * 0.325)  # Nd+Pr 29–32.5 wt%


def test_exposure_gives_the_separation_hhi_as_a_lower_bound(optimus_exposure):
    separation = optimus_exposure["stages"]["separation"]
    assert separation["hhiIsLowerBound"] is True and 0 < separation["hhi"] <= 1


def test_china_2024_share_by_edition_on_the_country_route(api):
    status, body = get_json(api, "/api/v1/countries/CN")
    assert status == 200 and body["data"]["labels"]["zh-Hant"] == "中國"
    shares = {(o["edition"], o["year"]): o["share"] for o in body["data"]["production"]
              if o["quantity"] == "mine-production" and o["share"] is not None}
    assert shares[("usgs-mcs-2025", "2024")] == pytest.approx(0.692)
    assert shares[("usgs-mcs-2026", "2024")] == pytest.approx(0.711)


def test_substitutes_for_dy_in_magnets_are_ranked_with_trade_offs_and_control_status(api):
    status, body = get_json(api, "/api/v1/substitutes", element="Dy", function="magnet", on="2025-06-01")
    assert status == 200
    ranks = [o["rank"] for o in body["data"]]
    assert ranks == list(range(1, len(ranks) + 1))
    by_id = {o["substitution"]: o for o in body["data"]}
    assert by_id["smco-for-ndfeb"]["avoidsControlsStatus"] == "no"  # Sm is under No. 18
    assert by_id["smco-for-ndfeb"]["stillUsesControls"]["Sm"]["asOf"]
    assert by_id["ferrite-for-ndfeb"]["avoidsControlsStatus"] == "yes"
    assert any(o["tradeOffs"] for o in body["data"])


def test_scenario_cutting_chinese_dy_tb_separation_affects_joint_actuation_and_changes_nothing(api):
    before = api.get("/readyz").json()
    body = json.dumps({"restrictions": [{"country": "CN", "elements": ["Dy", "Tb"], "stages": ["separation"]}],
                       "on": "2025-06-01"}).encode()
    answer = api.request("POST", "/api/v1/scenario", body=body, headers={"Content-Type": "application/json"})
    assert answer.status == 200, answer.text
    result = answer.json()
    joint = next(s for s in result["data"]["subsystems"] if s["subsystem"] == "joint-actuation")
    assert joint["status"] == "essentially-cut"  # China separates 99.9% of heavy rare earths (element-specific)
    assert {i["shareBasis"] for i in joint["impacts"]} == {"element-specific"}
    assert {i["element"] for i in joint["impacts"]} == {"Dy", "Tb"}
    assert result["data"]["substitutes"]["Dy"], "substitutes are listed for the affected element"
    assert result["changesStoredGraph"] is False
    assert api.get("/readyz").json() == before


def test_after_the_no70_suspension_er_is_unknown_never_false(api):
    status, body = get_json(api, "/api/v1/exposure", robot="generic-humanoid", units="1", on="2026-12-01")
    assert status == 200
    er = next(e for e in body["data"]["elements"] if e["symbol"] == "Er")
    assert er["controlStatus"] == "unknown" and er["controlAsOf"] and er["controlSources"]  # before: false
    status, body = get_json(api, "/api/v1/exposure", robot="generic-humanoid", units="1", on="2026-11-10")
    assert next(e for e in body["data"]["elements"] if e["symbol"] == "Er")["controlStatus"] == "no"  # suspended


@pytest.mark.parametrize("on", ["2025-06-01", "2026-11-10", "2026-12-01"])
def test_the_v1_fields_of_before_issue_11_are_kept_deprecated_and_never_turn_unknown_into_false(api, on):
    """controlledOn / avoidsControls were booleans and stillUses used the old status words; clients that read
    them keep working: true for yes, false for no, null (never false) for unknown."""
    flag = {"yes": True, "no": False, "unknown": None}
    _, body = get_json(api, "/api/v1/exposure", robot="generic-humanoid", units="1", on=on)
    for element in body["data"]["elements"]:
        assert element["controlledOn"] is flag[element["controlStatus"]], element["symbol"]
    _, body = get_json(api, "/api/v1/substitutes", element="Dy", on=on)
    words = {"yes": {"in-force"}, "no": {"suspended", "not-controlled"}, "unknown": {"unknown"}}
    for option in body["data"]:
        assert option["avoidsControls"] is flag[option["avoidsControlsStatus"]], option["substitution"]
        assert set(option["stillUses"]) == set(option["stillUsesStatus"])
        for symbol, status in option["stillUsesStatus"].items():
            assert option["stillUses"][symbol] in words[status], (option["substitution"], symbol)
    if on == "2026-12-01":  # after the No. 70 suspension: some status is unknown, and shows as null
        _, exposure = get_json(api, "/api/v1/exposure", robot="generic-humanoid", units="1", on=on)
        assert any(e["controlledOn"] is None for e in exposure["data"]["elements"])


def test_sites_outside_china_for_heavy_re_separation_carry_their_dated_status(api):
    status, body = get_json(api, "/api/v1/sites", element="Dy", stage="separation", outside="CN", on="2026-12-01")
    assert status == 200
    sites = {s["site"]: s for s in body["data"]}
    assert sites["lynas-malaysia"]["status"]["status"] == "operating"
    assert sites["eneabba-refinery"]["status"]["status"] == "under-construction"
    assert all(s["country"] != "CN" for s in body["data"])
    status, body = get_json(api, "/api/v1/sites", status="sleeping")
    assert status == 400 and body["errors"][0]["parameter"] == "status"


def test_substitutes_for_a_180_degree_servo(api):
    status, body = get_json(api, "/api/v1/substitutes", element="Dy", function="magnet", min_temperature="180")
    assert status == 200
    rank = {o["substitution"]: o["rank"] for o in body["data"]}
    assert rank["smco-for-ndfeb"] < min(rank["gbd-dy-tb"], rank["recycled-ndfeb-long-loop"])
    assert "dy-tb-free-plain-ndfeb" in {o["substitution"] for o in body["excluded"]}
    status, body = get_json(api, "/api/v1/substitutes", element="Dy", min_temperature="hot")
    assert status == 400 and body["errors"][0]["parameter"] == "min_temperature"


def test_coverage_and_trace_state_their_gaps(api):
    status, body = get_json(api, "/api/v1/coverage")
    assert status == 200 and any(c["element"] == "Er" and c["sites"] == 0 for c in body["data"])
    status, body = get_json(api, "/api/v1/trace", subsystem="position-sensing", element="Er")
    assert status == 200 and any("Er" in g["message"] for g in body["gaps"])  # before: ok with 0 rows, silent
    status, body = get_json(api, "/api/v1/functions/sensor")
    assert {e["element"] for e in body["data"]["elements"] if not e["unverified"]} >= {"Er", "Nd", "Dy", "Tb"}


def test_search_finds_neodymium_by_its_chinese_names(api):
    for text in ("釹", "钕", "neodymium"):
        status, body = get_json(api, "/api/v1/search", q=text)
        assert status == 200 and body["data"][0]["id"] == "Nd", text


@pytest.mark.parametrize(("path", "expected"), [
    ("/api/v1/elements/Nd", "neodymium"), ("/api/v1/functions/phosphor", "phosphor"),
    ("/api/v1/subsystems/joint-actuation", "joint actuation"), ("/api/v1/robots/tesla-optimus", "Optimus"),
])
def test_entity_routes(api, path, expected):
    status, body = get_json(api, path)
    assert status == 200
    assert expected.lower() in body["data"]["labels"]["en"].lower()
    assert body["data"]["statements"]


def test_unknown_ids_answer_404_with_the_closest_matches(api):
    status, body = get_json(api, "/api/v1/dependents", element="Dz")
    assert status == 404 and body["ok"] is False and body["status"] == 404
    closest = [c["id"] for c in body["errors"][0]["closest"]]
    assert "Dy" in closest
    status, body = get_json(api, "/api/v1/robots/tesla-optimsu")
    assert status == 404 and body["errors"][0]["closest"][0]["id"] == "tesla-optimus"


@pytest.mark.parametrize(("path", "params", "parameter"), [
    ("/api/v1/exposure", {"robot": "tesla-optimus", "units": "many"}, "units"),
    ("/api/v1/exposure", {"robot": "tesla-optimus", "units": "5", "on": "June 1"}, "on"),
    ("/api/v1/dependents", {}, "element"),
    ("/api/v1/dependents", {"element": "Dy", "colour": "red"}, "colour"),
    ("/api/v1/dependents", [("element", "Dy"), ("element", "Tb")], "element"),
    ("/api/v1/substitutes", {"element": "Dy", "unverified": "maybe"}, "unverified"),
])
def test_malformed_parameters_answer_400_naming_them(api, path, params, parameter):
    answer = api.get(path, params=params)
    body = answer.json()
    assert answer.status == 400 and body["ok"] is False
    assert body["errors"][0]["parameter"] == parameter


def _hostile_requests():
    for route in ROUTES:
        if route.method == "POST":
            continue
        names = [p.name for p in route.params if p.kind in ("id", "text")]
        if route.path_param:
            names.append(route.path_param.name)
        for name in names:
            for value in HOSTILE:
                yield route, name, value


@pytest.mark.parametrize(("route", "name", "value"), list(_hostile_requests()),
                         ids=lambda v: v.name if hasattr(v, "name") else str(v)[:12])
def test_hostile_values_are_plain_values_on_every_route(api, route, name, value):
    """Quotes, braces, `} ; DROP ALL`, IRIs and long strings never change a query: 400 or 404, or (search)
    an ordinary answer, and the graph is the same afterwards."""
    build = api.get("/readyz").json()
    params = {p.name: str(p.example) for p in route.params if p.required}
    params[name] = value
    path = "/api/v1" + route.path
    if route.path_param:
        path = path.replace("<ident>", urllib.parse.quote(value if name == "ident" else str(route.path_param.example),
                                                          safe=""))
        params.pop("ident", None)
    answer = api.get(path, params=params)
    assert answer.status in (200, 400, 404), answer.text[:300]
    body = answer.json()
    if answer.status == 200:
        assert route.name == "search" and body["ok"] is True
    else:
        assert body["ok"] is False and body["errors"]
    assert api.get("/readyz").json() == build


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_in_the_scenario_body(api, value):
    body = json.dumps({"restrictions": [{"country": value, "elements": [value], "stages": ["separation"]}]})
    answer = api.request("POST", "/api/v1/scenario", body=body.encode(), headers={"Content-Type": "application/json"})
    assert answer.status in (400, 404) and answer.json()["ok"] is False


def test_list_answers_come_as_csv_by_suffix_and_by_accept(api):
    by_suffix = api.get("/api/v1/dependents.csv", params={"element": "Dy"})
    by_accept = api.get("/api/v1/dependents", params={"element": "Dy"}, headers={"Accept": "text/csv"})
    for answer in (by_suffix, by_accept):
        assert answer.status == 200 and answer.header("Content-Type").startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        assert any(r["subsystem"] == "joint-actuation" for r in rows)


def test_the_openapi_document_validates_and_every_route_in_it_answers(api):
    document = api.get("/api/v1/openapi.json").json()
    validate_openapi(document)
    calls = 0
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            url = path
            query = {}
            for p in operation["parameters"]:
                if p["in"] == "path":
                    url = url.replace("{" + p["name"] + "}", str(p["example"]))
                elif p["required"] or "example" in p:
                    example = p["example"]
                    query[p["name"]] = str(example).lower() if isinstance(example, bool) else str(example)
            body = None
            headers = {}
            if "requestBody" in operation:
                body = json.dumps(operation["requestBody"]["content"]["application/json"]["example"]).encode()
                headers["Content-Type"] = "application/json"
            answer = api.request(method.upper(), url, params=query or None, body=body, headers=headers)
            assert answer.status == 200, (method, url, answer.text[:300])
            result = answer.json()
            assert set(document["components"]["schemas"]["Answer"]["required"]) <= set(result)
            calls += 1
    assert calls == len(ROUTES)
    assert api.get("/api/v1/docs").status == 200


def test_the_cli_gives_the_same_answers(runner, curated_home):
    result = runner.invoke(main, ["--home", str(curated_home), "exposure", "tesla-optimus", "--units", "5000",
                                  "--on", "2025-06-01", "--json"])
    assert result.exit_code == 0, result.output
    seed = next(m for m in json.loads(result.output)["data"]["magnet"] if m["source"] == "seed-article")
    assert seed["fleetMassKg"]["max"] == pytest.approx(17_000)
    table = runner.invoke(main, ["--home", str(curated_home), "dependents", "Dy"])
    assert table.exit_code == 0 and "joint-actuation" in table.output
    found = runner.invoke(main, ["--home", str(curated_home), "search", "釹", "--json"])
    assert json.loads(found.output)["data"][0]["id"] == "Nd"
    cut = runner.invoke(main, ["--home", str(curated_home), "scenario", "--restrict", "CN:Dy,Tb:separation",
                               "--on", "2025-06-01"])
    assert cut.exit_code == 0 and "joint-actuation" in cut.output and "essentially-cut" in cut.output
    sub = runner.invoke(main, ["--home", str(curated_home), "substitutes", "Dy", "--function", "magnet"])
    assert sub.exit_code == 0 and "ferrite-for-ndfeb" in sub.output
    missing = runner.invoke(main, ["--home", str(curated_home), "trace", "joint-actuaton"])
    assert missing.exit_code == 1 and "joint-actuation" in missing.output  # the closest match is named


def test_past_answer_max_rows_an_answer_is_503_naming_the_query_and_the_setting(curated_home):
    """A query behind an answer that returns more than answer_max_rows rows is the service's limit, never a
    500: the answer is not computed from a cut result, and the message says which query and which setting."""
    with contextlib.nullcontext(in_process(curated_home, answer_max_rows=40, answer_cache_mb=0)) as srv:
        status, body = get_json(srv, "/api/v1/dependents", element="Nd")
        assert status == 503, body
        assert body["error"].startswith("query dependents returned more than answer_max_rows=40 rows")


def test_a_per_build_index_is_read_whole_past_answer_max_rows(curated_home):
    """A memo (dependencies, shares, statuses, the trace's supply network) is an index of the build whose size
    is the graph's, read whole; the same query run for one answer keeps to answer_max_rows."""
    from reekg.errors import AnswerTooLarge
    from reekg.questions.core import Answers
    from reekg.questions.runner import BackendRunner
    from reekg.read import open_backend

    ns = Namespaces()
    backend = open_backend({}, store=StoreHome(curated_home).open())
    a = Answers(BackendRunner(backend, ns, max_rows=100, timeout=60), ns)
    rows, _ = a.memo("element-sites", lambda: a.run("element-sites", unverified="false"))
    assert len(rows) > 100
    with pytest.raises(AnswerTooLarge) as raised:
        a.run("element-sites", unverified="false")
    assert raised.value.status == 503 and "element-sites" in str(raised.value)


def test_answers_never_read_every_entity_so_a_graph_larger_than_max_rows_still_answers(curated_home, tmp_path):
    # The curated graph has ~800 entities and ~700 resources with sources; with answer_max_rows=300 an answer
    # that listed them all to resolve ids or cite sources (as it once did) would fail with 500.
    with contextlib.nullcontext(in_process(curated_home, answer_max_rows=300, answer_cache_mb=0)) as srv:
        status, body = get_json(srv, "/api/v1/dependents", element="tb")  # resolved case-insensitively
        assert status == 200 and body["element"] == "Tb" and body["robots"]
        assert {s["id"] for s in body["sources"]}  # cited through the resources the rows name
        status, body = get_json(srv, "/api/v1/elements/Nd")
        assert status == 200 and body["data"]["labels"] == {"en": "neodymium", "zh-Hant": "釹", "zh-Hans": "钕"}
        status, body = get_json(srv, "/api/v1/elements/Dyy")
        assert status == 404 and "Dy" in [c["id"] for c in body["errors"][0]["closest"]]
