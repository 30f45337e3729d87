"""Every HTML page the server offers, in a real browser (Debian's Chromium under Playwright) against a real
`reekg serve` on the curated graph, each with a screenshot in test-artifacts/browser/ (issue 14, "Done when"):
the index of every kind and the page of one entity of each kind (both read from the graph), the pick pages,
coverage, the dataset description, the dumps and a release, the ontology pages, named graphs, the query page at
/sparql, the error pages, and /changes and a robot's changes against a real earlier release.

test_page_coverage.py checks that no GET route answering HTML is left without a screenshot test."""

from __future__ import annotations

import re
import shutil
import urllib.parse

import pytest
from serverkit import running_server

from reekg import settings as settings_registry
from reekg.loaders.releases import export_current
from reekg.loaders.transact import apply_update

ID = "https://w3id.org/reekg/id/"
COMMENT = "a statement added after the release"
# One new statement on Optimus after the first release: /changes then has something to show.
UPDATE = (f"INSERT DATA {{ <{ID}robot/tesla-optimus> <http://www.w3.org/2000/01/rdf-schema#comment> "
          f'"{COMMENT}"@en }}')


@pytest.fixture(scope="module")
def site(browser, curated_server):
    """The session's read-only curated server (tests/conftest.py), once a browser is there to drive it."""
    return curated_server


@pytest.fixture(scope="module")
def released_site(browser, curated_home, tmp_path_factory):
    """A copy of the curated home released, changed by one validated write and released again, served: the
    changes pages compare with the first release and the second release's page lists its changelog."""
    work = tmp_path_factory.mktemp("released")
    home = work / "home"
    shutil.copytree(curated_home, home, symlinks=True)
    first = export_current(home)
    apply_update(settings_registry.load({"home": str(home)}, environ={}), UPDATE)
    second = export_current(home)
    with running_server(home, work / "serve.log", query_workers=1) as srv:
        yield srv, first, second


def heading(page) -> str:
    return page.locator("h1").first.inner_text()  # the query page's is in its header, the others' in main


def zh_cells(page) -> list[str]:
    return [t for t in page.locator('main [lang="zh-Hant"]').all_inner_texts() if t.strip()]


def kinds_of(site, page) -> dict[str, int]:
    """The kinds the /doc/ page lists, with their counts (the graph's kinds, never a list in the test)."""
    page.goto(site.url + "/doc/")
    found = {}
    for row in page.locator("main table tbody tr").all():
        href = row.locator("a").first.get_attribute("href")
        match = re.fullmatch(r"/doc/([^/]+)/", href or "")
        if match:
            found[match.group(1)] = int(re.search(r"\b(\d+)\b", row.locator("td").first.inner_text()).group(1))
    return found


def test_the_kinds_page_lists_every_kind_with_its_count(site, page, screenshot):
    kinds = kinds_of(site, page)
    assert heading(page) == "Browse the graph"
    assert {"element", "country", "mine", "facility", "company", "robot", "subsystem", "material",
            "component", "function", "source"} <= set(kinds)
    total = int(re.search(r"(\d+) entities of (\d+) kinds", page.locator("main").inner_text()).group(1))
    assert total == sum(kinds.values())
    screenshot(page, "browse-kinds")
    assert not page.problems


def _check_index(page, kind: str, count: int, first: dict) -> list[str]:
    """What is wrong with the index page of ``kind`` (empty when nothing is)."""
    wrong = []
    if not heading(page).startswith(kind) or f"{count} entit" not in heading(page):
        wrong.append(f"{kind}: heading {heading(page)!r}")
    rows = page.locator("table.entities tbody tr").count()
    if rows != min(count, 50):
        wrong.append(f"{kind}: {rows} rows for {count} entities")
    if first.get("labelZhHant") and first["labelZhHant"] not in zh_cells(page):
        wrong.append(f"{kind}: the Chinese label {first['labelZhHant']!r} is not shown")
    return wrong


def _check_entity(page, kind: str, first: dict) -> list[str]:
    """What is wrong with the page of the entity ``first`` (an item of the index's JSON)."""
    wrong = []
    title = first.get("label") or first["id"]
    if heading(page) != title:
        wrong.append(f"{kind}/{first['id']}: heading {heading(page)!r}, not {title!r}")
    if page.locator("p.iri-line code").inner_text() != first["iri"]:
        wrong.append(f"{kind}/{first['id']}: the IRI line does not name {first['iri']}")
    if page.locator("#props").count() != 1 or page.locator("main table tbody tr").count() < 1:
        wrong.append(f"{kind}/{first['id']}: no statements")
    chinese = page.locator('dl.names dd[lang="zh-Hant"]').inner_text()
    if first.get("labelZhHant") and first["labelZhHant"] not in chinese:
        wrong.append(f"{kind}/{first['id']}: the Chinese label {first['labelZhHant']!r} is not shown")
    return wrong


def test_every_kind_has_an_index_page_and_each_kind_an_entity_page(site, page, screenshot):
    """For each kind the graph holds: its index (heading, rows, Chinese labels) and the page of its first
    entity (heading, IRI, statements, Chinese label). Every page is screenshotted before anything is judged."""
    kinds = kinds_of(site, page)
    assert len(kinds) >= 30
    wrong: list[str] = []
    for kind, count in kinds.items():
        listing = page.request.get(f"{site.url}/doc/{urllib.parse.quote(kind)}/index.json").json()
        first = listing["items"][0]
        response = page.goto(f"{site.url}/doc/{kind}/")
        assert response.status == 200, kind
        screenshot(page, f"index-{kind}")
        wrong += _check_index(page, kind, count, first)
        response = page.goto(site.url + first["doc"])
        assert response.status == 200, first["doc"]
        screenshot(page, f"entity-{kind}")
        wrong += _check_entity(page, kind, first)
    assert wrong == []
    assert not page.problems


# (screenshot, path, heading it starts with, texts the page must show)
PAGES = [
    ("trace-pick", "/trace", "Trace a subsystem", ["joint actuation", "關節驅動"]),
    ("exposure-pick", "/exposure", "Exposure of a robot fleet", ["Tesla Optimus"]),
    ("coverage", "/coverage", "Coverage: what the graph knows", ["An empty cell is a gap"]),
    ("catalog", "/catalog", "Dataset description", ["The VoID and DCAT description of release"]),
    ("well-known-void", "/.well-known/void", "Dataset description", ["The same description as data"]),
    ("dumps", "/dumps/", "Dumps", ["SHA256SUMS", "(current)"]),
    ("ontology", "/ontology", "Rare-Earth Element Knowledge Graph ontology", ["稀土元素知識圖譜本體", "Diagram"]),
    ("graph-inferred", "/graph/inferred", "Inferred triples", ["OWL 2 RL", "The first 100 of"]),
    ("graph-source", "/graph/source/bayan-obo-nsenergy", "Source graph bayan-obo-nsenergy", ["NS Energy"]),
    ("sparql-page", "/sparql", "Query the Rare-Earth Element Knowledge Graph", []),
]


@pytest.mark.parametrize(("name", "path", "title", "texts"), PAGES, ids=[p[0] for p in PAGES])
def test_each_other_page_shows_its_heading_and_its_labels(site, page, screenshot, name, path, title, texts):
    response = page.goto(site.url + path)
    assert response.status == 200 and response.headers["content-type"].startswith("text/html")
    assert heading(page).startswith(title)
    shown = page.locator("main").inner_text()
    for text in texts:
        assert text in shown, text
    assert page.locator('nav[aria-label="Site"]').count() == 1
    screenshot(page, name)
    assert not page.problems


def test_the_query_page_answers_a_browser_at_sparql(site, page):
    page.goto(site.url + "/sparql")
    page.wait_for_function("window.reekgYasgui && window.reekgYasgui.getTab()")
    assert page.locator('nav[aria-label="Site"] a[href="/query"]').count() == 1
    assert not page.problems


def test_the_versioned_ontology_page_is_the_current_ontology(site, page, screenshot):
    turtle = page.request.get(site.url + "/ontology.ttl").text()
    version = re.search(r"owl:versionIRI <https://w3id\.org/reekg/ontology/([^>]+)>", turtle).group(1)
    response = page.goto(f"{site.url}/ontology/{version}")
    assert response.status == 200 and page.url.endswith(f"/ontology/{version}.html")
    assert heading(page).startswith("Rare-Earth Element Knowledge Graph ontology")
    assert version in page.locator("main").inner_text()
    screenshot(page, "ontology-version")
    assert not page.problems


def test_the_ontology_diagram_alone_is_an_svg_with_class_labels(site, page, screenshot):
    response = page.goto(site.url + "/ontology.svg")
    assert response.headers["content-type"].startswith("image/svg+xml")
    labels = page.locator("text.class-label").all_text_contents()
    assert "mine" in labels and "rare-earth element" in labels
    screenshot(page.locator("svg").first, "ontology-svg")  # a whole-page capture of an SVG document never ends


def test_the_current_release_page_lists_its_files_and_checksums(site, page, screenshot):
    page.goto(site.url + "/dumps/")
    release = page.locator("main table tbody tr a").first.get_attribute("href")
    assert re.fullmatch(r"/dumps/\d{4}-\d\d-\d\d-[0-9a-f]{12}/", release)
    page.goto(site.url + release)
    assert heading(page) == "Release " + release.strip("/").split("/")[1]
    assert "SHA256SUMS" in page.locator("main").inner_text()
    screenshot(page, "release")
    assert not page.problems


@pytest.mark.parametrize(("name", "path", "status", "title", "text"), [
    ("error-404-closest", "/trace/joint-actuatio", 404, "Not found", "Did you mean"),
    ("error-400-parameter", "/exposure/tesla-optimus?units=lots", 400, "Bad request", "units"),
    ("error-400-store", "/store", 400, "Bad request", "name a graph"),
    ("error-404-route", "/no-such-page", 404, "Not found", "home page"),
])
def test_error_pages_for_browsers(site, page, screenshot, name, path, status, title, text):
    response = page.goto(site.url + path)
    assert response.status == status and response.headers["content-type"].startswith("text/html")
    assert heading(page).startswith(title)
    assert text in page.locator("main").inner_text()
    screenshot(page, name)


def test_changes_compare_with_the_earlier_release(released_site, page, screenshot):
    srv, first, _ = released_site
    page.goto(srv.url + "/changes")
    assert heading(page) == "What changed since the last release"
    assert first.name in page.locator("main").inner_text()
    row = page.locator("main table tbody tr", has=page.locator('a[href^="/changes/robot/tesla-optimus"]'))
    assert row.count() == 1 and "1" in row.inner_text()
    screenshot(page, "changes")
    row.locator('a[href^="/changes/robot/tesla-optimus"]').first.click()
    page.wait_for_url("**/changes/robot/tesla-optimus?since=*")
    assert heading(page).startswith("What changed for Tesla Optimus")
    assert COMMENT in page.locator("main").inner_text()
    screenshot(page, "changes-robot")
    assert not page.problems


def test_a_release_page_shows_its_changelog(released_site, page, screenshot):
    srv, first, second = released_site
    page.goto(srv.url + "/dumps/")
    assert page.locator(f'main a[href="/dumps/{second.name}/"]').count() >= 1
    screenshot(page, "dumps-two-releases")
    page.goto(f"{srv.url}/dumps/{second.name}/")
    shown = page.locator("main").inner_text()
    assert page.locator(f'main a[href="/dumps/{first.name}/"]').count() >= 1
    assert "1 quads added, 0 removed" in shown and COMMENT in shown
    screenshot(page, "release-changelog")
    assert not page.problems
