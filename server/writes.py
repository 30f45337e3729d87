"""Writes for data stewards: SPARQL 1.1 Update at ``/update``, the Graph Store HTTP Protocol at ``/store`` and
a dry run at ``/validate`` (issue 3, item 2).

* Off unless the ``update_token`` setting is set; then every write (and ``/validate``) needs
  ``Authorization: Bearer <token>``: none → 401 with ``WWW-Authenticate: Bearer``, a wrong one → 403
  (compared with :func:`hmac.compare_digest`). Graph Store GET/HEAD are reads and need no token, like
  ``/sparql``.
* Each write is one validated transaction run by :mod:`reekg.loaders.transact` (the loaders are the only
  writer; the build lock serialises writers): it must pass the SHACL shapes or it is refused with 422 and
  the report (JSON, or the SHACL report graph as Turtle for a client that prefers ``text/turtle``), and
  the store is unchanged. A committed write publishes a new build; the query workers reload when
  ``home/current`` moves, so the next query sees it.
* Success: ``/update`` 200, ``/store`` PUT/POST 201 when they create the graph and 200 otherwise, DELETE
  200 (404 for a graph that holds nothing), each with a JSON summary ``{"ok": true, "build_id", "changed",
  "added", "removed", "graphs", "warnings", …}`` and the ``Reekg-Build`` header
  (https://www.w3.org/TR/sparql11-http-rdf-update/#http-put allows 200, 201 or 204).
* On a remote store (``store = sparql``) the same transaction reads the served graphs from the remote store
  and publishes the changed graphs staged, then switched in (:class:`reekg.loaders.transact.RemoteTarget`). A
  remote store that is down or failing is a 503 naming the cause; a build published by another writer while
  this one was checked, a 409. Either way nothing changed.
* ``?default`` means ``…/graph/partner/default``: every fact here lives in a named graph, so the default
  graph of a write is that one graph (see :mod:`reekg.loaders.transact`).
* Outbound requests: ``LOAD`` and ``SERVICE`` make pyoxigraph fetch, so they are refused unless the
  ``outbound_allow`` setting names the target; ``USING``/``USING NAMED``/``WITH`` must name a graph of the
  store or one under ``…/graph/`` (the lexer of :mod:`.lexer` does the reading).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

import pyoxigraph as ox
from flask import Blueprint, Response, current_app, jsonify, request

from reekg.errors import (
    BadRequest,
    Forbidden,
    HomeUnavailable,
    NotFound,
    NotReady,
    PayloadTooLarge,
    QueryError,
    Refused,
    RemoteUnavailable,
    ServiceError,
    ServiceFailure,
    Unauthorized,
    UnsupportedMediaType,
    ValidationFailed,
)
from reekg.loaders import transact
from reekg.loaders.namespaces import Namespaces
from reekg.read.jobs import Job, on_engine_stack
from reekg.terms import encode_bindings

from . import conneg, lexer

bp = Blueprint("writes", __name__)

UPDATE_TYPE = "application/sparql-update"
FORM_TYPE = "application/x-www-form-urlencoded"
ENABLE_HINT = ("writes are turned off: set the update_token setting (environment variable REEKG_UPDATE_TOKEN) "
               "and send it as `Authorization: Bearer <token>`")


def _settings() -> dict[str, Any]:
    return current_app.config["REEKG"]


def _ns() -> Namespaces:
    return current_app.extensions["reekg.namespaces"]


def _authorise() -> None:
    """401 without a bearer token, 403 with a wrong one or when writes are off."""
    token = _settings()["update_token"]
    if not token:
        raise Forbidden(ENABLE_HINT)
    scheme, _, given = (request.headers.get("Authorization") or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        raise Unauthorized("this write needs `Authorization: Bearer <token>` (the update_token setting)")
    if not hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8")):
        raise Forbidden("the bearer token is not the one this service accepts")


def _guarded(view: Callable[..., Response]) -> Callable[..., Response]:
    """Count every refusal in the metrics, as the query operation does."""

    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except ServiceError as exc:
            current_app.extensions["reekg.metrics"].reject(exc.metric)
            raise

    wrapper.__name__ = view.__name__
    wrapper.__doc__ = view.__doc__
    return wrapper


def _body() -> bytes:
    _body_size_check()
    return request.get_data(cache=False)


def _read_update() -> str:
    """The update text from an application/sparql-update body or an ``update=`` form field."""
    mimetype = request.mimetype
    if mimetype == UPDATE_TYPE:
        if "update" in request.args:
            raise BadRequest("the update is given both in the URL and in the request body; send it once")
        try:
            text = _body().decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("the update body is not valid UTF-8") from None
        params = request.args
    elif mimetype == FORM_TYPE:
        _body_size_check()
        params = request.form
        if "update" in request.args:
            raise BadRequest("the update is given both in the URL and in the form body; send it once")
        updates = params.getlist("update")
        if not updates:
            raise BadRequest("no update: send an `update` form field or an application/sparql-update body")
        if len(updates) > 1:
            raise BadRequest("the `update` parameter is given more than once")
        text = updates[0]
    else:
        shown = mimetype or "no Content-Type"
        raise UnsupportedMediaType(f"cannot read an update of type {shown}; send {UPDATE_TYPE} or {FORM_TYPE}")
    if "query" in params or "query" in request.args:
        raise BadRequest("a `query` parameter was sent to the update operation; queries go to /sparql")
    for name in ("using-graph-uri", "using-named-graph-uri"):
        if name in params or name in request.args:
            raise BadRequest(f"the {name} parameter is not supported: write USING / USING NAMED in the update")
    if not text.strip():
        raise BadRequest("the update is empty")
    return text


def _body_size_check() -> None:
    limit = _settings()["max_request_bytes"]
    if (request.content_length or 0) > limit:
        raise PayloadTooLarge(f"request body too large: the limit is {limit} bytes")


# --- the outbound gate ----------------------------------------------------------------------------

def gate_update(text: str, *, prefixes: dict[str, str], store_graphs: frozenset[str], graph_prefix: str,
                allow: tuple[str, ...], max_depth: int = lexer.DEFAULT_MAX_DEPTH,
                max_tokens: int = lexer.DEFAULT_MAX_TOKENS) -> None:
    """Refuse an update too deep or long for the engine (:func:`lexer.check_size`) or that would reach outside
    the store (raises Refused, naming the limit or the clause)."""
    shape = lexer.analyse(text, prefixes)
    try:
        lexer.check_size(shape, max_depth=max_depth, max_tokens=max_tokens, what="update")
    except lexer.RefusedQuery as exc:
        raise Refused(str(exc)) from None
    loads, withs, hidden = shape.loads, shape.withs, shape.update_suspicious

    def allowed(iri: str | None) -> bool:
        return iri is not None and any(iri.startswith(a) for a in allow)

    def inside(iri: str | None) -> bool:
        return iri is not None and (iri in store_graphs or iri.startswith(graph_prefix) or allowed(iri))

    for word in [*shape.suspicious, *hidden]:
        raise Refused(f"{word!r} reads as a keyword (SERVICE, FROM, USING, LOAD or WITH) run into another token; "
                      "separate keywords with spaces and do not start prefixes with them")
    for target in shape.services:
        if not allowed(target):
            shown = f"<{target}>" if target else "a variable or unresolved name"
            raise Refused(f"SERVICE {shown} is not allowed: this endpoint makes no outbound requests unless the "
                          "outbound_allow setting names the target")
    for target in loads:
        if not allowed(target):
            shown = f"<{target}>" if target else "a target that is not an absolute IRI"
            raise Refused(f"LOAD {shown} is not allowed: this endpoint makes no outbound requests unless the "
                          "outbound_allow setting names the target")
    for clause, targets in (("USING", shape.from_graphs), ("USING NAMED", shape.from_named), ("WITH", withs)):
        for target in targets:
            if not inside(target):
                shown = f"<{target}>" if target else "a name that is not an absolute IRI or declared prefix"
                raise Refused(f"{clause} {shown} is not a graph of this store (graphs live under {graph_prefix}; "
                              "outbound_allow does not name it)")


# --- running a write ------------------------------------------------------------------------------

def _run(operation: Callable[[], Any]) -> Any:
    """Run a loaders write (or a read of the served graphs) and map its errors to the service's."""
    try:
        result = on_engine_stack(operation)  # an update runs in this process: the engine needs a deep stack
    except transact.WriteConflict:
        raise  # already the service's 409 (reekg.errors); before StoreUnavailable, its base
    except transact.StoreUnavailable as exc:
        raise RemoteUnavailable(str(exc)) from None
    except HomeUnavailable as exc:  # a read-only home, a store that does not open: 503 naming the cause
        raise NotReady(f"the write cannot be applied, nothing was changed: {exc.message}") from None
    except transact.WriteInvalid as exc:
        raise ValidationFailed(
            f"the write was refused: it breaks {len(exc.report.violations)} SHACL constraint(s); "
            "nothing was changed", exc.results, exc.report.graph.serialize(format="turtle")) from None
    except transact.WriteSyntaxError as exc:
        raise QueryError(str(exc)) from None
    except transact.UnsupportedFormat as exc:
        raise UnsupportedMediaType(str(exc)) from None
    except transact.GraphNotFound as exc:
        raise NotFound(str(exc)) from None
    except transact.WriteRefused as exc:
        raise Refused(str(exc)) from None
    except FileNotFoundError as exc:  # no store has been built yet
        raise NotReady(str(exc)) from None
    if isinstance(result, transact.WriteResult) and result.published:
        _served_graph_changed()
    return result


def _served_graph_changed() -> None:
    """Make the next read here see the write at once. The embedded query workers notice ``home/current``
    move by themselves; the remote backend caches the meta graph for a second, so it is told; the warm-up
    (:mod:`.warmup`) is woken to read the new build's indexes."""
    invalidate = getattr(current_app.extensions["reekg.backend"], "invalidate", None)
    if callable(invalidate):
        invalidate()
    warmup = current_app.extensions.get("reekg.warmup")
    if warmup is not None:  # read the new build's indexes now, not at the next look
        warmup.nudge()


def _answer(result: transact.WriteResult, status: int = 200, **extra: Any) -> Response:
    response = jsonify({"ok": True, **result.summary(), **extra})
    response.status_code = status
    if result.build_id:
        response.headers["Reekg-Build"] = result.build_id
    return response


def _write_settings() -> dict[str, Any]:
    return dict(_settings())


def _checked_update() -> str:
    text = _read_update()
    settings = _settings()
    ns = _ns()
    store_graphs = _run(lambda: transact.served_graphs(settings))
    gate_update(text, prefixes=ns.prefixes(), store_graphs=store_graphs,
                graph_prefix=ns.base + "graph/", allow=tuple(settings["outbound_allow"].split()),
                max_depth=settings["query_max_depth"], max_tokens=settings["query_max_tokens"])
    return text


@bp.post("/update")
@_guarded
def update() -> Response:
    """SPARQL 1.1 Update (https://www.w3.org/TR/sparql11-protocol/#update-operation)."""
    _authorise()
    text = _checked_update()
    base = request.base_url  # relative IRIs resolve against the endpoint (SPARQL 1.1 Protocol, update_base_uri)
    result = _run(lambda: transact.apply_update(_write_settings(), text, base_iri=base))
    return _answer(result)


def _target() -> tuple[str | None, bool]:
    """The Graph Store target: (graph IRI or None for ?default, whether one was named at all)."""
    graphs = request.args.getlist("graph")
    default = "default" in request.args
    if len(graphs) > 1:
        raise BadRequest("the `graph` parameter is given more than once")
    if graphs and default:
        raise BadRequest("send either ?graph=IRI or ?default, not both")
    if graphs:
        try:
            ox.NamedNode(graphs[0])
        except ValueError:
            raise BadRequest(f"graph {graphs[0]!r} is not an absolute IRI") from None
        if ":" not in graphs[0]:
            raise BadRequest(f"graph {graphs[0]!r} is not an absolute IRI")
        return graphs[0], True
    return None, default


@bp.route("/store", methods=["GET", "PUT", "POST", "DELETE"])
@_guarded
def store() -> Response:
    """The Graph Store HTTP Protocol (https://www.w3.org/TR/sparql11-http-rdf-update/)."""
    graph, named = _target()
    if request.method in ("GET", "HEAD"):  # a HEAD is answered like a GET, without the body
        if not named:
            raise BadRequest("name a graph: /store?graph=IRI or /store?default")
        return _read_graph(graph)
    _authorise()
    settings = _write_settings()
    if request.method == "DELETE":
        if not named:
            raise BadRequest("DELETE needs ?graph=IRI or ?default (the whole dataset is never deleted)")
        return _answer(_run(lambda: transact.graph_delete(settings, graph)))
    data, content_type = _body(), request.content_type
    if request.method == "PUT":
        if not named:
            raise BadRequest("PUT needs ?graph=IRI or ?default (the whole dataset is never replaced)")
        result = _run(lambda: transact.graph_put(settings, graph, data, content_type))
    else:
        result = _run(lambda: transact.graph_post(settings, graph, data, content_type, dataset=not named))
    return _answer(result, 201 if result.created and result.published else 200)


@bp.post("/validate")
@_guarded
def validate() -> Response:
    """A dry run: an update (as at /update) or RDF data (merged as by POST /store) checked, nothing written."""
    _authorise()
    settings = _write_settings()
    if request.mimetype in (UPDATE_TYPE, FORM_TYPE):
        text = _checked_update()
        base = request.base_url
        result = _run(lambda: transact.validate_update(settings, text, base_iri=base))
    else:
        graph, named = _target()
        data, content_type = _body(), request.content_type
        result = _run(lambda: transact.graph_post(settings, graph, data, content_type, dataset=not named,
                                                publish=False))
    return _answer(result, conforms=True)


# --- Graph Store reads ----------------------------------------------------------------------------

GRAPH_QUERY = "CONSTRUCT { ?s ?p ?o } WHERE { GRAPH ?g { ?s ?p ?o } }"

def _read_graph(graph: str | None) -> Response:
    """The graph's triples through the query workers (time limit and row cap apply)."""
    settings = _settings()
    name = graph if graph is not None else transact.default_write_graph(_ns())
    chosen = conneg.negotiate("graph", request.headers.get("Accept"), None)
    as_quads = chosen.named_graphs
    # The graph is bound as a typed term (a checked IRI), never text from the request.
    job = Job(query=GRAPH_QUERY, graph_format="n-triples" if as_quads else chosen.name,
              max_rows=settings["max_rows"], use_union=False, prefixes=_ns().prefixes(),
              truncation_link=request.host_url + "store#truncated",
              substitutions=encode_bindings({"g": ox.NamedNode(name)}))
    reply = current_app.extensions["reekg.backend"].execute(job, settings["query_timeout"])
    if not reply.ok:
        raise ServiceFailure(f"reading the graph failed ({reply.error}): {reply.message}")
    if reply.rows == 0 and graph is not None:
        raise NotFound(f"<{graph}> holds no triples")
    body = reply.body
    if as_quads:
        node = ox.NamedNode(name)
        quads = [ox.Quad(q.subject, q.predicate, q.object, node)
                 for q in ox.parse(body, format=ox.RdfFormat.N_TRIPLES)]
        body = ox.serialize(quads, format=chosen.rdf) or b""
    response = Response(body, content_type=chosen.content_type)
    response.vary.add("Accept")
    if reply.build_id:
        response.headers["Reekg-Build"] = reply.build_id
    if reply.truncated:
        response.headers["Reekg-Truncated"] = f"true; limit={settings['max_rows']}"
    return response
