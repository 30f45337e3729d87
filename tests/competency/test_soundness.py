"""Issue 11: answers an analyst can defend. Each finding of the issue is a test that failed on the answers of
commit e0dcff8: unknown reported as "not controlled", scenarios that overstate resilience, a fact counted twice,
the wrong basis for NdPr and Dy, silent gaps, and questions with no answer route. Expected values come from
the curated tables (data/, read from ../shared/sources/).

The answers run in process on the session's real on-disk build (``curated_home``); the answers that depend on a
share are run a second time through rdflib's SPARQL engine on the same query text and must agree.
"""

from __future__ import annotations

import csv
import json

import pyoxigraph as ox
import pytest
from competency_kit import store_answers
from rdflib import Literal, URIRef

from reekg import settings as settings_registry
from reekg.errors import BadParameter
from reekg.loaders.build import build
from reekg.loaders.namespaces import Namespaces
from reekg.loaders.store import StoreHome
from reekg.questions.core import Answers
from reekg.questions.shares import element_share

NS = Namespaces()


def oxigraph_answers(home) -> Answers:
    return store_answers(StoreHome(home).open())


def rdflib_answers(dataset) -> Answers:
    """The same answers, every query evaluated by rdflib's own SPARQL engine on the same text."""

    def runner(query, params):
        bindings = {}
        for var, term in query.bind(NS, **params).items():
            bindings[var.value] = (URIRef(term.value) if isinstance(term, ox.NamedNode)
                                   else Literal(term.value, datatype=URIRef(term.datatype.value)))
        result = dataset.query(query.text, initBindings=bindings, base=NS.base)
        return json.loads(result.serialize(format="json"))["results"]["bindings"], "rdflib"

    return Answers(runner, NS)


@pytest.fixture(scope="module")
def answers(curated_home) -> Answers:
    return oxigraph_answers(curated_home)


def element(answer, symbol):
    return next(e for e in answer["data"]["elements"] if e["symbol"] == symbol)


# --- finding 1: unknown is never "not controlled"; boundaries follow the announcements' words ------------------

NO57_DAYS = [("2025-10-08", "no"), ("2025-10-09", "no"), ("2025-11-07", "no"), ("2025-11-08", "no"),
             ("2026-11-09", "no"), ("2026-11-10", "no"), ("2026-11-11", "unknown"), ("2026-12-01", "unknown")]


@pytest.mark.parametrize(("day", "expected"), NO57_DAYS)
def test_er_and_eu_control_status_around_the_no57_and_no70_boundaries(answers, day, expected):
    # No. 57 (Er, Eu …) announced 2025-10-09, suspended by No. 70 from 2025-11-07 "until 2026-11-10": it never
    # applied; after 2026-11-10 the sources do not say, so unknown — never false (before: False on 2026-12-01,
    # and "unknown" already on 2026-11-10 itself)
    answer = answers.ask("exposure", "generic-humanoid", 1, on=day)
    for symbol in ("Er", "Eu"):
        entry = element(answer, symbol)
        assert entry["controlStatus"] == expected, (symbol, day)
        assert entry["controlAsOf"] and entry["controlSources"]


@pytest.mark.parametrize(("day", "expected"), [("2025-04-03", "no"), ("2025-04-04", "yes"), ("2026-12-01", "yes")])
def test_no18_dy_in_force_from_the_day_it_was_issued_with_an_as_of_date(answers, day, expected):
    dy = element(answers.ask("exposure", "tesla-optimus", 1, on=day), "Dy")
    assert dy["controlStatus"] == expected
    assert dy["controlAsOf"] is not None  # before: no "as of" date at all
    (control,) = [c for c in dy["controls"] if c["measure"] == "mofcom-2025-18"]
    assert control["asOf"]["end"] and control["sources"]


@pytest.mark.parametrize("day", ["2026-11-10", "2026-11-11", "2026-12-01"])
def test_substitutes_and_exposure_agree_on_the_same_day(answers, day):
    elements = answers.ask("exposure", "generic-humanoid", 1, on=day)["data"]["elements"]
    exposure = {e["symbol"]: e["controlStatus"] for e in elements}
    options = answers.ask("substitutes", "Dy", on=day)["data"]
    option = next(o for o in options if o["substitution"] == "ho-modified-ndfeb")
    assert option["stillUsesStatus"]["Ho"] == ("no" if day == "2026-11-10" else "unknown")
    assert option["avoidsControlsStatus"] == ("yes" if day == "2026-11-10" else "unknown")
    er = next(o for o in answers.ask("substitutes", "Er", on=day)["data"])
    assert er["avoidsControlsStatus"] in ("yes", "no", "unknown")
    assert exposure["Er"] == ("no" if day == "2026-11-10" else "unknown")


# --- finding 2: scenarios do not overstate resilience ------------------------------------------------------------

DY_TB_SEPARATION = [{"country": "CN", "elements": ["Dy", "Tb"], "stages": ["separation"]}]


def joint_actuation(answer):
    return next(s for s in answer["data"]["subsystems"] if s["subsystem"] == "joint-actuation")


def test_dy_tb_separation_scenario_uses_the_heavy_re_share_and_only_operating_sites(answers):
    answer = answers.ask("scenario", DY_TB_SEPARATION, on="2025-06-01")
    entry = joint_actuation(answer)
    # before: "partial", remainingShare 0.09 from the all-REE 91%, Eneabba (under construction) counted as remaining
    assert entry["status"] == "essentially-cut"
    for impact in entry["impacts"]:
        assert impact["shareBasis"] == "element-specific" and impact["fellBackToProxy"] is False
        assert impact["remainingShare"] == pytest.approx(0.001)
        assert "lynas-malaysia" in impact["remainingSites"]
        assert "eneabba-refinery" not in impact["remainingSites"]
        eneabba = next(p for p in impact["pipeline"] if p["site"] == "eneabba-refinery")
        assert eneabba["status"] == "under-construction" and eneabba["expected"]["status"] == "commissioning"
        assert all(r["status"] == "operating" for r in impact["remaining"])
    used = {(s["element"], s["basis"]) for s in answer["assumptions"]["shares"]}
    assert used == {("Dy", "element-specific"), ("Tb", "element-specific")}


def test_a_scenario_without_an_element_specific_share_says_it_fell_back_to_the_proxy(answers):
    answer = answers.ask("scenario", [{"country": "CN", "elements": ["Nd"], "stages": ["separation"]}], on="2025-06-01")
    impact = joint_actuation(answer)["impacts"][0]
    assert impact["shareBasis"] == "all-ree-proxy" and impact["fellBackToProxy"] is True


def test_share_dependent_answers_agree_on_rdflib(answers, curated_dataset):
    theirs = rdflib_answers(curated_dataset)
    for symbol in ("Dy", "Tb", "Nd"):
        ours, other = (element_share(a, symbol, "separation", "CN") for a in (answers, theirs))
        assert ours == other
    ours = joint_actuation(answers.ask("scenario", DY_TB_SEPARATION, on="2025-06-01"))
    other = joint_actuation(theirs.ask("scenario", DY_TB_SEPARATION, on="2025-06-01"))
    assert ours["status"] == other["status"]
    assert [(i["remainingShare"], i["shareBasis"], i["remainingSites"]) for i in ours["impacts"]] == \
        [(i["remainingShare"], i["shareBasis"], i["remainingSites"]) for i in other["impacts"]]


# --- finding 3: one fact, one row ---------------------------------------------------------------------------------

def test_each_content_fact_is_one_row_per_estimate(answers):
    answer = answers.ask("exposure", "tesla-optimus", 5000, on="2025-06-01")
    estimates = len(answer["data"]["magnet"])
    for symbol in ("Nd+Pr", "Dy", "B", "Fe"):
        rows = element(answer, symbol)["massPerUnitKg"]
        assert len(rows) == estimates, symbol  # before: Dy and Nd twice per estimate (two sources, two rows)
        assert len({r["estimate"] for r in rows}) == estimates


def test_a_second_source_on_a_fact_changes_no_row_and_no_total(answers, tables, tmp_path):
    def ask(data_dir, home):
        build(settings_registry.load({"home": str(home), "data_dir": str(data_dir)}, environ={}))
        return oxigraph_answers(home).ask("exposure", "tesla-optimus", 5000, on="2025-06-01")

    before = answers.ask("exposure", "tesla-optimus", 5000, on="2025-06-01")  # the session's build of the same tables
    path = tables / "element_contents.csv"
    with path.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        if row["id"] in ("sintered-ndfeb--Fe", "sintered-ndfeb--B"):
            row["source"] += " seed-article"  # a second source for facts that had one
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    after = ask(tables, tmp_path / "two")
    for symbol in ("Fe", "B", "Nd+Pr"):
        old, new = element(before, symbol), element(after, symbol)
        assert len(new["massPerUnitKg"]) == len(old["massPerUnitKg"])
        assert new["fleetTotalKg"] == old["fleetTotalKg"]
        assert sum(r["max"] for r in new["fleetMassKg"]) == sum(r["max"] for r in old["fleetMassKg"])
    fe = element(after, "Fe")["massPerUnitKg"][0]
    assert "seed-article" in fe["contentSources"]  # the one row cites both sources


# --- finding 4: quantities on their basis ----------------------------------------------------------------------------

def test_ndpr_is_reported_as_ndpr_and_pr_is_not_silently_zero(answers):
    answer = answers.ask("exposure", "tesla-optimus", 5000, on="2025-06-01")
    ndpr = element(answer, "Nd+Pr")
    assert ndpr["combined"] and ndpr["elements"] == ["Nd", "Pr"]
    seed = next(r for r in ndpr["massPerUnitKg"] if r["estimate"] == "tesla-optimus-seed")
    assert (seed["min"], seed["max"]) == (pytest.approx(2.0 * 0.29), pytest.approx(3.4 * 0.325))
    for symbol in ("Nd", "Pr"):  # before: Nd got the Nd+Pr figure and Pr had no rows at all
        single = element(answer, symbol)
        assert single["countedIn"] == ["Nd+Pr"] and single["massKnown"] is False
        assert all(r["min"] is None and r["max"] is None for r in single["massPerUnitKg"])


def test_joint_motor_dy_comes_from_the_grades_it_needs_or_is_unknown(answers):
    answer = answers.ask("exposure", "tesla-optimus", 5000, on="2025-06-01")
    dy = element(answer, "Dy")
    # before: 0.6–1.2 wt% of the standard grade; the joint motor needs H, SH, UH, whose Dy no source gives alone
    assert dy["fleetTotalKg"] == {"min": None, "max": None} and dy["massKnown"] is False
    assert all("grades" in r["basis"] for r in dy["massPerUnitKg"])
    dytb = element(answer, "Dy+Tb")  # H: >3 wt% Dy+Tb, SH and UH: no figure → the range over the grades is unknown
    assert dytb["fleetTotalKg"] == {"min": None, "max": None}
    assert {g["grade"] for g in answer["assumptions"]["grades"]} == {
        "sintered-ndfeb-h", "sintered-ndfeb-sh", "sintered-ndfeb-uh"}


# --- finding 5: gaps stated; site status; no unverified edge by default ----------------------------------------------

def test_er_trace_states_its_gap_instead_of_an_empty_ok(answers):
    answer = answers.ask("trace", "position-sensing", element="Er", on="2026-12-01")
    messages = [g["message"] for g in answer["gaps"]]
    assert any("separation site for Er" in m for m in messages)
    assert any(m.startswith("no operating mining site for Er") for m in messages)
    whole = answers.ask("trace", "position-sensing", on="2026-12-01")
    assert "Er" in whole["elements"] and any(g["element"] == "Er" for g in whole["gaps"])


def test_blocked_and_idle_sites_carry_their_status_in_a_trace(answers):
    answer = answers.ask("trace", "joint-actuation", on="2026-12-01")
    status = {p["site"]: (p["siteStatus"]["status"], p["supplying"]) for p in answer["data"]}
    assert status["kvanefjeld"] == ("blocked", False)
    assert status["steenkampskraal"] == ("not-producing", False)
    assert status["lynas-malaysia"] == ("operating", True)


def test_gd_enters_sensor_answers_only_with_unverified(answers):
    assert "Gd" not in {p["element"] for p in answers.ask("trace", "position-sensing")["data"]}
    assert "Gd" in {p["element"] for p in answers.ask("trace", "position-sensing", unverified=True)["data"]}
    elements = {e["element"]: e for e in answers.ask("function", "sensor")["data"]["elements"]}
    assert elements["Gd"]["unverified"] is True
    assert {s for s, e in elements.items() if not e["unverified"]} >= {"Er", "Nd", "Dy", "Tb"}


def test_coverage_table_names_sites_basis_and_year(answers):
    answer = answers.ask("coverage", on="2026-12-01")
    cells = {(c["element"], c["stage"]): c for c in answer["data"]}
    assert cells[("Er", "separation")]["sites"] == 0
    assert cells[("Dy", "separation")]["shareBasis"] == "element-specific"
    assert cells[("Nd", "separation")]["shareBasis"] == "all-ree-proxy"
    assert cells[("Nd", "mining")]["newestYear"]
    assert any(g["element"] == "Er" for g in answer["gaps"])


# --- finding 6: questions with an answer route --------------------------------------------------------------------

def test_function_lists_its_elements_with_materials_and_components(answers):
    elements = {e["element"]: e for e in answers.ask("function", "sensor")["data"]["elements"]}
    assert "fibre-optic gyroscope (FOG)" in elements["Er"]["components"]
    assert "sintered NdFeB magnet" in elements["Nd"]["materials"]


def test_heavy_re_separation_sites_outside_china_with_dated_status(answers):
    answer = answers.ask("sites", element="Dy", stage="separation", outside="CN", on="2026-12-01")
    sites = {s["site"]: s for s in answer["data"]}
    assert "lynas-malaysia" in sites and all(s["country"] != "CN" for s in sites.values())
    assert sites["lynas-malaysia"]["status"]["status"] == "operating"
    assert sites["lynas-malaysia"]["status"]["asOf"]["end"] and sites["lynas-malaysia"]["status"]["sources"]
    assert sites["eneabba-refinery"]["status"]["status"] == "under-construction"
    operating = answers.ask("sites", element="Dy", stage="separation", outside="CN", status="operating",
                            on="2026-12-01")
    assert "eneabba-refinery" not in {s["site"] for s in operating["data"]}


def test_a_180_degree_servo_ranks_smco_above_dy_bearing_magnets(answers):
    answer = answers.ask("substitutes", "Dy", function="magnet", on="2025-06-01", min_temperature=180)
    rank = {o["substitution"]: o for o in answer["data"]}
    for dy_user in ("recycled-ndfeb-long-loop", "recycled-ndfeb-short-loop", "gbd-dy-tb"):
        assert rank["smco-for-ndfeb"]["rank"] < rank[dy_user]["rank"]  # before: below all three
        assert rank[dy_user]["temperature"]["holds"] == "unknown"
    assert rank["smco-for-ndfeb"]["temperature"]["holds"] == "yes"
    excluded = {o["substitution"]: o["reason"] for o in answer["excluded"]}
    assert "below 180" in excluded["dy-tb-free-plain-ndfeb"]  # N grade: 80–100 °C
    with pytest.raises(BadParameter):
        answers.ask("substitutes", "Dy", min_temperature=20_000)


def test_exposure_and_scenario_state_their_assumptions(answers):
    exposure = answers.ask("exposure", "tesla-optimus", 10, on="2025-06-01")
    assert exposure["assumptions"]["on"] == "2025-06-01"
    assert exposure["assumptions"]["shares"]["mining"]["basis"] == "all-ree-proxy"
    assert exposure["assumptions"]["shares"]["mining"]["edition"]
    scenario = answers.ask("scenario", DY_TB_SEPARATION, on="2025-06-01")
    assert scenario["assumptions"]["on"] == "2025-06-01" and scenario["assumptions"]["shares"]
    assert "gaps" in scenario and "gaps" in exposure


# --- follow-up: a stage the sources only believe is not supply; White Mesa separates NdPr, not Dy/Tb ----------------

def test_an_unverified_stage_is_not_remaining_supply_in_the_dy_tb_scenario(answers):
    # Shin-Etsu's separation is "separation (Japan; believed)" in the sources; White Mesa's Dy/Tb are Phase 2/3
    # targets with no date (before: both counted in remainingSites beside Lynas Malaysia)
    entry = joint_actuation(answers.ask("scenario", DY_TB_SEPARATION, on="2025-06-01"))
    for impact in entry["impacts"]:
        assert impact["remainingSites"] == ["lynas-malaysia"], impact["element"]
        (shin_etsu,) = impact["unverifiedStage"]
        assert shin_etsu["site"] == "shin-etsu-magnet-plants" and "unverified" in shin_etsu["reason"]
        phases = next(p for p in impact["pipeline"] if p["site"] == "white-mesa-mill-heavy-re-phases")
        assert phases["status"] == "pilot" and phases["expected"]["status"] == "operating"
        assert phases["expected"]["start"] is None and phases["expected"]["end"] is None  # no date in the sources
        assert "white-mesa-mill" not in {p["site"] for p in impact["pipeline"] + impact["statusUnknown"]}


def test_sites_leave_out_an_unverified_stage_unless_asked(answers):
    answer = answers.ask("sites", element="Dy", stage="separation", outside="CN", on="2026-12-01")
    listed = {s["site"] for s in answer["data"]}
    assert "shin-etsu-magnet-plants" not in listed and "white-mesa-mill" not in listed
    (excluded,) = [e for e in answer["excluded"] if e["site"] == "shin-etsu-magnet-plants"]
    assert excluded["stage"] == "separation" and "unverified" in excluded["reason"]
    asked = answers.ask("sites", element="Dy", stage="separation", outside="CN", on="2026-12-01", unverified=True)
    shin_etsu = next(s for s in asked["data"] if s["site"] == "shin-etsu-magnet-plants")
    assert shin_etsu["unverifiedStages"] == ["separation"] and "separation" in shin_etsu["stages"]
    # its magnet making is not in doubt
    magnets = answers.ask("sites", stage="magnet-making", outside="CN", on="2026-12-01")
    shin_etsu = next(s for s in magnets["data"] if s["site"] == "shin-etsu-magnet-plants")
    assert shin_etsu["stages"] == ["magnet-making"] and shin_etsu["unverifiedStages"] == ["separation"]
    # White Mesa separates NdPr, and is an operating Nd separation site
    found = answers.ask("sites", element="Nd", stage="separation", outside="CN", on="2026-12-01")
    nd = {s["site"]: s for s in found["data"]}
    assert nd["white-mesa-mill"]["status"]["status"] == "operating"
    assert nd["white-mesa-mill"]["elementsByStage"]["separation"] == ["Nd", "Pr"]


def test_coverage_and_trace_name_the_unverified_stage(answers):
    cells = {(c["element"], c["stage"]): c for c in answers.ask("coverage", on="2026-12-01")["data"]}
    dy = cells[("Dy", "separation")]
    assert "shin-etsu-magnet-plants" not in dy["siteIds"] and "white-mesa-mill" not in dy["siteIds"]
    assert dy["unverifiedStageSites"] == ["shin-etsu-magnet-plants"]
    asked = {(c["element"], c["stage"]): c for c in answers.ask("coverage", on="2026-12-01", unverified=True)["data"]}
    assert "shin-etsu-magnet-plants" in asked[("Dy", "separation")]["siteIds"]
    paths = [p for p in answers.ask("trace", "joint-actuation", on="2026-12-01")["data"]
             if p["site"] == "shin-etsu-magnet-plants"]
    assert paths and all(p["stages"] == ["magnet-making"] and p["unverifiedStages"] == ["separation"] for p in paths)
    asked = [p for p in answers.ask("trace", "joint-actuation", on="2026-12-01", unverified=True)["data"]
             if p["site"] == "shin-etsu-magnet-plants"]
    assert all(p["stages"] == ["magnet-making", "separation"] for p in asked)
