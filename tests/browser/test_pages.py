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
    sparql = page.locator("footer a", has_text="trace.rq").get_attribute("href")
    assert sparql.startswith("/sparql?query=") and "reekg%3AhasComponent" in sparql
    screenshot(page, "trace")
    screenshot(page.locator("#sankey"), "trace-sankey")
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
    page.wait_for_url("**/scenario?*country=CN*")
    row = page.locator('tr[data-subsystem="joint-actuation"]')
    status = row.locator(".status").inner_text()
    assert status == "essentially-cut"  # China separates 99.9% of heavy rare earths (element-specific share)
    assert "Dy at separation in CN" in row.inner_text() and "element-specific" in row.inner_text()
    assert page.locator('tr[data-subsystem="vision"] .status').inner_text() == "unaffected"
    assert page.locator("h4", has_text="Dy").count() == 1
    screenshot(page, "scenario")
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
