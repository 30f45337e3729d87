"""The remote-store query backend (issue 6): the :class:`~reekg.server.pool.Backend` protocol over a remote
SPARQL 1.1 store (``store = sparql``).

A :class:`~reekg.server.execution.Job` is forwarded to the remote query endpoint (after the app's own
safety checks, exactly as on the embedded store) and its answer is parsed with pyoxigraph and written again by
the capped writers of :mod:`.execution`, so the row cap, the truncation signals and every output format
behave as on the embedded store.

* Dataset: readers see the graphs the meta graph lists (see :mod:`reekg.loaders.remote`), named in the
  protocol's ``default-graph-uri``/``named-graph-uri``. That is the union default graph of the embedded store,
  and it hides staging graphs and Virtuoso's own system graphs (Virtuoso's default graph without FROM is every
  graph it holds, ``virtrdf:`` included).
* Parameters: pyoxigraph's ``substitutions`` do not exist remotely, so :func:`bind_values` puts a
  ``VALUES (?a ?b) { (<iri> "lit"^^<dt>) }`` block of N-Triples terms at the start of every group (``WHERE``
  groups, sub-selects, UNION/OPTIONAL branches), found by the tokenizer of :mod:`.lexer`: values are never
  spliced into text.
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

from reekg.loaders.remote import RemoteError, RemoteStore

from . import lexer
from .errors import NotReady, QueryTimeout
from .execution import GRAPH_FORMATS, Job, Reply, _boolean, _graph_note, _serialise, decode_term
from .pool import Snapshot

SOLUTIONS_ACCEPT = "application/sparql-results+json"
GRAPH_ACCEPT = "application/n-triples, text/plain;q=0.9, text/turtle;q=0.8"
EMPTY_DEFAULT_GRAPH = "urn:reekg:empty-default-graph"  # names no graph: the default graph is then empty


class RemoteUnavailable(NotReady):
    """The remote store is down, too slow or failing: 503 with the cause (and Retry-After)."""

    metric = "remote"


def bind_values(query: str, bindings: dict[str, ox.NamedNode | ox.Literal]) -> str:
    """``query`` with a ``VALUES`` block of ``bindings`` at the start of every group graph pattern.

    pyoxigraph's ``substitutions`` replace a variable everywhere, nested groups included: a FILTER inside a
    UNION branch or an OPTIONAL sees the value. A VALUES block only binds the group it stands in (a FILTER in a
    UNION branch of that group would see the variable unbound), so one goes into every group: each ``WHERE``
    group, each sub-select's, each ``{`` of UNION, OPTIONAL, GRAPH, MINUS and EXISTS. Not into a CONSTRUCT
    template, a VALUES data block, or a group that holds a sub-select (the grammar allows nothing beside it).
    The positions come from the lexer's tokens (strings, IRIs and comments are skipped); the values are
    N-Triples terms written by pyoxigraph, never text from a request.
    """
    if not bindings:
        return query
    names = sorted(bindings)
    block = (" VALUES (" + " ".join("?" + n for n in names) + ") { ("
             + " ".join(str(bindings[n]) for n in names) + ") } ")
    tokens = [(m.lastgroup, m.group(0), m.end()) for m in lexer._TOKEN.finditer(query)
              if m.lastgroup not in ("ws", "comment")]
    positions = []
    skip_next_brace = False
    for index, (kind, text, end) in enumerate(tokens):
        word = text.upper() if kind == "word" else ""
        if word in ("VALUES", "CONSTRUCT"):
            # the next "{" is a data block or a template; CONSTRUCT WHERE { } (the short form) is left alone
            skip_next_brace = True
            continue
        if kind != "other" or text != "{":
            continue
        if skip_next_brace:
            skip_next_brace = False
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if following is not None and following[0] == "word" and following[1].upper() == "SELECT":
            continue
        positions.append(end)
    out, last = [], 0
    for position in positions:
        out.append(query[last:position])
        out.append(block)
        last = position
    out.append(query[last:])
    return "".join(out)


def _prefixed(query: str, prefixes: dict[str, str]) -> str:
    """The predeclared prefixes as PREFIX lines before the query (the query's own declarations come later in
    the prologue and win)."""
    lines = [f"PREFIX {name}: {ox.NamedNode(iri)}" for name, iri in sorted(prefixes.items())]
    return "\n".join(lines) + ("\n" if lines else "") + query


def _fix_virtuoso_bnodes(answer: dict[str, Any]) -> dict[str, Any]:
    """Virtuoso writes blank nodes in SPARQL JSON as ``nodeID://b10003``, not a valid label: keep the id."""
    for row in answer.get("results", {}).get("bindings", []):
        for term in row.values():
            if term.get("type") == "bnode" and not term["value"].replace("_", "").isalnum():
                term["value"] = "".join(c for c in term["value"].split("://")[-1] if c.isalnum()) or "b"
    return answer


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
        if lexer.analyse(job.query, job.prefixes).has_dataset:
            return [], []  # the query's FROM / FROM NAMED
        return [EMPTY_DEFAULT_GRAPH], graphs  # the store's own default graph, which holds nothing

    def execute(self, job: Job, timeout: float) -> Reply:
        snap = self.snapshot()
        bindings = {name: decode_term(term) for name, term in job.substitutions}
        text = _prefixed(bind_values(job.query, bindings), job.prefixes)
        form = lexer.analyse(job.query, job.prefixes).form
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
            return self._reply(answer.content_type, answer.body, job, snap.build_id)
        except (SyntaxError, ValueError) as exc:
            return Reply(ok=False, error="evaluation", build_id=snap.build_id,
                         message=f"the remote store's answer could not be read: {exc}")

    def _reply(self, content_type: str, body: bytes, job: Job, build_id: str) -> Reply:
        media = content_type.split(";")[0].strip().lower()
        if media in ("application/sparql-results+json", "application/json"):
            answer = _fix_virtuoso_bnodes(json.loads(body))
            if "boolean" in answer:
                fmt = job.result_format
                return Reply(ok=True, body=_boolean(bool(answer["boolean"]), fmt), kind="boolean", format=fmt,
                             rows=1, build_id=build_id)
            result = ox.parse_query_results(json.dumps(answer).encode(), format=ox.QueryResultsFormat.JSON)
            return _serialise(result, job, build_id)
        rdf = {"application/n-triples": ox.RdfFormat.N_TRIPLES, "text/plain": ox.RdfFormat.N_TRIPLES,
               "text/turtle": ox.RdfFormat.TURTLE}.get(media)
        if rdf is None:
            raise ValueError(f"unexpected content type {content_type!r}")
        limit = job.max_rows
        triples = []
        for quad in ox.parse(body, format=rdf):
            triples.append(ox.Triple(quad.subject, quad.predicate, quad.object))
            if len(triples) > limit:
                break
        truncated = len(triples) > limit
        del triples[limit:]
        fmt = job.graph_format
        extra = {"prefixes": job.prefixes} if fmt in ("turtle", "trig") and job.prefixes else {}
        out = ox.serialize(triples, format=GRAPH_FORMATS[fmt], **extra) or b""
        if truncated:
            out = _graph_note(fmt, limit) + out
        return Reply(ok=True, body=out, kind="graph", format=fmt, rows=len(triples), truncated=truncated,
                     build_id=build_id)

    def status(self) -> dict[str, Any]:
        # No local workers: the remote store is "the worker"; whether it answers is what snapshot() tells.
        return {"kind": "remote", "endpoint": self.remote.describe(), "workers_ready": 1, "workers_alive": 1,
                "failures": self.failures,
                **({"last_error": self.last_error} if self.last_error else {})}

    def close(self) -> None:
        pass
