"""Answers for analysts: dependents, trace, exposure, substitutes, scenario, search and entity pages.

One place for the domain logic behind the JSON API (``reekg.server.api``) and the CLI: each answer runs
named queries from ``reekg/questions/sparql`` (bound as typed terms, never by string formatting) through a
*runner*, then shapes, sums and ranks their rows in Python. The runner is the only thing that differs:
the server's runs in its killable query workers, the CLI's on the store directly.

Every answer is a dict ``{"ok": True, …, "data": …, "sources": […], "sparql": {name: text}}``: the data,
the sources it cites and the SPARQL behind it. Errors are :class:`AnswerError` subclasses carrying the HTTP
status they map to.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from reekg.errors import ReekgError
from reekg.loaders.namespaces import Namespaces
from reekg.questions.library import Query, QueryParameterError, library

Row = dict[str, Any]
# A runner takes a query and its parameter values and returns (rows as SPARQL JSON bindings, build id).
Runner = Callable[[Query, dict[str, Any]], tuple[list[dict[str, dict[str, str]]], str | None]]

STAGES = ("mining", "separation", "magnet-making")
SITE_STATUSES = ("operating", "commissioning", "under-construction", "care-and-maintenance", "permitting",
                 "development", "pilot", "blocked", "not-producing", "unknown")  # the site-status scheme, + unknown
SUPPLY_STAGES = ("mining", "separation")  # the stages every rare earth passes through (magnet making only magnets')
RARE_EARTHS = ("Sc", "Y", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu")
# The heavy rare earths by which magnet grades differ (H, SH, UH … add Dy/Tb for coercivity): a component that
# needs particular grades takes these elements' content from the grades, never from the family's standard grade
GRADE_DOPANTS = {"Dy", "Tb"}
# A scenario stage is "essentially cut" when sites remain but an element-specific share leaves at most this much
ESSENTIALLY_CUT = 0.01
_NUMERIC = ("integer", "decimal", "double", "float", "long", "int", "short", "nonNegativeInteger")
_XSD = "http://www.w3.org/2001/XMLSchema#"
# An id of ours: checked with fullmatch (Python's `$` would let "Dy\n" through). The API's parameter schemas
# (reekg.questions.params) publish this same pattern.
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
_ID = re.compile(ID_PATTERN)


class AnswerError(ReekgError):
    """A question asked wrongly; ``status`` is its HTTP status, ``errors`` the details."""

    status = 400

    def __init__(self, message: str, errors: list[Any] | None = None):
        super().__init__(message, errors=errors)


class BadParameter(AnswerError):
    status = 400

    def __init__(self, name: str, message: str):
        super().__init__(f"parameter {name!r}: {message}", [{"parameter": name, "message": message}])
        self.parameter = name


class UnknownId(AnswerError):
    """An id that names nothing in the graph; ``suggestions`` are the closest ids that do."""

    status = 404

    def __init__(self, kind: str, ident: str, suggestions: list[dict[str, str]]):
        shown = ident if len(ident) <= 80 else ident[:77] + "..."
        super().__init__(f"no {kind} with id {shown!r}", [{"parameter": kind, "closest": suggestions}])
        self.suggestions = suggestions


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


@dataclass
class _Catalog:
    """What one build's answers look up again and again, read once per build id: every source, and — filled
    as requests ask — resolved ids, the entities of each kind, and each resource's sources. Nothing here is
    read whole up front: at 10^6 triples a graph has ~10^5 entities."""

    build_id: str | None
    sources: dict[str, Row | None] = field(default_factory=dict)  # source IRI → its row (None: not a source)
    resolved: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (kind, id) → IRI or None
    kinds: dict[str, dict[str, Row]] = field(default_factory=dict)  # kind → id → row (at most 5,000 a kind)
    kind_names: list[str] | None = None
    derived_from: dict[str, list[str]] = field(default_factory=dict)  # resource IRI → its sources' IRIs
    memo: dict[str, Any] = field(default_factory=dict)  # the stage-share summaries, per day


_CACHE_LIMIT = 200_000  # entries of a catalog's lazily filled maps before they start again
_LOOKUP_BATCH = 500  # IRIs per provenance or sources query


class Answers:
    """The analyst questions over one graph (see the module docstring)."""

    def __init__(self, runner: Runner, ns: Namespaces | None = None, *, concentration_threshold: float = 0.5,
                 today: Callable[[], dt.date] = dt.date.today):
        self.runner = runner
        self.ns = ns or Namespaces()
        self.queries = library(self.ns.base)
        self.threshold = concentration_threshold
        self.today = today
        self._catalog: _Catalog | None = None
        self._lock = threading.Lock()
        # IRI prefixes, computed once: answers test thousands of cells against them
        self._id_prefix = str(self.ns.id)
        self._source_graph_prefix = str(self.ns.source_graph(""))

    # --- running queries ---------------------------------------------------------------------------

    def run(self, name: str, **params: Any) -> tuple[list[Row], Query]:
        query = self.queries[name]
        try:
            query.bind(self.ns, **params)  # check kinds before anything runs
        except QueryParameterError as exc:
            raise BadParameter(exc.name, str(exc).split(": ", 1)[-1]) from None
        return self._call(query, params), query

    def _call(self, query: Query, params: dict[str, Any]) -> list[Row]:
        """Run ``query`` through the runner (every query goes through here: a new build id empties the
        catalog)."""
        rows, build_id = self.runner(query, params)
        self._note_build(build_id)
        return plain(rows)

    def _note_build(self, build_id: str | None) -> None:
        with self._lock:
            if self._catalog is None or (build_id is not None and build_id != self._catalog.build_id):
                self._catalog = _Catalog(build_id)  # a new build: ids, sources and memos may have changed

    def catalog(self) -> _Catalog:
        with self._lock:
            if self._catalog is None:
                self._catalog = _Catalog(None)
            return self._catalog

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
                if self._call(self.queries["known-entity"], {"entity": iri}):
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
            catalog.kinds[kind] = {row["id"]: row for row in self._call(self.queries["kind-entities"], {"kind": kind})}
        return catalog.kinds[kind]

    def kinds(self) -> list[str]:
        catalog = self.catalog()
        if catalog.kind_names is None:
            catalog.kind_names = [row["kind"] for row in self._call(self.queries["kinds"], {})]
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

    def _fill(self, cache: dict[str, Any], iris: Iterable[str], query: str, variable: str,
              empty: Callable[[], Any], add: Callable[[dict[str, Any], Row], None]) -> None:
        """Fill ``cache`` (per build) for those of ``iris`` it lacks: ``query`` over VALUES blocks of their
        IRIs, a batch at a time; each IRI gets ``empty()``, then ``add`` files each row."""
        missing = sorted({i for i in iris if i not in cache})
        if len(cache) + len(missing) > _CACHE_LIMIT:
            cache.clear()
        for start in range(0, len(missing), _LOOKUP_BATCH):
            batch = missing[start:start + _LOOKUP_BATCH]
            cache.update((iri, empty()) for iri in batch)
            for row in self._call(self.queries[query].with_values(variable, batch), {}):
                add(cache, row)

    def _derived_from(self, iris: set[str]) -> dict[str, list[str]]:
        """The sources of each resource in ``iris`` (provenance.rq)."""
        cache = self.catalog().derived_from
        self._fill(cache, iris, "provenance", "entity", list, lambda c, row: c[row["entity"]].append(row["source"]))
        return {i: cache.get(i, []) for i in iris}

    def _answer(self, data: Any, queries: list[Query], rows: Iterable[Row], **extra: Any) -> dict[str, Any]:
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

    def _source(self, row: Row) -> Row:
        return {"id": self.local_id(row["source"]), "iri": row["source"], "label": row.get("label"),
                "title": row.get("title"), "publisher": row.get("publisher"), "issued": row.get("issued"),
                "url": row.get("url")}

    def local_id(self, iri: Any) -> Any:
        """``…/id/element/Nd`` → ``Nd``; other values unchanged."""
        if isinstance(iri, str) and iri.startswith(self._id_prefix):
            return iri.rsplit("/", 1)[-1]
        return iri


    # --- dated statuses, sites, shares by basis, coverage --------------------------------------------

    def _controls(self, day: str, robot: str | None = None) -> tuple[dict[str, list[Row]], Query]:
        """Each controlled element's measures on ``day`` with their in-force statement (in-force.rq)."""
        params: dict[str, Any] = {"on": day}
        if robot:
            params["robot"] = robot
        rows, query = self.run("in-force", **params)
        by_symbol: dict[str, list[Row]] = defaultdict(list)
        for r in rows:
            by_symbol[r["symbol"]].append(r)
        return dict(by_symbol), query

    def _control_view(self, c: Row) -> Row:
        return {"measure": self.local_id(c.get("measure")), "label": c.get("measureLabel"),
                "controlCode": c.get("controlCode"), "inForce": _in_force_value(c),
                "statusDetail": self.local_id(c.get("statusDetail")),
                "validFrom": c.get("validFrom"), "validUntil": c.get("validUntil"),
                "asOf": {"start": c.get("asOfStart"), "end": c.get("asOfEnd"), "text": c.get("asOfText")},
                "statement": self.local_id(c.get("statement")),
                "sources": sorted(self.local_id(x) for x in (c.get("sources") or "").split()),
                "confidence": self.local_id(c.get("confidence")),
                **({} if c.get("statement") else {"reason": "no in-force statement covers the day"})}

    def _site_statuses(self) -> tuple[dict[str, list[Row]], Query]:
        catalog = self.catalog()
        if "site-status" not in catalog.memo:
            rows, query = self.run("site-status")
            by_site: dict[str, list[Row]] = defaultdict(list)
            for r in rows:
                by_site[r["site"]].append(r)
            catalog.memo["site-status"] = (dict(by_site), query)
        return catalog.memo["site-status"]

    def status_on(self, site: str, day: str) -> Row:
        """A site's status on ``day``: the newest observation stated as of that day or before, else an undated
        one, else the earliest stated after the day (``statedAfterDay``); ``unknown`` when there is none."""
        observations = self._site_statuses()[0].get(site, [])
        dated = [o for o in observations if o.get("asOfStart")]
        before = [o for o in dated if str(o["asOfStart"]) <= day]
        after = [o for o in dated if str(o["asOfStart"]) > day]
        undated = [o for o in observations if not o.get("asOfStart")]
        chosen, later = None, False
        if before:
            chosen = max(before, key=lambda o: (str(o.get("asOfEnd") or o["asOfStart"]), str(o["observation"])))
        elif undated:
            chosen = min(undated, key=lambda o: str(o["observation"]))
        elif after:
            chosen, later = min(after, key=lambda o: (str(o["asOfStart"]), str(o["observation"]))), True
        if chosen is None:
            return {"status": "unknown", "reason": "no status observation in the graph", "asOf": None,
                    "expected": None, "sources": []}
        expected = None
        if chosen.get("expectedStatus") or chosen.get("expectedText"):
            expected = {"status": self.local_id(chosen.get("expectedStatus")), "start": chosen.get("expectedStart"),
                        "end": chosen.get("expectedEnd"), "text": chosen.get("expectedText")}
        return {"status": self.local_id(chosen["status"]), "observation": self.local_id(chosen["observation"]),
                "asOf": {"start": chosen.get("asOfStart"), "end": chosen.get("asOfEnd"),
                         "text": chosen.get("asOfText")},
                "statedAfterDay": later, "expected": expected, "confidence": self.local_id(chosen.get("confidence")),
                "sources": sorted(self.local_id(x) for x in (chosen.get("sources") or "").split())}

    def _element_sites(self, unverified: bool = False) -> tuple[list[Row], Query]:
        catalog = self.catalog()
        key = f"element-sites {unverified}"
        if key not in catalog.memo:
            catalog.memo[key] = self.run("element-sites", unverified=_flag(unverified))
        return catalog.memo[key]

    @staticmethod
    def _counted(rows: list[Row], unverified: bool) -> list[Row]:
        """The element-sites rows that count as supply: a stage the sources only believe (reekg:unverifiedStage)
        counts only when unverified claims are asked for."""
        return rows if unverified else [r for r in rows if not r.get("stageUnverified")]

    def _gaps(self, symbols: Iterable[str], day: str, unverified: bool = False) -> list[Row]:
        """Where the graph has no supplier: per element, each stage with no site, or with no site that is
        operating on ``day`` (coverage is stated, never left silent). An unverified stage is no supplier."""
        rows = self._counted(self._element_sites(unverified)[0], unverified)
        by_cell: dict[tuple[str, str], set[str]] = defaultdict(set)
        for r in rows:
            by_cell[(r["symbol"], self.local_id(r["stage"]))].add(r["site"])
        gaps = []
        for symbol in sorted(set(symbols)):
            if not any(by_cell.get((symbol, stage)) for stage in STAGES):
                gaps.append({"element": symbol, "stage": None, "kind": "no-site",
                             "message": f"no producer of {symbol} in the graph"})
                continue
            for stage in SUPPLY_STAGES:
                found = sorted(by_cell.get((symbol, stage), set()))
                if not found:
                    gaps.append({"element": symbol, "stage": stage, "kind": "no-site",
                                 "message": f"no {stage} site for {symbol} in the graph"})
                    continue
                statuses = {self.local_id(site): self.status_on(site, day)["status"] for site in found}
                if "operating" not in statuses.values():
                    listed = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
                    gaps.append({"element": symbol, "stage": stage, "kind": "no-operating-site",
                                 "message": f"no operating {stage} site for {symbol} in the graph (listed: {listed})"})
        return gaps

    def element_share(self, symbol: str, stage: str, country: str) -> Row | None:
        """The newest element-specific share of ``country`` at ``stage`` that counts ``symbol`` (curators'
        unverified rows only when nothing else exists), or None."""
        shares, _, _ = self._stage_shares_memo()
        this_year = self.today().year
        found = [r for r in shares.get(stage, []) if r.get("areaCode") == country
                 and self.local_id(r.get("shareBasis")) == "element-specific"
                 and symbol in (r.get("basisElements") or "").split()
                 and not (r.get("year") and int(str(r["year"])) > this_year)]
        if not found:
            return None
        best = max(found, key=lambda r: (self.local_id(r.get("confidence")) != "unverified",
                                         self._edition_key(r), str(r.get("year") or "")))
        return {"share": best["share"], "basis": "element-specific",
                "elements": sorted((best.get("basisElements") or "").split()),
                "observation": self.local_id(best["observation"]), "edition": self.local_id(best["edition"]),
                "year": best.get("year"), "confidence": self.local_id(best.get("confidence")), "note": best.get("note")}

    def _stage_shares_memo(self) -> tuple[dict[str, list[Row]], Query, list[Row]]:
        catalog = self.catalog()
        if "stage-shares" not in catalog.memo:
            catalog.memo["stage-shares"] = self._stage_shares()
        return catalog.memo["stage-shares"]

    def _share_assumptions(self, summary: dict[str, Any]) -> dict[str, Any]:
        return {stage: None if s is None else {"edition": s["edition"], "year": s["year"], "basis": s["basis"]}
                for stage, s in summary.items()}

    def sites(self, element: str | None = None, stage: str | None = None, outside: str | None = None,
              status: str | None = None, on: str | None = None, unverified: bool = False) -> dict[str, Any]:
        """Mines and plants, each with its stage(s), country, the elements it handles and its status on ``on``
        (as of when and by which source; unknown where the graph has none), filtered by element, stage,
        country left out and status. A stage the sources only believe (Shin-Etsu's separation) is listed under
        ``unverifiedStages`` and counts only with ``unverified``; a site left out for that is in ``excluded``."""
        day = _date(on, self.today())
        symbol = self.local_id(self.resolve("element", element)) if element else None
        excluded = self.local_id(self.resolve("country", outside, "outside")) if outside else None
        if stage is not None and stage not in STAGES:
            raise BadParameter("stage", f"{stage!r} is not one of {list(STAGES)}")
        rows, query = self._element_sites(unverified)
        q_status = self._site_statuses()[1]
        by_site: dict[str, Row] = {}
        for r in rows:
            site = by_site.setdefault(r["site"], {
                "site": self.local_id(r["site"]), "label": r.get("siteLabel"), "kind": r.get("siteKind"),
                "country": r.get("countryCode"), "stages": set(), "elements": set(), "byStage": defaultdict(set),
                "evidence": set(), "unverifiedStages": set(), "unverifiedByStage": defaultdict(set)})
            stage_id = self.local_id(r["stage"])
            if r.get("stageUnverified"):
                site["unverifiedStages"].add(stage_id)
                site["unverifiedByStage"][stage_id].add(r["symbol"])
                if not unverified:
                    continue
            site["stages"].add(stage_id)
            site["elements"].add(r["symbol"])
            site["byStage"][stage_id].add(r["symbol"])
            site["evidence"] |= set((r.get("sources") or "").split())
        out, left_out = [], []
        for iri, site in sorted(by_site.items(), key=lambda kv: (kv[1]["country"] or "", kv[1]["site"])):
            if excluded and site["country"] == excluded:
                continue
            found = site["byStage"].get(stage, set()) if stage else site["elements"]
            if (stage and stage not in site["stages"]) or (symbol and symbol not in found):
                doubtful = ([stage] if stage else sorted(site["unverifiedStages"]))
                doubtful = [s for s in doubtful if s in site["unverifiedStages"]
                            and (not symbol or symbol in site["unverifiedByStage"][s])]
                if doubtful and not unverified:
                    left_out += [{"site": site["site"], "stage": s, "reason": _unverified_reason(s)} for s in doubtful]
                continue
            state = self.status_on(iri, day)
            if status and state["status"] != status:
                continue
            out.append({**{k: v for k, v in site.items() if k not in ("byStage", "evidence", "unverifiedByStage")},
                        "stages": sorted(site["stages"]), "elements": sorted(site["elements"]),
                        "unverifiedStages": sorted(site["unverifiedStages"]),
                        "elementsByStage": {k: sorted(v) for k, v in sorted(site["byStage"].items())},
                        "status": state, "sources": sorted(self.local_id(x) for x in site["evidence"])})
        return self._answer(out, [query, q_status], [r for r in rows if r["site"] in
                                                      {str(self.ns.entity(s["kind"], s["site"])) for s in out}],
                            element=symbol, stage=stage, outside=excluded, status=status, on=day,
                            unverified=unverified, excluded=left_out,
                            gaps=self._gaps([symbol], day, unverified) if symbol else [])

    def coverage(self, on: str | None = None, unverified: bool = False) -> dict[str, Any]:
        """Element × stage: how many sites the graph has (and how many operate on ``on``), which share it
        would use and on what basis, and the newest year of that share."""
        day = _date(on, self.today())
        rows, query = self._element_sites(unverified)
        deps, q_deps = self.run("dependencies", unverified=_flag(unverified))
        summaries, q_shares, share_rows = self._share_summaries()
        used = {r["symbol"] for r in deps}
        cells: dict[tuple[str, str], set[str]] = defaultdict(set)
        doubtful: dict[tuple[str, str], set[str]] = defaultdict(set)  # sites whose stage is only believed
        for r in rows:
            if r.get("stageUnverified"):
                doubtful[(r["symbol"], self.local_id(r["stage"]))].add(r["site"])
            if unverified or not r.get("stageUnverified"):
                cells[(r["symbol"], self.local_id(r["stage"]))].add(r["site"])
        symbols = sorted((used | {s for s, _ in cells}) & set(RARE_EARTHS), key=RARE_EARTHS.index)
        table = []
        for symbol in symbols:
            for stage in STAGES:
                found = sorted(cells.get((symbol, stage), set()))
                statuses = [self.status_on(site, day)["status"] for site in found]
                top = (summaries.get(stage) or {}).get("top") or {}
                specific = self.element_share(symbol, stage, top.get("country")) if top else None
                share = specific or ({"share": top.get("share"), "basis": "all-ree-proxy",
                                      "edition": summaries[stage]["edition"], "year": summaries[stage]["year"]}
                                     if top else None)
                table.append({"element": symbol, "stage": stage, "usedByRobots": symbol in used,
                              "sites": len(found), "operating": statuses.count("operating"),
                              "statusUnknown": statuses.count("unknown"),
                              "siteIds": [self.local_id(x) for x in found],
                              "unverifiedStageSites": [self.local_id(x)
                                                       for x in sorted(doubtful.get((symbol, stage), ()))],
                              "topCountry": top.get("country"), "share": None if share is None else share["share"],
                              "shareBasis": None if share is None else share["basis"],
                              "newestYear": None if share is None else share.get("year"),
                              "shareEdition": None if share is None else share.get("edition")})
        return self._answer(table, [query, q_deps, q_shares], share_rows, on=day,
                            gaps=self._gaps([s for s in symbols if s in used], day, unverified))

    # --- the questions ------------------------------------------------------------------------------

    def dependents(self, element: str, unverified: bool = False) -> dict[str, Any]:
        iri = self.resolve("element", element)
        rows, query = self.run("dependents", element=iri, unverified=_flag(unverified))
        paths = [{
            "subsystem": self.local_id(r.get("subsystem")), "subsystemLabel": r.get("subsystemLabel"),
            "robot": self.local_id(r.get("robot")), "robotLabel": r.get("robotLabel"),
            "component": self.local_id(r.get("component")), "componentLabel": r.get("componentLabel"),
            "material": self.local_id(r.get("material")), "materialLabel": r.get("materialLabel"),
            "role": self.local_id(r.get("role")), "massFractionMin": r.get("massFractionMin"),
            "massFractionMax": r.get("massFractionMax"), "confidence": self.local_id(r.get("confidence")),
        } for r in rows]
        subsystems = sorted({p["subsystem"] for p in paths if p["subsystem"]})
        robots = sorted({p["robot"] for p in paths if p["robot"]})
        return self._answer(paths, [query], rows, element=self.local_id(iri), subsystems=subsystems,
                            robots=robots)

    def trace(self, subsystem: str, robot: str | None = None, element: str | None = None,
              unverified: bool = False, on: str | None = None) -> dict[str, Any]:
        """Every path from a subsystem to its sites and countries, each hop cited, each site with its status on
        ``on`` (a blocked or not-producing site is listed with that status, never as a plain supplier), and the
        ``gaps``: the subsystem's elements and stages with no supplier (or none operating) in the graph. A site's
        stage that the sources only believe is in ``unverifiedStages``, and in ``stages`` only with ``unverified``."""
        params: dict[str, Any] = {"subsystem": self.resolve("subsystem", subsystem), "unverified": _flag(unverified)}
        day = _date(on, self.today())
        if robot:
            params["robot"] = self.resolve("robot", robot)
        if element:
            params["element"] = self.resolve("element", element)
        rows, query = self.run("trace", **params)
        paths = []
        for r in rows:
            state = self.status_on(r["site"], day) if r.get("site") else {"status": "unknown"}
            doubtful = sorted((r.get("unverifiedStages") or "").split())
            stages = sorted(s for s in (r.get("stages") or "").split() if unverified or s not in doubtful)
            paths.append({
                "element": r.get("symbol"), "component": self.local_id(r.get("component")),
                "material": self.local_id(r.get("material")), "hop": r.get("hop"),
                "site": self.local_id(r.get("site")), "siteLabel": r.get("siteLabel"),
                "siteKind": self.local_id(r.get("siteKind")), "stages": stages,
                "unverifiedStages": doubtful,
                "fedSite": self.local_id(r.get("fedSite")), "country": r.get("countryCode"),
                "siteStatus": state, "supplying": state["status"] == "operating",
                "hopSources": {k[1:].lower(): self._graph_source(r.get(k)) for k in
                               ("gRobot", "gComponent", "gMaterial", "gElement", "gSite", "gFeed", "gCountry")
                               if r.get(k)},
            })
        deps, q_deps = self.run("dependencies", unverified=_flag(unverified))
        wanted = {r["symbol"] for r in deps if r.get("subsystem") == params["subsystem"]
                  and (not robot or r.get("robot") == params.get("robot"))}
        if element:
            wanted = {self.local_id(params["element"])}
        gaps = self._gaps(wanted & set(RARE_EARTHS), day, unverified)
        reached = {p["element"] for p in paths}
        for symbol in sorted((wanted & set(RARE_EARTHS)) - reached):
            if not any(g["element"] == symbol and g["stage"] is None for g in gaps):
                gaps.append({"element": symbol, "stage": None, "kind": "no-path",
                             "message": f"no supply path for {symbol} from this subsystem in the graph"})
        summary, share_query, share_rows = self._share_summaries()
        return self._answer(paths, [query, share_query, q_deps], rows + share_rows,
                            subsystem=self.local_id(params["subsystem"]), on=day, countries=sorted(
                                {p["country"] for p in paths if p["country"]}), shares=summary, gaps=gaps,
                            elements=sorted(wanted & set(RARE_EARTHS)),
                            assumptions={"on": day, "shares": self._share_assumptions(summary),
                                         "unverified": unverified,
                                         "siteStatus": "newest status observation stated as of the day or before"})

    def _graph_source(self, graph: str | None) -> str | None:
        if graph and graph.startswith(self._source_graph_prefix):
            return graph[len(self._source_graph_prefix):]
        return graph

    def _stage_shares(self) -> tuple[dict[str, list[Row]], Query, list[Row]]:
        rows, query = self.run("stage-shares")  # every observation (run once per build: _share_summaries)
        by_stage: dict[str, list[Row]] = defaultdict(list)
        for r in rows:
            stage = self.local_id(r.get("stage")) or "mining"
            by_stage[stage].append(r)
        return by_stage, query, rows

    def _share_summaries(self) -> tuple[dict[str, dict[str, Any] | None], Query, list[Row]]:
        """:meth:`_stage_summary` of every stage, the query and the rows the summaries used (what an answer
        cites): once per build and day, not per request (at 10^6 triples there are ~50,000 observations)."""
        catalog = self.catalog()
        key = f"share-summaries {self.today()}"
        if key not in catalog.memo:
            shares, query, _ = self._stage_shares_memo()
            summaries, used = {}, []
            for stage in STAGES:
                summaries[stage], chosen = self._stage_summary(shares.get(stage, []))
                used += chosen
            catalog.memo[key] = (summaries, query, used)
        return catalog.memo[key]

    def _stage_summary(self, rows: list[Row]) -> tuple[dict[str, Any] | None, list[Row]]:
        """The newest edition's latest past year for a stage: country shares, HHI and the concentration flag;
        and the rows it read.

        Shares are of all rare earths (basis all-ree-proxy: only a proxy for any one element). Where
        the published shares do not cover the whole world, the HHI is a lower bound and says so.
        """
        this_year = self.today().year
        # a share for a year still to come is a projection (IEA's 2030 outlook), not a measurement
        # element-specific shares (China's 99.9% of heavy-RE separation) are read per element (element_share)
        countries = [r for r in rows if r.get("areaCode") and not (r.get("year") and int(str(r["year"])) > this_year)
                     and self.local_id(r.get("shareBasis")) != "element-specific"]
        if not countries:
            return None, []
        # the newest publication first (by its issue date), then its latest year
        keys = [self._edition_key(r) for r in countries]
        edition = max(keys)
        pool = [r for r, k in zip(countries, keys, strict=True) if k == edition]
        latest_year = max((str(r.get("year") or "") for r in pool), default="")
        chosen = [r for r in pool if str(r.get("year") or "") == latest_year]
        shares = {}
        for r in chosen:
            shares.setdefault(r["areaCode"], r["share"])  # first = largest (the query sorts by share)
        covered = sum(shares.values())
        hhi = sum(s * s for s in shares.values())
        # largest first, equal shares by country code: the same order whatever order the engine gave the rows
        ranked = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
        top_code, top_share = ranked[0]
        return {
            "year": latest_year or None, "edition": self.local_id(chosen[0]["edition"]), "basis": "all-ree-proxy",
            "shares": [{"country": c, "share": s} for c, s in ranked],
            "coverage": round(covered, 6),
            "hhi": round(hhi, 6), "hhiIsLowerBound": covered < 0.995,
            "concentrated": top_share > self.threshold, "threshold": self.threshold,
            "top": {"country": top_code, "share": top_share},
        }, chosen

    def _edition_key(self, row: Row) -> tuple[str, str]:
        source = self.sources([row["edition"]]).get(row["edition"], {}) if row.get("edition") else {}
        return (str(source.get("issued") or ""), str(row.get("edition")))

    def exposure(self, robot: str, units: int, on: str | None = None, unverified: bool = False) -> dict[str, Any]:
        """A fleet's magnet and element masses by every sourced estimate, each element's control status on
        ``on`` (yes / no / unknown, as of when and by which source) and the stage concentration.

        One element-content fact is one row whatever its number of sources (issue 11, finding 3). A combined
        figure (Nd+Pr) is reported as the combination, never split. Dy and Tb of a robot whose components need
        particular grades (a joint motor: H, SH, UH) come from those grades' contents, unknown where no grade
        gives a figure, never from the family's standard-grade figure."""
        iri = self.resolve("robot", robot)
        if not isinstance(units, int) or units < 0 or units > 10**9:
            raise BadParameter("units", "must be a whole number from 0 to 1,000,000,000")
        day = _date(on, self.today())
        estimates, q_fleet = self.run("fleet-magnet-mass", robot=iri, units=units, unverified=_flag(unverified))
        controls, q_controls = self._controls(day, iri)
        summary, q_shares, share_rows = self._share_summaries()
        grades, q_grades = self.run("robot-grades", robot=iri)
        queries = [q_fleet, q_controls, q_shares, q_grades]
        cited = list(estimates) + [c for rows in controls.values() for c in rows] + share_rows
        needed: dict[str, list[str]] = defaultdict(list)  # family → the grades the robot's components need
        for g in grades:
            if g.get("family") and g["grade"] not in needed[g["family"]]:
                needed[g["family"]].append(g["grade"])
        contents: dict[str, dict[str, Row]] = {}  # material → key ("Nd", "Nd+Pr") → one content fact
        for material in sorted({e["material"] for e in estimates if e.get("material")} |
                               {g for gs in needed.values() for g in gs}):
            rows, q_contents = self.run("material-contents", material=material)
            contents[material] = {_content_key(r): r for r in rows}
            cited += rows
            queries.append(q_contents)
        elements: dict[str, Row] = {}

        def entry(key: str) -> Row:
            members = key.split("+")
            if key not in elements:
                verdict = _verdict([c for m in members for c in controls.get(m, [])])
                elements[key] = {"symbol": key, "elements": members, "combined": len(members) > 1,
                                 "massPerUnitKg": [], "fleetMassKg": [],
                                 "controls": [self._control_view(c) for m in members for c in controls.get(m, [])],
                                 "controlStatus": verdict["inForce"], "controlAsOf": verdict["asOf"],
                                 "controlledOn": _legacy_flag(verdict["inForce"]),  # deprecated: controlStatus
                                 "controlSources": verdict["sources"], "controlBasis": verdict["basis"]}
            return elements[key]

        for symbol in sorted(controls):
            entry(symbol)
        for estimate in estimates:
            family = estimate.get("material")
            base = contents.get(family, {})
            graded = needed.get(family, [])
            keys = sorted(set(base) | {k for g in graded for k in contents.get(g, {})})
            for key in keys:
                members = set(key.split("+"))
                row = entry(key)
                if graded and members & GRADE_DOPANTS:
                    low, high, basis, facts = _grade_range(key, graded, contents)
                    basis = f"grades {', '.join(self.local_id(g) for g in graded)} that the robot's components need"
                else:
                    fact = base.get(key)
                    if fact is None:
                        continue
                    low, high = fact.get("massFractionMin"), fact.get("massFractionMax")
                    basis, facts = f"{self.local_id(family)} content", [fact]
                per_unit = {"estimate": self.local_id(estimate["estimate"]),
                            "min": None if low is None else _round(estimate["massMinKg"] * low),
                            "max": None if high is None else _round(estimate["massMaxKg"] * high),
                            "basis": basis, "contents": [self.local_id(f["content"]) for f in facts],
                            "contentSources": sorted({self.local_id(s) for f in facts
                                                      for s in (f.get("sources") or "").split()}),
                            "note": "; ".join(f["note"] for f in facts if f.get("note")) or None}
                if per_unit["min"] is None and per_unit["max"] is None and not facts:
                    continue
                row["massPerUnitKg"].append(per_unit)
                row["fleetMassKg"].append({"estimate": per_unit["estimate"],
                                           "min": None if per_unit["min"] is None else _round(per_unit["min"] * units),
                                           "max": None if per_unit["max"] is None else _round(per_unit["max"] * units)})
        for row in elements.values():
            lows = [m["min"] for m in row["fleetMassKg"]]
            highs = [m["max"] for m in row["fleetMassKg"]]
            # across every estimate: the smallest low end and the largest high end; unknown if any end is unknown
            row["fleetTotalKg"] = {"min": None if not lows or None in lows else min(lows),
                                   "max": None if not highs or None in highs else max(highs)}
            row["massKnown"] = bool(row["fleetMassKg"]) and None not in lows + highs
            if not row["combined"]:
                row["countedIn"] = sorted(k for k, other in elements.items()
                                          if other["combined"] and row["symbol"] in other["elements"])
        magnet = [{
            "estimate": self.local_id(e["estimate"]), "material": self.local_id(e.get("material")),
            "massPerUnitKg": {"min": e.get("massMinKg"), "max": e.get("massMaxKg")},
            "fleetMassKg": {"min": e.get("fleetMinKg"), "max": e.get("fleetMaxKg")},
            "source": self.local_id(e.get("source")), "confidence": self.local_id(e.get("confidence")),
            "basis": e.get("basis"),
        } for e in estimates]
        fleet = {"min": min((m["fleetMassKg"]["min"] for m in magnet), default=None),
                 "max": max((m["fleetMassKg"]["max"] for m in magnet), default=None)}
        data = {"magnet": magnet, "magnetFleetTotalKg": fleet, "elements": list(elements.values()),
                "stages": summary}
        assumptions = {
            "on": day, "estimates": "every sourced magnet-mass estimate side by side; none averaged or preferred",
            "controls": "three-valued: a measure with no dated in-force statement covering the day is unknown",
            "grades": [{"component": self.local_id(g["component"]), "grade": self.local_id(g["grade"]),
                        "operatingTemperatureC": {"min": g.get("opMinC"), "max": g.get("opMaxC")}} for g in grades],
            "gradeBasis": ("Dy and Tb per robot come from the grades its components need, applied to the whole "
                           "estimate; unknown where a grade gives no figure") if needed else None,
            "combined": "a combined content figure (Nd+Pr) is reported as the combination, never split",
            "shares": self._share_assumptions(summary),
        }
        return self._answer(data, queries, cited, robot=self.local_id(iri), units=units, on=day,
                            assumptions=assumptions, gaps=self._gaps({e for k in elements for e in k.split("+")
                                                                      if e in RARE_EARTHS}, day))

    def substitutes(self, element: str, function: str | None = None, on: str | None = None,
                    unverified: bool = False, min_temperature: int | None = None) -> dict[str, Any]:
        """Substitutes for an element, ranked by penalty then maturity; each still-used element's control status
        on ``on`` (yes / no / unknown, judged as exposure judges it). With ``min_temperature`` (°C), an option
        whose sourced maximum working temperature is below it is excluded (with the reason), one whose range
        straddles it ranks after those that hold it, and one with no sourced temperature is flagged
        "temperature unknown" and ranks last: never above an option known to hold the temperature."""
        params: dict[str, Any] = {"element": self.resolve("element", element), "unverified": _flag(unverified),
                                  "on": _date(on, self.today())}
        if function:
            params["function"] = self.resolve("function", function)
        if min_temperature is not None and (not isinstance(min_temperature, int) or isinstance(min_temperature, bool)
                                            or not 0 <= min_temperature <= 10_000):
            raise BadParameter("min_temperature", "must be a whole number of degrees Celsius from 0 to 10,000")
        rows, query = self.run("substitutes", **params)
        controls, q_controls = self._controls(params["on"])
        queries, cited = [query, q_controls], list(rows) + [c for cs in controls.values() for c in cs]
        temperatures: dict[str, list[Row]] = defaultdict(list)
        if min_temperature is not None:
            temps, q_temps = self.run("substitute-temperatures", element=params["element"])
            queries.append(q_temps)
            cited += temps
            for t in temps:
                temperatures[t["substitution"]].append(t)
        options, excluded = [], []
        for r in rows:
            used = sorted(t.split("=", 1)[0] for t in (r.get("stillUses") or "").split() if "=" in t)
            verdicts = {symbol: _verdict(controls.get(symbol, [])) for symbol in used}
            option = {
                "substitution": self.local_id(r["substitution"]), "label": r.get("label"),
                "function": self.local_id(r.get("inFunction")), "substitute": self.local_id(r.get("substitute")),
                "substituteLabel": r.get("substituteLabel"), "penalty": self.local_id(r.get("penalty")),
                "maturity": self.local_id(r.get("maturity")), "reductionMin": r.get("reductionMin"),
                "reductionMax": r.get("reductionMax"), "penaltyText": r.get("penaltyText"),
                # GROUP_CONCAT's order is the engine's choice (SPARQL 1.1 §18.5.1.7): sorted, the same on every store
                "tradeOffs": sorted(t for t in (r.get("tradeOffs") or "").split(" ; ") if t),
                "stillUsesStatus": {symbol: v["inForce"] for symbol, v in verdicts.items()},
                "stillUsesControls": verdicts,
                "avoidsControlsStatus": _avoids(verdicts),
                # deprecated (v1 before issue 11): the old vocabulary and a flag that is null when unknown
                "stillUses": {symbol: v["legacyStatus"] for symbol, v in verdicts.items()},
                "avoidsControls": _legacy_flag(_avoids(verdicts)),
                "sources": sorted(self.local_id(x) for x in (r.get("sources") or "").split()),
                "confidence": self.local_id(r.get("confidence")),
            }
            if min_temperature is not None:
                option["temperature"] = _temperature(temperatures.get(r["substitution"], []), min_temperature,
                                                     self.local_id)
                if option["temperature"]["holds"] == "no":
                    excluded.append({**option, "reason": option["temperature"]["reason"]})
                    continue
            options.append(option)
        if min_temperature is not None:  # stable: penalty and maturity order kept within each temperature class
            options.sort(key=lambda o: _HOLDS_ORDER[o["temperature"]["holds"]])
        for rank, option in enumerate(options, start=1):
            option["rank"] = rank
        extra: dict[str, Any] = {}
        if min_temperature is not None:
            extra = {"minTemperature": min_temperature, "excluded": excluded}
        return self._answer(options, queries, cited, element=self.local_id(params["element"]),
                            function=function, on=params["on"], **extra,
                            assumptions={"on": params["on"], "controls": "three-valued, as of each statement's date",
                                         "ranking": "penalty, then maturity" + (
                                             "; options known to hold min_temperature first, then those whose "
                                             "range straddles it, then those of unknown temperature"
                                             if min_temperature is not None else "")})

    def search(self, q: str | None) -> dict[str, Any]:
        if q is None or not q.strip():
            raise BadParameter("q", "is required")
        if len(q) > 200:
            raise BadParameter("q", "is longer than 200 characters")
        rows, query = self.run("search", q=q.strip())
        hits = [{"kind": (r["entity"][len(str(self.ns.id)):].split("/", 1)[0]
                          if r["entity"].startswith(str(self.ns.id)) else None),
                 "id": self.local_id(r["entity"]), "iri": r["entity"], "label": r.get("label"),
                 "matched": r.get("matched"), "lang": r.get("lang"), "rank": r.get("rank")} for r in rows]
        if not hits:  # fuzzy: the closest labels or ids of any kind
            scored = []
            for kind in self.kinds():
                for match in self.closest(kind, q.strip(), n=3):
                    label = match["label"] or match["id"]
                    ratio = difflib.SequenceMatcher(None, q.casefold(), label.casefold()).ratio()
                    scored.append((ratio, kind, match))
            scored.sort(key=lambda t: -t[0])
            hits = [{"kind": kind, "id": m["id"], "iri": str(self.ns.entity(kind, m["id"])), "label": m["label"],
                     "matched": None, "lang": None, "rank": 3, "similarity": round(ratio, 3)}
                    for ratio, kind, m in scored[:10]]
        return self._answer(hits, [query], rows, q=q)

    def entity(self, kind: str, ident: str) -> dict[str, Any]:
        iri = self.resolve(kind, ident)
        rows, query = self.run("entity", entity=iri)
        out: dict[str, list[Row]] = defaultdict(list)
        labels: dict[str, str] = {}
        types = []
        inferred = str(self.ns.inferred_graph)
        for r in rows:
            prop = r["property"]
            if r["direction"] == "out" and prop.endswith("rdf-syntax-ns#type"):
                types.append(self.local_id(r["value"]) if not r["value"].startswith(str(self.ns.reekg))
                             else r["value"][len(str(self.ns.reekg)):])
            statement = {"property": self._short(prop), "value": self.local_id(r["value"]),
                         "iri": r["value"] if isinstance(r["value"], str) and "://" in r["value"] else None,
                         "label": r.get("valueLabel"), "source": self._graph_source(r.get("graph")),
                         "inferred": r.get("graph") == inferred}
            out[r["direction"]].append(statement)
        names = (self._call(self.queries["labels"], {"entity": iri}) or [{}])[0]
        for lang, key in (("en", "labelEn"), ("zh-Hant", "labelZhHant"), ("zh-Hans", "labelZhHans")):
            if names.get(key):
                labels[lang] = names[key]
        data = {"id": self.local_id(iri), "iri": iri, "kind": kind, "types": sorted(set(types)),
                "labels": labels, "statements": out["out"], "incoming": out["in"]}
        queries = [query]
        cited = list(rows)
        if kind == "function":
            data["elements"], q_functions, used = self._function_elements(iri)
            queries.append(q_functions)
            cited += used
        if kind == "country":
            obs, q_obs = self.run("country-observations", country=iri)
            if obs is not None:
                data["production"] = [{
                    "edition": self.local_id(o.get("edition")), "year": o.get("year"),
                    "quantity": self.local_id(o.get("quantity")), "stage": self.local_id(o.get("stage")),
                    "value": o.get("value"), "unit": o.get("unit"), "share": o.get("share"),
                    "isEstimate": o.get("isEstimate"), "isLowerBound": o.get("isLowerBound"),
                    "confidence": self.local_id(o.get("confidence")),
                } for o in obs]
                queries.append(q_obs)
                cited += obs
        return self._answer(data, queries, cited, kind=kind, id=self.local_id(iri))

    def _function_elements(self, function: str) -> tuple[list[Row], Query, list[Row]]:
        """The elements that serve ``function``, with the materials and components through which they do;
        an element found only through unverified evidence is listed with ``unverified: true`` (the answer's
        consumers leave it out by default, as every other answer does)."""
        verified, query = self.run("functions", function=function, unverified="false")
        everything, _ = self.run("functions", function=function, unverified="true")
        sure = {r["symbol"] for r in verified}
        out = []
        for r in everything:
            out.append({"element": r["symbol"], "unverified": r["symbol"] not in sure,
                        "foundVia": sorted((r.get("foundVia") or "").split()),
                        "materials": [m for m in (r.get("materials") or "").split(" | ") if m],
                        "components": [c for c in (r.get("components") or "").split(" | ") if c]})
        return out, query, verified + everything

    def _short(self, iri: str) -> str:
        for prefix, base in sorted(self.ns.prefixes().items(), key=lambda kv: -len(kv[1])):
            if iri.startswith(base):
                return f"{prefix}:{iri[len(base):]}"
        return iri

    def scenario(self, restrictions: list[dict[str, Any]], on: str | None = None) -> dict[str, Any]:
        """Which subsystems and robots lose every supply path under the restrictions, which keep part of it,
        and which substitutes would restore them. Nothing is written: the scenario is computed on answers.

        A restriction removes, for its elements and stages, every site located in its country. An element
        is cut at a stage when no site elsewhere remains for it at that stage; partly cut when some do (the
        remaining share is 1 − the country's published share of that stage, where one exists).
        """
        if not isinstance(restrictions, list) or not restrictions:
            raise BadParameter("restrictions", "give a non-empty list of {country, elements, stages}")
        day = _date(on, self.today())
        rules = []
        for index, rule in enumerate(restrictions):
            where = f"restrictions[{index}]"
            if not isinstance(rule, dict):
                raise BadParameter(where, "must be an object {country, elements, stages}")
            unknown = set(rule) - {"country", "elements", "stages"}
            if unknown:
                raise BadParameter(where, f"unknown key(s) {sorted(unknown)}")
            country = self.local_id(self.resolve("country", rule.get("country"), f"{where}.country"))
            elements = rule.get("elements") or []
            stages = rule.get("stages") or list(STAGES)
            if not isinstance(elements, list) or not all(isinstance(e, str) for e in elements):
                raise BadParameter(f"{where}.elements", "must be a list of element symbols")
            if not isinstance(stages, list) or not all(isinstance(s, str) for s in stages):
                raise BadParameter(f"{where}.stages", "must be a list of stages")
            bad_stages = [s for s in stages if s not in STAGES]
            if bad_stages:
                raise BadParameter(f"{where}.stages", f"unknown stage(s) {bad_stages}; known: {list(STAGES)}")
            symbols = [self.local_id(self.resolve("element", e, f"{where}.elements")) for e in elements]
            rules.append({"country": country, "elements": symbols or None, "stages": stages})

        summaries, q_shares, share_rows = self._share_summaries()
        deps, q_deps = self.run("dependencies", unverified="false")
        site_rows, q_sites = self._element_sites(False)
        q_status = self._site_statuses()[1]
        queries = [q_shares, q_deps, q_sites, q_status]
        cited = share_rows + site_rows
        sites: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)  # (element, stage) → sites
        doubtful: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)  # … whose stage is only believed
        for r in site_rows:
            (doubtful if r.get("stageUnverified") else sites)[(r["symbol"], self.local_id(r["stage"]))].add(
                (r["site"], r.get("countryCode") or ""))
        uses: dict[tuple[str, str], set[str]] = defaultdict(set)  # (kind, id) → element symbols
        for r in deps:
            uses[("subsystem", self.local_id(r["subsystem"]))].add(r["symbol"])
            if r.get("robot"):
                uses[("robot", self.local_id(r["robot"]))].add(r["symbol"])
        bases: list[Row] = []

        def site_view(site: str) -> Row:
            state = self.status_on(site, day)
            return {"site": self.local_id(site), "status": state["status"], "asOf": state["asOf"],
                    "expected": state["expected"], "sources": state["sources"],
                    **({"statedAfterDay": True} if state.get("statedAfterDay") else {})}

        def impacts_of(symbols: set[str]) -> list[Row]:
            found = []
            for rule in rules:
                for symbol in sorted(symbols):
                    if rule["elements"] is not None and symbol not in rule["elements"]:
                        continue
                    for stage in rule["stages"]:
                        before = sites.get((symbol, stage), set())
                        if not any(code == rule["country"] for _, code in before):
                            continue
                        others = [site_view(site) for site, code in sorted(before) if code != rule["country"]]
                        remaining = [o for o in others if o["status"] == "operating"]
                        pipeline = [o for o in others if o["status"] not in ("operating", "unknown")]
                        unknown = [o for o in others if o["status"] == "unknown"]
                        believed = [{**site_view(site), "reason": _unverified_reason(stage)}
                                    for site, code in sorted(doubtful.get((symbol, stage), set()))
                                    if code != rule["country"]]
                        share = self.element_share(symbol, stage, rule["country"])
                        basis = {"element": symbol, "stage": stage, "country": rule["country"]}
                        if share is not None:
                            basis.update(share=share["share"], basis="element-specific",
                                         observation=share["observation"], edition=share["edition"],
                                         year=share["year"], confidence=share["confidence"], fellBackToProxy=False)
                        else:
                            proxy = _share_of(summaries[stage], rule["country"])
                            basis.update(share=proxy, basis=None if proxy is None else "all-ree-proxy",
                                         edition=(summaries[stage] or {}).get("edition"),
                                         year=(summaries[stage] or {}).get("year"), fellBackToProxy=proxy is not None)
                        bases.append(basis)
                        left = None if basis["share"] is None else round(1 - basis["share"], 6)
                        cut = not remaining
                        essentially = (not cut and basis.get("basis") == "element-specific" and left is not None
                                       and left <= ESSENTIALLY_CUT)
                        found.append({
                            "element": symbol, "stage": stage, "country": rule["country"],
                            "sitesBefore": len(before), "sitesRemaining": len(remaining),
                            "remainingSites": [o["site"] for o in remaining], "remaining": remaining,
                            "pipeline": pipeline, "statusUnknown": unknown, "unverifiedStage": believed,
                            "cut": cut, "essentiallyCut": essentially,
                            "remainingShare": left, "shareBasis": basis.get("basis"),
                            "fellBackToProxy": basis["fellBackToProxy"],
                        })
            return found

        def status_of(found: list[Row]) -> str:
            if any(i["cut"] for i in found):
                return "cut"
            if any(i["essentiallyCut"] for i in found):
                return "essentially-cut"
            return "partial" if found else "unaffected"

        results, robot_results, affected_elements = [], [], set()
        for (kind, ident), symbols in sorted(uses.items()):
            found = impacts_of(symbols)
            affected_elements |= {i["element"] for i in found}
            entry = {kind: ident, "status": status_of(found), "impacts": found}
            (results if kind == "subsystem" else robot_results).append(entry)
        restricted = {e for rule in rules for e in (rule["elements"] or [])}
        restores = {}
        for symbol in sorted(affected_elements):
            answer = self.substitutes(symbol, on=day)
            queries += [self.queries["substitutes"], self.queries["in-force"]]
            options = [o for o in answer["data"] if not (_still_uses(o) & restricted)]
            restores[symbol] = [{"substitution": o["substitution"], "label": o["label"], "rank": o["rank"],
                                 "penalty": o["penalty"], "maturity": o["maturity"],
                                 "avoidsControlsStatus": o["avoidsControlsStatus"],
                                 "avoidsControls": o["avoidsControls"]} for o in options]  # deprecated flag
        data = {"subsystems": results, "robots": robot_results, "substitutes": restores}
        unique = list({q.name: q for q in queries}.values())
        shares_used = list({(b["element"], b["stage"], b["country"]): b for b in bases}.values())
        assumptions = {
            "on": day, "shares": shares_used,
            "remainingSupply": "only sites operating on the day count; others are listed as pipeline (with the "
                               "status expected next and when) or as status unknown, and a site whose stage the "
                               "sources only believe (reekg:unverifiedStage) under unverifiedStage",
            "essentiallyCut": f"operating sites remain but an element-specific share leaves at most "
                              f"{ESSENTIALLY_CUT:.0%} of world supply",
            "stageShares": self._share_assumptions(summaries),
        }
        return self._answer(data, unique, cited, restrictions=rules, on=day, changesStoredGraph=False,
                            assumptions=assumptions,
                            gaps=self._gaps({e for k, syms in uses.items() for e in syms
                                             if e in affected_elements}, day))


def _unverified_reason(stage: str) -> str:
    return (f"its {stage} stage is unverified: the sources only believe it (reekg:unverifiedStage), so it is not "
            f"counted as {stage} supply unless unverified claims are asked for")


def _content_key(row: Row) -> str:
    """An element-content fact's key: its element, or its combined elements joined by "+" ("Nd+Pr")."""
    return "+".join(sorted((row.get("symbol") or "").split()))


def _grade_range(key: str, grades: list[str], contents: dict[str, dict[str, Row]]
                 ) -> tuple[float | None, float | None, str, list[Row]]:
    """The range of ``key``'s mass fraction over ``grades``: the lowest low end and the highest high end,
    each unknown (None) as soon as one grade gives no figure for it."""
    facts = [contents.get(g, {}).get(key) for g in grades]
    lows = [None if f is None else f.get("massFractionMin") for f in facts]
    highs = [None if f is None else f.get("massFractionMax") for f in facts]
    low = None if None in lows else min(lows)
    high = None if None in highs else max(highs)
    return low, high, "grades", [f for f in facts if f is not None]


def _in_force_value(row: Row) -> str:
    """yes / no / unknown of an in-force.rq row: no statement covering the day is unknown, never no."""
    value = row.get("inForce")
    return value.rsplit("/", 1)[-1] if isinstance(value, str) and value else "unknown"


def _verdict(rows: list[Row]) -> Row:
    """An element's control status from its measures' statements on a day: yes if one is in force, else
    unknown if one is unknown, else no; with the as-of date and the sources of the statements that decide it."""
    if not rows:
        return {"inForce": "no", "asOf": None, "sources": [], "legacyStatus": "not-controlled",
                "basis": "no export control in the graph covers it"}
    values = [_in_force_value(r) for r in rows]
    verdict = "yes" if "yes" in values else "unknown" if "unknown" in values else "no"
    deciding = [r for r, v in zip(rows, values, strict=True) if v == verdict]
    dates = [str(r["asOfEnd"]) for r in deciding if r.get("asOfEnd")]
    measures = sorted({r["measure"].rsplit("/", 1)[-1] for r in deciding if r.get("measure")})
    suspended = any(str(r.get("statusDetail") or "").endswith("suspended") for r in deciding)
    legacy = {"yes": "in-force", "unknown": "unknown"}.get(verdict, "suspended" if suspended else "not-controlled")
    return {"inForce": verdict, "asOf": max(dates) if dates else None, "legacyStatus": legacy,
            "sources": sorted({s.rsplit("/", 1)[-1] for r in deciding for s in (r.get("sources") or "").split()}),
            "basis": f"in-force statements of {', '.join(measures)}"
            + ("" if all(r.get("statement") for r in deciding) else " (no statement covers the day)")}


def _legacy_flag(status: str) -> bool | None:
    """The boolean that /api/v1 gave before statuses were three-valued (``controlledOn``, ``avoidsControls``),
    kept for existing clients: true for yes, false for no, and null — never false — for unknown."""
    return {"yes": True, "no": False}.get(status)


def _avoids(verdicts: dict[str, Row]) -> str:
    """Whether an option avoids the controls: no if a still-used element is controlled, unknown if one's
    status is unknown, yes otherwise."""
    values = {v["inForce"] for v in verdicts.values()}
    return "no" if "yes" in values else "unknown" if "unknown" in values else "yes"


_HOLDS_ORDER = {"yes": 0, "straddles": 1, "unknown": 2, "no": 3}


def _temperature(rows: list[Row], need: int, local: Callable[[Any], Any]) -> Row:
    """Whether sourced maximum working temperatures hold ``need`` °C: yes (the whole range is at or above it),
    no (the whole range is below it), straddles, or unknown (no sourced figure)."""
    lows = [float(r["minC"]) for r in rows if r.get("minC") is not None]
    highs = [float(r["maxC"]) for r in rows if r.get("maxC") is not None]
    if not lows and not highs:
        return {"holds": "unknown", "maxWorkingTemperatureC": None, "evidence": [],
                "reason": "temperature unknown: no source gives this option's maximum working temperature"}
    low, high = min(lows or highs), max(highs or lows)
    holds = "yes" if low >= need else "no" if high < need else "straddles"
    reason = {"yes": f"holds {need} °C ({low:g}–{high:g} °C sourced)",
              "no": f"maximum working temperature {low:g}–{high:g} °C is below {need} °C",
              "straddles": f"{low:g}–{high:g} °C sourced: holds {need} °C only at the top of its range"}[holds]
    evidence = sorted({(local(r["evidence"]), r["kind"]) for r in rows})
    return {"holds": holds, "maxWorkingTemperatureC": {"min": low, "max": high}, "reason": reason,
            "evidence": [{"id": e, "kind": k} for e, k in evidence],
            "sources": sorted({local(r["source"]) for r in rows if r.get("source")})}


def _share_of(summary: dict[str, Any] | None, code: str) -> float | None:
    """The country's share in a stage summary (:meth:`Answers._stage_summary`), or None."""
    for entry in (summary or {}).get("shares", []):
        if entry["country"] == code:
            return entry["share"]
    return None


def _still_uses(option: Row) -> set[str]:
    return set(option.get("stillUses") or {})


def _flag(on: bool) -> str:
    return "true" if on else "false"


def _round(x: float) -> float:
    return round(x, 6)


def _date(text: str | None, default: dt.date) -> str:
    if text is None or text == "":
        return default.isoformat()
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):  # ASCII digits only
        return _bad(text)
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        return _bad(text)


def _bad(text: Any) -> str:
    raise BadParameter("on", f"{str(text)[:40]!r} is not a date as YYYY-MM-DD")
