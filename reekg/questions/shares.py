"""Country shares of each stage, and their basis: the newest edition's summary of a stage (all rare earths:
only a proxy for one element) and the element-specific shares that trace, exposure, coverage and the
scenario prefer where a source publishes one."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .core import STAGES, Answers, Query, Row

Summaries = dict[str, dict[str, Any] | None]


def element_share(a: Answers, symbol: str, stage: str, country: str) -> Row | None:
    """The newest element-specific share of ``country`` at ``stage`` that counts ``symbol`` (curators'
    unverified rows only when nothing else exists), or None."""
    found = element_shares(a).get((stage, country, symbol))
    if not found:
        return None
    best = max(found, key=lambda r: (a.local_id(r.get("confidence")) != "unverified",
                                     _edition_key(a, r), str(r.get("year") or "")))
    return {"share": best["share"], "basis": "element-specific",
            "elements": sorted((best.get("basisElements") or "").split()),
            "observation": a.local_id(best["observation"]), "edition": a.local_id(best["edition"]),
            "year": best.get("year"), "confidence": a.local_id(best.get("confidence")), "note": best.get("note")}


def element_shares(a: Answers) -> dict[tuple[str, str, str], list[Row]]:
    """The element-specific share rows of past years by (stage, country, element), in the query's order: once
    per build and year (a scenario asks for one per impact, and at 10^6 triples a stage has ~17,000 rows)."""
    this_year = a.today().year

    def index() -> dict[tuple[str, str, str], list[Row]]:
        found: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
        for stage, rows in stage_shares(a)[0].items():
            for r in rows:
                if (r.get("areaCode") and a.local_id(r.get("shareBasis")) == "element-specific"
                        and not (r.get("year") and int(str(r["year"])) > this_year)):
                    for symbol in dict.fromkeys((r.get("basisElements") or "").split()):
                        found[(stage, r["areaCode"], symbol)].append(r)
        return dict(found)

    return a.memo(f"element-shares {this_year}", index)


def stage_shares(a: Answers) -> tuple[dict[str, list[Row]], Query, list[Row]]:
    """Every share observation by stage (stage-shares.rq), once per build."""
    def read() -> tuple[dict[str, list[Row]], Query, list[Row]]:
        rows, query = a.run("stage-shares")
        by_stage: dict[str, list[Row]] = defaultdict(list)
        for r in rows:
            by_stage[a.local_id(r.get("stage")) or "mining"].append(r)
        return by_stage, query, rows

    return a.memo("stage-shares", read)


def share_summaries(a: Answers) -> tuple[Summaries, Query, list[Row]]:
    """:func:`stage_summary` of every stage, the query and the rows the summaries used (what an answer
    cites): once per build and day, not per request (at 10^6 triples there are ~50,000 observations)."""
    def compute() -> tuple[Summaries, Query, list[Row]]:
        shares, query, _ = stage_shares(a)
        summaries: Summaries = {}
        used: list[Row] = []
        for stage in STAGES:
            summaries[stage], chosen = stage_summary(a, shares.get(stage, []))
            used += chosen
        return summaries, query, used

    return a.memo(f"share-summaries {a.today()}", compute)


def stage_summary(a: Answers, rows: list[Row]) -> tuple[dict[str, Any] | None, list[Row]]:
    """The newest edition's latest past year for a stage: country shares, HHI and the concentration flag;
    and the rows it read.

    Shares are of all rare earths (basis all-ree-proxy: only a proxy for any one element). Where
    the published shares do not cover the whole world, the HHI is a lower bound and says so.
    """
    this_year = a.today().year
    # a share for a year still to come is a projection (IEA's 2030 outlook), not a measurement
    # element-specific shares (China's 99.9% of heavy-RE separation) are read per element (element_share)
    countries = [r for r in rows if r.get("areaCode") and not (r.get("year") and int(str(r["year"])) > this_year)
                 and a.local_id(r.get("shareBasis")) != "element-specific"]
    if not countries:
        return None, []
    # the newest publication first (by its issue date), then its latest year
    keys = [_edition_key(a, r) for r in countries]
    edition = max(keys)
    pool = [r for r, k in zip(countries, keys, strict=True) if k == edition]
    latest_year = max((str(r.get("year") or "") for r in pool), default="")
    chosen = [r for r in pool if str(r.get("year") or "") == latest_year]
    shares: dict[str, float] = {}
    for r in chosen:
        shares.setdefault(r["areaCode"], r["share"])  # first = largest (the query sorts by share)
    covered = sum(shares.values())
    # largest first, equal shares by country code: the same order whatever order the engine gave the rows
    ranked = sorted(shares.items(), key=lambda kv: (-kv[1], kv[0]))
    top_code, top_share = ranked[0]
    return {
        "year": latest_year or None, "edition": a.local_id(chosen[0]["edition"]), "basis": "all-ree-proxy",
        "shares": [{"country": c, "share": s} for c, s in ranked],
        "coverage": round(covered, 6),
        "hhi": round(sum(s * s for s in shares.values()), 6), "hhiIsLowerBound": covered < 0.995,
        "concentrated": top_share > a.threshold, "threshold": a.threshold,
        "top": {"country": top_code, "share": top_share},
    }, chosen


def share_assumptions(summary: Summaries) -> dict[str, Any]:
    """Which edition, year and basis each stage's shares come from (an answer's ``assumptions``)."""
    return {stage: None if s is None else {"edition": s["edition"], "year": s["year"], "basis": s["basis"]}
            for stage, s in summary.items()}


def share_of(summary: dict[str, Any] | None, code: str) -> float | None:
    """The country's share in a stage summary (:func:`stage_summary`), or None."""
    for entry in (summary or {}).get("shares", []):
        if entry["country"] == code:
            return entry["share"]
    return None


def _edition_key(a: Answers, row: Row) -> tuple[str, str]:
    source = a.sources([row["edition"]]).get(row["edition"], {}) if row.get("edition") else {}
    return (str(source.get("issued") or ""), str(row.get("edition")))
