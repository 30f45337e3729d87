"""The query editor knows the graph (issue 14, item 2): completions served by this endpoint (prefixes, the
ontology's classes and properties, entities through the browser's suggestions), short tab names, saved queries
grouped by the API question that runs them, tabs that open without the engine notes. In process; the browser
test (tests/browser/test_browser_query_editor.py) types into the real editor."""

from __future__ import annotations

import json
from html.parser import HTMLParser

from reekg.loaders.namespaces import Namespaces, shorten
from reekg.server.ui import editor_text, groups

ONTOLOGY = "https://w3id.org/reekg/ontology#"


class _Page(HTMLParser):
    def __init__(self, text: str):
        super().__init__()
        self.scripts: dict[str, str] = {}
        self.links: list[dict[str, str]] = []
        self.h3: list[str] = []
        self._in: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "script" and a.get("id"):
            self._in = a["id"]
        elif tag == "h3":
            self._in = "h3"
            self.h3.append("")
        elif tag == "a":
            self.links.append(a)

    def handle_endtag(self, tag):
        if tag in ("script", "h3"):
            self._in = None

    def handle_data(self, data):
        if self._in == "h3":
            self.h3[-1] += data
        elif self._in:
            self.scripts[self._in] = self.scripts.get(self._in, "") + data


def test_the_vocabulary_lists_the_ontologys_classes_and_properties_with_labels(client):
    answer = client.get("/query/vocabulary.json")
    assert answer.status_code == 200 and answer.mimetype == "application/json"
    body = answer.get_json()
    classes = {c["iri"]: c for c in body["classes"]}
    properties = {p["iri"]: p for p in body["properties"]}
    assert classes[ONTOLOGY + "RobotSubsystem"]["prefixed"] == "reekg:RobotSubsystem"
    assert classes[ONTOLOGY + "RobotSubsystem"]["label"]  # the English label the completion list shows
    assert ONTOLOGY + "hasComponent" in properties and ONTOLOGY + "RobotSubsystem" not in properties
    assert ONTOLOGY + "hasComponent" not in classes
    assert len(classes) == len(body["classes"]) and len(properties) == len(body["properties"])  # each once
    # the prefixes are exactly the ones the endpoint predeclares (the stock completer asks prefix.cc)
    assert body["prefixes"] == Namespaces().prefixes()


def test_the_vocabulary_takes_no_parameters(client):
    answer = client.get("/query/vocabulary.json?q=x")
    assert answer.status_code == 400 and "q" in answer.get_json()["error"]


def test_the_vocabulary_follows_the_base_iri():
    from reekg.server.ui import vocabulary

    other = vocabulary("https://example.org/kg/")
    assert any(c["iri"] == "https://example.org/kg/ontology#RobotSubsystem" for c in other["classes"])
    assert other["prefixes"]["reekg"] == "https://example.org/kg/ontology#"


def test_entity_completion_uses_the_suggestions_route_the_page_names(client):
    page = _Page(client.get("/query").get_data(as_text=True))
    prefixes = json.loads(page.scripts["reekg-prefixes"])
    assert prefixes["element"] == "https://w3id.org/reekg/id/element/"
    suggestions = client.get("/browse/suggest", query_string={"q": "dys"}).get_json()["suggestions"]
    assert any(s["iri"] == prefixes["element"] + "Dy" for s in suggestions)


def test_tabs_carry_short_names_and_open_without_the_engine_notes(client):
    page = _Page(client.get("/query").get_data(as_text=True))
    examples = json.loads(page.scripts["reekg-examples"])
    trace = next(e for e in examples if e["name"] == "trace")
    assert trace["query"].startswith("# title: Trace a subsystem")
    assert "# param subsystem:" in trace["query"]
    assert "pyoxigraph" not in trace["query"] and "pyoxigraph" in trace["notes"]  # the notes moved, not lost
    assert "SELECT" in trace["query"] and "WHERE" in trace["query"]
    for example in examples:
        assert len(example["name"]) <= 24, example["name"]  # a tab title, not a sentence


def test_editor_text_keeps_title_params_and_the_query_and_drops_the_rest():
    text = "# title: T\n# param x: iri — an x\n# How it works: engine notes\n# more notes\nPREFIX a: <b>\nSELECT * {}\n"
    assert editor_text(text) == "# title: T\n# param x: iri — an x\nPREFIX a: <b>\nSELECT * {}\n"
    assert editor_text("SELECT * {}") == "SELECT * {}"


def test_saved_queries_are_grouped_by_the_question_that_runs_them(client):
    page = _Page(client.get("/query").get_data(as_text=True))
    examples = json.loads(page.scripts["reekg-examples"])
    names = [e["name"] for e in examples]
    tabs = [a["data-tab"] for a in page.links if a.get("data-tab")]
    assert tabs == names  # every saved query listed once, under one group, in the tabs' order
    assert names[0] == "dependents"  # the analyst questions first, as the API lists them
    assert any("trace:" in h for h in page.h3) and any(h.startswith("More queries") for h in page.h3)


def test_groups_place_each_query_once_in_the_first_question_that_runs_it():
    questions = [("trace", "Trace", ("trace", "site-status")), ("sites", "Sites", ("element-sites", "site-status"))]
    found = groups(["trace", "site-status", "element-sites", "functions"], questions)
    assert [g["queries"] for g in found] == [["trace", "site-status"], ["element-sites"], ["functions"]]
    assert found[-1]["question"] is None
    assert groups(["trace"], [("none", "No queries", ("absent",))])[0]["question"] is None


def test_prefixed_names_use_the_longest_namespace_and_only_plain_local_names():
    prefixes = Namespaces().prefixes()
    assert shorten("https://w3id.org/reekg/id/element/Dy", prefixes, strict=True) == "element:Dy"  # not id:element/Dy
    assert shorten("https://w3id.org/reekg/id/element/a b", prefixes, strict=True) is None
    assert shorten("https://w3id.org/reekg/id/element/a b", prefixes) == "element:a b"  # for display only
    assert shorten("https://example.org/x", prefixes) is None
    assert Namespaces("https://example.org/kg/").shorten("https://example.org/kg/id/robot/x") == "robot:x"


def test_the_query_page_has_the_site_navigation(client):
    page = _Page(client.get("/query").get_data(as_text=True))
    hrefs = {a.get("href") for a in page.links}
    assert {"/", "/trace", "/doc/", "/api/v1/docs"} <= hrefs
