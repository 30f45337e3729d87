"""Answers for analysts: dependents, trace, exposure, substitutes, scenario, search and entity pages.

One place for the domain logic behind the JSON API (``reekg.server.api``) and the CLI: each answer runs
named queries from ``server/queries`` (bound as typed terms, never by string formatting) through a
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

from reekg.loaders.namespaces import Namespaces
from reekg.queries import Query, QueryParameterError, library

Row = dict[str, Any]
# A runner takes a query and its parameter values and returns (rows as SPARQL JSON bindings, build id).
Runner = Callable[[Query, dict[str, Any]], tuple[list[dict[str, dict[str, str]]], str | None]]

STAGES = ("mining", "separation", "magnet-making")
_NUMERIC = ("integer", "decimal", "double", "float", "long", "int", "short", "nonNegativeInteger")
_XSD = "http://www.w3.org/2001/XMLSchema#"
# An id of ours: checked with fullmatch (Python's `$` would let "Dy\n" through). The API's parameter schemas
# (reekg.server.params) publish this same pattern.
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
_ID = re.compile(ID_PATTERN)


class AnswerError(Exception):
    """An error a client may see; ``status`` is its HTTP status, ``errors`` the details."""

    status = 400

    def __init__(self, message: str, errors: list[Any] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors if errors is not None else [message]


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
              unverified: bool = False) -> dict[str, Any]:
        params: dict[str, Any] = {"subsystem": self.resolve("subsystem", subsystem), "unverified": _flag(unverified)}
        if robot:
            params["robot"] = self.resolve("robot", robot)
        if element:
            params["element"] = self.resolve("element", element)
        rows, query = self.run("trace", **params)
        paths = [{
            "element": r.get("symbol"), "component": self.local_id(r.get("component")),
            "material": self.local_id(r.get("material")), "hop": r.get("hop"),
            "site": self.local_id(r.get("site")), "siteLabel": r.get("siteLabel"),
            "siteKind": self.local_id(r.get("siteKind")), "stages": sorted((r.get("stages") or "").split()),
            "fedSite": self.local_id(r.get("fedSite")), "country": r.get("countryCode"),
            "hopSources": {k[1:].lower(): self._graph_source(r.get(k)) for k in
                           ("gRobot", "gComponent", "gMaterial", "gElement", "gSite", "gFeed", "gCountry")
                           if r.get(k)},
        } for r in rows]
        summary, share_query, share_rows = self._share_summaries()
        return self._answer(paths, [query, share_query], rows + share_rows,
                            subsystem=self.local_id(params["subsystem"]), countries=sorted(
                                {p["country"] for p in paths if p["country"]}), shares=summary)

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
            shares, query, _ = self._stage_shares()
            summaries, used = {}, []
            for stage in STAGES:
                summaries[stage], chosen = self._stage_summary(shares.get(stage, []))
                used += chosen
            catalog.memo[key] = (summaries, query, used)
        return catalog.memo[key]

    def _stage_summary(self, rows: list[Row]) -> tuple[dict[str, Any] | None, list[Row]]:
        """The newest edition's latest past year for a stage: country shares, HHI and the concentration flag;
        and the rows it read.

        Shares are of all rare earths, not per element (no source gives per-element country shares). Where
        the published shares do not cover the whole world, the HHI is a lower bound and says so.
        """
        this_year = self.today().year
        # a share for a year still to come is a projection (IEA's 2030 outlook), not a measurement
        countries = [r for r in rows if r.get("areaCode") and not (r.get("year") and int(str(r["year"])) > this_year)]
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
            "year": latest_year or None, "edition": self.local_id(chosen[0]["edition"]),
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
        iri = self.resolve("robot", robot)
        if not isinstance(units, int) or units < 0 or units > 10**9:
            raise BadParameter("units", "must be a whole number from 0 to 1,000,000,000")
        day = _date(on, self.today())
        estimates, q_fleet = self.run("fleet-magnet-mass", robot=iri, units=units, unverified=_flag(unverified))
        controls, q_controls = self.run("controls", robot=iri, on=day)
        summary, q_shares, share_rows = self._share_summaries()
        contents_by_material: dict[str, list[Row]] = {}
        queries = [q_fleet, q_controls, q_shares]
        cited = list(estimates) + list(controls) + share_rows
        for material in sorted({e["material"] for e in estimates if e.get("material")}):
            rows, q_contents = self.run("material-contents", material=material)
            contents_by_material[material] = rows
            cited += rows
            queries.append(q_contents)
        status_by_symbol: dict[str, list[Row]] = defaultdict(list)
        for c in controls:
            status_by_symbol[c["symbol"]].append({
                "measure": self.local_id(c.get("measure")), "label": c.get("measureLabel"),
                "status": c.get("status"), "controlCode": c.get("controlCode"),
                "effectiveFrom": c.get("effectiveFrom"), "effectiveUntil": c.get("effectiveUntil"),
                "suspendedBy": self.local_id(c.get("suspendedBy")),
            })
        elements: dict[str, Row] = {}
        for symbol in sorted(status_by_symbol):
            elements[symbol] = {"symbol": symbol, "massPerUnitKg": [], "fleetMassKg": [],
                                "controls": status_by_symbol[symbol]}
        for estimate in estimates:
            for content in contents_by_material.get(estimate.get("material"), []):
                symbol = content["symbol"]
                entry = elements.setdefault(symbol, {"symbol": symbol, "massPerUnitKg": [], "fleetMassKg": [],
                                                     "controls": status_by_symbol.get(symbol, [])})
                low, high = content.get("massFractionMin"), content.get("massFractionMax")
                if low is None or high is None:
                    continue
                per_unit = [_round(estimate["massMinKg"] * low), _round(estimate["massMaxKg"] * high)]
                entry["massPerUnitKg"].append({"estimate": self.local_id(estimate["estimate"]),
                                               "min": per_unit[0], "max": per_unit[1],
                                               "note": content.get("note")})
                entry["fleetMassKg"].append({"estimate": self.local_id(estimate["estimate"]),
                                             "min": _round(per_unit[0] * units), "max": _round(per_unit[1] * units)})
        for entry in elements.values():
            entry["controlledOn"] = any(c["status"] == "in-force" for c in entry["controls"])
        magnet = [{
            "estimate": self.local_id(e["estimate"]), "material": self.local_id(e.get("material")),
            "massPerUnitKg": {"min": e.get("massMinKg"), "max": e.get("massMaxKg")},
            "fleetMassKg": {"min": e.get("fleetMinKg"), "max": e.get("fleetMaxKg")},
            "source": self.local_id(e.get("source")), "confidence": self.local_id(e.get("confidence")),
            "basis": e.get("basis"),
        } for e in estimates]
        data = {"magnet": magnet, "elements": list(elements.values()), "stages": summary}
        return self._answer(data, queries, cited, robot=self.local_id(iri), units=units, on=day)

    def substitutes(self, element: str, function: str | None = None, on: str | None = None,
                    unverified: bool = False) -> dict[str, Any]:
        params: dict[str, Any] = {"element": self.resolve("element", element), "unverified": _flag(unverified),
                                  "on": _date(on, self.today())}
        if function:
            params["function"] = self.resolve("function", function)
        rows, query = self.run("substitutes", **params)
        options = [{
            "substitution": self.local_id(r["substitution"]), "label": r.get("label"),
            "function": self.local_id(r.get("inFunction")), "substitute": self.local_id(r.get("substitute")),
            "substituteLabel": r.get("substituteLabel"), "penalty": self.local_id(r.get("penalty")),
            "maturity": self.local_id(r.get("maturity")), "reductionMin": r.get("reductionMin"),
            "reductionMax": r.get("reductionMax"), "penaltyText": r.get("penaltyText"),
            # GROUP_CONCAT's order is the engine's choice (SPARQL 1.1 §18.5.1.7): sorted, the same on every store
            "tradeOffs": sorted(t for t in (r.get("tradeOffs") or "").split(" ; ") if t),
            "stillUses": dict(t.split("=", 1) for t in (r.get("stillUses") or "").split() if "=" in t),
            "avoidsControls": r.get("avoidsControls"),
            "sources": sorted(self.local_id(s) for s in (r.get("sources") or "").split()),
            "confidence": self.local_id(r.get("confidence")),
        } for r in rows]
        for rank, option in enumerate(options, start=1):
            option["rank"] = rank
        return self._answer(options, [query], rows, element=self.local_id(params["element"]),
                            function=function, on=params["on"])

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
        site_rows, q_sites = self.run("element-sites", unverified="false")
        queries = [q_shares, q_deps, q_sites]
        cited = share_rows + site_rows
        sites: dict[tuple[str, str], set[tuple[str, str]]] = defaultdict(set)  # (element, stage) → sites
        for r in site_rows:
            sites[(r["symbol"], self.local_id(r["stage"]))].add((r["site"], r.get("countryCode") or ""))
        uses: dict[tuple[str, str], set[str]] = defaultdict(set)  # (kind, id) → element symbols
        for r in deps:
            uses[("subsystem", self.local_id(r["subsystem"]))].add(r["symbol"])
            if r.get("robot"):
                uses[("robot", self.local_id(r["robot"]))].add(r["symbol"])

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
                        after = {site for site in before if site[1] != rule["country"]}
                        share = _share_of(summaries[stage], rule["country"])
                        found.append({
                            "element": symbol, "stage": stage, "country": rule["country"],
                            "sitesBefore": len(before), "sitesRemaining": len(after),
                            "remainingSites": sorted(self.local_id(site) for site, _ in after),
                            "cut": not after,
                            "remainingShare": None if share is None else round(1 - share, 6),
                        })
            return found

        def status_of(found: list[Row]) -> str:
            return "cut" if any(i["cut"] for i in found) else "partial" if found else "unaffected"

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
            queries.append(self.queries["substitutes"])
            options = [o for o in answer["data"] if not (_still_uses(o) & restricted)]
            restores[symbol] = [{"substitution": o["substitution"], "label": o["label"], "rank": o["rank"],
                                 "penalty": o["penalty"], "maturity": o["maturity"],
                                 "avoidsControls": o["avoidsControls"]} for o in options]
        data = {"subsystems": results, "robots": robot_results, "substitutes": restores}
        unique = list({q.name: q for q in queries}.values())
        return self._answer(data, unique, cited, restrictions=rules, on=day, changesStoredGraph=False)



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
