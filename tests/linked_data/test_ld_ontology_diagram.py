"""The ontology diagram (issue 14, item 4) over HTTP and its layout on small graphs: /ontology.svg is well-formed
SVG with a box per class, the page draws the same one inline, and the layered layout keeps arrows downwards
where it can, breaks cycles and gives the same picture every time. The browser test checks what is drawn."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from flask import render_template
from ldkit import fetch
from rdflib import Graph
from rdflib.namespace import RDFS

from reekg.server.ld import diagram

SVG = "{http://www.w3.org/2000/svg}"
SMALL = """\
@prefix : <https://example.org/o#> .
@prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
:Robot a owl:Class ; rdfs:label "robot <&>"@en .
:Part a owl:Class . :Site a owl:Class . :Status a owl:Class . :Mine a owl:Class ; rdfs:subClassOf :Site .
:hasPart a owl:ObjectProperty ; rdfs:domain :Robot ; rdfs:range :Part .
:madeAt a owl:ObjectProperty ; rdfs:domain :Part ; rdfs:range :Site .
:hasStatus a owl:ObjectProperty ; rdfs:domain :Site ; rdfs:range :Status .
:ofSite a owl:ObjectProperty ; rdfs:domain :Status ; rdfs:range :Site .
:feeds a owl:ObjectProperty ; rdfs:domain :Site ; rdfs:range :Site .
:anything a owl:ObjectProperty ; rdfs:range :Part .
"""
NS = "https://example.org/o#"


def _layout() -> dict:
    graph = Graph().parse(data=SMALL, format="turtle")
    labels = {str(s): str(o) for s, o in graph.subject_objects(RDFS.label)}
    return diagram.layout(graph, NS, lambda iri: labels.get(str(iri)))


def test_the_layout_reads_down_the_chain_and_breaks_the_cycle():
    drawn = _layout()
    layer = {b.key[len(NS):] if b.key.startswith(NS) else b.key: b.layer for b in drawn["boxes"]}
    assert layer["Robot"] < layer["Part"] < layer["Site"]
    assert layer["Mine"] < layer["Site"]  # a subclass above its superclass
    assert layer["Site"] != layer["Status"]  # the cycle Site ⇄ Status is laid out in two layers
    assert "http://www.w3.org/2002/07/owl#Thing" in layer  # a property without a domain starts at owl:Thing
    names = {n for a in drawn["arrows"] for n in a.names}
    assert names == {"hasPart", "madeAt", "hasStatus", "ofSite", "feeds", "anything"}
    assert [(b.key, b.x, b.y) for b in _layout()["boxes"]] == [(b.key, b.x, b.y) for b in drawn["boxes"]]


def test_boxes_never_overlap():
    boxes = _layout()["boxes"]
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a.layer != b.layer or a.x + a.width <= b.x or b.x + b.width <= a.x, (a.key, b.key)


def test_a_label_is_escaped_in_the_drawing(ld_server):
    with ld_server.app.test_request_context():
        svg = render_template("ld/_diagram.svg", diagram=_layout(), inline=False)
    root = ET.fromstring(svg)
    assert "robot <&>" in [t.text for t in root.iter(SVG + "text")]


def test_the_svg_is_served_and_drawn_inline_on_the_page(ld_server):
    answer = fetch(ld_server, "/ontology.svg")
    assert answer.status == 200 and answer.header("content-type").startswith("image/svg+xml")
    root = ET.fromstring(answer.body)  # well-formed: every label from the graph is escaped
    labels = [t.text for t in root.iter(SVG + "text") if t.get("class") == "class-label"]
    turtle = Graph().parse(data=fetch(ld_server, "/ontology.ttl").body, format="turtle")
    classes = set(turtle.query(
        "SELECT ?c WHERE { ?c a owl:Class FILTER(STRSTARTS(STR(?c), 'https://w3id.org/reekg/ontology#')) }"))
    assert len([t for t in labels if t and ":" not in t]) == len(classes)
    assert "chemical element" in labels and "skos:Concept" in labels  # an external class, dashed
    page = fetch(ld_server, "/ontology.html").text
    assert 'class="ontology-diagram"' in page and page.count('class="class-label"') == len(labels)
    assert 'href="/ontology.svg"' in page
