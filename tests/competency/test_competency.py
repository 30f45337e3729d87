"""The knowledge-graph issue's competency questions, each a named query of reekg/questions/sparql, with the expected
answers from ../shared/sources/ (facts.md, seed-article.md). Numbers are compared by value, never lexically.

The store is the session's real on-disk build (``curated_home``); the production-share and fleet questions are
also run through rdflib's engine on ``curated_dataset`` and must give the same answer there.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from competency_kit import NS, details, iri, num, run, run_rdflib, statuses, symbols, text

from reekg import settings as settings_registry
from reekg.loaders.build import build
from reekg.loaders.store import StoreHome
from reekg.questions.library import library

# --- the library itself ---------------------------------------------------------------------------------------

EXPECTED_QUERIES = {
    "functions", "dependents", "trace", "controls", "production-share", "fleet-magnet-mass", "substitutes",
    "heavy-sources", "magnet-temperature", "search",
}


def test_every_query_parses_and_declares_its_params():
    queries = library()
    assert set(queries) >= EXPECTED_QUERIES
    for query in queries.values():
        assert query.title and query.title != query.name, query.name
        if query.name in EXPECTED_QUERIES:
            assert query.parameters, f"{query.name} declares no parameter"
        projected = query.text.split("WHERE", 1)[0]
        for param in query.parameters:
            assert param.kind in {"iri", "string", "integer", "decimal", "date", "gYear", "boolean"}
            assert param.help, f"{query.name}: {param.name} has no help text"
            # pyoxigraph substitutes only projected variables
            assert f"?{param.name}" in projected, f"{query.name}: ?{param.name} is not projected"
            if param.default is not None:
                param.term(param.default)  # a default must bind as its own kind


# --- 1. functions ---------------------------------------------------------------------------------------------

def by_function(rows) -> dict[str, set[str]]:
    found = defaultdict(set)
    for row in rows:
        found[text(row["function"]).rsplit("/", 1)[1]].add(text(row["symbol"]))
    return found


def test_functions_match_the_seed(store):
    found = by_function(run(store, "functions"))
    assert {"Eu", "Tb", "Y"} <= found["phosphor"]
    assert found["phosphor"] - {"Eu", "Tb", "Y"} == {"Ce"}  # YAG:Ce's activator, from the data
    assert {"Nd", "Pr", "Dy", "Tb"} <= found["magnet"]
    assert {"La", "Y", "Nd"} == found["optics"]
    assert {"Er", "Nd"} <= found["sensor"]
    # the seed's Gd-in-sensors claim rests on an unverified row: out of answers unless asked for
    assert "Gd" not in found["sensor"]
    with_unverified = by_function(run(store, "functions", unverified="true"))
    assert {"Gd", "Er", "Nd"} <= with_unverified["sensor"]


def test_functions_with_one_function(store):
    rows = run(store, "functions", function=iri("function", "phosphor"))
    assert {text(r["function"]) for r in rows} == {iri("function", "phosphor")}
    assert symbols(rows) == {"Eu", "Tb", "Y", "Ce"}


# --- 2. dependents --------------------------------------------------------------------------------------------

def test_dependents_of_dysprosium(store):
    rows = run(store, "dependents", element=iri("element", "Dy"))
    subsystems = {text(r["subsystem"]) for r in rows}
    assert iri("subsystem", "joint-actuation") in subsystems
    optimus = [r for r in rows if text(r["robot"]) == iri("robot", "tesla-optimus")]
    assert optimus and {text(r["subsystem"]) for r in optimus} == {iri("subsystem", "joint-actuation")}
    components = {text(r["component"]) for r in optimus}
    assert components == {iri("component", "joint-motor"), iri("component", "coreless-motor")}
    assert iri("material", "sintered-ndfeb") in {text(r["material"]) for r in optimus}
    assert {text(r["role"]) for r in rows} == {iri("function", "magnet")}
    family = next(r for r in optimus if text(r["material"]) == iri("material", "sintered-ndfeb"))
    assert (num(family["massFractionMin"]), num(family["massFractionMax"])) == (Decimal("0.006"), Decimal("0.012"))


# --- 3. trace -------------------------------------------------------------------------------------------------

def test_trace_joint_actuation_reaches_mines_and_countries_with_a_source_per_hop(store):
    rows = run(store, "trace", subsystem=iri("subsystem", "joint-actuation"))
    assert rows
    mines = {text(r["site"]) for r in rows if text(r["siteKind"]) == "mine"}
    assert {iri("mine", "mount-weld"), iri("mine", "kachin-iac-belt"), iri("mine", "bayan-obo")} <= mines
    countries = {text(r["countryCode"]) for r in rows}
    assert {"CN", "US", "AU", "MM"} <= countries
    graphs = NS.base + "graph/source/"
    for row in rows:
        for hop in ("gComponent", "gMaterial", "gElement", "gSite", "gCountry"):
            assert text(row[hop]).startswith(graphs), (hop, row)
        if text(row["hop"]) == "upstream":
            assert text(row["gFeed"]).startswith(graphs) and row["fedSite"] is not None
    # Mount Weld reaches Dy through Kalgoorlie and Lynas Malaysia, each link with its own source graph
    upstream = {(text(r["site"]), text(r["fedSite"])) for r in rows if text(r["hop"]) == "upstream"}
    assert (iri("mine", "mount-weld"), iri("facility", "mt-weld-concentration-plant")) in upstream
    assert (iri("facility", "lynas-kalgoorlie"), iri("facility", "lynas-malaysia")) in upstream
    # White Mesa (US) is fed by the Florida/Georgia mineral sands
    assert (iri("mine", "florida-georgia-hms"), iri("facility", "white-mesa-mill")) in upstream


def test_trace_filters_by_robot_and_element(store):
    rows = run(store, "trace", subsystem=iri("subsystem", "joint-actuation"), robot=iri("robot", "tesla-optimus"),
               element=iri("element", "Dy"))
    assert rows and symbols(rows) == {"Dy"}
    assert {text(r["robot"]) for r in rows} == {iri("robot", "tesla-optimus")}
    assert all(text(r["gRobot"]).startswith(NS.base + "graph/source/") for r in rows)
    assert {iri("mine", "kachin-iac-belt"), iri("mine", "browns-range"), iri("facility", "lynas-malaysia")} <= {
        text(r["site"]) for r in rows}
    # a robot without that subsystem has no path
    assert run(store, "trace", subsystem=iri("subsystem", "joint-actuation"), robot=iri("robot", "figure-02")) == []


# --- 4. controls ----------------------------------------------------------------------------------------------

def test_controls_on_optimus_2025_06_01(store):
    rows = run(store, "controls", robot=iri("robot", "tesla-optimus"), on="2025-06-01")
    assert statuses(rows)["yes"] == {"Dy", "Tb"}
    assert {text(r["measure"]) for r in rows if text(r["inForce"]) == "yes"} == {iri("measure", "mofcom-2025-18")}
    for row in rows:  # every answer says as of when and by which source
        assert row["asOfStart"] is not None and text(row["sources"]).startswith(NS.base + "id/source/"), row


def test_controls_no57_suspended_then_unknown(store):
    no57 = {"Ho", "Er", "Tm", "Eu", "Yb"}
    december = run(store, "controls", on="2025-12-01")
    assert details(december)["suspended"] >= no57
    assert not no57 & statuses(december)["yes"] and no57 <= statuses(december)["no"]
    assert {"Sm", "Gd", "Tb", "Dy", "Lu", "Sc", "Y"} <= statuses(december)["yes"]  # No. 18 stays
    # a robot that uses No. 57 elements (display phosphors, FOG fibre)
    humanoid = run(store, "controls", robot=iri("robot", "generic-humanoid"), on="2025-12-01")
    assert {"Eu", "Er"} <= details(humanoid)["suspended"] and {"Dy", "Tb"} <= statuses(humanoid)["yes"]
    for day in ("2026-11-11", "2027-03-01"):  # the sources do not say what followed No. 70: unknown, never no
        later = run(store, "controls", on=day)
        no57_rows = [r for r in later if text(r["measure"]) == iri("measure", "mofcom-2025-57")]
        assert no57_rows and {text(r["inForce"]) for r in no57_rows} == {"unknown"}, day
        assert "suspended" not in details(later)
    before = run(store, "controls", on="2025-11-01")  # announced 2025-10-09, effective 2025-11-08
    assert details(before)["announced"] >= no57 and not no57 & statuses(before)["yes"]
    early = run(store, "controls", on="2025-03-01")  # before No. 18: every measure's statement says no
    assert statuses(early)["yes"] == set() and "unknown" not in statuses(early)


def test_controls_never_answer_no_where_no_statement_covers_the_day(tables, tmp_path):
    # drop No. 57's "unknown" statement: from 2026-11-11 nothing covers the day, which is unknown, never no
    path = tables / "in_force_statements.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(line for line in lines if not line.startswith("mofcom-2025-57-unknown,")),
                    encoding="utf-8")
    build(settings_registry.load({"home": str(tmp_path), "data_dir": str(tables)}, environ={}))
    rows = run(StoreHome(tmp_path).open(), "controls", on="2026-12-01")
    no57 = [r for r in rows if text(r["measure"]) == iri("measure", "mofcom-2025-57")]
    assert {text(r["symbol"]) for r in no57} == {"Ho", "Er", "Tm", "Eu", "Yb"}
    assert all(text(r["inForce"]) == "unknown" and r["statement"] is None for r in no57)


# --- 5. production share --------------------------------------------------------------------------------------

SHARES_2024 = {  # (edition, country) → (published share, tonnes, world tonnes)
    ("usgs-mcs-2025", "CN"): (Decimal("0.692"), 270000, 390000),
    ("usgs-mcs-2025", "US"): (Decimal("0.115"), 45000, 390000),
    ("usgs-mcs-2026", "CN"): (Decimal("0.711"), 270000, 380000),
    ("usgs-mcs-2026", "US"): (Decimal("0.120"), 45500, 380000),
}


def share_table(rows):
    """(edition, country) → (published share, t, world t, computed share); the engines carry different decimal
    precision in a quotient, so the computed share is compared to 12 places."""
    return {(text(r["edition"]).rsplit("/", 1)[1], text(r["countryCode"])):
            (num(r["publishedShare"]), num(r["production"]), num(r["worldProduction"]),
             None if r["computedShare"] is None else round(num(r["computedShare"]), 12))
            for r in rows}


def check_shares(table):
    for key, (share, tonnes, world) in SHARES_2024.items():
        published, production, world_production, computed = table[key]
        assert published == share, key
        assert (production, world_production) == (tonnes, world), key
        assert abs(computed - share) < Decimal("0.0005"), key


def test_production_share_2024_both_editions(store):
    rows = run(store, "production-share", year="2024")
    table = share_table(rows)
    check_shares(table)
    assert all(r["editionLabel"] is not None for r in rows)  # the answer names its edition
    only_cn = run(store, "production-share", year="2024", country=iri("country", "CN"))
    assert {k for k in share_table(only_cn)} == {("usgs-mcs-2025", "CN"), ("usgs-mcs-2026", "CN")}


def test_production_share_same_answer_in_rdflib(store, curated_dataset):
    for params in ({"year": "2024"}, {"year": "2024", "country": iri("country", "US")}):
        ours = share_table(run(store, "production-share", **params))
        theirs = share_table(run_rdflib(curated_dataset, "production-share", **params))
        assert ours == theirs
    check_shares(share_table(run_rdflib(curated_dataset, "production-share", year="2024")))


# --- 6. fleet magnet mass -------------------------------------------------------------------------------------

def fleet_table(rows):
    return {text(r["estimate"]).rsplit("/", 1)[1]:
            (num(r["massMinKg"]), num(r["massMaxKg"]), num(r["fleetMinKg"]), num(r["fleetMaxKg"]),
             text(r["source"]).rsplit("/", 1)[1])
            for r in rows}


@pytest.mark.parametrize("units, seed_fleet_max", [(5000, 17000), (50000, 170000)])
def test_fleet_magnet_mass_for_optimus(store, curated_dataset, units, seed_fleet_max):
    params = {"robot": iri("robot", "tesla-optimus"), "units": units}
    table = fleet_table(run(store, "fleet-magnet-mass", **params))
    seed = table["tesla-optimus-seed"]
    assert seed[1] == Decimal("3.4") and seed[3] == seed_fleet_max and seed[4] == "seed-article"
    assert seed[2] == 2 * units
    # every other sourced estimate sits beside it, each with its own source
    assert set(table) == {"tesla-optimus-seed", "tesla-optimus-broker-zt5", "tesla-optimus-argus",
                          "tesla-optimus-china-northern", "tesla-optimus-ccmn"}
    assert table["tesla-optimus-broker-zt5"][3] == Decimal("3.5") * units
    assert table["tesla-optimus-ccmn"][2:4] == (4 * units, 6 * units)
    assert fleet_table(run_rdflib(curated_dataset, "fleet-magnet-mass", **params)) == table


def test_fleet_keeps_unverified_estimates_out_unless_asked(store):
    g1 = {"robot": iri("robot", "unitree-g1"), "units": 10}
    assert run(store, "fleet-magnet-mass", **g1) == []
    asked = fleet_table(run(store, "fleet-magnet-mass", unverified="true", **g1))
    assert asked["unitree-g1-forum"][3] == 28


# --- 7. substitutes -------------------------------------------------------------------------------------------

def test_substitutes_for_dysprosium_in_magnets(store):
    rows = run(store, "substitutes", element=iri("element", "Dy"), function=iri("function", "magnet"), on="2025-06-01")
    by_id = {text(r["substitution"]).rsplit("/", 1)[1]: r for r in rows}
    order = list(by_id)
    ranks = [(int(num(r["penaltyRank"])), int(num(r["maturityRank"]))) for r in rows]
    assert ranks == sorted(ranks)  # penalty first, then maturity
    for expected in ("gbd-dy-tb", "hre-free-hot-deformed", "smco-for-ndfeb", "ferrite-for-ndfeb",
                     "fe16n2-for-ndfeb", "ho-modified-ndfeb"):
        assert expected in by_id
    assert order.index("gbd-dy-tb") < order.index("smco-for-ndfeb") < order.index("ferrite-for-ndfeb")

    def avoids(ident):
        return text(by_id[ident]["avoidsControls"])

    assert avoids("gbd-dy-tb") == "no" and "Dy=yes" in text(by_id["gbd-dy-tb"]["stillUses"])
    assert avoids("smco-for-ndfeb") == "no" and text(by_id["smco-for-ndfeb"]["stillUses"]) == "Sm=yes"
    assert {avoids(s) for s in ("ferrite-for-ndfeb", "fe16n2-for-ndfeb", "hre-free-hot-deformed")} == {"yes"}
    # No. 57 (Ho) was announced only on 2025-10-09: its in-force statement says "no" on 2025-06-01
    assert avoids("ho-modified-ndfeb") == "yes" and "Ho=no" in text(by_id["ho-modified-ndfeb"]["stillUses"])
    # trade-off figures, source and confidence travel with each option
    assert "max-energy-product: 1.3–5 vs 33–55" in text(by_id["ferrite-for-ndfeb"]["tradeOffs"])
    assert iri("source", "vectormagnets-magnet-comparison") in text(by_id["ferrite-for-ndfeb"]["sources"]).split()
    assert text(by_id["gbd-dy-tb"]["confidence"]) == iri("confidence", "secondary")
    assert (num(by_id["gbd-dy-tb"]["reductionMin"]), num(by_id["gbd-dy-tb"]["reductionMax"])) == (
        Decimal("0.3"), Decimal("0.7"))
    assert "magnet-free-motors" not in by_id  # unverified row


def test_substitutes_follow_the_control_calendar(store):
    params = {"element": iri("element", "Dy"), "function": iri("function", "magnet")}

    def ho(day):
        row = next(r for r in run(store, "substitutes", on=day, **params)
                   if text(r["substitution"]).endswith("/ho-modified-ndfeb"))
        return text(row["stillUses"]), text(row["avoidsControls"])

    assert "Ho=no" in ho("2025-12-01")[0] and ho("2025-12-01")[1] == "yes"  # suspended by No. 70
    # after 2026-11-10 the sources do not say: unknown, never "no" and never "avoids controls"
    assert "Ho=unknown" in ho("2026-12-01")[0] and ho("2026-12-01")[1] == "unknown"


# --- 8. heavy sources -----------------------------------------------------------------------------------------

def test_heavy_sources_outside_china(store):
    rows = run(store, "heavy-sources")
    sites = {text(r["site"]) for r in rows}
    assert {iri("mine", "browns-range"), iri("facility", "lynas-malaysia"), iri("mine", "serra-verde"),
            iri("mine", "kachin-iac-belt")} <= sites
    assert "CN" not in {text(r["countryCode"]) for r in rows}
    kachin = next(r for r in rows if text(r["site"]) == iri("mine", "kachin-iac-belt"))
    assert text(kachin["countryCode"]) == "MM" and set(text(kachin["heavyElements"]).split()) == {"Dy", "Tb"}
    outside_au = {text(r["site"]) for r in run(store, "heavy-sources", outside=iri("country", "AU"))}
    assert iri("mine", "southern-china-iac") in outside_au and iri("mine", "browns-range") not in outside_au


def test_heavy_sources_carry_a_dated_status_and_unknown_is_never_operating(store):
    by_site = {text(r["site"]).rsplit("/", 1)[1]: r for r in run(store, "heavy-sources")}
    status = {site: text(r["status"]) for site, r in by_site.items()}
    # before: only the curators' free text (or nothing), so a blocked mine read like a supplier
    assert status["kvanefjeld"] == "blocked" and status["steenkampskraal"] == "not-producing"
    assert status["eneabba-refinery"] == "under-construction" and status["lynas-malaysia"] == "operating"
    lynas = by_site["lynas-malaysia"]  # the newer of its two observations: the Dec-2025 quarter
    assert (text(lynas["statusAsOfStart"]), text(lynas["statusAsOfEnd"])) == ("2025-10-01", "2025-12-31")
    assert iri("source", "lynas-reex-q2fy26") in text(lynas["statusSources"]).split()
    assert text(by_site["eneabba-stockpile"]["status"]) == "unknown"  # no observation: unknown
    assert by_site["eneabba-stockpile"]["statusAsOfEnd"] is None
    # White Mesa's Dy/Tb are undated Phase 2/3 targets: pilot, not an operating heavy-RE separator
    assert "white-mesa-mill" not in by_site and status["white-mesa-mill-heavy-re-phases"] == "pilot"


# --- 9. magnet temperature ------------------------------------------------------------------------------------

def test_magnet_temperature_by_grade_and_the_seed_comparison(store):
    rows = run(store, "magnet-temperature")
    grades = {text(r["gradeSuffix"]): (num(r["maxTempMinC"]), num(r["maxTempMaxC"]))
              for r in rows if text(r["kind"]) == "grade"}
    assert grades == {"N": (80, 80), "M": (100, 100), "H": (120, 120), "SH": (150, 150), "UH": (180, 180),
                      "EH": (200, 200), "AH": (220, 230)}
    eh = next(r for r in rows if text(r["gradeSuffix"]) == "EH")
    assert (num(eh["dyMin"]), num(eh["dyMax"])) == (Decimal("0.06"), Decimal("0.08"))
    (seed,) = [r for r in rows if text(r["kind"]) == "comparison"]
    assert (num(seed["maxTempMinC"]), num(seed["maxTempMaxC"])) == (80, 100)
    assert (num(seed["baselineMinC"]), num(seed["baselineMaxC"])) == (180, 220)
    assert text(seed["source"]) == iri("source", "seed-article")


# --- 10. search -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("q, lang", [("釹", "zh-hant"), ("钕", "zh-hans"), ("neodymium", "en"), ("NEODYMIUM", "en"),
                                     ("Nd", None)])
def test_search_finds_neodymium_first(store, q, lang):
    rows = run(store, "search", q=q)
    assert text(rows[0]["entity"]) == iri("element", "Nd")
    assert num(rows[0]["rank"]) == 0
    if lang:
        assert text(rows[0]["lang"]) == lang
    ranks = [num(r["rank"]) for r in rows]
    assert ranks == sorted(ranks)
    assert len({text(r["entity"]) for r in rows}) == len(rows)


def test_search_ranks_prefix_before_substring(store):
    rows = run(store, "search", q="sintered ndfeb")
    by_entity = {text(r["entity"]): num(r["rank"]) for r in rows}
    assert by_entity[iri("material", "sintered-ndfeb")] == 1  # "sintered NdFeB magnet" starts with it
    assert by_entity[iri("material", "recycled-ndfeb")] == 2  # "recycled sintered NdFeB" contains it
