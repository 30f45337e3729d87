"""Mines and plants by element, stage and status, leaving a country out: each with its stages, country and
dated status (unknown where the graph has none)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .core import SITE_STATUSES, STAGES, Answers, BadParameter, Row, day
from .declare import Question, Show, register
from .params import STATUS_ON, UNVERIFIED, Param
from .schemas import SITE_STATUS, keyed, rows, text, texts
from .show import gap_lines
from .statuses import element_sites, gaps, site_statuses, status_on, unverified_reason


def sites(a: Answers, element: str | None = None, stage: str | None = None, outside: str | None = None,
          status: str | None = None, on: str | None = None, unverified: bool = False) -> dict[str, Any]:
    """Mines and plants, each with its stage(s), country, the elements it handles and its status on ``on``
    (as of when and by which source; unknown where the graph has none), filtered by element, stage,
    country left out and status. A stage the sources only believe (Shin-Etsu's separation) is listed under
    ``unverifiedStages`` and counts only with ``unverified``; a site left out for that is in ``excluded``."""
    when = day(on, a.today())
    symbol = a.local_id(a.resolve("element", element)) if element else None
    left_out_country = a.local_id(a.resolve("country", outside, "outside")) if outside else None
    if stage is not None and stage not in STAGES:
        raise BadParameter("stage", f"{stage!r} is not one of {list(STAGES)}")
    rows, query = element_sites(a, unverified)
    q_status = site_statuses(a)[1]
    out, left_out = [], []
    for iri, site in sorted(_by_site(a, rows, unverified).items(),
                            key=lambda kv: (kv[1]["country"] or "", kv[1]["site"])):
        if left_out_country and site["country"] == left_out_country:
            continue
        if not _matches(site, stage, symbol):
            if not unverified:
                left_out += _believed_only(site, stage, symbol)
            continue
        state = status_on(a, iri, when)
        if status and state["status"] != status:
            continue
        out.append(_view(a, site, state))
    listed = {str(a.ns.entity(s["kind"], s["site"])) for s in out}
    return a.answer(out, [query, q_status], [r for r in rows if r["site"] in listed],
                    element=symbol, stage=stage, outside=left_out_country, status=status, on=when,
                    unverified=unverified, excluded=left_out,
                    gaps=gaps(a, [symbol], when, unverified) if symbol else [])


def _by_site(a: Answers, rows: list[Row], unverified: bool) -> dict[str, Row]:
    """The element-sites rows gathered per site: its stages and elements, those only believed apart."""
    by_site: dict[str, Row] = {}
    for r in rows:
        site = by_site.setdefault(r["site"], {
            "site": a.local_id(r["site"]), "label": r.get("siteLabel"), "kind": r.get("siteKind"),
            "country": r.get("countryCode"), "stages": set(), "elements": set(), "byStage": defaultdict(set),
            "evidence": set(), "unverifiedStages": set(), "unverifiedByStage": defaultdict(set)})
        stage_id = a.local_id(r["stage"])
        if r.get("stageUnverified"):
            site["unverifiedStages"].add(stage_id)
            site["unverifiedByStage"][stage_id].add(r["symbol"])
            if not unverified:
                continue
        site["stages"].add(stage_id)
        site["elements"].add(r["symbol"])
        site["byStage"][stage_id].add(r["symbol"])
        site["evidence"] |= set((r.get("sources") or "").split())
    return by_site


def _matches(site: Row, stage: str | None, symbol: str | None) -> bool:
    """Whether a site counts at ``stage`` (any when None) for ``symbol`` (any when None)."""
    found = site["byStage"].get(stage, set()) if stage else site["elements"]
    return not ((stage and stage not in site["stages"]) or (symbol and symbol not in found))


def _believed_only(site: Row, stage: str | None, symbol: str | None) -> list[Row]:
    """Why a site that does not match is left out, when it would match by a stage the sources only believe."""
    doubtful = [stage] if stage else sorted(site["unverifiedStages"])
    doubtful = [s for s in doubtful if s in site["unverifiedStages"]
                and (not symbol or symbol in site["unverifiedByStage"][s])]
    return [{"site": site["site"], "stage": s, "reason": unverified_reason(s)} for s in doubtful]


def _view(a: Answers, site: Row, state: Row) -> Row:
    return {**{k: v for k, v in site.items() if k not in ("byStage", "evidence", "unverifiedByStage")},
            "stages": sorted(site["stages"]), "elements": sorted(site["elements"]),
            "unverifiedStages": sorted(site["unverifiedStages"]),
            "elementsByStage": {k: sorted(v) for k, v in sorted(site["byStage"].items())},
            "status": state, "sources": sorted(a.local_id(x) for x in site["evidence"])}


def _rows(result: dict[str, Any]) -> list[Row]:
    return [{**s, "stages": " ".join(s["stages"]), "status": s["status"]["status"],
             "as of": ((s["status"].get("asOf") or {}).get("text") or "")} for s in result["data"]]


register(Question(
    "sites", "Mines and plants by element, stage and status, leaving a country out: each with its stages, "
    "country and dated status (unknown where the graph has none)", sites,
    (Param("element", help="element symbol", example="Dy"),
     Param("stage", "choice", help="a supply-chain stage", choices=STAGES, example="separation"),
     Param("outside", help="leave out sites in this country (ISO 3166-1 alpha-2)", example="CN"),
     Param("status", "choice", help="only sites with this status on the day", choices=SITE_STATUSES,
           example="operating"), STATUS_ON, UNVERIFIED),
    queries=("element-sites", "site-status"), order=50,
    response=rows("the sites that match", {
        "site": text("mine or plant id"), "label": text("its English label", nullable=True),
        "kind": text("mine or facility", nullable=True), "country": text("ISO 3166-1 alpha-2", nullable=True),
        "stages": texts("its stages counted as supply"), "elements": texts("the elements it supplies"),
        "unverifiedStages": texts("stages the sources only believe"),
        "elementsByStage": keyed("the elements it supplies at each stage", texts("element symbols")),
        "status": SITE_STATUS, "sources": texts("source ids of what is said of its stages")}),
    cli=Show(("site", "country", "stages", "status", "as of"), _rows, gap_lines,
             help="Mines and plants with their stages, country and dated status, e.g. heavy-RE separation "
                  "outside China.")))
