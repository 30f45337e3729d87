"""Sites and their dated statuses: a site's status on a day, the element-sites rows that count as supply,
and the gaps (elements and stages with no supplier in the graph) that trace, sites, coverage, exposure and the
scenario state rather than leave silent."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from .core import STAGES, SUPPLY_STAGES, Answers, Query, Row, flag


def site_statuses(a: Answers) -> tuple[dict[str, list[Row]], Query]:
    """Every site's status observations (site-status.rq), once per build."""
    def read() -> tuple[dict[str, list[Row]], Query]:
        rows, query = a.run("site-status")
        by_site: dict[str, list[Row]] = defaultdict(list)
        for r in rows:
            by_site[r["site"]].append(r)
        return dict(by_site), query

    return a.memo("site-status", read)


def status_on(a: Answers, site: str, day: str) -> Row:
    """A site's status on ``day``: the newest observation stated as of that day or before, else an undated
    one, else the earliest stated after the day (``statedAfterDay``); ``unknown`` when there is none."""
    observations = site_statuses(a)[0].get(site, [])
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
        expected = {"status": a.local_id(chosen.get("expectedStatus")), "start": chosen.get("expectedStart"),
                    "end": chosen.get("expectedEnd"), "text": chosen.get("expectedText")}
    return {"status": a.local_id(chosen["status"]), "observation": a.local_id(chosen["observation"]),
            "asOf": {"start": chosen.get("asOfStart"), "end": chosen.get("asOfEnd"), "text": chosen.get("asOfText")},
            "statedAfterDay": later, "expected": expected, "confidence": a.local_id(chosen.get("confidence")),
            "sources": a.local_ids(chosen.get("sources"))}


def element_sites(a: Answers, unverified: bool = False) -> tuple[list[Row], Query]:
    """The element-sites rows (every site, stage and element it handles), once per build."""
    return a.memo(f"element-sites {unverified}", lambda: a.run("element-sites", unverified=flag(unverified)))


def counted(rows: list[Row], unverified: bool) -> list[Row]:
    """The element-sites rows that count as supply: a stage the sources only believe (reekg:unverifiedStage)
    counts only when unverified claims are asked for."""
    return rows if unverified else [r for r in rows if not r.get("stageUnverified")]


def unverified_reason(stage: str) -> str:
    return (f"its {stage} stage is unverified: the sources only believe it (reekg:unverifiedStage), so it is not "
            f"counted as {stage} supply unless unverified claims are asked for")


def gaps(a: Answers, symbols: Iterable[str], day: str, unverified: bool = False) -> list[Row]:
    """Where the graph has no supplier: per element, each stage with no site, or with no site that is
    operating on ``day`` (coverage is stated, never left silent). An unverified stage is no supplier."""
    by_cell: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in counted(element_sites(a, unverified)[0], unverified):
        by_cell[(r["symbol"], a.local_id(r["stage"]))].add(r["site"])
    found = []
    for symbol in sorted(set(symbols)):
        if not any(by_cell.get((symbol, stage)) for stage in STAGES):
            found.append({"element": symbol, "stage": None, "kind": "no-site",
                          "message": f"no producer of {symbol} in the graph"})
            continue
        for stage in SUPPLY_STAGES:
            sites = sorted(by_cell.get((symbol, stage), set()))
            if not sites:
                found.append({"element": symbol, "stage": stage, "kind": "no-site",
                              "message": f"no {stage} site for {symbol} in the graph"})
                continue
            statuses = {a.local_id(site): status_on(a, site, day)["status"] for site in sites}
            if "operating" not in statuses.values():
                listed = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items()))
                found.append({"element": symbol, "stage": stage, "kind": "no-operating-site",
                              "message": f"no operating {stage} site for {symbol} in the graph (listed: {listed})"})
    return found
