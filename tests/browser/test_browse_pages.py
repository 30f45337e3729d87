"""The entity browser, the map of sites and the error pages in a real browser (Debian's Chromium under
Playwright) against a real `reekg serve` on the curated graph (issue 14); screenshots go to test-artifacts/browser/.

The CJK test proves the Chinese labels are drawn as glyphs, not boxes: without a CJK font (scripts/test installs
Debian's fonts-noto-cjk) two different Chinese characters both render as the same missing-glyph box."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def site(browser, curated_server):
    """The session's read-only curated server (tests/conftest.py), once a browser is there to drive it."""
    return curated_server


def same_origin_only(page, origin: str) -> list[str]:
    """Every URL the page asks for that is not on ``origin`` (collected while the test runs)."""
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith((origin, "data:")) else None)
    return foreign


def test_index_page_lists_elements_with_chinese_labels_and_pages(site, page, screenshot):
    foreign = same_origin_only(page, site.url)
    page.goto(site.url + "/doc/element/")
    assert page.title().startswith("element")
    row = page.locator("table.entities tbody tr", has=page.locator('a[href="/doc/element/Nd"]'))
    assert "neodymium" in row.inner_text() and "釹" in row.inner_text() and "钕" in row.inner_text()
    assert page.locator('link[rel="icon"]').get_attribute("type") == "image/svg+xml"
    screenshot(page, "browse-elements")
    page.goto(site.url + "/doc/source/")
    assert page.locator("table.entities tbody tr").count() == 50
    page.locator('nav.pager a[rel="next"]').click()
    page.wait_for_url("**/doc/source/?page=2")
    assert page.locator("nav.pager").inner_text().startswith("first")
    assert not foreign and not page.problems


def test_facets_filter_without_javascript(site, browser, screenshot):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        page.goto(site.url + "/doc/facility/")
        page.select_option('select[name="country"]', "US")
        page.select_option('select[name="stage"]', "magnet-making")
        page.get_by_role("button", name="Show").click()
        page.wait_for_url("**/doc/facility/?*country=US*")
        rows = page.locator("table.entities tbody tr")
        assert rows.count() >= 1
        for text in rows.all_inner_texts():
            assert "United States" in text and "magnet making" in text.replace("-", " ")
        csv_link = page.locator("a", has_text="CSV").first.get_attribute("href")
        assert csv_link.startswith("/doc/facility/index.csv?") and "country=US" in csv_link
        screenshot(page, "browse-facilities-filtered")
    finally:
        context.close()


@pytest.mark.parametrize("typed, label, target", [("dys", "dysprosium", "/doc/element/Dy"),
                                                   ("釹", "neodymium", "/doc/element/Nd")])
def test_suggestions_as_one_types_open_the_entity(site, page, screenshot, typed, label, target):
    page.goto(site.url + "/doc/")
    box = page.locator("input#q")
    assert box.get_attribute("role") == "combobox"  # the script enhanced the plain search box
    box.press_sequentially(typed, delay=40)
    first = page.locator("ul.suggestions li").first
    first.wait_for()
    assert first.inner_text().startswith(label)
    assert page.locator("ul.suggestions li").count() <= 10
    if typed == "dys":
        screenshot(page, "browse-suggest")
    box.press("ArrowDown")
    box.press("Enter")
    page.wait_for_url("**" + target)
    assert not page.problems


def test_the_search_form_still_submits_without_a_suggestion(site, page):
    page.goto(site.url + "/doc/")
    page.locator("input#q").fill("neodymium")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/search?q=neodymium")


def test_map_draws_the_sourced_sites_on_the_vendored_outline(site, page, screenshot):
    foreign = same_origin_only(page, site.url)
    page.goto(site.url + "/map")
    page.wait_for_selector("#site-map.drawn")
    points = int(page.locator("#site-map").get_attribute("data-points"))
    assert points >= 4 and page.locator("table.sites tbody tr").count() == points
    drawn = page.evaluate("""() => {
        const chart = echarts.getInstanceByDom(document.getElementById('site-map'));
        const option = chart.getOption();
        return {map: option.geo[0].map, names: option.series.flatMap(s => s.data.map(d => d.name)),
                colours: option.series.flatMap(s => s.data.map(d => d.itemStyle.color))};
    }""")
    assert drawn["map"] == "world"
    assert {"Mountain Pass", "Mount Weld", "Bayan Obo", "Kvanefjeld"} <= {n.split(" (")[0] for n in drawn["names"]}
    assert page.locator("#site-map svg path").count() > 150  # the countries of the outline
    svg_text = page.locator("#site-map svg text").all_text_contents()
    assert "Mount Weld" in svg_text
    unplaced = page.locator("aside.unplaced li")
    assert unplaced.count() > 10
    assert "no source gives this site's position" in unplaced.first.inner_text()
    screenshot(page, "map")
    assert not foreign and not page.problems


def test_map_table_works_without_javascript(site, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto(site.url + "/map")
        assert page.locator("#site-map .nojs").is_visible()
        row = page.locator("table.sites tbody tr", has_text="Kvanefjeld")
        assert "licence-area" in row.inner_text() and "-46" in row.inner_text()
    finally:
        context.close()


def test_a_browser_gets_an_html_error_page(site, page, screenshot):
    response = page.goto(site.url + "/doc/no-such-kind/")
    assert response.status == 404 and response.headers["content-type"].startswith("text/html")
    assert page.locator("h1").inner_text().startswith("Not found")
    assert "no kind of entity" in page.locator("main").inner_text()
    assert page.locator('header nav a[href="/doc/"]').count() == 1
    screenshot(page, "error-404")
    response = page.goto(site.url + "/doc/facility/?country=ZZ")
    assert response.status == 400 and "country" in page.locator("main").inner_text()
    screenshot(page, "error-400")


# A character no font has a glyph for (a noncharacter): drawn as the missing-glyph box.
NO_GLYPH = "\U0010fffd"


def test_chinese_glyphs_really_render(site, page, screenshot):
    """Draw 釹, 鏑 and a codepoint with no glyph into a canvas with the page's own font stack: with a CJK font the
    three differ; without one, all three are the same box. Then the same for the page's table cells."""
    page.goto(site.url + "/doc/element/")
    pixels = page.evaluate("""(chars) => {
        const font = getComputedStyle(document.body).fontFamily;
        return chars.map((c) => {
            const canvas = document.createElement('canvas');
            canvas.width = 64; canvas.height = 64;
            const ctx = canvas.getContext('2d');
            ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, 64, 64);
            ctx.fillStyle = '#000'; ctx.font = '48px ' + font; ctx.textBaseline = 'top';
            ctx.fillText(c, 4, 4);
            const data = ctx.getImageData(0, 0, 64, 64).data;
            let dark = 0; const bits = [];
            for (let i = 0; i < data.length; i += 4) { const on = data[i] < 128; dark += on; bits.push(on ? 1 : 0); }
            return {dark, bits: bits.join('')};
        });
    }""", ["釹", "鏑", NO_GLYPH])
    nd, dy, missing = pixels
    assert nd["dark"] > 50 and dy["dark"] > 50, "nothing was drawn"
    assert nd["bits"] != missing["bits"], "釹 is drawn as the missing-glyph box: no CJK font"
    assert nd["bits"] != dy["bits"], "釹 and 鏑 are drawn alike: both are boxes, no CJK font"
    cell = page.locator("table.entities tbody tr", has=page.locator('a[href="/doc/element/Nd"]')).locator(
        'td[lang="zh-Hant"]')
    assert cell.inner_text() == "釹"
    screenshot(cell, "cjk-glyph-nd")


def test_the_changes_page_says_when_there_is_nothing_to_compare(site, page, screenshot):
    # the session's server was never released: the page must say so, not show an empty "no change"
    page.goto(site.url + "/changes")
    status = page.get_by_role("status")
    assert "Nothing to compare with" in status.inner_text() and "not \"no change\"" in status.inner_text()
    assert page.locator('nav[aria-label="Site"] a[href="/changes"]').count() == 1
    screenshot(page, "changes-nothing-to-compare")
    assert not page.problems
