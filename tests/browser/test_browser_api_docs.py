"""/api/v1/docs in a real browser (Debian's Chromium under Playwright) against a real `reekg serve`: the vendored
Swagger UI draws the OpenAPI document, "Try it out" runs a question on this server, nothing is fetched from
another origin and the console stays clean (the page's CSP allows scripts from this origin only)."""

from __future__ import annotations

import json
import urllib.parse

import pytest


@pytest.fixture(scope="module")
def site(browser, curated_server):
    """The session's read-only curated server (tests/conftest.py), once a browser is there to drive it."""
    return curated_server


def test_swagger_ui_runs_dependents_of_dysprosium_on_this_server(site, page, screenshot):
    origin = urllib.parse.urlsplit(site.url).netloc
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(site.url + "/api/v1/docs")

    operation = page.locator("#operations-default-dependents")
    operation.wait_for()
    assert page.locator('nav[aria-label="Site"] a[href="/api/v1/docs"]').count() == 1
    assert page.locator("#routes").is_hidden()  # the no-JavaScript list gives way to Swagger UI
    assert page.locator("#swagger-ui .opblock").count() >= 14  # every question's route
    screenshot(page, "api-docs")

    operation.locator(".opblock-summary-control").click()
    operation.get_by_role("button", name="Try it out").click()
    element = operation.locator('tr[data-param-name="element"] input')
    element.fill("Dy")
    with page.expect_response(lambda r: "/api/v1/dependents?" in r.url) as answered:
        operation.get_by_role("button", name="Execute").click()
    response = answered.value
    assert response.status == 200
    assert urllib.parse.urlsplit(response.url).netloc == origin
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(response.url).query)["element"] == ["Dy"]
    assert "joint-actuation" in json.loads(response.text())["subsystems"]

    shown = operation.locator(".live-responses-table tr.response")
    shown.first.wait_for()
    assert shown.first.locator(".response-col_status").inner_text().strip() == "200"
    assert "joint-actuation" in shown.first.locator(".response-col_description").inner_text()
    assert page.locator("section.models").inner_text().startswith("Schemas")  # the answers' schemas are listed
    screenshot(page, "api-docs-try-it")

    elsewhere = [u for u in requests if urllib.parse.urlsplit(u).netloc not in (origin, "")
                 and not u.startswith(("data:", "blob:"))]
    assert not elsewhere, elsewhere
    assert not page.problems, page.problems
