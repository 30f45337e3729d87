"""The remote-store query backend (issue 6): the :class:`~reekg.read.jobs.Backend` protocol over a remote
SPARQL 1.1 store (``store = sparql``).

A :class:`~reekg.read.jobs.Job` is forwarded to the remote query endpoint (after the app's own
safety checks, exactly as on the embedded store) and its answer is parsed with pyoxigraph and written again by
the capped writers of :mod:`.jobs`, so the row cap, the truncation signals and every output format
behave as on the embedded store.

* Dataset: readers see the graphs the meta graph lists (see :mod:`reekg.loaders.remote_store`), named in the
  protocol's ``default-graph-uri``/``named-graph-uri``. That is the union default graph of the embedded store,
  and it hides staging graphs and Virtuoso's own system graphs (Virtuoso's default graph without FROM is every
  graph it holds, ``virtrdf:`` included).
* Parameters: pyoxigraph's ``substitutions`` do not exist remotely, so :func:`substitute_terms` writes each
  bound variable's N-Triples term in place of its tokens (found by the tokens of :mod:`reekg.sparql_text`; the outer
  projection keeps ``(term AS ?p)``), which is what ``substitutions`` mean; where that cannot be done (``BIND …
  AS ?p``, ``VALUES ?p``, ``BOUND(?p)``) :func:`bind_values` puts a ``VALUES`` block at the start of every group
  instead (Virtuoso 7.2's compiler fails on many of those: SP031). Values are never spliced from request text.
* Virtuoso answers made good: IF/COALESCE-chosen IRIs under ORDER BY (:func:`keep_computed_iris`), computed
  booleans typed as integers (:func:`keep_computed_booleans`), ``"1"``/``"0"`` booleans, ``nodeID://`` blank
  nodes, parameter columns typed as integers (:func:`fix_virtuoso_terms`); these rewrites live in
  :mod:`.virtuoso`. Deviations that only a query's own wording can avoid are written around in the library
  queries (listed in tests/remote/test_remote_store.py).
* Time limit: enforced here (the socket timeout → :class:`QueryTimeout`). It is not passed to Virtuoso: its
  ``timeout`` parameter makes an "anytime" query that returns partial results as if complete.
* Faults: an engine that is down or erroring → 503 naming the cause (:class:`RemoteUnavailable`).
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pyoxigraph as ox

from reekg import formats, sparql_text
from reekg.errors import NotReady, QueryTimeout, RemoteError, RemoteUnavailable
from reekg.loaders.remote_store import RemoteStore
from reekg.terms import bindings_of

from .jobs import Job, Reply, Snapshot, _boolean, _serialise, graph_reply
from .virtuoso import (
    NotSubstitutable,
    bind_values,
    fix_virtuoso_terms,
    keep_computed_booleans,
    keep_computed_iris,
    substitute_terms,
)

# What we ask the remote store for: JSON results, N-Triples (text/plain, its old name) or Turtle for graphs.
_JSON_RESULTS = formats.by_name("json", "results").media_types[:2]  # the type and plain application/json
_GRAPH_ANSWERS = ("n-triples", "turtle")
SOLUTIONS_ACCEPT = formats.by_name("json", "results").media_type
GRAPH_ACCEPT = "application/n-triples, text/plain;q=0.9, text/turtle;q=0.8"
EMPTY_DEFAULT_GRAPH = "urn:reekg:empty-default-graph"  # names no graph: the default graph is then empty


def _prefixed(query: str, prefixes: dict[str, str]) -> str:
    """The predeclared prefixes as PREFIX lines before the query (the query's own declarations come later in
    the prologue and win)."""
    lines = [f"PREFIX {name}: {ox.NamedNode(iri)}" for name, iri in sorted(prefixes.items())]
    return "\n".join(lines) + ("\n" if lines else "") + query


class RemoteBackend:
    """Queries on a remote SPARQL 1.1 store; the build and graphs come from its meta graph."""

    def __init__(self, remote: RemoteStore, base: str, *, snapshot_ttl: float = 1.0):
        self.remote = remote
        self.base = base
        self.snapshot_ttl = snapshot_ttl
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._read_at = 0.0
        self.failures = 0
        self.last_error = ""

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> RemoteBackend:
        return cls(RemoteStore.from_settings(settings), settings["base_iri"])

    def _unavailable(self, exc: RemoteError) -> RemoteUnavailable:
        self.failures += 1
        self.last_error = exc.message
        return RemoteUnavailable(f"the remote SPARQL store is unavailable: {exc.message}")

    def invalidate(self) -> None:
        """Forget the cached meta graph: the next request reads it again (a write here has just switched)."""
        self._read_at = float("-inf")

    def snapshot(self) -> Snapshot:
        now = time.monotonic()
        snap = self._snapshot
        if snap is not None and now - self._read_at < self.snapshot_ttl:
            return snap
        with self._lock:
            try:
                meta = self.remote.meta(self.base, timeout=min(self.remote.timeout, 10))
            except RemoteError as exc:
                raise self._unavailable(exc) from None
            if meta is None:
                raise NotReady(f"nothing has been published to the remote store at {self.remote.describe()} yet: "
                               "run `reekg build` with store = sparql")
            self._snapshot = Snapshot(meta["build_id"], frozenset(meta["graphs"]))
            self._read_at = time.monotonic()
            self.last_error = ""
            return self._snapshot

    def _dataset(self, job: Job, snap: Snapshot) -> tuple[list[str], list[str]]:
        if job.default_graphs or job.named_graphs:
            return list(job.default_graphs), list(job.named_graphs)
        graphs = sorted(snap.graphs)
        if job.use_union:
            return graphs, graphs
        if sparql_text.analyse(job.query, job.prefixes).has_dataset:
            return [], []  # the query's FROM / FROM NAMED
        return [EMPTY_DEFAULT_GRAPH], graphs  # the store's own default graph, which holds nothing

    def execute(self, job: Job, timeout: float) -> Reply:
        snap = self.snapshot()
        bindings = bindings_of(job.substitutions)
        try:
            bound = substitute_terms(job.query, bindings)
        except NotSubstitutable:
            bound = bind_values(job.query, bindings)
        text = _prefixed(keep_computed_booleans(keep_computed_iris(bound)), job.prefixes)
        if job.base_iri:  # relative IRIs resolve against this endpoint, not the remote one (a later BASE wins)
            text = f"BASE {ox.NamedNode(job.base_iri)}\n{text}"
        form = sparql_text.analyse(job.query, job.prefixes).form
        accept = GRAPH_ACCEPT if form in ("CONSTRUCT", "DESCRIBE") else (
            SOLUTIONS_ACCEPT if form in ("SELECT", "ASK") else f"{SOLUTIONS_ACCEPT}, {GRAPH_ACCEPT}")
        default_graphs, named_graphs = self._dataset(job, snap)
        try:
            answer = self.remote.query(text, accept=accept, default_graphs=default_graphs,
                                       named_graphs=named_graphs, timeout=timeout)
        except RemoteError as exc:
            if exc.kind == "timeout":
                raise QueryTimeout(timeout) from None
            if exc.kind == "syntax":
                return Reply(ok=False, error="syntax", message=exc.message, build_id=snap.build_id)
            raise self._unavailable(exc) from None
        try:
            return self._reply(answer.content_type, answer.body, job, snap.build_id, bindings)
        except (SyntaxError, ValueError) as exc:
            return Reply(ok=False, error="evaluation", build_id=snap.build_id,
                         message=f"the remote store's answer could not be read: {exc}")

    def _reply(self, content_type: str, body: bytes, job: Job, build_id: str,
               bindings: dict[str, ox.NamedNode | ox.Literal] | None = None) -> Reply:
        media = content_type.split(";")[0].strip().lower()
        if media in _JSON_RESULTS:
            answer = fix_virtuoso_terms(json.loads(body), bindings or {})
            if "boolean" in answer:
                fmt = job.result_format
                return Reply(ok=True, body=_boolean(bool(answer["boolean"]), fmt), kind="boolean", format=fmt,
                             rows=1, build_id=build_id)
            result = ox.parse_query_results(json.dumps(answer).encode(), format=ox.QueryResultsFormat.JSON)
            return _serialise(result, job, build_id)
        rdf = formats.by_media_type(media, "graph")
        if rdf is None or rdf.name not in _GRAPH_ANSWERS:
            raise ValueError(f"unexpected content type {content_type!r}")
        triples = (ox.Triple(q.subject, q.predicate, q.object) for q in ox.parse(body, format=rdf.rdf))
        return graph_reply(triples, job, build_id)

    def status(self) -> dict[str, Any]:
        # No local workers: the remote store is "the worker"; whether it answers is what snapshot() tells.
        return {"kind": "remote", "endpoint": self.remote.describe(), "workers_ready": 1, "workers_alive": 1,
                "failures": self.failures,
                **({"last_error": self.last_error} if self.last_error else {})}

    def close(self) -> None:
        pass
