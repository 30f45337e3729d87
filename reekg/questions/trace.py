"""Every path from a subsystem down to mines, plants and countries, each hop with its source, each site with
its dated status, and the gaps: elements and stages with no supplier in the graph."""

from __future__ import annotations

from typing import Any

from .core import RARE_EARTHS, Answers, Row, day, flag
from .declare import Question, Show, register
from .params import STATUS_ON, UNVERIFIED, Param
from .schemas import SITE_STATUS, boolean, keyed, rows, text, texts
from .shares import share_assumptions, share_summaries
from .show import gap_lines
from .statuses import gaps, status_on

_HOPS = ("gRobot", "gComponent", "gMaterial", "gElement", "gSite", "gFeed", "gCountry")


def trace(a: Answers, subsystem: str, robot: str | None = None, element: str | None = None,
          unverified: bool = False, on: str | None = None) -> dict[str, Any]:
    """Every path from a subsystem to its sites and countries, each hop cited, each site with its status on
    ``on`` (a blocked or not-producing site is listed with that status, never as a plain supplier), and the
    ``gaps``: the subsystem's elements and stages with no supplier (or none operating) in the graph. A site's
    stage that the sources only believe is in ``unverifiedStages``, and in ``stages`` only with ``unverified``."""
    params: dict[str, Any] = {"subsystem": a.resolve("subsystem", subsystem), "unverified": flag(unverified)}
    when = day(on, a.today())
    if robot:
        params["robot"] = a.resolve("robot", robot)
    if element:
        params["element"] = a.resolve("element", element)
    rows, query = a.run("trace", **params)
    paths = [_path(a, r, when, unverified) for r in rows]
    deps, q_deps = a.run("dependencies", unverified=flag(unverified))
    wanted = {r["symbol"] for r in deps if r.get("subsystem") == params["subsystem"]
              and (not robot or r.get("robot") == params.get("robot"))}
    if element:
        wanted = {a.local_id(params["element"])}
    wanted &= set(RARE_EARTHS)
    summary, share_query, share_rows = share_summaries(a)
    return a.answer(paths, [query, share_query, q_deps], rows + share_rows,
                    subsystem=a.local_id(params["subsystem"]), on=when,
                    countries=sorted({p["country"] for p in paths if p["country"]}), shares=summary,
                    gaps=_gaps(a, wanted, {p["element"] for p in paths}, when, unverified),
                    elements=sorted(wanted),
                    assumptions={"on": when, "shares": share_assumptions(summary), "unverified": unverified,
                                 "siteStatus": "newest status observation stated as of the day or before"})


def _path(a: Answers, r: Row, when: str, unverified: bool) -> Row:
    state = status_on(a, r["site"], when) if r.get("site") else {"status": "unknown"}
    doubtful = sorted((r.get("unverifiedStages") or "").split())
    return {
        "element": r.get("symbol"), "component": a.local_id(r.get("component")),
        "material": a.local_id(r.get("material")), "hop": r.get("hop"),
        "site": a.local_id(r.get("site")), "siteLabel": r.get("siteLabel"),
        "siteKind": a.local_id(r.get("siteKind")),
        "stages": sorted(s for s in (r.get("stages") or "").split() if unverified or s not in doubtful),
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
     UNVERIFIED, STATUS_ON),
    queries=("trace", "stage-shares", "dependencies", "element-sites", "site-status"), order=20,
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
