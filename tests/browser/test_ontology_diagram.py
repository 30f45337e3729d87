"""The ontology diagram on /ontology.html in a real browser (Debian's Chromium under Playwright) against a real
`reekg serve` on the curated graph (issue 14): every class of the served ontology is a box with its English
label, no two boxes overlap, every object property names an arrow, a box links to its class; the screenshot
goes to test-artifacts/browser/ontology-diagram.png."""

from __future__ import annotations

import re
import urllib.request

import pytest
from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF, RDFS

VOCAB = "https://w3id.org/reekg/ontology#"


@pytest.fixture(scope="module")
def site(browser, curated_server):
    """The session's read-only curated server (tests/conftest.py), once a browser is there to drive it."""
    return curated_server


@pytest.fixture(scope="module")
def ontology(site) -> Graph:
    with urllib.request.urlopen(site.url + "/ontology.ttl", timeout=30) as answer:
        return Graph().parse(data=answer.read(), format="turtle")


def _english(graph: Graph, term: URIRef) -> str:
    return next(str(label) for label in graph.objects(term, RDFS.label) if label.language == "en")


def _exactly(text: str) -> re.Pattern:
    return re.compile(f"^{re.escape(text)}$")


def _overlap(a: dict, b: dict) -> bool:
    return (a["x"] < b["x"] + b["width"] and b["x"] < a["x"] + a["width"]
            and a["y"] < b["y"] + b["height"] and b["y"] < a["y"] + a["height"])


def test_the_diagram_shows_every_class_and_object_property(site, page, ontology, screenshot):
    classes = sorted(c for c in ontology.subjects(RDF.type, OWL.Class) if str(c).startswith(VOCAB))
    properties = sorted(str(p)[len(VOCAB):] for p in ontology.subjects(RDF.type, OWL.ObjectProperty)
                        if str(p).startswith(VOCAB))
    assert len(classes) >= 25 and len(properties) >= 50  # the served ontology, not an empty graph
    page.goto(site.url + "/ontology.html")
    diagram = page.locator("svg.ontology-diagram")
    diagram.scroll_into_view_if_needed()
    frame = diagram.bounding_box()
    assert frame and frame["width"] > 600
    shown = page.locator("svg.ontology-diagram g.class text.class-label")
    labels = shown.all_text_contents()
    for term in classes:
        label = _english(ontology, term)
        assert labels.count(label) == 1, label
        box = shown.filter(has_text=_exactly(label)).first.bounding_box()
        assert box and box["width"] > 0 and box["height"] > 0, label
        assert frame["x"] <= box["x"] and box["x"] + box["width"] <= frame["x"] + frame["width"] + 1, label
    rects = [r.bounding_box() for r in page.locator("svg.ontology-diagram g rect").all()]
    for i, a in enumerate(rects):
        assert not any(_overlap(a, b) for b in rects[i + 1:]), f"two boxes overlap at {a}"
    drawn = {name.strip() for text in page.locator("svg.ontology-diagram text.property-label").all_text_contents()
             for name in text.split(",")}
    assert set(properties) <= drawn, sorted(set(properties) - drawn)
    screenshot(diagram, "ontology-diagram")
    page.locator("svg.ontology-diagram a", has=page.locator("text.class-label", has_text=_exactly("mine"))).click()
    page.wait_for_url("**/ontology.html#Mine")
    assert page.problems == []  # the Content-Security-Policy let the inline SVG draw (no script, no style)


def test_the_diagram_is_served_on_its_own_as_svg(site, page):
    answer = page.goto(site.url + "/ontology.svg")
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/svg+xml")
    assert page.locator("text.class-label", has_text="rare-earth element").count() == 1
    assert page.problems == []
