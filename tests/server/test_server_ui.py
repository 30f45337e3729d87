"""The query page (issue 3, item 6) on the service in process (no process under test): who gets the page, the
vendored YASGUI and its cache headers, the saved queries on the page, and the plain form that works without
JavaScript.

(A real browser test comes with a later issue; here the page is read as HTML.)
"""

from __future__ import annotations

import hashlib
import json
import urllib.parse
from html.parser import HTMLParser
from importlib import resources

import pytest

from reekg.questions.library import library
from reekg.server.ui import editor_text

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
NODE = "https://w3id.org/reekg/id/element/Nd"
LOOKUP = f"SELECT ?label WHERE {{ <{NODE}> <http://www.w3.org/2000/01/rdf-schema#label> ?label }}"


class Page(HTMLParser):
    """The parts of the page the tests look at."""

    def __init__(self, text: str):
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.title = ""
        self.scripts: dict[str, str] = {}
        self._open: list[str] = []
        self._script_id: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append((tag, attributes))
        self._open.append(tag)
        if tag == "script":
            self._script_id = attributes.get("id")

    def handle_endtag(self, tag):
        if self._open and self._open[-1] == tag:
            self._open.pop()
        if tag == "script":
            self._script_id = None

    def handle_data(self, data):
        if self._open and self._open[-1] == "title":
            self.title += data
        elif self._script_id:
            self.scripts[self._script_id] = self.scripts.get(self._script_id, "") + data
        else:
            self.text.append(data)

    def all(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.tags if name == tag]

    def words(self) -> str:
        return " ".join(" ".join(self.text).split())


@pytest.mark.parametrize(("path", "accept"), [
    ("/sparql", BROWSER),
    ("/sparql", "text/html"),
    ("/sparql", "application/xhtml+xml, text/turtle;q=0.5"),
    ("/query", BROWSER),
    ("/query", "application/sparql-results+json"),  # /query is the page whatever the client asks
    ("/query", ""),
])
def test_browsers_get_the_query_page(app_server, path, accept):
    answer = app_server.get(path, headers={"Accept": accept} if accept else {})
    assert answer.status == 200
    assert answer.header("content-type") == "text/html; charset=utf-8"
    assert "Accept" in answer.header("vary")
    assert answer.header("cache-control") == "no-cache"
    assert "default-src 'self'" in answer.header("content-security-policy")
    assert "<main id=\"main\">" in answer.text


@pytest.mark.parametrize(("accept", "params", "expected_status", "expected_type"), [
    ("application/sparql-results+json", {}, 406, "text/plain"),  # no query: a service description only
    ("text/turtle", {}, 200, "text/turtle"),
    ("*/*", {}, 200, "text/turtle"),
    ("", {}, 200, "text/turtle"),
    ("text/html;q=0.5, text/turtle", {}, 200, "text/turtle"),  # Turtle preferred
    (BROWSER, {"format": "turtle"}, 200, "text/turtle"),  # an explicit format wins over the browser
    (BROWSER, {"query": LOOKUP}, 200, "application/sparql-results+xml"),  # a query is answered, never the page
    ("application/sparql-results+json", {"query": LOOKUP}, 200, "application/sparql-results+json"),
])
def test_sparql_clients_never_get_the_page(app_server, accept, params, expected_status, expected_type):
    answer = app_server.get("/sparql", params=params, headers={"Accept": accept} if accept else {})
    assert answer.status == expected_status, answer.text
    assert answer.header("content-type").startswith(expected_type)
    assert "<html" not in answer.text


def test_head_and_post_on_the_page_routes(app_server):
    head = app_server.request("HEAD", "/query")
    assert head.status == 200 and head.body == b""
    assert head.header("content-type").startswith("text/html")
    assert app_server.request("POST", "/query").status == 405
    # POST to /sparql without a query stays a protocol error, even from a browser
    post = app_server.request("POST", "/sparql", headers={"Accept": BROWSER,
                                                      "Content-Type": "application/x-www-form-urlencoded"}, body=b"")
    assert post.status == 400 and post.header("content-type").startswith("text/plain")


def test_the_page_is_accessible_and_loads_nothing_from_elsewhere(app_server):
    page = Page(app_server.get("/query").text)
    assert page.title.strip()
    assert page.all("html")[0].get("lang") == "en"
    assert len(page.all("main")) == 1
    labelled = {attrs["for"] for attrs in page.all("label")}
    for control in page.all("textarea") + page.all("select"):
        assert control["id"] in labelled, f"{control} has no label"
    for attrs in page.all("script") + page.all("link"):
        url = attrs.get("src") or attrs.get("href")
        if url:
            assert url.startswith("/assets/"), f"{url} is not served by reekg (no CDN)"
    assert any("yasgui.min.js" in a.get("src", "") for a in page.all("script"))
    assert any("yasgui.min.css" in a.get("href", "") for a in page.all("link"))


def test_the_vendored_assets_are_served_with_types_and_long_caching(app_server):
    page = Page(app_server.get("/query").text)
    urls = [a["src"] for a in page.all("script") if a.get("src")]
    urls += [a["href"] for a in page.all("link") if a.get("rel") == "stylesheet"]
    urls += [a["href"] for a in page.all("a") if a.get("href", "").startswith("/assets/")]
    expected = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                "LICENSE": "text/plain; charset=utf-8", ".txt": "text/plain; charset=utf-8"}
    assert len(urls) >= 6
    for url in urls:
        answer = app_server.get(url)
        assert answer.status == 200, url
        assert answer.header("content-type") == next(v for k, v in expected.items() if url.endswith(k)), url
        assert answer.header("cache-control") == "public, max-age=31536000, immutable"
        assert answer.header("x-content-type-options") == "nosniff"
        digest = url.split("/")[2]
        assert hashlib.sha256(answer.body).hexdigest().startswith(digest)
        again = app_server.get(url, headers={"If-None-Match": answer.header("etag")})
        assert again.status == 304 and again.body == b""


@pytest.mark.parametrize("path", [
    "/assets/0000000000000000/vendor/yasgui/yasgui.min.js",  # a stale fingerprint
    "/assets/0000000000000000/../../pyproject.toml",
    "/assets/0000000000000000/nothing.js",
])
def test_unknown_or_stale_assets_are_404(app_server, path):
    assert app_server.get(path).status == 404


def test_the_vendored_yasgui_matches_its_version_file():
    folder = resources.files("reekg.server") / "static" / "vendor" / "yasgui"
    record = (folder / "VERSION").read_text(encoding="utf-8")
    assert "package: @zazuko/yasgui" in record and "integrity: sha512-" in record
    hashes = dict(reversed(line.split()[1:]) for line in record.splitlines() if line.startswith("sha256:"))
    assert set(hashes) == {"yasgui.min.js", "yasgui.min.css"}
    for name, digest in hashes.items():
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest
    assert "MIT" in (folder / "LICENSE").read_text(encoding="utf-8")
    for name in hashes:  # the source maps are not vendored: no reference to them may remain
        assert "sourceMappingURL" not in (folder / name).read_text(encoding="utf-8")[-300:]


def test_the_page_lists_every_saved_query(app_server):
    page = Page(app_server.get("/sparql", headers={"Accept": BROWSER}).text)
    words = page.words()
    for query in library().values():
        assert " ".join(query.title.split()) in words, query.title
        for param in query.parameters:
            assert f"?{param.name}" in words
    # the same queries, verbatim, are what YASGUI opens as tabs: one per .rq file shipped, the analyst
    # questions among them
    examples = json.loads(page.scripts["reekg-examples"])
    shipped = [e for e in (resources.files("reekg.questions") / "sparql").iterdir() if e.name.endswith(".rq")]
    assert len(examples) == len(shipped) >= 10
    assert {"dependents", "trace", "substitutes", "functions"} <= set(library())
    # in the saved-query list's order (test_server_query_editor), each query once
    by_name = {e["name"]: e for e in examples}
    assert len(by_name) == len(examples) and set(by_name) == set(library())
    assert {n: e["title"] for n, e in by_name.items()} == {n: q.title for n, q in library().items()}
    # a tab opens with the title, the parameters and the query; the notes stay in the list
    assert {n: e["query"] for n, e in by_name.items()} == {n: editor_text(q.text) for n, q in library().items()}


def test_the_plain_form_submits_a_query_and_gets_results(app_server):
    page = Page(app_server.get("/query").text)
    (form,) = page.all("form")
    assert form["method"] == "get" and form["action"] == "/sparql"
    (textarea,) = page.all("textarea")
    assert textarea["name"] == "query"
    (select,) = page.all("select")
    formats = [o["value"] for o in page.all("option")]
    assert select["name"] == "format" and formats[0] == "json"
    # what a browser sends when the form is submitted with each format the select offers
    for value, content_type in [("json", "application/sparql-results+json"),
                                ("xml", "application/sparql-results+xml"), ("csv", "text/csv"),
                                ("tsv", "text/tab-separated-values")]:
        assert value in formats
        query = urllib.parse.urlencode({"query": LOOKUP, "format": value})
        answer = app_server.get(f"{form['action']}?{query}", headers={"Accept": BROWSER})
        assert answer.status == 200, answer.text
        assert answer.header("content-type").startswith(content_type)
        assert "neodymium" in answer.text
    rows = json.loads(app_server.get(form["action"], params={"query": LOOKUP, "format": "json"},
                                 headers={"Accept": BROWSER}).body)["results"]["bindings"]
    assert {r["label"]["value"] for r in rows} == {"neodymium", "钕"}
    construct = f"CONSTRUCT {{ <{NODE}> ?p ?o }} WHERE {{ <{NODE}> ?p ?o }}"
    graph = app_server.get("/sparql", params={"query": construct, "format": "turtle"}, headers={"Accept": BROWSER})
    assert graph.status == 200 and graph.header("content-type").startswith("text/turtle")
    assert "neodymium" in graph.text
