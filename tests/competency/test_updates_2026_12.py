"""Issue 11: the data an analyst's answer must read, from the December 2026 updates (in-force statements of the
controls, site statuses, shares and their basis, the fixed observations, grades, coordinates, prices)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from competency_kit import NS, details, iri, num, run, statuses, text

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
