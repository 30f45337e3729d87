"""What every answer stands on: the runner that runs a saved query, the per-build catalogue (ids resolved,
entities of a kind, sources), the closest ids to an unknown one and the sources an answer cites.

A question's module (:mod:`reekg.questions.trace`, …) answers it with an :class:`Answers` over one graph:
named queries from ``reekg/questions/sparql`` (bound as typed terms, never by string formatting) run through
a *runner*, then shaped, summed and ranked in Python. The runner is the only thing that differs between the
service and the CLI, and both use :class:`reekg.questions.runner.BackendRunner` over a query backend.

Every answer is a dict ``{"ok": True, …, "data": …, "sources": […], "sparql": {name: text}}``: the data,
the sources it cites and the SPARQL behind it. Errors are :class:`AnswerError` subclasses carrying the HTTP
status they map to.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from reekg.errors import BadParameter, UnknownId
from reekg.loaders.namespaces import Namespaces

from .library import Query, QueryParameterError, library
from .params import ID_PATTERN
from .runner import reading_index

Row = dict[str, Any]
# A runner takes a query and its parameter values and returns (rows as SPARQL JSON bindings, build id).
Runner = Callable[[Query, dict[str, Any]], tuple[list[dict[str, dict[str, str]]], str | None]]

STAGES = ("mining", "separation", "magnet-making")
SITE_STATUSES = ("operating", "commissioning", "under-construction", "care-and-maintenance", "permitting",
                 "development", "pilot", "blocked", "not-producing", "unknown")  # the site-status scheme, + unknown
SUPPLY_STAGES = ("mining", "separation")  # the stages every rare earth passes through (magnet making only magnets')
RARE_EARTHS = ("Sc", "Y", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu")
_NUMERIC = ("integer", "decimal", "double", "float", "long", "int", "short", "nonNegativeInteger")
_XSD = "http://www.w3.org/2001/XMLSchema#"
# An id of ours (the pattern the parameter schemas publish): checked with fullmatch (Python's `$` would let
# "Dy\n" through)
_ID = re.compile(ID_PATTERN)
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")  # ASCII digits only


def value(binding: dict[str, str] | None) -> Any:
    """A SPARQL JSON binding as a plain JSON value: IRIs and strings as text, numbers as numbers."""
    if binding is None:
        return None
    text = binding["value"]
    datatype = binding.get("datatype", "")
    if datatype.startswith(_XSD):
        local = datatype[len(_XSD):]
        if local in _NUMERIC:
            number = float(text)
            return int(number) if local.endswith(("integer", "long", "int", "short")) else number
        if local == "boolean":
            return text == "true"
    return text


def plain(rows: Iterable[dict[str, dict[str, str]]]) -> list[Row]:
    return [{name: value(b) for name, b in row.items()} for row in rows]


def day(text: str | None, default: dt.date, parameter: str = "on") -> str:
    """``text`` as a calendar day (YYYY-MM-DD), ``default`` when absent; a 400 naming ``parameter`` otherwise."""
    if text is None or text == "":
        return default.isoformat()
    if isinstance(text, str) and _DAY.fullmatch(text):
        try:
            return dt.date.fromisoformat(text).isoformat()
        except ValueError:
            pass
    raise BadParameter(parameter, f"{str(text)[:40]!r} is not a date as YYYY-MM-DD")


def flag(on: bool) -> str:
    """A boolean as the text a query's ``boolean`` parameter takes."""
    return "true" if on else "false"


def rounded(x: float) -> float:
    return round(x, 6)


def words(cell: Any) -> list[str]:
    """The space-separated values of a GROUP_CONCAT cell (none when empty)."""
    return (cell or "").split()


class _Pending:
    """A memo being computed: the thread computing it, and the event its waiters wait on."""

    __slots__ = ("done", "owner")

    def __init__(self) -> None:
        self.owner = threading.get_ident()
        self.done = threading.Event()


@dataclass
class Catalog:
    """What one build's answers look up again and again, read once per build id: every source, and — filled
    as requests ask — resolved ids, the entities of each kind, and each resource's sources. Nothing here is
    read whole up front: at 10^6 triples a graph has ~10^5 entities."""

    build_id: str | None
    sources: dict[str, Row | None] = field(default_factory=dict)  # source IRI → its row (None: not a source)
    resolved: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (kind, id) → IRI or None
    kinds: dict[str, dict[str, Row]] = field(default_factory=dict)  # kind → id → row (at most 5,000 a kind)
    kind_names: list[str] | None = None
    derived_from: dict[str, list[str]] = field(default_factory=dict)  # resource IRI → its sources' IRIs
    memo: dict[str, Any] = field(default_factory=dict)  # per build: site statuses, stage shares, summaries
    pending: dict[str, _Pending] = field(default_factory=dict)  # memos being computed now, by key


_CACHE_LIMIT = 200_000  # entries of a catalog's lazily filled maps before they start again
_LOOKUP_BATCH = 500  # IRIs per provenance or sources query
_MEMO_LIMIT = 1_000  # a catalog's memos (some are per day, or per day and robot) before they start again


class Answers:
    """The analyst questions over one graph: the runner, the namespaces and the per-build catalogue that the
    questions' modules share. :meth:`ask` answers a question of the registry (:mod:`reekg.questions`)."""

    def __init__(self, runner: Runner, ns: Namespaces | None = None, *, concentration_threshold: float = 0.5,
                 today: Callable[[], dt.date] = dt.date.today):
        self.runner = runner
        self.ns = ns or Namespaces()
        self.queries = library(self.ns.base)
        self.threshold = concentration_threshold
        self.today = today
        self._catalog: Catalog | None = None
        self._lock = threading.Lock()
        self._waiting: dict[int, _Pending] = {}  # thread id → the memo it waits for (to never wait in a cycle)
        # IRI prefixes, computed once: answers test thousands of cells against them
        self._id_prefix = str(self.ns.id)
        self._source_graph_prefix = str(self.ns.source_graph(""))

    def ask(self, name: str, *args: Any, **values: Any) -> dict[str, Any]:
        """The answer of the registered question ``name`` (``ask("trace", "joint-actuation", on=…)``)."""
        from . import question

        return question(name).answer(self, *args, **values)

    # --- running queries ---------------------------------------------------------------------------

    def run(self, name: str, **params: Any) -> tuple[list[Row], Query]:
        query = self.queries[name]
        try:
            query.bind(self.ns, **params)  # check kinds before anything runs
        except QueryParameterError as exc:
            raise BadParameter(exc.name, str(exc).split(": ", 1)[-1]) from None
        return self.call(query, params), query

    def call(self, query: Query, params: dict[str, Any]) -> list[Row]:
        """Run ``query`` through the runner (every query goes through here: a new build id empties the
        catalog)."""
        rows, build_id = self.runner(query, params)
        self._current(build_id)  # a new build: ids, sources and memos may have changed
        return plain(rows)

    def catalog(self) -> Catalog:
        with self._lock:
            if self._catalog is None:
                self._catalog = Catalog(None)
            return self._catalog

    def memo(self, key: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per build (kept in the catalog under ``key``), its queries read whole.

        Once: a thread that asks for a memo another thread is computing (a request during the background
        warm-up, :mod:`reekg.server.warmup`, or two requests) waits for that computation instead of repeating
        it, and computes it itself if that one fails. A thread never waits in a cycle (a memo whose computation
        asks, through other threads, for one it is computing): it computes that memo itself, unkept."""
        catalog = self.catalog()
        me = threading.get_ident()
        while True:
            with self._lock:
                if key in catalog.memo:
                    return catalog.memo[key]
                pending = catalog.pending.get(key)
                if pending is None:
                    pending = catalog.pending[key] = _Pending()
                    break
                if self._would_cycle(pending, me):
                    pending = None
                    break
                self._waiting[me] = pending
            try:
                pending.done.wait()
            finally:
                with self._lock:
                    self._waiting.pop(me, None)
        if pending is None:  # waiting would deadlock: compute here, keep nothing
            with reading_index():
                return compute()
        try:
            with reading_index():  # a memo is an index of the build: its queries are read whole
                result = compute()
        except BaseException:
            with self._lock:
                catalog.pending.pop(key, None)
            pending.done.set()  # its waiters compute it themselves
            raise
        with self._lock:
            if len(catalog.memo) > _MEMO_LIMIT:
                catalog.memo.clear()
            catalog.memo[key] = result
            catalog.pending.pop(key, None)
        pending.done.set()
        return result

    def _would_cycle(self, pending: _Pending, me: int) -> bool:
        """Whether waiting for ``pending`` would wait for this thread itself (under ``_lock``)."""
        owner, seen = pending.owner, set()
        while owner not in seen:
            if owner == me:
                return True
            seen.add(owner)
            waited = self._waiting.get(owner)
            if waited is None:
                return False
            owner = waited.owner
        return False

    def start(self) -> None:
        """Begin an answer on the build the backend serves now (its ``snapshot()``): a memo may be the first
        thing an answer reads (the scenario's stage shares and dependencies, before any query), and one kept
        from the build before must not answer for the new one. A runner without a backend that can say keeps
        the catalog until a reply names a new build."""
        snapshot = getattr(getattr(self.runner, "backend", None), "snapshot", None)
        if callable(snapshot):
            self._current(snapshot().build_id)

    def _current(self, build_id: str | None) -> Catalog:
        """The catalog, started again when ``build_id`` (when known) is not its build."""
        with self._lock:
            if self._catalog is None or (build_id is not None and build_id != self._catalog.build_id):
                self._catalog = Catalog(build_id)
            return self._catalog

    # --- ids ---------------------------------------------------------------------------------------

    def resolve(self, kind: str, ident: str | None, parameter: str | None = None) -> str:
        """The IRI of ``kind``/``ident``; 400 if malformed or missing, 404 with the closest ids if unknown.
        "dy" finds "Dy" and "cn" "CN": the id as given, then capitalised, upper and lower case."""
        parameter = parameter or kind
        if ident is None or ident == "":
            raise BadParameter(parameter, "is required")
        if not isinstance(ident, str):
            raise BadParameter(parameter, f"must be an id, not {type(ident).__name__}")
        if not _ID.fullmatch(ident):
            raise BadParameter(parameter, f"{ident[:80]!r} is not an id (letters, digits, '.', '_' or '-')")
        catalog = self.catalog()
        key = (kind, ident)
        if key not in catalog.resolved:
            if len(catalog.resolved) > _CACHE_LIMIT:
                catalog.resolved.clear()
            found = None
            for candidate in dict.fromkeys((ident, ident.capitalize(), ident.upper(), ident.lower())):
                iri = str(self.ns.entity(kind, candidate))
                if self.call(self.queries["known-entity"], {"entity": iri}):
                    found = iri
                    break
            catalog.resolved[key] = found
        if catalog.resolved[key] is None:
            raise UnknownId(kind, ident, self.closest(kind, ident))
        return catalog.resolved[key]

    def kind_entities(self, kind: str) -> dict[str, Row]:
        """The entities of ``kind`` (at most 5,000), id → row with the English and Chinese labels."""
        catalog = self.catalog()
        if kind not in catalog.kinds:
            catalog.kinds[kind] = {row["id"]: row for row in self.call(self.queries["kind-entities"], {"kind": kind})}
        return catalog.kinds[kind]

    def kinds(self) -> list[str]:
        catalog = self.catalog()
        if catalog.kind_names is None:
            catalog.kind_names = [row["kind"] for row in self.call(self.queries["kinds"], {})]
        return catalog.kind_names

    def closest(self, kind: str, ident: str, n: int = 5) -> list[dict[str, str]]:
        known = self.kind_entities(kind)
        names = {}
        for key, row in known.items():
            names[key.casefold()] = key
            for label in (row.get("labelEn"), row.get("labelZhHant"), row.get("labelZhHans")):
                if label:
                    names[label.casefold()] = key
        picks = []
        for match in difflib.get_close_matches(ident.casefold(), list(names), n=n * 2, cutoff=0.4):
            if names[match] not in picks:
                picks.append(names[match])
        return [{"id": k, "label": known[k].get("labelEn") or k} for k in picks[:n]]

    def local_id(self, iri: Any) -> Any:
        """``…/id/element/Nd`` → ``Nd``; other values unchanged."""
        if isinstance(iri, str) and iri.startswith(self._id_prefix):
            return iri.rsplit("/", 1)[-1]
        return iri

    def local_ids(self, cell: Any) -> list[str]:
        """The local ids of a GROUP_CONCAT cell of IRIs, sorted."""
        return sorted(self.local_id(x) for x in words(cell))

    def short(self, iri: str) -> str:
        """``iri`` as prefix:name under the longest namespace that covers it (:meth:`Namespaces.shorten`)."""
        return self.ns.shorten(iri) or iri

    def graph_source(self, graph: str | None) -> str | None:
        """The source id of a source's named graph; other graphs unchanged."""
        if graph and graph.startswith(self._source_graph_prefix):
            return graph[len(self._source_graph_prefix):]
        return graph

    # --- citing sources ----------------------------------------------------------------------------

    def answer(self, data: Any, queries: list[Query], rows: Iterable[Row], **extra: Any) -> dict[str, Any]:
        """The answer's envelope: ``extra`` fields, the data, the sources ``rows`` cite and the SPARQL behind it
        (the queries run; a trace also lists trace.rq, the one query that gives its rows)."""
        return {"ok": True, **extra, "data": data, "sources": self.cite(rows),
                "sparql": {q.name: q.text for q in queries}}

    def cite(self, rows: Iterable[Row]) -> list[Row]:
        """The sources a set of rows names (source IRIs or source named graphs in any column), and the
        sources of every resource they name."""
        catalog = self.catalog()
        cells = {cell for row in rows for cell in row.values() if isinstance(cell, str)}
        tokens = {t for cell in cells for t in cell.split()}
        named: dict[str, str] = {}
        for token in tokens:
            if token.startswith(self._source_graph_prefix):
                named[token] = str(self.ns.entity("source", token[len(self._source_graph_prefix):]))
            elif token.startswith(self._id_prefix):
                named[token] = token
        derived = self._derived_from({iri for iri in named.values() if catalog.sources.get(iri) is None})
        candidates = {s for iri in named.values() for s in (iri, *derived.get(iri, ()))}
        known = self.sources(candidates)
        return [self._source(known[k]) for k in sorted(known)]

    def sources(self, iris: Iterable[str]) -> dict[str, Row]:
        """The source rows (sources.rq) of those of ``iris`` that are sources."""
        cache, iris = self.catalog().sources, set(iris)
        self._fill(cache, iris, "sources", "source", lambda: None, lambda c, row: c.__setitem__(row["source"], row))
        return {i: cache[i] for i in iris if cache.get(i) is not None}

    def _derived_from(self, iris: set[str]) -> dict[str, list[str]]:
        """The sources of each resource in ``iris`` (provenance.rq)."""
        cache = self.catalog().derived_from
        self._fill(cache, iris, "provenance", "entity", list, lambda c, row: c[row["entity"]].append(row["source"]))
        return {i: cache.get(i, []) for i in iris}

    def _fill(self, cache: dict[str, Any], iris: Iterable[str], query: str, variable: str,
              empty: Callable[[], Any], add: Callable[[dict[str, Any], Row], None]) -> None:
        """Fill ``cache`` (per build) for those of ``iris`` it lacks: ``query`` over VALUES blocks of their
        IRIs, a batch at a time; each IRI gets ``empty()``, then ``add`` files each row."""
        missing = sorted({i for i in iris if i not in cache})
        if len(cache) + len(missing) > _CACHE_LIMIT:
            cache.clear()
        for start in range(0, len(missing), _LOOKUP_BATCH):
            batch = missing[start:start + _LOOKUP_BATCH]
            found = {iri: empty() for iri in batch}
            for row in self.call(self.queries[query].with_values(variable, batch), {}):
                add(found, row)
            cache.update(found)  # whole: a thread reading beside this one never sees a batch half filed

    def _source(self, row: Row) -> Row:
        return {"id": self.local_id(row["source"]), "iri": row["source"], "label": row.get("label"),
                "title": row.get("title"), "publisher": row.get("publisher"), "issued": row.get("issued"),
                "url": row.get("url")}


def dependencies(a: Answers, unverified: bool = False) -> tuple[list[Row], Query]:
    """Every subsystem's and robot's rare-earth dependencies (dependencies.rq), once per build: the trace, the
    coverage and the scenario read the whole list and keep what they ask about."""
    return a.memo(f"dependencies {unverified}", lambda: a.run("dependencies", unverified=flag(unverified)))
