"""No HTML page without a browser test that screenshots it (issue 14, "Done when"): every GET route of the app's
url_map is either a page, named here with the browser test that opens and screenshots it, or exempt, with the
reason it is not a page. A new GET route fails here until it is put in one list or the other.

Runs in process (the session's `app` over the curated build): no browser needed to check the lists themselves."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
EVERY = "test_every_page.py::"
OTHERS = EVERY + "test_each_other_page_shows_its_heading_and_its_labels"
ENTITIES = EVERY + "test_every_kind_has_an_index_page_and_each_kind_an_entity_page"

# route -> (a URL a browser opens on it, the browser test that opens and screenshots that page)
PAGES = {
    "/": ("/", "test_pages.py::test_home_page_search_finds_neodymium_from_its_chinese_name"),
    "/search": ("/search?q=Nd", "test_pages.py::test_home_page_search_finds_neodymium_from_its_chinese_name"),
    "/trace": ("/trace", OTHERS),
    "/trace/<subsystem>": ("/trace/joint-actuation",
                           "test_pages.py::test_trace_of_joint_actuation_draws_a_sankey_with_mines_and_countries"),
    "/exposure": ("/exposure", OTHERS),
    "/exposure/<robot>": ("/exposure/tesla-optimus",
                          "test_pages.py::test_exposure_of_optimus_marks_dysprosium_and_terbium_as_controlled"),
    "/scenario": ("/scenario", "test_pages.py::test_scenario_cutting_chinese_dy_tb_separation_marks_joint_actuation"),
    "/coverage": ("/coverage", OTHERS),
    "/query": ("/query", "test_browser_query_editor.py::test_classes_complete_from_the_ontology_with_labels"),
    "/sparql": ("/sparql", OTHERS),
    "/api/v1/docs": ("/api/v1/docs",
                     "test_browser_api_docs.py::test_swagger_ui_runs_dependents_of_dysprosium_on_this_server"),
    "/doc/": ("/doc/", EVERY + "test_the_kinds_page_lists_every_kind_with_its_count"),
    "/doc/<kind>/": ("/doc/element/", ENTITIES),
    "/doc/<kind>/<ident>": ("/doc/element/Nd", ENTITIES),
    "/map": ("/map", "test_browse_pages.py::test_map_draws_the_sourced_sites_on_the_vendored_outline"),
    "/changes": ("/changes", EVERY + "test_changes_compare_with_the_earlier_release"),
    "/changes/robot/<ident>": ("/changes/robot/tesla-optimus", EVERY + "test_changes_compare_with_the_earlier_release"),
    "/catalog": ("/catalog", OTHERS),
    "/.well-known/void": ("/.well-known/void", OTHERS),
    "/dumps/": ("/dumps/", OTHERS),
    # no fixed URL: the release's name is read from /dumps/, the version from the ontology
    "/dumps/<name>/": (None, EVERY + "test_the_current_release_page_lists_its_files_and_checksums"),
    "/ontology": ("/ontology", OTHERS),
    "/ontology/<version>": (None, EVERY + "test_the_versioned_ontology_page_is_the_current_ontology"),
    "/ontology.<suffix>": ("/ontology.html",
                           "test_ontology_diagram.py::test_the_diagram_shows_every_class_and_object_property"),
    "/graph/<path:name>": ("/graph/inferred", OTHERS),
}

# route -> (a URL on it, why it is not a page: it redirects, or answers data, files or an API for a browser too)
EXEMPT = {
    "/id/<kind>/<ident>": ("/id/element/Nd", "an IRI: 303 to /doc/… (screenshotted there)"),
    "/dataset": ("/dataset", "a thing, not a document: 303 to /catalog"),
    "/dataset/<path:part>": ("/dataset/inferred", "a thing, not a document: 303 to /catalog"),
    "/service/sparql": ("/service/sparql", "a thing, not a document: 303 to /catalog"),
    "/data/<kind>/<name>": ("/data/element/Nd.ttl", "RDF documents of an entity (.html is a 404: /doc/ is the page)"),
    "/doc/<kind>/index.<suffix>": ("/doc/element/index.csv", "an index list as CSV or JSON"),
    "/browse/suggest": ("/browse/suggest?q=dys", "JSON suggestions for the search box"),
    "/map.json": ("/map.json", "the map's sites as JSON"),
    "/changes.json": ("/changes.json", "the changes summary as JSON"),
    "/changes/robot/<ident>.json": ("/changes/robot/tesla-optimus.json", "a robot's changes as JSON"),
    "/scenario.csv": ("/scenario.csv?restrict=CN:Dy:separation", "the scenario's table as CSV"),
    "/scenario.json": ("/scenario.json?restrict=CN:Dy:separation", "the scenario's answer as JSON"),
    "/queries/<name>.rq": ("/queries/trace.rq", "a saved query's SPARQL text"),
    "/query/vocabulary.json": ("/query/vocabulary.json", "the editor's completions as JSON"),
    "/context.jsonld": ("/context.jsonld", "the JSON-LD context"),
    "/dumps/<name>/<filename>": (None, "a release's files (Turtle, N-Triples, checksums), served as stored"),
    "/store": ("/store?default", "the Graph Store Protocol: RDF (its 400 page is screenshotted as error-400-store)"),
    "/healthz": ("/healthz", "liveness, JSON"),
    "/readyz": ("/readyz", "readiness, JSON"),
    "/metrics": ("/metrics", "Prometheus text"),
    "/favicon.ico": ("/favicon.ico", "the icon (SVG)"),
    "/assets/<digest>/<path:filename>": (None, "vendored scripts, styles and data files"),
    "/static/<path:filename>": (None, "Flask's static files"),
    **{f"/api/v1/{kind}/<ident>": (f"/api/v1/{kind}/{ident}", "the analyst API answers JSON")
       for kind, ident in (("countries", "CN"), ("elements", "Nd"), ("functions", "alloy"),
                           ("robots", "tesla-optimus"), ("subsystems", "joint-actuation"))},
    **{f"/api/v1/{name}{suffix}": (f"/api/v1/{name}{suffix}", "the analyst API answers JSON (CSV for .csv)")
       for name in ("coverage", "dependents", "exposure", "material-users", "search", "sites", "substitutes",
                    "trace") for suffix in ("", ".csv")},
    "/api/v1/openapi.json": ("/api/v1/openapi.json", "the OpenAPI document (drawn by /api/v1/docs)"),
}


def get_rules(app) -> set[str]:
    return {rule.rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}


def test_every_get_route_is_a_screenshotted_page_or_exempt_with_a_reason(app):
    rules = get_rules(app)
    assert not set(PAGES) & set(EXEMPT), "a route is both a page and exempt"
    unlisted = rules - set(PAGES) - set(EXEMPT)
    assert not unlisted, f"GET routes with no screenshot test and no exemption: {sorted(unlisted)}"
    gone = (set(PAGES) | set(EXEMPT)) - rules
    assert not gone, f"listed routes the app no longer has: {sorted(gone)}"


@pytest.mark.parametrize("rule", sorted(r for r, (url, _) in PAGES.items() if url))
def test_each_page_answers_a_browser_with_html(client, rule):
    answer = client.get(PAGES[rule][0], headers=BROWSER, follow_redirects=True)
    assert answer.status_code == 200, (rule, answer.status_code)
    assert answer.headers["Content-Type"].startswith("text/html"), rule


@pytest.mark.parametrize("rule", sorted(r for r, (url, _) in EXEMPT.items() if url))
def test_each_exempt_route_answers_a_browser_with_something_other_than_a_page(client, rule):
    answer = client.get(EXEMPT[rule][0], headers=BROWSER)
    page = answer.status_code == 200 and answer.headers.get("Content-Type", "").startswith("text/html")
    assert not page, f"{rule} answers a browser an HTML page: screenshot it and move it to PAGES"


@cache
def _functions(file: str) -> dict[str, ast.FunctionDef]:
    tree = ast.parse((HERE / file).read_text(encoding="utf-8"))
    return {node.name: node for node in tree.body if isinstance(node, ast.FunctionDef)}


def _calls_screenshot(function: ast.FunctionDef) -> bool:
    return any(isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "screenshot"
               for node in ast.walk(function))


@pytest.mark.parametrize("test", sorted({test for _, test in PAGES.values()}))
def test_each_named_test_exists_and_takes_a_screenshot(test):
    file, _, name = test.partition("::")
    function = _functions(file).get(name)
    assert function is not None, f"{test} does not exist"
    assert _calls_screenshot(function), f"{test} takes no screenshot"
