"""Element × stage: how many sites the graph has, how many operate on a day, the share an answer would use
and its basis, the newest year of that share; and every gap."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .core import RARE_EARTHS, STAGES, Answers, Row, day, dependencies
from .declare import Question, Show, register
from .params import STATUS_ON, UNVERIFIED
from .schemas import boolean, choice, integer, number, rows, text, texts
from .shares import Summaries, element_share, share_summaries
from .show import gap_lines
from .statuses import element_sites, gaps, status_on


def coverage(a: Answers, on: str | None = None, unverified: bool = False) -> dict[str, Any]:
    """Element × stage: how many sites the graph has (and how many operate on ``on``), which share it
    would use and on what basis, and the newest year of that share."""
    when = day(on, a.today())
    rows, query = element_sites(a, unverified)
    deps, q_deps = dependencies(a, unverified)
    summaries, q_shares, share_rows = share_summaries(a)
    used = {r["symbol"] for r in deps}
    cells: dict[tuple[str, str], set[str]] = defaultdict(set)
    doubtful: dict[tuple[str, str], set[str]] = defaultdict(set)  # sites whose stage is only believed
    for r in rows:
        if r.get("stageUnverified"):
            doubtful[(r["symbol"], a.local_id(r["stage"]))].add(r["site"])
        if unverified or not r.get("stageUnverified"):
            cells[(r["symbol"], a.local_id(r["stage"]))].add(r["site"])
    symbols = sorted((used | {s for s, _ in cells}) & set(RARE_EARTHS), key=RARE_EARTHS.index)
    table = [_cell(a, symbol, stage, symbol in used, sorted(cells.get((symbol, stage), set())),
                   sorted(doubtful.get((symbol, stage), ())), summaries, when)
             for symbol in symbols for stage in STAGES]
    return a.answer(table, [query, q_deps, q_shares], share_rows, on=when,
                    gaps=gaps(a, [s for s in symbols if s in used], when, unverified))


def _cell(a: Answers, symbol: str, stage: str, used: bool, found: list[str], doubtful: list[str],
          summaries: Summaries, when: str) -> Row:
    statuses = [status_on(a, site, when)["status"] for site in found]
    top = (summaries.get(stage) or {}).get("top") or {}
    specific = element_share(a, symbol, stage, top.get("country")) if top else None
    share = specific or ({"share": top.get("share"), "basis": "all-ree-proxy",
                          "edition": summaries[stage]["edition"], "year": summaries[stage]["year"]}
                         if top else None)
    return {"element": symbol, "stage": stage, "usedByRobots": used,
            "sites": len(found), "operating": statuses.count("operating"),
            "statusUnknown": statuses.count("unknown"),
            "siteIds": [a.local_id(x) for x in found],
            "unverifiedStageSites": [a.local_id(x) for x in doubtful],
            "topCountry": top.get("country"), "share": None if share is None else share["share"],
            "shareBasis": None if share is None else share["basis"],
            "newestYear": None if share is None else share.get("year"),
            "shareEdition": None if share is None else share.get("edition")}


register(Question(
    "coverage", "Element × stage: sites in the graph, how many operate, the share used and its basis, the newest "
    "year; and every gap", coverage, (STATUS_ON, UNVERIFIED),
    queries=("element-sites", "dependencies", "stage-shares", "site-status"), order=60,
    response=rows("one element at one stage", {
        "element": text("element symbol"), "stage": choice(STAGES, "the supply-chain stage"),
        "usedByRobots": boolean("true when a robot's component needs the element"),
        "sites": integer("sites in the graph"), "operating": integer("of them, operating on the day"),
        "statusUnknown": integer("of them, with no status observation"), "siteIds": texts("their ids"),
        "unverifiedStageSites": texts("sites whose stage the sources only believe (not counted)"),
        "topCountry": text("the largest producer at the stage", nullable=True),
        "share": number("its share (0–1)", nullable=True),
        "shareBasis": text("element-specific, or all-ree-proxy", nullable=True),
        "newestYear": text("the year of the share", nullable=True),
        "shareEdition": text("the publication the share comes from", nullable=True)}),
    cli=Show(("element", "stage", "sites", "operating", "share", "shareBasis", "newestYear"), lines=gap_lines,
             help="Element × stage: how many sites the graph has, how many operate, the share it would use and "
                  "its basis.")))
