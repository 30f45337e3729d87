"""The query page for browsers: YASGUI on this server's ``/sparql``, with the saved queries as tabs.

The editor completes from this graph, never from the internet (issue 14, item 2): prefixes are the ones the
endpoint predeclares, classes and properties come from the ontology (``/query/vocabulary.json``), entities from
the browser's suggestions (``/browse/suggest``). Tabs carry the query's short name; the saved-query list groups
the queries by the API question that runs them, each with its one-line title.

``GET /query`` always answers the page; ``GET /sparql`` without a query answers it too when the browser
asks for HTML (see :func:`prefers_html`), otherwise the service description. The page works without a
network (YASGUI is vendored under ``static/vendor/yasgui`` by ``scripts/refresh-yasgui``) and without
JavaScript (a plain form that GETs ``/sparql``).

Static files are served under ``/assets/<fingerprint>/<path>``, where the fingerprint is a digest of the
file's bytes: such a URL never changes meaning, so it is cached for a year as ``immutable``; a stale
fingerprint is a 404, and the page itself is never cached.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from functools import cache
from importlib import resources
from typing import Any

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from reekg.errors import BadParameter
from reekg.loaders.namespaces import shorten
from reekg.questions import questions
from reekg.questions.library import library

from .conneg import parse_accept

bp = Blueprint("ui", __name__, template_folder="templates")

YASGUI = "vendor/yasgui/"
HTML_TYPES = ("text/html", "application/xhtml+xml")
_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
          ".txt": "text/plain; charset=utf-8"}
ONE_YEAR = 365 * 24 * 3600
# YASGUI needs inline styles (CodeMirror and the results table set them); everything else stays on this
# origin, so the page can neither load nor send anything elsewhere (no CDN, no LOV or prefix.cc look-ups).
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
                           "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; object-src 'none'; "
                           "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
# Result formats offered by the no-JavaScript form: `format` keywords that conneg understands. The same
# keyword names a results format for SELECT/ASK and a graph format for CONSTRUCT/DESCRIBE where one exists.
FORM_FORMATS = (
    ("json", "JSON (SPARQL results JSON, or JSON-LD for graphs)"),
    ("xml", "XML (SPARQL results XML, or RDF/XML for graphs)"),
    ("csv", "CSV (SELECT only)"),
    ("tsv", "TSV (SELECT only)"),
    ("turtle", "Turtle (CONSTRUCT and DESCRIBE only)"),
)


def prefers_html(accept: str | None, params: MultiDict) -> bool:
    """True when a GET without a query comes from a browser: the Accept header names HTML by type (not by a
    wildcard) at least as highly as anything else it names, and no ``format``/``output`` parameter asks
    for a serialisation. A SPARQL client (Turtle, ``*/*``, nothing) gets the service description."""
    if not accept or "format" in params or "output" in params:
        return False
    ranges = parse_accept(accept)
    html = max((r.q for r in ranges if f"{r.type}/{r.subtype}" in HTML_TYPES), default=0.0)
    others = max((r.q for r in ranges if f"{r.type}/{r.subtype}" not in HTML_TYPES and r.type != "*"),
                 default=0.0)
    return html > 0 and html >= others


@cache
def _static_root() -> Any:
    return resources.files("reekg.server") / "static"


@cache
def _read(filename: str) -> bytes:
    """A static file's bytes, read once per process (the files are small and never change while serving)."""
    return _static_root().joinpath(*filename.split("/")).read_bytes()


@cache
def fingerprint(filename: str) -> str:
    """The first 16 hex digits of the SHA-256 of a static file."""
    return hashlib.sha256(_read(filename)).hexdigest()[:16]


def asset_url(filename: str) -> str:
    return url_for("ui.asset", digest=fingerprint(filename), filename=filename)


@cache
def _yasgui_version() -> str:
    for line in _read(YASGUI + "VERSION").decode("utf-8").splitlines():
        if line.startswith("version:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def editor_text(text: str) -> str:
    """What a tab opens with: the query's title and parameter lines, then the query — not the notes on how it
    reads the model and works around engines (those stay in the file and in the saved-query list)."""
    lines = text.splitlines()
    head = 0
    while head < len(lines) and lines[head].startswith("#"):
        head += 1
    kept = [line for line in lines[:head] if line.startswith(("# title:", "# param "))]
    return "\n".join(kept + lines[head:]) + ("\n" if text.endswith("\n") else "")


def _notes(text: str) -> str:
    """The header comments a tab leaves out, as one paragraph for the saved-query list."""
    notes = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        if not line.startswith(("# title:", "# param ")):
            notes.append(line[1:].strip())
    return " ".join(n for n in notes if n)


def _examples() -> list[dict[str, Any]]:
    """The saved queries as YASGUI tabs: short name, title, the query as a tab opens it, and its parameters."""
    return [{"name": q.name, "title": q.title, "query": editor_text(q.text), "notes": _notes(q.text),
             "parameters": [{"name": p.name, "kind": p.kind, "default": p.default, "optional": p.optional,
                             "help": p.help} for p in q.parameters]}
            for q in library(current_app.extensions["reekg.namespaces"].base).values()]


def groups(names: list[str], questions: list[tuple[str, str, tuple[str, ...]]]) -> list[dict[str, Any]]:
    """The saved queries grouped by the first API question (name, summary, queries) that runs them, in the
    questions' order; the queries no question runs come last, under "More queries". Each query once."""
    placed: set[str] = set()
    found = []
    for name, summary, queries in questions:
        members = [q for q in queries if q in names and q not in placed]
        placed.update(members)
        if members:
            found.append({"question": name, "summary": summary, "queries": members})
    rest = [n for n in names if n not in placed]
    if rest:
        found.append({"question": None, "summary": "More queries: lists, lookups and checks", "queries": rest})
    return found


def _questions() -> list[tuple[str, str, tuple[str, ...]]]:
    """Each question's name, summary and saved queries, as its declaration in reekg.questions states them."""
    return [(q.name, q.summary, tuple(q.queries)) for q in questions()]


_VOCABULARY_QUERY = """
SELECT ?term ?kind (SAMPLE(?l) AS ?label) (SAMPLE(?c) AS ?comment) WHERE {
  VALUES (?type ?kind) { (owl:Class "class") (rdfs:Class "class") (owl:ObjectProperty "property")
                         (owl:DatatypeProperty "property") (owl:AnnotationProperty "property")
                         (rdf:Property "property") }
  ?term a ?type .
  FILTER(isIRI(?term))
  OPTIONAL { ?term rdfs:label ?l . FILTER(langMatches(lang(?l), "en") || lang(?l) = "") }
  OPTIONAL { ?term rdfs:comment ?c . FILTER(langMatches(lang(?c), "en") || lang(?c) = "") }
} GROUP BY ?term ?kind ORDER BY ?kind ?term
"""


@cache
def vocabulary(base: str) -> dict[str, Any]:
    """The prefixes, classes and properties the editor completes: the predeclared prefixes and the terms the
    ontology (rebased on ``base``) declares, each with its English label and comment. Read once per process:
    the ontology ships with the code, so a build cannot change it."""
    import pyoxigraph as ox

    from reekg.loaders.build import load_ontology
    from reekg.loaders.namespaces import Namespaces

    ns = Namespaces(base)
    store = ox.Store()
    store.load(load_ontology(ns).serialize(format="nt").encode("utf-8"), format=ox.RdfFormat.N_TRIPLES)
    prefixes = ns.prefixes()
    terms: dict[str, list[dict[str, str | None]]] = {"class": [], "property": []}
    for row in store.query(_VOCABULARY_QUERY, prefixes=prefixes):
        iri = row["term"].value
        label, comment = row["label"], row["comment"]
        if any(t["iri"] == iri for t in terms[row["kind"].value]):
            continue  # declared twice (an owl:Class that is also an rdfs:Class)
        terms[row["kind"].value].append({"iri": iri, "prefixed": shorten(iri, prefixes, strict=True),
                                         "label": label.value if label else None,
                                         "comment": comment.value if comment else None})
    return {"prefixes": prefixes, "classes": terms["class"], "properties": terms["property"]}


def query_page() -> Response:
    """The HTML page (also answered by ``/sparql`` for browsers; see :mod:`reekg.server.sparql`)."""
    ns = current_app.extensions["reekg.namespaces"]
    examples = _examples()
    grouped = groups([e["name"] for e in examples], _questions())
    order = [name for group in grouped for name in group["queries"]]
    examples.sort(key=lambda e: order.index(e["name"]))  # tabs in the list's order: the analyst questions first
    html = render_template(
        "ui/query.html",
        endpoint=url_for("sparql.query"),
        examples=examples,
        groups=grouped,
        by_name={e["name"]: e for e in examples},
        prefixes=sorted(ns.prefixes().items()),
        formats=FORM_FORMATS,
        yasgui_version=_yasgui_version(),
        asset_url=asset_url,
    )
    response = Response(html, content_type="text/html; charset=utf-8")
    response.vary.add("Accept")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@bp.get("/query")
def page() -> Response:
    return query_page()


@bp.get("/query/vocabulary.json")
def vocabulary_json() -> Response:
    """The editor's completions: prefixes, classes and properties (entities come from ``/browse/suggest``)."""
    for name in request.args:
        raise BadParameter(name, "/query/vocabulary.json takes no parameters")
    body = vocabulary(current_app.extensions["reekg.namespaces"].base)
    response = Response(json.dumps(body, ensure_ascii=False), content_type="application/json")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/assets/<digest>/<path:filename>")
def asset(digest: str, filename: str) -> Response:
    parts = filename.split("/")
    if ".." in parts or not _static_root().joinpath(*parts).is_file() or digest != fingerprint(filename):
        abort(404)
    name = filename.rsplit("/", 1)[-1]
    suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ".txt"  # LICENSE, VERSION
    content_type = _TYPES.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"
    response = Response(_read(filename), content_type=content_type)
    response.headers["Cache-Control"] = f"public, max-age={ONE_YEAR}, immutable"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(digest)
    return response.make_conditional(request)
