"""The SPARQL 1.1 Protocol query operation at ``/sparql`` (https://www.w3.org/TR/sparql11-protocol/).

GET ``?query=``, POST form and POST ``application/sparql-query``; ``default-graph-uri`` and
``named-graph-uri`` (repeatable); a SPARQL 1.1 Service Description on a GET without a query. Without a
dataset in the request or the query, the default graph is the union of every graph of the store (like
``oxigraph serve --union-default-graph``).

Extensions: ``timeout`` (seconds, may only lower the ``query_timeout`` setting), ``format``/``output``
(as SPARQLWrapper sends them), and the common prefixes of docs/model.md predeclared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, request
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Request

from reekg import formats
from reekg.errors import (
    BadRequest,
    PayloadTooLarge,
    QueryError,
    Refused,
    ServiceError,
    ServiceFailure,
    UnsupportedMediaType,
    UriTooLong,
)
from reekg.loaders.namespaces import Namespaces
from reekg.read import Backend
from reekg.read.jobs import Job, Reply

from . import conneg, lexer, ui

bp = Blueprint("sparql", __name__)

_FAMILY_OF_FORM = {"SELECT": "solutions", "ASK": "boolean", "CONSTRUCT": "graph", "DESCRIBE": "graph"}
SD = "http://www.w3.org/ns/sparql-service-description#"
FORMATS = formats.W3C_FORMATS
# An error the lean front (reekg.server.sparql_fast) met after running a query: the view raises it, so that the
# one error mapping (reekg.server.error_responses) answers it. A WSGI environ key no client can set.
FAILED = "reekg.sparql.failed"


def _backend() -> Backend:
    return current_app.extensions["reekg.backend"]


def _read_request(request: Request, max_bytes: int) -> tuple[MultiDict, str | None]:
    """The protocol parameters (from URL and/or form) and the query, checked for conflicts."""
    if len(request.query_string) > max_bytes:
        raise UriTooLong(f"query string too long: the limit is {max_bytes} bytes; POST the query instead")
    if request.method in ("GET", "HEAD"):
        params = request.args
        queries = params.getlist("query")
    else:
        mimetype = request.mimetype
        if (request.content_length or 0) > max_bytes:
            raise PayloadTooLarge(f"request body too large: the limit is {max_bytes} bytes")
        if mimetype == "application/x-www-form-urlencoded":
            if "query" in request.args and "query" in request.form:
                raise BadRequest("the query is given both in the URL and in the form body; send it once")
            params = MultiDict(request.args)
            for key, value in request.form.items(multi=True):
                params.add(key, value)
            queries = params.getlist("query")
        elif mimetype == "application/sparql-query":
            if "query" in request.args:
                raise BadRequest("the query is given both in the URL and in the request body; send it once")
            try:
                body = request.get_data(cache=False).decode("utf-8")
            except UnicodeDecodeError:
                raise BadRequest("the query body is not valid UTF-8") from None
            params = request.args
            queries = [body]
        elif mimetype == "application/sparql-update":
            raise Refused("updates are not accepted by the query operation")
        else:
            shown = mimetype or "no Content-Type"
            raise UnsupportedMediaType(f"cannot read a request of type {shown}; send "
                                       "application/x-www-form-urlencoded or application/sparql-query")
    if "update" in params:
        raise Refused("updates are not accepted by the query operation (found an `update` parameter)")
    if len(queries) > 1:
        raise BadRequest("the `query` parameter is given more than once")
    return params, (queries[0] if queries else None)


def _timeout(params: MultiDict, limit: float) -> float:
    values = params.getlist("timeout")
    if not values:
        return limit
    if len(values) > 1:
        raise BadRequest("the `timeout` parameter is given more than once")
    try:
        asked = float(values[0])
    except ValueError:
        raise BadRequest(f"timeout must be a number of seconds, not {values[0]!r}") from None
    if not asked > 0:
        raise BadRequest("timeout must be more than 0 seconds")
    return min(asked, limit)


def _graphs(params: MultiDict, name: str, store_graphs: frozenset[str], allow: tuple[str, ...]) -> tuple[str, ...]:
    """The graphs a ``default-graph-uri``/``named-graph-uri`` parameter names. ``allow`` holds the prefixes
    that may be named although the store has no such graph (see :func:`_inside`)."""
    out = []
    for iri in params.getlist(name):
        try:
            ox.NamedNode(iri)
        except ValueError:
            raise BadRequest(f"{name} {iri!r} is not an absolute IRI") from None
        if iri not in store_graphs and not any(iri.startswith(a) for a in allow):
            raise Refused(f"{name} <{iri}> is not a graph of this store (and outbound_allow does not name it)")
        out.append(iri)
    return tuple(out)


def _inside(shape: lexer.QueryShape, graphs: frozenset[str], base: str) -> frozenset[str]:
    """The store's graphs plus every FROM / FROM NAMED graph under the store's own base: a graph IRI of this
    store that holds no triples (an empty partner graph) is an empty graph, not a request to fetch it
    (SPARQL 1.1 §13.2 leaves a dataset IRI's meaning to the service). Other IRIs stay refused."""
    named = {g for g in (*shape.from_graphs, *shape.from_named) if g is not None and g.startswith(base)}
    return graphs | named


@dataclass(frozen=True)
class Planned:
    """A query ready to run: the job and its time limit."""

    job: Job
    timeout: float


@bp.route("/sparql", methods=["GET", "POST"])
def query() -> Response:
    metrics = current_app.extensions["reekg.metrics"]
    try:
        failed = request.environ.pop(FAILED, None)
        if failed is not None:
            raise failed
        return _query()
    except ServiceError as exc:
        metrics.reject(exc.metric)
        raise


def _query() -> Response:
    settings = current_app.config["REEKG"]
    backend = _backend()
    planned = plan(request, settings, current_app.extensions["reekg.namespaces"], backend)
    if planned is None:
        if request.method == "POST":
            raise BadRequest("no query: send a `query` parameter or an application/sparql-query body")
        params = _read_request(request, settings["max_request_bytes"])[0]
        if ui.prefers_html(request.headers.get("Accept"), params):
            return ui.query_page()  # a browser: the query page (issue 3, item 6)
        return service_description(params)
    reply = backend.execute(planned.job, planned.timeout)
    body, headers = answer(reply, settings["max_rows"])
    if reply.truncated:
        current_app.extensions["reekg.metrics"].count_truncated()
    return Response(body, headers=headers)


def plan(request: Request, settings: Mapping[str, Any], ns: Namespaces, backend: Backend) -> Planned | None:
    """The job a query request asks for, checked (parameters, the lexer's gate, the dataset, the format), or
    None when it has no query. Raises the :mod:`reekg.errors` error a bad request answers with. Shared by the
    Flask view and the lean front (:mod:`reekg.server.sparql_fast`), so both read a request alike."""
    params, text = _read_request(request, settings["max_request_bytes"])
    if text is None:
        return None
    timeout = _timeout(params, settings["query_timeout"])
    allow = tuple(settings["outbound_allow"].split())
    snapshot = backend.snapshot()
    prefixes = _prefixes(ns)
    shape = lexer.analyse_cached(text, prefixes)
    try:
        lexer.check(shape, store_graphs=_inside(shape, snapshot.graphs, ns.base), allow=allow,
                    max_depth=settings["query_max_depth"], max_tokens=settings["query_max_tokens"])
    except lexer.RefusedQuery as exc:
        raise Refused(str(exc)) from None
    default_graphs = _graphs(params, "default-graph-uri", snapshot.graphs, (*allow, ns.base))
    named_graphs = _graphs(params, "named-graph-uri", snapshot.graphs, (*allow, ns.base))

    family = _FAMILY_OF_FORM.get(shape.form or "", "solutions")
    accept = request.headers.get("Accept")
    chosen = conneg.negotiate_answer(family, accept, params)
    # The lexer's guess of the form only picks the family; if the engine disagrees, the other family's
    # best acceptable format (or its default) is used.
    other = "graph" if family != "graph" else "solutions"
    try:
        fallback = conneg.negotiate_answer(other, accept, params)
    except ServiceError:
        fallback = conneg.FAMILIES[other][0]
    host_url, base_url = _urls(request)
    job = Job(
        query=text,
        result_format=chosen.name if family != "graph" else fallback.name,
        graph_format=chosen.name if family == "graph" else fallback.name,
        max_rows=settings["max_rows"],
        use_union=not shape.has_dataset,
        default_graphs=default_graphs,
        named_graphs=named_graphs,
        prefixes=prefixes,
        truncation_link=host_url + "sparql#truncated",
        base_iri=base_url,
        bounded=shape.bounded and not shape.has_dataset,
    )
    return Planned(job, timeout)


@lru_cache(maxsize=8)
def _prefixes(ns: Namespaces) -> dict[str, str]:
    """The predeclared prefixes of ``ns``, built once (they are fixed by the base; nothing mutates them)."""
    return ns.prefixes()


_URL_KEYS = ("wsgi.url_scheme", "HTTP_HOST", "SERVER_NAME", "SERVER_PORT", "SCRIPT_NAME", "PATH_INFO")
_urls_seen: dict[tuple, tuple[str, str]] = {}


def _urls(request: Request) -> tuple[str, str]:
    """werkzeug's ``host_url`` and ``base_url`` of the request, remembered by the environ values they are made
    of (computing them cost as much as a small lookup's evaluation); at most 64 are kept."""
    key = tuple(request.environ.get(name) for name in _URL_KEYS)
    urls = _urls_seen.get(key)
    if urls is None:
        urls = (request.host_url, request.base_url)
        if len(_urls_seen) >= 64:
            _urls_seen.clear()
        _urls_seen[key] = urls
    return urls


def answer(reply: Reply, max_rows: int) -> tuple[bytes, list[tuple[str, str]]]:
    """The body and headers of a query's answer (Content-Type, ``Vary``, the build, a truncation); raises the
    error a failed query answers with."""
    if not reply.ok:
        if reply.error == "syntax":
            raise QueryError(f"SPARQL syntax error: {reply.message}")
        raise ServiceFailure(f"query failed ({reply.error}): {reply.message}")
    choice = next(c for c in conneg.FAMILIES[reply.kind] if c.name == reply.format)
    headers = [("Content-Type", choice.content_type), ("Content-Length", str(len(reply.body))), ("Vary", "Accept")]
    if reply.build_id:
        headers.append(("Reekg-Build", reply.build_id))
    if reply.truncated:
        headers.append(("Reekg-Truncated", f"true; limit={max_rows}"))
    return reply.body, headers


def service_description(params: MultiDict) -> Response:
    """A SPARQL 1.1 Service Description of this endpoint (https://www.w3.org/TR/sparql11-service-description/)."""
    choice = conneg.negotiate("graph", request.headers.get("Accept"), params)
    snapshot = _backend().snapshot()
    sd = lambda name: ox.NamedNode(SD + name)  # noqa: E731
    rdf_type = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")
    endpoint = ox.NamedNode(request.base_url)
    dataset, default_graph = ox.BlankNode(), ox.BlankNode()
    triples = [
        ox.Triple(endpoint, rdf_type, sd("Service")),
        ox.Triple(endpoint, sd("endpoint"), endpoint),
        ox.Triple(endpoint, sd("supportedLanguage"), sd("SPARQL11Query")),
        ox.Triple(endpoint, sd("feature"), sd("UnionDefaultGraph")),
        ox.Triple(endpoint, sd("defaultDataset"), dataset),
        ox.Triple(dataset, rdf_type, sd("Dataset")),
        ox.Triple(dataset, sd("defaultGraph"), default_graph),
        ox.Triple(default_graph, rdf_type, sd("Graph")),
    ]
    triples += [ox.Triple(endpoint, sd("resultFormat"), ox.NamedNode(f.iri))
                for f in (*formats.RESULTS, *formats.GRAPH)]
    for name in sorted(snapshot.graphs):
        named = ox.BlankNode()
        triples += [ox.Triple(dataset, sd("namedGraph"), named), ox.Triple(named, rdf_type, sd("NamedGraph")),
                    ox.Triple(named, sd("name"), ox.NamedNode(name))]
    extra = {"prefixes": {"sd": SD, "formats": FORMATS}} if choice.name in ("turtle", "trig") else {}
    body = ox.serialize(triples, format=choice.rdf, **extra) or b""
    response = Response(body, content_type=choice.content_type)
    response.vary.add("Accept")
    response.headers["Reekg-Build"] = snapshot.build_id
    return response
