"""The knowledge-graph issue's competency questions, each a named query of reekg/questions/sparql, with the expected
answers from ../shared/sources/ (facts.md, seed-article.md). Numbers are compared by value, never lexically.

The store is the session's real on-disk build (``curated_home``); the production-share and fleet questions are
also run through rdflib's engine on ``curated_dataset`` and must give the same answer there.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal

import pyoxigraph as ox
import pytest
from rdflib import Literal, URIRef

from reekg import settings as settings_registry
from reekg.loaders.build import build
from reekg.loaders.namespaces import Namespaces
from reekg.loaders.store import StoreHome
from reekg.questions.library import QueryParameterError, library

NS = Namespaces()
ID = NS.base + "id/"


def iri(kind: str, ident: str) -> str:
    return f"{ID}{kind}/{ident}"


def num(term) -> Decimal | None:
    """A numeric literal's value (pyoxigraph or rdflib term), whatever its lexical form."""
    if term is None:
        return None
    return Decimal(str(term.value if isinstance(term, ox.Literal) else term))


def text(term) -> str | None:
    if term is None:
        return None
    return term.value if isinstance(term, (ox.Literal, ox.NamedNode)) else str(term)


def symbols(rows, column="symbol") -> set[str]:
    return {text(r[column]) for r in rows}


@pytest.fixture(scope="module")
def store(curated_home):
    return StoreHome(curated_home).open()


def run(store, name: str, **params):
    return library()[name].run(store, NS, **params)


def run_rdflib(dataset, name: str, **params):
    """The same query text and typed bindings, evaluated by rdflib's own SPARQL engine."""
    query = library()[name]
    bindings = {}
    for var, term in query.bind(NS, **params).items():
        bindings[var.value] = (URIRef(term.value) if isinstance(term, ox.NamedNode)
                               else Literal(term.value, datatype=URIRef(term.datatype.value)))
    result = dataset.query(query.text, initNs=NS.prefixes(), initBindings=bindings, base=NS.base)
    names = [str(v) for v in result.vars]
    return [dict(zip(names, row, strict=True)) for row in result]


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

def statuses(rows) -> dict[str, set[str]]:
    """yes / no / unknown → the symbols with that answer."""
    found = defaultdict(set)
    for row in rows:
        found[text(row["inForce"])].add(text(row["symbol"]))
    return found


def details(rows) -> dict[str | None, set[str]]:
    """The statement's reason (announced, in-force, suspended, …) → the symbols."""
    found = defaultdict(set)
    for row in rows:
        found[None if row["statusDetail"] is None else text(row["statusDetail"]).rsplit("/", 1)[1]].add(
            text(row["symbol"]))
    return found


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


# --- hostile values -------------------------------------------------------------------------------------------

HOSTILE = ['x" } ; DROP ALL ; #', "}", "<http://evil.example/>", "a" * 10_000]

# an ordinary call per query; each iri/string parameter is then replaced by a hostile value
ORDINARY = {
    "functions": {"function": iri("function", "phosphor")},
    "dependents": {"element": iri("element", "Dy")},
    "trace": {"subsystem": iri("subsystem", "joint-actuation"), "robot": iri("robot", "tesla-optimus"),
              "element": iri("element", "Dy")},
    "controls": {"robot": iri("robot", "tesla-optimus"), "on": "2025-06-01"},
    "production-share": {"year": "2024", "country": iri("country", "CN")},
    "fleet-magnet-mass": {"robot": iri("robot", "tesla-optimus"), "units": 5000},
    "substitutes": {"element": iri("element", "Dy"), "function": iri("function", "magnet"), "on": "2025-06-01"},
    "heavy-sources": {"outside": iri("country", "CN")},
    "magnet-temperature": {"family": iri("material", "sintered-ndfeb")},
    "search": {"q": "neodymium"},
    # the helpers every answer uses (reekg.questions.core, statuses, shares, controls)
    "sources": {}, "provenance": {}, "stage-shares": {}, "kinds": {},
    "known-entity": {"entity": iri("element", "Nd")}, "kind-entities": {"kind": "element"},
    "labels": {"entity": iri("element", "Nd")},
    "entity": {"entity": iri("element", "Nd")},
    "material-contents": {"material": iri("material", "sintered-ndfeb")},
    "country-observations": {"country": iri("country", "CN")},
    "element-sites": {"element": iri("element", "Dy")},
    "dependencies": {},
    "in-force": {"robot": iri("robot", "generic-humanoid"), "on": "2026-12-01"},
    "site-status": {"site": iri("facility", "eneabba-refinery")},
    "robot-grades": {"robot": iri("robot", "tesla-optimus")},
    "substitute-temperatures": {"element": iri("element", "Dy")},
}


def header_call(query) -> dict[str, str]:
    """The ordinary call a query's header gives: ``e.g. id:material/sintered-ndfeb`` after an IRI parameter."""
    found = {p.name: re.search(r"e\.g\. id:([a-z-]+)/([A-Za-z0-9._-]+)", p.help) for p in query.parameters
             if p.kind == "iri"}
    return {name: iri(*match.groups()) for name, match in found.items() if match}


# a query the table does not list (a question added with its .rq and its module) calls as its header says
ORDINARY.update({name: header_call(query) for name, query in library().items() if name not in ORDINARY})
UNKNOWN = {"iri": "http://evil.example/", "string": "no-such-thing-zzz"}


def answers(name: str, rows) -> list[dict]:
    """Rows without the echoed parameter columns (a query projects its parameters)."""
    params = {p.name for p in library()[name].parameters}
    return [{k: v for k, v in row.items() if k not in params} for row in rows]


def hostile_cases():
    for name, query in sorted(library().items()):
        for param in query.parameters:
            if param.kind in UNKNOWN:
                for value in HOSTILE:
                    yield pytest.param(name, param.name, value, id=f"{name}-{param.name}-{value[:12]}")


def test_every_query_has_an_ordinary_call():
    assert set(ORDINARY) == set(library())
    for name, query in library().items():  # every required IRI has a value, so the hostile cases bind each one
        required = {p.name for p in query.parameters if p.kind == "iri" and not p.optional and p.default is None}
        assert required <= set(ORDINARY[name]), name


@pytest.mark.parametrize("name, param, value", list(hostile_cases()))
def test_hostile_value_is_only_a_value(store, name, param, value):
    query = library()[name]
    kind = next(p.kind for p in query.parameters if p.name == param)
    params = dict(ORDINARY[name])
    unknown = run(store, name, **{**params, param: UNKNOWN[kind]})
    try:
        rows = run(store, name, **{**params, param: value})
    except QueryParameterError as error:
        assert kind == "iri" and error.name == param  # a bad IRI is refused before SPARQL sees it
        return
    assert answers(name, rows) == answers(name, unknown)


@pytest.mark.parametrize("name", sorted(ORDINARY))
def test_outside_iri_is_an_unknown_value(store, name):
    """An IRI outside our namespace is a plain value: it matches nothing and changes no query."""
    query = library()[name]
    for param in (p for p in query.parameters if p.kind == "iri"):
        params = {**ORDINARY[name], param.name: "http://evil.example/x#"}
        assert answers(name, run(store, name, **params)) == answers(
            name, run(store, name, **{**ORDINARY[name], param.name: UNKNOWN["iri"]}))


@pytest.mark.parametrize("kind_value", [("date", "2025-06-01'); DROP ALL"), ("integer", "5000 } ;"),
                                        ("gYear", "2024\" }"), ("boolean", "true || 1")])
def test_typed_parameters_refuse_malformed_values(store, kind_value):
    kind, value = kind_value
    for name, query in library().items():
        for param in (p for p in query.parameters if p.kind == kind):
            with pytest.raises(QueryParameterError):
                run(store, name, **{**ORDINARY[name], param.name: value})


# --- issue 11: the data an analyst's answer must read (sources: ../shared/sources/updates-2026-12.md) ----------

PREFIXES = """PREFIX reekg: <https://w3id.org/reekg/ontology#>
PREFIX prov: <http://www.w3.org/ns/prov#>
PREFIX schema: <https://schema.org/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
"""


def sparql(store, body: str) -> list[dict]:
    """Rows of a SELECT over the union of every graph, as {variable: term}."""
    result = store.query(PREFIXES + body, use_default_graph_as_union=True)
    names = [v.value for v in result.variables]
    return [dict(zip(names, row, strict=True)) for row in result]


def in_force_on(store, measure: str, day: str) -> list[str]:
    """The in-force values (yes/no/unknown) whose inclusive period holds ``day`` (reekg:InForceStatement)."""
    rows = sparql(store, f"""
        SELECT ?value WHERE {{
          ?s reekg:ofMeasure <{iri('measure', measure)}> ; reekg:inForce ?v .
          OPTIONAL {{ ?s reekg:validFrom ?from }} OPTIONAL {{ ?s reekg:validUntil ?until }}
          FILTER(!BOUND(?from) || ?from <= "{day}"^^<http://www.w3.org/2001/XMLSchema#date>)
          FILTER(!BOUND(?until) || "{day}"^^<http://www.w3.org/2001/XMLSchema#date> <= ?until)
          BIND(STRAFTER(STR(?v), "/in-force/") AS ?value)
        }}""")
    return sorted(text(r["value"]) for r in rows)


@pytest.mark.parametrize("day, expected", [
    ("2025-11-06", ["no"]),        # announced 2025-10-09, not yet effective
    ("2025-11-07", ["no"]),        # No. 70 suspends it from its first day
    ("2026-11-09", ["no"]),
    ("2026-11-10", ["no"]),        # "until 2026-11-10": the suspension still holds on the day itself
    ("2026-11-11", ["unknown"]),   # no source says what happened next; unknown is never "no"
    ("2027-03-01", ["unknown"]),
])
def test_no57_in_force_statements_follow_the_announcements_words(store, day, expected):
    assert in_force_on(store, "mofcom-2025-57", day) == expected


@pytest.mark.parametrize("measure, day, expected", [
    ("mofcom-2025-70", "2026-11-10", ["yes"]), ("mofcom-2025-70", "2026-11-11", ["unknown"]),
    ("mofcom-2025-18", "2025-04-03", ["no"]), ("mofcom-2025-18", "2025-04-04", ["yes"]),
    ("mofcom-2025-18", "2026-12-01", ["yes"]),
    ("mofcom-2025-61", "2025-10-09", ["yes"]), ("mofcom-2025-61", "2025-11-07", ["no"]),
    ("mofcom-2025-72", "2026-11-27", ["yes"]), ("mofcom-2025-72", "2026-11-28", ["unknown"]),
    ("mofcom-2026-1", "2026-01-05", ["no"]), ("mofcom-2026-1", "2026-01-06", ["yes"]),
    ("mofcom-2026-11", "2026-02-24", ["yes"]),
])
def test_in_force_statements_around_each_boundary(store, measure, day, expected):
    assert in_force_on(store, measure, day) == expected


def test_every_in_force_statement_has_an_as_of_date_and_a_source(store):
    rows = sparql(store, """
        SELECT ?s ?asOf (COUNT(?source) AS ?sources) WHERE {
          ?s a reekg:InForceStatement ; prov:wasDerivedFrom ?source . OPTIONAL { ?s reekg:asOfStart ?asOf }
        } GROUP BY ?s ?asOf""")
    assert len(rows) == 33
    assert all(r["asOf"] is not None and num(r["sources"]) >= 1 for r in rows)
    # No. 18's "in force" now says as of when: USGS MCS 2026, first posted 2026-02-06
    (row,) = sparql(store, f"""SELECT ?asOf WHERE {{
        <{iri('in-force-statement', 'mofcom-2025-18-in-force')}> reekg:asOfStart ?asOf }}""")
    assert text(row["asOf"]) == "2026-02-06"


@pytest.mark.parametrize("day, answer, detail", [("2026-11-09", "no", "suspended"), ("2026-11-10", "no", "suspended"),
                                                 ("2026-11-11", "unknown", None)])
def test_controls_query_reads_until_as_inclusive(store, day, answer, detail):
    rows = [r for r in run(store, "controls", on=day) if text(r["measure"]) == iri("measure", "mofcom-2025-57")]
    assert statuses(rows) == {answer: {"Ho", "Er", "Tm", "Eu", "Yb"}}
    assert set(details(rows)) == {detail}


def test_substitutes_see_the_suspension_on_its_last_day(store):
    params = {"element": iri("element", "Dy"), "function": iri("function", "magnet")}
    row = next(r for r in run(store, "substitutes", on="2026-11-10", **params)
               if text(r["substitution"]).endswith("/ho-modified-ndfeb"))
    assert "Ho=no" in text(row["stillUses"]) and text(row["avoidsControls"]) == "yes"


def site_status(store, site_kind: str, site: str) -> list[tuple]:
    rows = sparql(store, f"""
        SELECT ?status ?asOfStart ?asOfEnd ?expected ?expectedStart ?expectedEnd ?confidence WHERE {{
          <{iri(site_kind, site)}> reekg:hasStatusObservation ?o .
          ?o reekg:reportedStatus ?s ; reekg:confidence ?confidence .
          OPTIONAL {{ ?o reekg:asOfStart ?asOfStart }} OPTIONAL {{ ?o reekg:asOfEnd ?asOfEnd }}
          OPTIONAL {{ ?o reekg:expectedStatus ?e }} OPTIONAL {{ ?o reekg:expectedStart ?expectedStart }}
          OPTIONAL {{ ?o reekg:expectedEnd ?expectedEnd }}
          BIND(STRAFTER(STR(?s), "/site-status/") AS ?status) BIND(STRAFTER(STR(?e), "/site-status/") AS ?expected)
        }} ORDER BY ?asOfStart""")
    return [tuple(text(r[k]) for k in ("status", "asOfStart", "asOfEnd", "expected", "expectedStart", "expectedEnd"))
            for r in rows]


def test_site_statuses_from_the_updates(store):
    # Eneabba: under construction as of the Sept-quarter 2025, commissioning scheduled 2027
    assert site_status(store, "facility", "eneabba-refinery") == [
        ("under-construction", "2025-07-01", "2025-09-30", "commissioning", "2027-01-01", "2027-12-31")]
    # Lynas Malaysia separates Dy/Tb commercially from mid-2025
    assert [s[0] for s in site_status(store, "facility", "lynas-malaysia")] == ["operating", "operating"]
    assert site_status(store, "facility", "lynas-malaysia")[0][1] == "2025-05-16"
    assert site_status(store, "mine", "kvanefjeld")[0][:2] == ("blocked", "2025-10-28")
    # Steenkampskraal: no production news, so not operating (and its source gives no date)
    assert site_status(store, "mine", "steenkampskraal") == [("not-producing", None, None, None, None, None)]
    # Mountain Pass separates light RE; its heavy-RE circuit is expected to commission in 2026
    assert site_status(store, "facility", "mountain-pass-processing")[0][0::3] == ("operating", "commissioning")
    assert site_status(store, "facility", "neo-narva-magnet-plant")[0][:2] == ("commissioning", "2025-09-19")
    assert site_status(store, "mine", "nolans")[0][0] == "permitting"
    assert site_status(store, "mine", "serra-verde")[0][:3] == ("operating", "2026-01-01", "2026-12-31")
    assert site_status(store, "mine", "tanbreez")[0][0] == "permitting"
    # a site no source gives a status for has none: the answer must say unknown
    assert site_status(store, "facility", "shenghe-resources-chengdu") == []
    assert site_status(store, "mine", "mrima-hill") == []


def test_shares_carry_their_basis(store):
    rows = sparql(store, """
        SELECT ?o ?share ?basis (GROUP_CONCAT(?symbol; separator=" ") AS ?elements) WHERE {
          ?o a reekg:StatisticalObservation ; reekg:shareOfWorld ?share .
          OPTIONAL { ?o reekg:shareBasis ?b } BIND(STRAFTER(STR(?b), "/share-basis/") AS ?basis)
          OPTIONAL { ?o reekg:basisElement/reekg:symbol ?symbol }
        } GROUP BY ?o ?share ?basis""")
    assert rows and all(text(r["basis"]) in {"element-specific", "all-ree-proxy"} for r in rows)
    specific = {text(r["o"]).rsplit("/", 1)[1]: (num(r["share"]), set(text(r["elements"]).split()))
                for r in rows if text(r["basis"]) == "element-specific"}
    # Benchmark via Reuters (2023): China separates 99.9% of heavy rare earths such as Dy
    assert specific["benchmark-2023-cn-heavy-separation-share"] == (Decimal("0.999"), {"Dy", "Tb"})
    assert specific["reex-2025-cn-heavy-separation-share"] == (Decimal("0.91"), {"Dy", "Tb"})
    (reex,) = sparql(store, f"""SELECT ?c WHERE {{
        <{iri('observation', 'reex-2025-cn-heavy-separation-share')}> reekg:confidence ?c }}""")
    assert text(reex["c"]) == iri("confidence", "unverified")
    assert len(specific) == 2  # every other share is an all-REE proxy


def test_misattached_observations_are_fixed(store):
    rows = sparql(store, f"""SELECT ?q WHERE {{
        <{iri('observation', 'iea-gcmo-2024-cn-2023-refining-share')}> reekg:measuredQuantity ?q }}""")
    assert [text(r["q"]) for r in rows] == [iri("quantity", "output-share")]  # "92% of refined REE output"
    # "Malaysia 5% → 12%" gives no year for the 5%: none is stored
    assert sparql(store, f"""SELECT ?y WHERE {{
        <{iri('observation', 'iea-gcmo-2024-my-refining-share')}> reekg:refYear ?y }}""") == []
    # the old IRI held a year the source does not give: it is deprecated and replaced, and says nothing else
    old = sparql(store, f"""SELECT ?p ?o WHERE {{
        <{iri('observation', 'iea-gcmo-2024-my-2023-refining-share')}> ?p ?o }}""")
    assert {(text(r["p"]), text(r["o"])) for r in old if not text(r["p"]).startswith("http://www.w3.org/ns/prov#")
            and not text(r["p"]).endswith(("#confidence", "#comment"))} == {
        ("http://purl.org/dc/terms/isReplacedBy", iri("observation", "iea-gcmo-2024-my-refining-share")),
        ("http://www.w3.org/2002/07/owl#deprecated", "true")}


def test_ndpr_is_one_combined_figure_never_split(store):
    rows = sparql(store, f"""
        SELECT ?content ?element ?min ?max WHERE {{
          <{iri('material', 'sintered-ndfeb')}> reekg:hasElementContent ?content .
          ?content reekg:element|reekg:combinedElement ?e . ?e reekg:symbol ?element .
          OPTIONAL {{ ?content reekg:massFractionMin ?min }} OPTIONAL {{ ?content reekg:massFractionMax ?max }}
          FILTER(?element IN ("Nd", "Pr"))
        }}""")
    with_figure = {(text(r["content"]).rsplit("/", 1)[1], text(r["element"])): (num(r["min"]), num(r["max"]))
                   for r in rows if r["min"] is not None}
    assert with_figure == {("sintered-ndfeb--NdPr", "Nd"): (Decimal("0.29"), Decimal("0.325")),
                           ("sintered-ndfeb--NdPr", "Pr"): (Decimal("0.29"), Decimal("0.325"))}
    # the combined row has no single reekg:element, so a per-element reading never books 29–32.5 wt% on Nd alone
    assert sparql(store, f"""SELECT ?e WHERE {{
        <{iri('element-content', 'sintered-ndfeb--NdPr')}> reekg:element ?e }}""") == []
    contents = {text(r["symbol"]): (num(r["massFractionMin"]), num(r["massFractionMax"]))
                for r in run(store, "material-contents", material=iri("material", "sintered-ndfeb"))}
    assert contents["Nd"] == (None, None) and contents["Pr"] == (None, None)


def test_joint_motor_names_its_grades_and_their_heavy_re_content(store):
    rows = sparql(store, f"""
        SELECT ?grade ?min ?max WHERE {{
          <{iri('component', 'joint-motor')}> reekg:needsGrade ?grade .
          OPTIONAL {{ ?grade reekg:hasElementContent ?c . ?c reekg:combinedElement/reekg:symbol "Dy" .
                      OPTIONAL {{ ?c reekg:massFractionMin ?min }} OPTIONAL {{ ?c reekg:massFractionMax ?max }} }}
        }}""")
    grades = {text(r["grade"]).rsplit("/", 1)[1]: (num(r["min"]), num(r["max"])) for r in rows}
    # H: ">3 wt% Dy/Tb combined" (a lower bound); SH and UH: no figure in any source, so unknown
    assert grades == {"sintered-ndfeb-h": (Decimal("0.03"), None), "sintered-ndfeb-sh": (None, None),
                      "sintered-ndfeb-uh": (None, None)}
    (temps,) = sparql(store, f"""SELECT ?lo ?hi WHERE {{ <{iri('component', 'joint-motor')}>
        reekg:operatingTemperatureMinC ?lo ; reekg:operatingTemperatureMaxC ?hi }}""")
    assert (num(temps["lo"]), num(temps["hi"])) == (100, 130)  # vendor: 100–130 °C, minimum N42SH


def test_coreless_motor_link_cites_the_broker_not_the_seed(store):
    rows = sparql(store, f"""
        SELECT ?g WHERE {{ GRAPH ?g {{ <{iri('subsystem', 'joint-actuation')}> reekg:hasComponent
                                       <{iri('component', 'coreless-motor')}> }} }}""")
    assert [text(r["g"]) for r in rows] == [NS.base + "graph/source/optimus-zt5-broker"]


def test_er_producer_and_the_ion_adsorption_clay_route(store):
    er_sites = {text(r["site"]) for r in sparql(store, """
        SELECT ?site WHERE { ?site reekg:producesElement ?e . ?e reekg:symbol "Er" }""")}
    assert er_sites == {iri("mine", "tanbreez")}  # Tanbreez's HREE suite includes Er; Lynas only "potential"
    creg = {text(r["s"]) for r in sparql(store, f"""SELECT ?s WHERE {{
        <{iri('facility', 'china-rare-earth-group-operations')}> reekg:producesElement/reekg:symbol ?s }}""")}
    assert creg == {"Dy", "Tb", "Y"}
    assert bool(store.query(PREFIXES + f"""ASK {{ <{iri('mine', 'southern-china-iac')}> reekg:feeds
        <{iri('facility', 'china-rare-earth-group-operations')}> }}""", use_default_graph_as_union=True))


def test_coordinates_say_what_the_point_marks(store):
    found = sparql(store, """
        SELECT ?site ?lat ?long ?note WHERE {
          ?site reekg:hasCoordinates ?c . ?c schema:latitude ?lat ; schema:longitude ?long ;
             reekg:coordinatePrecision ?note }""")
    rows = {text(r["site"]).rsplit("/", 1)[1]: (num(r["lat"]), num(r["long"]), text(r["note"])) for r in found}
    assert set(rows) == {"mountain-pass-mine", "mount-weld", "bayan-obo", "kvanefjeld"}
    assert rows["bayan-obo"][:2] == (Decimal("41.78278"), Decimal("109.97361"))
    assert "not the open pits" in rows["bayan-obo"][2]
    assert rows["mount-weld"][0] < 0 and rows["mountain-pass-mine"][1] < 0  # south and west are negative


def test_prices_keep_their_basis_and_date(store):
    rows = sparql(store, """
        SELECT ?p ?min ?max ?unit ?from (GROUP_CONCAT(?symbol; separator=" ") AS ?elements) WHERE {
          ?p a reekg:PriceObservation ; reekg:priceUnit ?unit ; reekg:priceOfElement/reekg:symbol ?symbol .
          OPTIONAL { ?p reekg:priceMin ?min } OPTIONAL { ?p reekg:priceMax ?max } OPTIONAL { ?p reekg:asOfStart ?from }
        } GROUP BY ?p ?min ?max ?unit ?from""")
    by_id = {text(r["p"]).rsplit("/", 1)[1]: r for r in rows}
    assert len(by_id) == 11
    argus = by_id["dy-oxide-argus-europe-2025-05-06"]
    assert (num(argus["min"]), num(argus["max"]), text(argus["unit"])) == (700, 1000, "USD/kg")
    assert set(text(by_id["ndpr-oxide-china-2026-02"]["elements"]).split()) == {"Nd", "Pr"}
