"""The web pages in a real browser (Debian's Chromium under Playwright) against a real `reekg serve` on the
curated graph: search in Chinese, the trace Sankey, the exposure bars and marks, a scenario, all with their
text alternatives; screenshots of each page go to test-artifacts/browser/."""

from __future__ import annotations

import json
import urllib.parse

import pytest


@pytest.fixture(scope="module")
def site(browser, curated_server):
    """The session's read-only curated server (tests/conftest.py), once a browser is there to drive it."""
    return curated_server


def chart_option(page, selector: str) -> dict:
    """The option of the ECharts instance drawn in ``selector``, as the chart holds it."""
    page.wait_for_selector(f"{selector}[data-drawn=true]")
    return json.loads(page.evaluate(
        """(selector) => {
             const chart = echarts.getInstanceByDom(document.querySelector(selector));
             const option = chart.getOption();
             return JSON.stringify({series: option.series.map(s => ({type: s.type, name: s.name,
                                    data: s.data, links: s.links}))});
           }""", selector))


def test_home_page_search_finds_neodymium_from_its_chinese_name(site, page, screenshot):
    page.goto(site.url + "/")
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.title().startswith("reekg")
    for target in ("/query", "/api/v1/docs", "/dumps/", "/trace", "/exposure", "/scenario"):
        assert page.locator(f'main a[href="{target}"], header a[href="{target}"]').count() >= 1, target
    screenshot(page, "home")
    page.get_by_label("Search the graph in English or Chinese").fill("釹")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/search?q=*")
    results = page.locator("#results li")
    assert results.count() >= 1
    first = results.first
    assert "neodymium" in first.inner_text() and "Nd" in first.inner_text()
    assert first.locator("a").first.get_attribute("href") == "/doc/element/Nd"
    screenshot(page, "search")
    assert not page.problems


def test_trace_of_joint_actuation_draws_a_sankey_with_mines_and_countries(site, page, screenshot):
    page.goto(site.url + "/trace/joint-actuation")
    option = chart_option(page, "#sankey")
    sankey = option["series"][0]
    assert sankey["type"] == "sankey"
    nodes = {node["name"]: node for node in sankey["data"]}
    mines = [n for n in nodes if n.startswith("mine:")]
    countries = [n for n in nodes if n.startswith("country:")]
    assert mines and countries and "country:CN" in countries
    assert any(link["source"].startswith("country:") and link["target"].startswith("mine:")
               for link in sankey["links"])
    assert "subsystem:joint-actuation" in nodes
    # every link leads to its source's page; the SVG draws the node labels as text
    assert all(link["href"].startswith("/doc/source/") for link in sankey["links"])
    svg_text = page.locator("#sankey svg text").all_text_contents()
    assert "China" in svg_text and "joint actuation" in svg_text
    assert any(label.startswith("Bayan Obo") for label in svg_text)
    # the text alternative: the links table and the paths table, both plain HTML
    assert page.locator("table.links tbody tr").count() == len(sankey["links"])
    assert page.locator("table.paths tbody tr").count() > 100
    sparql = page.locator("footer a", has_text="run trace.rq").get_attribute("href")
    assert sparql.startswith("/sparql?query=") and "reekg%3AhasComponent" in sparql
    screenshot(page, "trace")
    screenshot(page.locator("#sankey"), "trace-sankey")
    assert not page.problems


def text_boxes(page, selector: str) -> list[dict]:
    """The drawn SVG text elements under ``selector``: their text and bounding box on the page."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector + ' svg text')]
             .filter(t => t.textContent.trim() && t.getBBox().width > 0)
             .map(t => { const r = t.getBoundingClientRect();
                         return {text: t.textContent, x: r.x, y: r.y, w: r.width, h: r.height}; })""", selector)


def overlapping(boxes: list[dict], slack: float = 1.0) -> list[tuple[str, str]]:
    return [(a["text"], b["text"]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a["x"] + slack < b["x"] + b["w"] and b["x"] + slack < a["x"] + a["w"]
            and a["y"] + slack < b["y"] + b["h"] and b["y"] + slack < a["y"] + a["h"]]


@pytest.mark.parametrize("query", ["", "?element=Dy", "?robot=tesla-optimus"])
def test_the_sankey_has_column_headers_and_no_overlapping_labels(site, page, screenshot, query):
    page.goto(site.url + "/trace/joint-actuation" + query)
    option = chart_option(page, "#sankey")
    nodes = option["series"][0]["data"]
    boxes = text_boxes(page, "#sankey")
    texts = [b["text"] for b in boxes]
    # one header per column, left to right, above every node
    headers = [b for b in boxes if b["text"] in ("country", "mine", "element", "component", "subsystem")]
    assert [h["text"] for h in sorted(headers, key=lambda h: h["x"])] == [
        "country", "mine", "element", "component", "subsystem"]
    assert any(t.startswith("separation") for t in texts) and "magnet maker" in texts
    top_of_nodes = min(b["y"] for b in boxes if b["text"] not in {h["text"] for h in headers}
                       and not b["text"].startswith(("separation", "processing", "magnet maker")))
    assert max(h["y"] + h["h"] for h in headers) <= top_of_nodes
    # labels never overlap one another; a long one is cut ("…") and keeps its full text in the tooltip
    assert overlapping(boxes) == []
    assert any(t.endswith("…") for t in texts)
    assert all(n["label"] for n in nodes)
    page.locator("#sankey").scroll_into_view_if_needed()
    if not query:
        screenshot(page.locator("#sankey"), "trace-sankey-headers")
    assert not page.problems


def download_links(page) -> dict[str, str]:
    found = {}
    for link in page.locator("nav.downloads a").all():
        found.setdefault(link.get_attribute("data-format") or "permalink", []).append(link.get_attribute("href"))
    return found


@pytest.mark.parametrize(("url", "rows"), [
    ("/trace/joint-actuation?element=Dy&on=2025-06-01", "table.paths tbody tr"),
    ("/exposure/tesla-optimus?units=5000&on=2025-06-01", "table.elements tbody tr"),
    ("/scenario?restrict=CN:Dy,Tb:separation&on=2025-06-01", "table.scenario-summary tbody tr"),
])
def test_each_page_downloads_what_it_shows_and_its_permalink_reproduces_it(site, page, url, rows):
    page.goto(site.url + url)
    links = download_links(page)
    assert set(links) == {"permalink", "csv", "json", "rq"}
    table = page.request.get(site.url + links["csv"][0])
    assert table.ok and table.headers["content-type"].startswith("text/csv")
    assert len(table.text().strip().splitlines()) - 1 == page.locator(rows).count()
    answer = page.request.get(site.url + links["json"][0])
    assert answer.ok and answer.json()["ok"] is True
    for href in links["rq"]:
        query = page.request.get(site.url + href)
        assert query.ok and query.headers["content-type"].startswith("application/sparql-query")
        assert query.text() == answer.json()["sparql"][href.rsplit("/", 1)[-1][:-3]]
    shown = page.locator("main").inner_text()
    page.get_by_role("link", name="Permalink").click()
    page.wait_for_load_state()
    assert urllib.parse.urlparse(page.url).path + "?" + urllib.parse.urlparse(page.url).query == links["permalink"][0]
    assert page.locator("main").inner_text() == shown
    assert not page.problems


def test_a_sankey_link_click_opens_its_source(site, page):
    page.goto(site.url + "/trace/joint-actuation?element=Dy")
    option = chart_option(page, "#sankey")
    href = option["series"][0]["links"][0]["href"]
    # the click handler follows only same-origin paths; dispatch a click on the first link's path
    page.evaluate("""() => {
        const chart = echarts.getInstanceByDom(document.querySelector('#sankey'));
        const link = chart.getOption().series[0].links[0];
        chart.trigger('click', {dataType: 'edge', data: link});
    }""")
    page.wait_for_url(f"**{href}")
    assert urllib.parse.urlparse(page.url).path == href


def test_exposure_of_optimus_marks_dysprosium_and_terbium_as_controlled(site, page, screenshot):
    page.goto(site.url + "/exposure/tesla-optimus?units=5000&on=2025-06-01")
    assert page.get_by_role("link", name="Download CSV").get_attribute("href") == (
        "/api/v1/exposure.csv?robot=tesla-optimus&units=5000&on=2025-06-01")
    for symbol in ("Dy", "Tb"):
        badge = page.locator(f'tr[data-element="{symbol}"] .badge.controlled')
        assert badge.inner_text() == "controlled"
    assert page.locator('tr[data-element="Nd"] .badge.controlled').count() == 0
    option = chart_option(page, "#exposure-bars")
    names = [s["name"] for s in option["series"]]
    assert "CN" in names and all(s["type"] == "bar" for s in option["series"])
    axis = page.locator("#exposure-bars svg text").all_text_contents()
    assert "Dy · mining (controlled)" in axis and "Nd · mining" in axis
    # the fleet size is an input: a new size gives new fleet masses
    magnet = page.locator("table.magnet")
    assert "17,000.0" in magnet.inner_text()
    page.get_by_label("Fleet size (robots)").fill("10000")
    page.get_by_role("button", name="Update").click()
    page.wait_for_url("**units=10000**")
    assert "34,000.0" in page.locator("table.magnet").inner_text()
    screenshot(page, "exposure")
    screenshot(page.locator("#exposure-bars"), "exposure-bars")
    assert not page.problems


def test_scenario_cutting_chinese_dy_tb_separation_marks_joint_actuation(site, page, screenshot):
    page.goto(site.url + "/scenario")
    page.locator('input[name="country"][value="CN"]').check()
    page.locator('input[name="element"][value="Dy"]').check()
    page.locator('input[name="element"][value="Tb"]').check()
    page.locator('input[name="stage"][value="separation"]').check()
    page.get_by_role("button", name="Run the scenario").click()
    # the form lands on the view's permalink, written as the CLI's --restrict
    page.wait_for_url("**/scenario?restrict=CN:Dy,Tb:separation*")
    # the summary comes first: status, what is cut, what remains with its share and basis
    summary = page.locator("table.scenario-summary").first
    row = summary.locator('tr[data-subsystem="joint-actuation"]')
    assert row.locator(".status").inner_text() == "essentially-cut"  # China separates 99.9% of heavy REs
    text = row.inner_text()
    assert "Dy at separation in China" in text and "0.1\u00a0% left (element-specific)" in text
    assert row.locator("th a").inner_text() == "joint actuation"
    robot = page.locator('table.scenario-summary tr[data-robot="tesla-optimus"] th a')
    assert robot.inner_text().startswith("Tesla Optimus")
    assert page.locator('tr[data-subsystem="vision"] .status').inner_text() == "unaffected"
    # the long text is below, folded: details opens on demand
    details = page.locator("details.scenario-details")
    assert details.evaluate("(d) => d.open") is False
    box = summary.bounding_box()
    assert box["y"] < details.bounding_box()["y"]
    screenshot(page.locator("main"), "scenario-summary")
    details.locator("summary").click()
    assert page.locator("h4", has_text="For dysprosium").is_visible()
    screenshot(page, "scenario")
    assert not page.problems


def test_a_scenario_permalink_with_rules_per_country(site, page, screenshot):
    page.goto(site.url + "/scenario?restrict=CN:Dy:separation&restrict=MM:Tb:mining&on=2025-06-01")
    assert page.locator("#restrict").input_value() == "CN:Dy:separation MM:Tb:mining"
    result = page.locator("#result-heading + p").inner_text()
    assert "China: dysprosium at separation" in result and "Myanmar (Burma): terbium at mining" in result
    page.locator("#restrict").fill("CN:Nd,Pr:magnet-making")
    page.get_by_role("button", name="Run the scenario").click()
    page.wait_for_url(lambda url: urllib.parse.parse_qs(urllib.parse.urlparse(url).query).get("restrict")
                      == ["CN:Nd,Pr:magnet-making"])
    assert "neodymium, praseodymium at magnet making" in page.locator("#result-heading + p").inner_text()
    screenshot(page, "scenario-restrict")
    assert not page.problems


def test_robots_and_other_ids_show_by_label(site, page, screenshot):
    page.goto(site.url + "/exposure/tesla-optimus?units=5000&on=2025-06-01")
    assert page.locator("h1").inner_text().startswith("Exposure: Tesla Optimus")
    assert page.locator("h1 a").get_attribute("href") == "/doc/robot/tesla-optimus"
    shares = page.locator("table.shares").inner_text()
    assert "China 69.2\u00a0%" in shares or "China 69.2 %" in shares
    page.goto(site.url + "/trace/joint-actuation?robot=tesla-optimus&on=2025-06-01")
    intro = page.locator("main > p").first.inner_text()
    assert "as used by Tesla Optimus" in intro and "China" in intro
    links = page.locator("table.links").inner_text()
    assert "(share)" not in links and "\u00a0% (of world output)" in links
    screenshot(page, "trace-labels")
    assert not page.problems


def test_pages_work_without_javascript(site, browser):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(site.url + "/trace/joint-actuation")
        assert page.locator("#sankey .nojs").is_visible()
        assert page.locator("table.links tbody tr").count() > 10
        page.goto(site.url + "/exposure/tesla-optimus?units=5000&on=2025-06-01")
        assert page.locator('tr[data-element="Dy"] .badge.controlled').inner_text() == "controlled"
        # without JavaScript the downloads are plain links and the scenario form still lands on its permalink
        assert page.locator("nav.downloads a.download").count() >= 3
        page.goto(site.url + "/scenario?country=CN&element=Dy&stage=separation")
        assert "restrict=CN:Dy:separation" in page.url
        assert page.locator("table.scenario-summary tr[data-subsystem]").count() > 0
    finally:
        context.close()


def test_unknown_ids_answer_a_page_with_the_closest(site, page):
    response = page.goto(site.url + "/trace/joint-actuatio")
    assert response.status == 404
    assert page.get_by_role("link", name="joint actuation").get_attribute("href") == "/trace/joint-actuation"
    response = page.goto(site.url + "/exposure/tesla-optimus?units=lots")
    assert response.status == 400 and "units" in page.locator("main").inner_text()


def test_pages_are_keyboard_reachable_and_labelled(site, page):
    page.goto(site.url + "/scenario")
    assert page.locator("main h1").count() == 1
    for box in page.locator("input").all():
        box_id = box.get_attribute("id")
        labelled = box.evaluate("(el) => el.labels.length") > 0
        assert labelled, box_id
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none"
