"""The analyst pages as an analyst cites them (issue 14, item 3), in process: each page's downloads answer the
same rows it shows (CSV, JSON, the SPARQL files), its permalink carries every parameter and reproduces it, shares
read as percentages, and our ids show by their English labels."""

from __future__ import annotations

import csv
import html
import io
import re

import pytest

from reekg.server.pages import percent, restrict_text, restrictions_of

PAGES = ["/trace/joint-actuation?robot=tesla-optimus&on=2025-06-01",
         "/exposure/tesla-optimus?units=5000&on=2025-06-01",
         "/scenario?restrict=CN:Dy,Tb:separation&on=2025-06-01"]


def links(body: str, cls: str) -> dict[str, str]:
    """The ``a.{cls}`` links of the downloads bar, by data-format (or "permalink")."""
    found = {}
    for tag in re.findall(rf'<a class="{cls}"[^>]*>', body):
        href = html.unescape(re.search(r'href="([^"]*)"', tag).group(1))
        fmt = re.search(r'data-format="([^"]*)"', tag)
        found.setdefault(fmt.group(1) if fmt else cls, []).append(href)
    return found


def page_of(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


@pytest.mark.parametrize("url", PAGES)
def test_every_analyst_page_downloads_csv_json_and_its_sparql(client, url):
    body = page_of(client, url)
    downloads = links(body, "download")
    assert set(downloads) == {"csv", "json", "rq"}
    table = client.get(downloads["csv"][0])
    assert table.status_code == 200 and table.mimetype == "text/csv"
    data = client.get(downloads["json"][0])
    assert data.status_code == 200 and data.mimetype == "application/json" and data.get_json()["ok"] is True
    # the JSON is the answer the page drew: the same SPARQL, each one downloadable as its .rq file
    sparql = data.get_json()["sparql"]
    assert sorted(h.rsplit("/", 1)[-1] for h in downloads["rq"]) == sorted(f"{n}.rq" for n in sparql)
    for href in downloads["rq"]:
        query = client.get(href)
        name = href.rsplit("/", 1)[-1][:-3]
        assert query.status_code == 200 and query.mimetype == "application/sparql-query"
        assert f'filename="{name}.rq"' in query.headers["Content-Disposition"]
        assert query.get_data(as_text=True) == sparql[name]


def test_the_trace_csv_holds_the_paths_the_page_lists(client):
    body = page_of(client, PAGES[0])
    rows = list(csv.DictReader(io.StringIO(client.get(links(body, "download")["csv"][0]).get_data(as_text=True))))
    shown = re.findall(r'<tr data-element="([^"]+)" data-site="([^"]+)">', body)
    assert len(rows) == len(shown) > 50
    assert sorted((r["element"], r["site"]) for r in rows) == sorted(shown)


def test_the_exposure_csv_holds_the_elements_the_page_lists(client):
    body = page_of(client, PAGES[1])
    rows = list(csv.DictReader(io.StringIO(client.get(links(body, "download")["csv"][0]).get_data(as_text=True))))
    shown = re.findall(r'<tr data-element="([^"]+)" data-controlled="([^"]+)"', body)
    assert [(r["symbol"], r["controlStatus"]) for r in rows] == shown
    assert ("Dy", "yes") in shown


def test_the_scenario_csv_holds_the_summary_rows(client):
    body = page_of(client, PAGES[2])
    rows = list(csv.DictReader(io.StringIO(client.get(links(body, "download")["csv"][0]).get_data(as_text=True))))
    shown = re.findall(r'<tr data-(subsystem|robot)="([^"]+)" data-status="([^"]+)">', body)
    assert [(r["kind"], r["id"], r["status"]) for r in rows] == shown
    assert ("subsystem", "joint-actuation", "essentially-cut") in shown


@pytest.mark.parametrize("url", PAGES)
def test_the_permalink_carries_every_parameter_and_reproduces_the_page(client, url):
    body = page_of(client, url)
    (permalink,) = links(body, "permalink")["permalink"]
    assert "on=2025-06-01" in permalink
    assert links(page_of(client, permalink), "permalink")["permalink"] == [permalink]
    strip = re.compile(r'<nav class="downloads".*?</nav>', re.S)
    assert strip.sub("", page_of(client, permalink)) == strip.sub("", body)


def test_a_page_without_a_date_links_the_day_it_was_judged_on(client):
    body = page_of(client, "/exposure/tesla-optimus")
    (permalink,) = links(body, "permalink")["permalink"]
    assert re.search(r"units=1000&on=\d{4}-\d\d-\d\d$", permalink)


def test_the_scenario_form_redirects_to_its_restrict_permalink(client):
    response = client.get("/scenario?country=CN&element=Dy&element=Tb&stage=separation&on=2025-06-01")
    assert response.status_code == 303
    assert response.headers["Location"] == "/scenario?restrict=CN:Dy,Tb:separation&on=2025-06-01"
    every = client.get("/scenario?country=CN&country=MM&on=")
    assert every.headers["Location"] == "/scenario?restrict=CN&restrict=MM"


def test_scenario_rules_read_as_the_cli_writes_them():
    assert restrictions_of(["CN:Dy,Tb:separation MM::mining", "US"]) == [
        {"country": "CN", "elements": ["Dy", "Tb"], "stages": ["separation"]},
        {"country": "MM", "elements": [], "stages": ["mining"]},
        {"country": "US", "elements": [], "stages": ["mining", "separation", "magnet-making"]}]
    every_stage = ["mining", "separation", "magnet-making"]
    assert restrict_text({"country": "CN", "elements": None, "stages": every_stage}) == "CN"


@pytest.mark.parametrize("value", ["CN:Dy:separation:extra", ":Dy", "CN:Dy:nowhere", "ZZ:Dy", "CN:Xx"])
def test_a_bad_restriction_is_a_page_naming_it(client, value):
    response = client.get("/scenario", query_string={"restrict": value})
    assert response.status_code in (400, 404)
    assert response.mimetype == "text/html" and "<h1>" in response.get_data(as_text=True)


def test_per_country_rules_keep_their_own_elements(client):
    body = page_of(client, "/scenario?restrict=CN:Dy:separation&restrict=MM:Tb:mining&on=2025-06-01")
    assert 'value="CN:Dy:separation MM:Tb:mining"' in body  # the text box, not checkboxes that would merge them
    answer = client.get(links(body, "download")["json"][0]).get_json()
    assert answer["restrictions"] == [{"country": "CN", "elements": ["Dy"], "stages": ["separation"]},
                                      {"country": "MM", "elements": ["Tb"], "stages": ["mining"]}]


def test_shares_read_as_percentages_with_the_exact_value_in_the_title(client):
    assert [percent(v) for v in (0.692, 0.0018, 0.001, 0.00001, 0, 1, None)] == [
        "69.2\u00a0%", "0.18\u00a0%", "0.1\u00a0%", "< 0.01\u00a0%", "0\u00a0%", "100\u00a0%", "unknown"]
    for url in [*PAGES, "/coverage?on=2025-06-01"]:
        body = page_of(client, url)
        assert "(share)" not in body and not re.search(r"share 0\.\d", body), url
        assert re.search(r'<span class="share" title="0\.\d+">[\d.]+\u00a0%</span>', body), url
    trace = page_of(client, PAGES[0])
    assert '<span class="share" title="0.692">69.2\u00a0%</span>' in trace  # China's share of mining


def test_ids_show_by_their_english_labels(client):
    exposure = page_of(client, PAGES[1])
    assert re.search(r'<h1>Exposure: <a href="/doc/robot/tesla-optimus"[^>]*>Tesla Optimus', exposure)
    trace = page_of(client, PAGES[0])
    assert re.search(r'as used by\s+<a href="/doc/robot/tesla-optimus"[^>]*>Tesla Optimus', trace)
    assert re.search(r'<a href="/doc/country/CN"[^>]*>China</a>', trace)
    scenario = page_of(client, PAGES[2])
    row = re.search(r'<tr data-robot="tesla-optimus".*?</tr>', scenario, re.S).group(0)
    assert re.search(r">Tesla Optimus[^<]*</a>", row) and ">tesla-optimus<" not in row
    assert "in China" in row


def test_unknown_is_shown_as_unknown_never_as_a_number(client):
    body = page_of(client, "/scenario?restrict=CN::separation&on=2025-06-01")
    # every impact either names its share or says it is unknown
    for cell in re.findall(r'<span class="remains">(.*?)</span>\s*(?:<br>|</td>)', body, re.S):
        assert "\u00a0%" in cell or "unknown" in cell, cell


def test_an_unknown_saved_query_is_a_404(client):
    assert client.get("/queries/no-such-query.rq").status_code == 404
