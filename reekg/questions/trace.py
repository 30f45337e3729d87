"""Every path from a subsystem down to mines, plants and countries, each hop with its source, each site with
its dated status, and the gaps: elements and stages with no supplier in the graph."""

from __future__ import annotations

import urllib.parse
from collections import Counter, defaultdict
from typing import Any

from .core import RARE_EARTHS, Answers, Row, day, dependencies
from .declare import Question, Show, register
from .library import Query
from .params import STATUS_ON, UNVERIFIED, Param
from .schemas import SITE_STATUS, boolean, keyed, rows, text, texts
from .shares import share_assumptions, share_summaries
from .show import gap_lines
from .statuses import gaps, status_on
from .supply_paths import NETWORK_QUERIES, trace_rows

_HOPS = ("gRobot", "gComponent", "gMaterial", "gElement", "gSite", "gFeed", "gCountry")
PAGE = 1000  # paths an answer lists unless asked for more: at 10^6 triples a curated subsystem has ~200,000
MAX_PAGE = 100_000
LIMIT = Param("limit", "integer", help=f"at most this many paths in data ({PAGE:,} when absent); total, summary and "
              "next say what the rest holds", example=PAGE, minimum=1, maximum=MAX_PAGE)
OFFSET = Param("offset", "integer", help="skip this many paths first (the next link's offset)", example=0,
               minimum=0, maximum=10**9)


def trace(a: Answers, subsystem: str, robot: str | None = None, element: str | None = None,
          unverified: bool = False, on: str | None = None, limit: int | None = None,
          offset: int | None = None) -> dict[str, Any]:
    """Every path from a subsystem to its sites and countries, each hop cited, each site with its status on
    ``on`` (a blocked or not-producing site is listed with that status, never as a plain supplier), and the
    ``gaps``: the subsystem's elements and stages with no supplier (or none operating) in the graph. A site's
    stage that the sources only believe is in ``unverifiedStages``, and in ``stages`` only with ``unverified``.

    ``data`` is one page of the paths (``limit`` from ``offset``, in the query's order); ``total``, ``summary``
    (paths and sites per country and stage) and ``next`` cover all of them, so a huge answer is paged, never
    cut silently."""
    limit, offset = limit or PAGE, offset or 0
    params: dict[str, Any] = {"subsystem": a.resolve("subsystem", subsystem)}
    when = day(on, a.today())
    if robot:
        params["robot"] = a.resolve("robot", robot)
    if element:
        params["element"] = a.resolve("element", element)
    rows, queries = trace_rows(a, params, unverified)
    stages, q_stages = site_stages(a)
    for r in rows:
        r["stages"], r["unverifiedStages"] = stages.get(r.get("site"), (None, None))
    page = rows[offset:offset + limit]
    paths = [_path(a, r, when, unverified) for r in page]
    deps, q_deps = dependencies(a, unverified)
    wanted = {r["symbol"] for r in deps if r.get("subsystem") == params["subsystem"]
              and (not robot or r.get("robot") == params.get("robot"))}
    if element:
        wanted = {a.local_id(params["element"])}
    wanted &= set(RARE_EARTHS)
    summary, share_query, share_rows = share_summaries(a)
    asked = {"subsystem": subsystem, "robot": robot, "element": element, "unverified": unverified or None, "on": on}
    # trace.rq first: the one query an analyst reruns for these rows (the route runs its halves, queries)
    return a.answer(paths, [a.queries["trace"], *queries, q_stages, share_query, q_deps], page + share_rows,
                    subsystem=a.local_id(params["subsystem"]), on=when,
                    countries=sorted({r["countryCode"] for r in rows if r.get("countryCode")}), shares=summary,
                    gaps=_gaps(a, wanted, {r.get("symbol") for r in rows}, when, unverified),
                    elements=sorted(wanted), total=len(rows), offset=offset, limit=limit,
                    next=_next(asked, offset + limit, limit) if offset + limit < len(rows) else None,
                    summary=summarise(rows, unverified),
                    assumptions={"on": when, "shares": share_assumptions(summary), "unverified": unverified,
                                 "siteStatus": "newest status observation stated as of the day or before"})


def site_stages(a: Answers) -> tuple[dict[str, tuple[str | None, str | None]], Query]:
    """Each site's stages and unverified stages as space-separated ids (None: none), once per build."""
    def read() -> tuple[dict[str, tuple[str | None, str | None]], Query]:
        rows, query = a.run("site-stages")
        found: dict[str, dict[str, str]] = defaultdict(dict)
        for r in rows:  # a row for the stages and one for the unverified stages
            found[r["site"]].update((k, r[k]) for k in ("stages", "unverifiedStages") if r.get(k))
        return {site: (v.get("stages"), v.get("unverifiedStages")) for site, v in found.items()}, query

    return a.memo("site-stages", read)


def summarise(rows: list[Row], unverified: bool) -> list[Row]:
    """Per country (None: no country in the graph), over every path, not one page: its paths and distinct
    sites, and the same per counted stage (a path counts under each stage of its site; a stage the sources only
    believe counts only with ``unverified``), so the countries' paths add up to the answer's ``total``."""
    paths: Counter[Any] = Counter()
    sites: dict[Any, set[str]] = defaultdict(set)
    for r in rows:
        country = r.get("countryCode")
        for key in (country, *((country, stage) for stage in _stages(r, unverified))):
            paths[key] += 1
            sites[key].add(r.get("site"))
    countries = sorted((k for k in paths if not isinstance(k, tuple)), key=lambda c: c or "")
    return [{"country": c, "paths": paths[c], "sites": len(sites[c]),
             "stages": {s: {"paths": paths[(cc, s)], "sites": len(sites[(cc, s)])}
                        for cc, s in sorted(k for k in paths if isinstance(k, tuple) and k[0] == c)}}
            for c in countries]


def _stages(r: Row, unverified: bool) -> list[str]:
    doubtful = set((r.get("unverifiedStages") or "").split())
    return sorted(s for s in set((r.get("stages") or "").split()) if unverified or s not in doubtful)


def _next(asked: dict[str, Any], offset: int, limit: int) -> str:
    """The query string of the next page: the parameters as given, with the next offset."""
    values = {k: ("true" if v is True else v) for k, v in asked.items() if v is not None}
    return "?" + urllib.parse.urlencode({**values, "offset": offset, "limit": limit})


def _path(a: Answers, r: Row, when: str, unverified: bool) -> Row:
    state = status_on(a, r["site"], when) if r.get("site") else {"status": "unknown"}
    doubtful = sorted((r.get("unverifiedStages") or "").split())
    return {
        "element": r.get("symbol"), "component": a.local_id(r.get("component")),
        "material": a.local_id(r.get("material")), "hop": r.get("hop"),
        "site": a.local_id(r.get("site")), "siteLabel": r.get("siteLabel"),
        "siteKind": a.local_id(r.get("siteKind")),
        "stages": _stages(r, unverified),
        "unverifiedStages": doubtful,
        "fedSite": a.local_id(r.get("fedSite")), "country": r.get("countryCode"),
        "siteStatus": state, "supplying": state["status"] == "operating",
        "hopSources": {k[1:].lower(): a.graph_source(r.get(k)) for k in _HOPS if r.get(k)},
    }


def _gaps(a: Answers, wanted: set[str], reached: set[str], when: str, unverified: bool) -> list[Row]:
    """The supply gaps of the wanted elements, and a gap for each with no path from the subsystem."""
    found = gaps(a, wanted, when, unverified)
    for symbol in sorted(wanted - reached):
        if not any(g["element"] == symbol and g["stage"] is None for g in found):
            found.append({"element": symbol, "stage": None, "kind": "no-path",
                          "message": f"no supply path for {symbol} from this subsystem in the graph"})
    return found


def _rows(result: dict[str, Any]) -> list[Row]:
    return [{**r, "source": r["hopSources"].get("site"), "status": r["siteStatus"]["status"]}
            for r in result["data"]]


def _lines(result: dict[str, Any]) -> list[str]:
    lines = gap_lines(result)
    for stage, summary in result["shares"].items():
        if summary:
            top = summary["top"]
            lines.append(f"{stage}: {top['country']} {top['share']:.1%} ({summary['edition']}, "
                         f"{summary['year'] or 'year not stated'}); HHI {summary['hhi']:.3f}"
                         f"{' (lower bound)' if summary['hhiIsLowerBound'] else ''}")
    return lines


register(Question(
    "trace", "Every path from a subsystem to mines, plants and countries, each hop with its source, each site "
    "with its dated status, and the gaps: elements and stages with no supplier in the graph", trace,
    (Param("subsystem", required=True, help="subsystem id", example="joint-actuation"),
     Param("robot", help="robot id", example="tesla-optimus"), Param("element", help="element symbol"),
     UNVERIFIED, STATUS_ON, LIMIT, OFFSET),
    queries=("trace", "trace-materials", "trace-robot", *NETWORK_QUERIES, "site-stages", "stage-shares",
             "dependencies", "element-sites", "site-status"), order=20,
    response=rows("one hop from the subsystem's element (in a component's material) to a site and its country", {
        "element": text("element symbol", nullable=True), "component": text("component id", nullable=True),
        "material": text("material id", nullable=True),
        "hop": text("how the site supplies it (produces, magnet-making, upstream)", nullable=True),
        "site": text("mine or plant id", nullable=True), "siteLabel": text("its English label", nullable=True),
        "siteKind": text("mine or facility", nullable=True),
        "stages": texts("the site's stages counted as supply"),
        "unverifiedStages": texts("stages the sources only believe (counted with unverified=true)"),
        "fedSite": text("the site this one feeds (upstream hops)", nullable=True),
        "country": text("ISO 3166-1 alpha-2 of the site", nullable=True),
        "siteStatus": SITE_STATUS,
        "supplying": boolean("true when the site operates on the day"),
        "hopSources": keyed("the source id behind each hop (robot, component, material, element, site, feed, "
                            "country)", text("source id", nullable=True)),
    }),
    cli=Show(("element", "component", "material", "hop", "site", "status", "country", "source"), _rows, _lines,
             help="Every path from SUBSYSTEM down to plants, mines and countries, each hop with its source, each "
                  "site with its dated status, and the gaps (elements and stages with no supplier in the graph).")))
