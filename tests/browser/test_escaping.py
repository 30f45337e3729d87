"""Partner data is never markup on the web pages: a store built with a partner label holding a <script> on
element:Dy (``reekg build --add``) serves the exposure, search and scenario pages with that label as text, and
the script never runs. (Entity pages, /doc/…, are tested with the linked-data suite.)"""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from serverkit import running_server

from reekg.cli import main

HOSTILE = "<script>window.pwned=1</script>"
# The element shapes allow one English label, so the partner's second label is French.
PARTNER = f"""@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/reekg/id/element/Dy> rdfs:label "{HOSTILE}"@fr .
"""


@pytest.fixture(scope="module")
def partner_site(tmp_path_factory, browser):
    """A real server on the curated graph plus the partner file (after the browser: no build when it skips)."""
    runner = CliRunner()
    work = tmp_path_factory.mktemp("partner")
    (work / "partner.ttl").write_text(PARTNER, encoding="utf-8")
    home = work / "home"
    result = runner.invoke(main, ["--home", str(home), "build", "--add", str(work / "partner.ttl")])
    assert result.exit_code == 0, result.output
    with running_server(home, work / "serve.log", query_workers=1) as srv:
        yield srv


def test_a_script_in_a_partner_label_shows_as_text_and_never_runs(partner_site, page, screenshot):
    page.goto(partner_site.url + "/exposure/tesla-optimus?units=5000&on=2025-06-01")
    page.wait_for_selector("#exposure-bars[data-drawn=true]")
    names = page.locator('tr[data-element="Dy"] td.names').inner_text()
    assert HOSTILE in names
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.locator('tr[data-element="Dy"] td.names script').count() == 0
    screenshot(page, "escaping-exposure")

    page.goto(partner_site.url + "/search?q=" + "window.pwned")
    assert HOSTILE in page.locator("#results").inner_text()
    assert page.evaluate("typeof window.pwned") == "undefined"

    page.goto(partner_site.url + "/scenario?country=CN&element=Dy&stage=separation")
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert not page.problems


def test_the_page_source_escapes_the_label_in_html_and_in_the_json_block(partner_site):
    html = partner_site.get("/exposure/tesla-optimus", params={"units": "5000", "on": "2025-06-01"}).text
    assert HOSTILE not in html
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;" in html
    assert partner_site.get("/exposure/tesla-optimus").header("content-security-policy").startswith("default-src")
