"""Running one query on a pyoxigraph store and serialising its answer, with the row cap applied.

This module runs inside the query worker processes (see :mod:`reekg.read.pool`) and, for tests and
embedding, in process. It imports no Flask. A job and its reply are plain picklable values.

pyoxigraph can only serialise a whole result iterator, so capped SELECT results (we take ``max_rows + 1``
solutions to know whether there were more) are written by the small serialisers below, which follow the
W3C result formats. Graph results go through ``pyoxigraph.serialize`` on the capped list of triples.

How a truncated answer says so in its body, where the format allows it:

* SPARQL JSON and XML results: a ``link`` in the head (both formats define it for metadata), pointing at
  ``…#truncated`` with the limit in its query string. An extra top-level JSON key is not allowed.
* Turtle, TriG, N-Triples, N-Quads: a ``#`` comment on the first line; RDF/XML: an XML comment.
* CSV, TSV and JSON-LD have no place for it: the ``Reekg-Truncated`` response header is the signal
  (it is sent for every format).
"""

from __future__ import annotations

import contextvars
import io
import itertools
import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar
from xml.sax.saxutils import escape, quoteattr

import pyoxigraph as ox

from reekg import formats
from reekg.terms import decode_term

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
RDF_LANG_STRING = "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"



@dataclass(frozen=True)
class Job:
    """One query to run. ``result_format``/``graph_format`` are format names of :mod:`reekg.formats`."""

    query: str
    result_format: str = "json"
    graph_format: str = "turtle"
    max_rows: int = 10_000
    use_union: bool = True
    default_graphs: tuple[str, ...] = ()
    named_graphs: tuple[str, ...] = ()
    prefixes: dict[str, str] = field(default_factory=dict)
    truncation_link: str = "urn:reekg:truncated"
    # The base that relative IRIs in the query resolve against: the endpoint's request URL, as Oxigraph's
    # server does (SPARQL 1.1 Protocol, test update_base_uri); None leaves a relative IRI a syntax error.
    base_iri: str | None = None
    # Parameters of a named query, bound as typed terms (never spliced into the text): variable name →
    # ("iri", value) or ("literal", value, datatype IRI, language tag) — plain values, so a Job pickles.
    substitutions: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # One triple pattern and nothing else (reekg.sparql_text.one_pattern): the embedded store's pool may run it
    # in the requesting process, since its cost is bounded by its capped answer.
    bounded: bool = False


@dataclass(frozen=True)
class Reply:
    """What came back: serialised bytes and what they are, or an error kind and message."""

    ok: bool
    body: bytes = b""
    kind: str = ""  # "solutions", "boolean" or "graph"
    format: str = ""
    rows: int = 0
    truncated: bool = False
    error: str = ""  # "syntax" or "evaluation" when not ok
    message: str = ""
    build_id: str | None = None


@dataclass(frozen=True)
class Snapshot:
    """The build a request runs against: its id and the names of its graphs."""

    build_id: str
    graphs: frozenset[str]
    fallback: str | None = None  # why this is not the build ``current`` points at (see StoreHome.serving)


def can_answer(status: dict[str, Any]) -> bool:
    """Whether a backend's :meth:`Backend.status` says it can answer now: a query worker is alive (a pool), or
    it is ready (the other backends). /readyz and the warm-up ask the same."""
    return bool(status.get("workers_alive", status.get("workers_ready", 0)))


class Backend(Protocol):
    """What the server and the CLI run queries on (:func:`reekg.read.open_backend` opens one)."""

    def snapshot(self) -> Snapshot: ...
    def execute(self, job: Job, timeout: float) -> Reply: ...
    def status(self) -> dict[str, Any]: ...
    def close(self) -> None: ...



T = TypeVar("T")
# pyoxigraph's parser and evaluator recurse once per nesting level and per link of a flat chain (about 2 KB of
# stack a token at worst, measured); a query within the lexer's limits (10,000 tokens) needs ~20 MB, more than
# a process's main thread (8 MiB) or an HTTP server thread (granian: 2 MiB) has. Engine calls with user SPARQL
# run on threads of this size; only the pages a call touches are ever allocated.
ENGINE_STACK_BYTES = 256 << 20
_engine_lock = threading.Lock()
_engine: ThreadPoolExecutor | None = None


class _DeepStackThreads(ThreadPoolExecutor):
    """A thread pool whose threads have :data:`ENGINE_STACK_BYTES` of stack (threads are reused: starting one
    per call cost 0.2–0.8 ms, as much as a cheap query)."""

    def _adjust_thread_count(self) -> None:  # where ThreadPoolExecutor starts its threads
        with _engine_lock:
            previous = threading.stack_size(ENGINE_STACK_BYTES)
            try:
                super()._adjust_thread_count()
            finally:
                threading.stack_size(previous)


def on_engine_stack(call: Callable[[], T]) -> T:
    """``call()`` on a thread with :data:`ENGINE_STACK_BYTES` of stack, in the caller's context variables (a
    Flask request's among them); its result, or its exception raised here."""
    global _engine
    if _engine is None:
        with _engine_lock:
            if _engine is None:
                _engine = _DeepStackThreads(max_workers=16, thread_name_prefix="reekg-engine")
    return _engine.submit(contextvars.copy_context().run, call).result()


def run(store: ox.Store, job: Job, build_id: str | None = None) -> Reply:
    """Run ``job`` on ``store``; a SyntaxError or an evaluation error becomes a Reply, not an exception.

    The query is parsed, run and serialised on a thread with a deep stack (see :func:`on_engine_stack`):
    pyoxigraph's iterators must be consumed on the thread that made them."""
    return on_engine_stack(lambda: _run(store, job, build_id))


def run_here(store: ox.Store, job: Job, build_id: str | None = None) -> Reply:
    """:func:`run` on the calling thread, which must have :data:`ENGINE_STACK_BYTES` of stack (a query
    worker's own thread)."""
    return _run(store, job, build_id)


def _run(store: ox.Store, job: Job, build_id: str | None) -> Reply:
    kwargs: dict[str, Any] = {"prefixes": job.prefixes or None, "base_iri": job.base_iri}
    if job.substitutions:
        kwargs["substitutions"] = {ox.Variable(name): decode_term(term) for name, term in job.substitutions}
    if job.default_graphs or job.named_graphs:
        kwargs["default_graph"] = [ox.NamedNode(g) for g in job.default_graphs]
        kwargs["named_graphs"] = [ox.NamedNode(g) for g in job.named_graphs] or None
    elif job.use_union:
        kwargs["use_default_graph_as_union"] = True
    try:
        result = store.query(job.query, **kwargs)
        return _serialise(result, job, build_id)
    except SyntaxError as exc:
        return Reply(ok=False, error="syntax", message=str(exc), build_id=build_id)
    except (OSError, ValueError, RuntimeError) as exc:
        return Reply(ok=False, error="evaluation", message=str(exc), build_id=build_id)


def _serialise(result: Any, job: Job, build_id: str | None) -> Reply:
    limit = job.max_rows
    if isinstance(result, ox.QueryBoolean):
        fmt = job.result_format
        return Reply(ok=True, body=_boolean(bool(result), fmt), kind="boolean", format=fmt, rows=1,
                     build_id=build_id)
    if isinstance(result, ox.QueryTriples):
        return graph_reply(result, job, build_id)
    variables = [v.value for v in result.variables]
    rows, truncated = _capped(result, limit)
    fmt = job.result_format
    link = f"{job.truncation_link}?limit={limit}" if truncated else None
    body = _WRITERS[fmt](variables, rows, link)
    return Reply(ok=True, body=body, kind="solutions", format=fmt, rows=len(rows), truncated=truncated,
                 build_id=build_id)


def _capped(items: Iterable[Any], limit: int) -> tuple[list[Any], bool]:
    """At most ``limit`` items, and whether there were more (one past the cap is read to know, no further)."""
    kept = list(itertools.islice(items, limit + 1))
    return kept[:limit], len(kept) > limit


def graph_reply(triples: Iterable[ox.Triple], job: Job, build_id: str | None) -> Reply:
    """A graph answer (CONSTRUCT, DESCRIBE, a Graph Store read, a remote engine's triples) capped at
    ``job.max_rows`` and serialised as ``job.graph_format``, saying so when it was cut."""
    limit = job.max_rows
    kept, truncated = _capped(triples, limit)
    fmt = job.graph_format
    extra = {"prefixes": job.prefixes} if fmt in ("turtle", "trig") and job.prefixes else {}
    body = ox.serialize(kept, format=formats.by_name(fmt, "graph").rdf, **extra) or b""
    if truncated:
        body = _graph_note(fmt, limit) + body
    return Reply(ok=True, body=body, kind="graph", format=fmt, rows=len(kept), truncated=truncated,
                 build_id=build_id)


def _graph_note(fmt: str, limit: int) -> bytes:
    text = f"truncated: only the first {limit} triples of a longer result"
    if fmt == "rdf-xml":
        return b""  # a comment cannot precede the XML declaration; the header carries it
    if fmt == "json-ld":
        return b""
    return f"# {text}\n".encode()


# --- SPARQL result writers (https://www.w3.org/TR/sparql11-results-json/, …-XMLres/, …-csv-tsv/) ---

def _json_term(term: Any) -> dict[str, Any]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    if isinstance(term, ox.BlankNode):
        return {"type": "bnode", "value": term.value}
    if isinstance(term, ox.Literal):
        out: dict[str, Any] = {"type": "literal", "value": term.value}
        if term.language:
            out["xml:lang"] = term.language
        elif term.datatype.value != XSD_STRING:
            out["datatype"] = term.datatype.value
        return out
    if isinstance(term, ox.Triple):
        return {"type": "triple", "value": {"subject": _json_term(term.subject),
                                            "predicate": _json_term(term.predicate),
                                            "object": _json_term(term.object)}}
    raise TypeError(f"unexpected term {term!r}")


def _write_json(variables: list[str], rows: list[Any], link: str | None) -> bytes:
    head: dict[str, Any] = {"vars": variables}
    if link:
        head["link"] = [link]
    bindings = []
    for solution in rows:
        binding = {}
        for name, term in zip(variables, solution, strict=True):
            if term is not None:
                binding[name] = _json_term(term)
        bindings.append(binding)
    return json.dumps({"head": head, "results": {"bindings": bindings}}, ensure_ascii=False,
                      separators=(",", ":")).encode()


def _xml_term(term: Any) -> str:
    if isinstance(term, ox.NamedNode):
        return f"<uri>{escape(term.value)}</uri>"
    if isinstance(term, ox.BlankNode):
        return f"<bnode>{escape(term.value)}</bnode>"
    if isinstance(term, ox.Literal):
        if term.language:
            return f"<literal xml:lang={quoteattr(term.language)}>{escape(term.value)}</literal>"
        if term.datatype.value != XSD_STRING:
            return f"<literal datatype={quoteattr(term.datatype.value)}>{escape(term.value)}</literal>"
        return f"<literal>{escape(term.value)}</literal>"
    if isinstance(term, ox.Triple):
        return (f"<triple><subject>{_xml_term(term.subject)}</subject><predicate>{_xml_term(term.predicate)}"
                f"</predicate><object>{_xml_term(term.object)}</object></triple>")
    raise TypeError(f"unexpected term {term!r}")


_XML_HEAD = '<?xml version="1.0"?>\n<sparql xmlns="http://www.w3.org/2005/sparql-results#">'


def _write_xml(variables: list[str], rows: list[Any], link: str | None) -> bytes:
    out = io.StringIO()
    out.write(_XML_HEAD + "<head>")
    for name in variables:
        out.write(f"<variable name={quoteattr(name)}/>")
    if link:
        out.write(f"<link href={quoteattr(link)}/>")
    out.write("</head><results>")
    for solution in rows:
        out.write("<result>")
        for name, term in zip(variables, solution, strict=True):
            if term is not None:
                out.write(f"<binding name={quoteattr(name)}>{_xml_term(term)}</binding>")
        out.write("</result>")
    out.write("</results></sparql>\n")
    return out.getvalue().encode()


def _csv_field(term: Any) -> str:
    if term is None:
        return ""
    if isinstance(term, ox.BlankNode):
        text = f"_:{term.value}"
    elif isinstance(term, ox.NamedNode | ox.Literal):
        text = term.value
    else:
        text = str(term)
    if any(c in text for c in ',"\r\n'):
        text = '"' + text.replace('"', '""') + '"'
    return text


def _write_csv(variables: list[str], rows: list[Any], link: str | None) -> bytes:
    lines = [",".join(variables)]
    lines.extend(",".join(_csv_field(t) for t in solution) for solution in rows)
    return ("\r\n".join(lines) + "\r\n").encode()


def _write_tsv(variables: list[str], rows: list[Any], link: str | None) -> bytes:
    # TSV terms are written in N-Triples syntax, which is what str() of a pyoxigraph term gives.
    lines = ["\t".join("?" + v for v in variables)]
    lines.extend("\t".join("" if t is None else str(t) for t in solution) for solution in rows)
    return ("\n".join(lines) + "\n").encode()


_WRITERS = {"json": _write_json, "xml": _write_xml, "csv": _write_csv, "tsv": _write_tsv}


def _boolean(value: bool, fmt: str) -> bytes:
    text = "true" if value else "false"
    if fmt == "json":
        return json.dumps({"head": {}, "boolean": value}, separators=(",", ":")).encode()
    if fmt == "xml":
        return f"{_XML_HEAD}<head/><boolean>{text}</boolean></sparql>\n".encode()
    return f"{text}\n".encode()
