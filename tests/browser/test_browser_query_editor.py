"""The query editor in a real browser (issue 14, item 2): completion of classes, properties and entities from
this graph (nothing asked of prefix.cc or LOV: the page's CSP would block it and the test fails on any console
error), short tab names, results with prefixed names, the saved-query list switching tabs."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def site(browser, curated_server):
    return curated_server


def _open(page, site):
    page.goto(site.url + "/query")
    page.wait_for_function("window.reekgYasgui && window.reekgYasgui.getTab()")


def _complete(page, text: str) -> list[str]:
    """Type ``text`` into an emptied editor, as a person does, and ask for completions (Ctrl-Space); the texts
    of the hint list."""
    page.evaluate("window.reekgYasgui.getTab().getYasqe().setValue('')")
    page.locator(".CodeMirror").first.click()
    page.keyboard.type(text)
    page.keyboard.press("Control+Space")
    page.wait_for_selector(".CodeMirror-hints li")
    return page.locator(".CodeMirror-hints li").all_inner_texts()


def test_classes_complete_from_the_ontology_with_labels(site, page, screenshot):
    _open(page, site)
    hints = _complete(page, "SELECT * WHERE { ?s a reekg:RobotSub")
    assert any(h.startswith("reekg:RobotSubsystem") for h in hints), hints
    assert any(" — " in h for h in hints)  # shown with its label
    screenshot(page, "query-complete-class")
    page.keyboard.press("Enter")
    value = page.evaluate("window.reekgYasgui.getTab().getYasqe().getValue()")
    assert "?s a reekg:RobotSubsystem" in value
    assert not page.problems


def test_properties_and_entities_complete_from_the_graph(site, page, screenshot):
    _open(page, site)
    hints = _complete(page, "SELECT * WHERE { ?s reekg:hasComp")
    assert any(h.startswith("reekg:hasComponent") for h in hints), hints
    page.keyboard.press("Escape")
    hints = _complete(page, "SELECT * WHERE { element:dys")
    assert any(h.startswith("element:Dy") for h in hints), hints  # matched on the label "dysprosium"
    screenshot(page, "query-complete-entity")
    assert not page.problems


def test_tabs_are_short_and_results_show_prefixed_names(site, page, screenshot):
    _open(page, site)
    names = [n.split("\n")[0].strip() for n in page.locator(".tabsList .tab a").all_inner_texts()]  # less ✖
    assert "trace" in names and max(len(n) for n in names) <= 24
    page.evaluate("""() => {
        const yasqe = window.reekgYasgui.getTab().getYasqe();
        yasqe.setValue("SELECT ?e WHERE { ?e reekg:symbol \\"Dy\\" }");
        yasqe.query();
      }""")
    page.wait_for_selector(".yasr .dataTable td")
    cells = page.locator(".yasr .dataTable td").all_inner_texts()
    assert any("element:Dy" in c for c in cells), cells
    screenshot(page, "query-results-prefixed")
    # the saved-query list opens a query's tab instead of leaving the page
    page.locator('a[data-tab="dependents"]').click()
    active = page.evaluate("window.reekgYasgui.getTab().getName()")
    assert active == "dependents"
    assert not page.problems
