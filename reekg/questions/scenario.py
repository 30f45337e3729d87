"""What-if: restrict countries, elements and stages, and see which subsystems and robots lose supply, which
keep part of it, and which substitutes would restore them. Nothing is written: the scenario is computed on
answers."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import click

from .core import STAGES, Answers, BadParameter, Row, day, dependencies
from .declare import Question, Show, register
from .params import CONTROLS_ON, ID_SCHEMA
from .schemas import AS_OF, SITE_STATUS, boolean, choice, integer, keyed, nullable, number, record, rows, texts
from .schemas import text as string
from .shares import Summaries, element_share, share_assumptions, share_of, share_summaries
from .statuses import element_sites, gaps, site_statuses, status_on, unverified_reason
from .substitutes import OPTION, substitutes

# A scenario stage is "essentially cut" when sites remain but an element-specific share leaves at most this much
ESSENTIALLY_CUT = 0.01
_MAX_RESTRICTIONS = 50
_MAX_ELEMENTS = 50
SCENARIO_BODY: dict[str, Any] = {
    "type": "object", "required": ["restrictions"], "additionalProperties": False,
    "properties": {
        "restrictions": {"type": "array", "minItems": 1, "maxItems": _MAX_RESTRICTIONS, "items": {
            "type": "object", "required": ["country"], "additionalProperties": False,
            "properties": {
                "country": {**ID_SCHEMA, "description": "ISO 3166-1 alpha-2 code"},
                "elements": {"type": "array", "maxItems": _MAX_ELEMENTS, "uniqueItems": True, "items": ID_SCHEMA,
                             "description": "element symbols; every element when absent or empty"},
                "stages": {"type": "array", "uniqueItems": True, "items": {"type": "string", "enum": list(STAGES)},
                           "description": "stages; every stage when absent or empty"}}}},
        "on": CONTROLS_ON.schema()},
    "example": {"restrictions": [{"country": "CN", "elements": ["Dy", "Tb"], "stages": ["separation"]}],
                "on": "2025-06-01"}}


@dataclass
class _Supply:
    """What the impacts are judged against: the sites per (element, stage), those whose stage is only
    believed, the stage summaries, the day; and the shares the judgement used (``bases``)."""

    a: Answers
    when: str
    summaries: Summaries
    sites: dict[tuple[str, str], set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    doubtful: dict[tuple[str, str], set[tuple[str, str]]] = field(default_factory=lambda: defaultdict(set))
    bases: list[Row] = field(default_factory=list)
    # (country, element, stage) → its impact: the same for every subsystem and robot it reaches (at 10^6
    # triples thousands of them), so judged once a request
    impacts: dict[tuple[str, str, str], Row] = field(default_factory=dict)

    def site_view(self, site: str) -> Row:
        state = status_on(self.a, site, self.when)
        return {"site": self.a.local_id(site), "status": state["status"], "asOf": state["asOf"],
                "expected": state["expected"], "sources": state["sources"],
                **({"statedAfterDay": True} if state.get("statedAfterDay") else {})}


def scenario(a: Answers, restrictions: list[dict[str, Any]], on: str | None = None) -> dict[str, Any]:
    """Which subsystems and robots lose every supply path under the restrictions, which keep part of it,
    and which substitutes would restore them.

    A restriction removes, for its elements and stages, every site located in its country. An element
    is cut at a stage when no site elsewhere remains for it at that stage; partly cut when some do (the
    remaining share is 1 − the country's published share of that stage, where one exists).
    """
    if not isinstance(restrictions, list) or not restrictions:
        raise BadParameter("restrictions", "give a non-empty list of {country, elements, stages}")
    when = day(on, a.today())
    rules = [_rule(a, f"restrictions[{index}]", rule) for index, rule in enumerate(restrictions)]
    summaries, q_shares, _ = share_summaries(a)
    q_deps = dependencies(a)[1]
    site_rows, q_sites = element_sites(a, False)
    queries = [q_shares, q_deps, q_sites, site_statuses(a)[1]]
    supply = _Supply(a, when, summaries)
    for r in site_rows:
        (supply.doubtful if r.get("stageUnverified") else supply.sites)[(r["symbol"], a.local_id(r["stage"]))].add(
            (r["site"], r.get("countryCode") or ""))
    uses = scenario_uses(a)
    results: dict[str, list[Row]] = {"subsystem": [], "robot": []}
    affected: set[str] = set()
    for (kind, ident), symbols in sorted(uses.items()):
        found = [i for rule in rules for i in _impacts(supply, rule, symbols)]
        affected |= {i["element"] for i in found}
        results[kind].append({kind: ident, "status": _status_of(found), "impacts": found})
    restricted = {e for rule in rules for e in (rule["elements"] or [])}
    restores = {}
    for symbol in sorted(affected):
        restores[symbol] = _restoring(a, symbol, when, restricted)
        queries += [a.queries["substitutes"], a.queries["in-force"]]
    data = {"subsystems": results["subsystem"], "robots": results["robot"], "substitutes": restores}
    answer = a.answer(data, list({q.name: q for q in queries}.values()), [], restrictions=rules, on=when,
                      changesStoredGraph=False, assumptions=_assumptions(supply),
                      gaps=gaps(a, {e for syms in uses.values() for e in syms if e in affected}, when))
    answer["sources"] = scenario_sources(a)
    return answer


def scenario_uses(a: Answers) -> dict[tuple[str, str], set[str]]:
    """(kind, id) → the element symbols each subsystem and robot depends on, once per build."""
    deps, _ = dependencies(a)
    return a.memo("scenario uses", lambda: _uses(a, deps))


def scenario_sources(a: Answers) -> list[Row]:
    """The sources the share and site rows cite: the same for every scenario on a build (thousands of rows at
    10^6 triples), so once per build."""
    share_rows, site_rows = share_summaries(a)[2], element_sites(a, False)[0]
    return a.memo("scenario sources", lambda: a.cite(share_rows + site_rows))


def _uses(a: Answers, deps: list[Row]) -> dict[tuple[str, str], set[str]]:
    """(kind, id) → the element symbols each subsystem and robot depends on (dependencies.rq)."""
    uses: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in deps:
        uses[("subsystem", a.local_id(r["subsystem"]))].add(r["symbol"])
        if r.get("robot"):
            uses[("robot", a.local_id(r["robot"]))].add(r["symbol"])
    return uses


def _rule(a: Answers, where: str, rule: Any) -> Row:
    if not isinstance(rule, dict):
        raise BadParameter(where, "must be an object {country, elements, stages}")
    unknown = set(rule) - {"country", "elements", "stages"}
    if unknown:
        raise BadParameter(where, f"unknown key(s) {sorted(unknown)}")
    country = a.local_id(a.resolve("country", rule.get("country"), f"{where}.country"))
    elements = rule.get("elements") or []
    stages = rule.get("stages") or list(STAGES)
    if not isinstance(elements, list) or not all(isinstance(e, str) for e in elements):
        raise BadParameter(f"{where}.elements", "must be a list of element symbols")
    if not isinstance(stages, list) or not all(isinstance(s, str) for s in stages):
        raise BadParameter(f"{where}.stages", "must be a list of stages")
    bad_stages = [s for s in stages if s not in STAGES]
    if bad_stages:
        raise BadParameter(f"{where}.stages", f"unknown stage(s) {bad_stages}; known: {list(STAGES)}")
    symbols = [a.local_id(a.resolve("element", e, f"{where}.elements")) for e in elements]
    return {"country": country, "elements": symbols or None, "stages": stages}


def _impacts(supply: _Supply, rule: Row, symbols: set[str]) -> list[Row]:
    """What ``rule`` cuts of the supply of ``symbols``: one impact per element and stage it touches."""
    found = []
    for symbol in sorted(symbols):
        if rule["elements"] is not None and symbol not in rule["elements"]:
            continue
        for stage in rule["stages"]:
            before = supply.sites.get((symbol, stage), set())
            if any(code == rule["country"] for _, code in before):
                key = (rule["country"], symbol, stage)
                if key not in supply.impacts:
                    supply.impacts[key] = _impact(supply, rule["country"], symbol, stage, before)
                found.append(supply.impacts[key])
    return found


def _impact(supply: _Supply, country: str, symbol: str, stage: str, before: set[tuple[str, str]]) -> Row:
    others = [supply.site_view(site) for site, code in sorted(before) if code != country]
    remaining = [o for o in others if o["status"] == "operating"]
    believed = [{**supply.site_view(site), "reason": unverified_reason(stage)}
                for site, code in sorted(supply.doubtful.get((symbol, stage), set())) if code != country]
    basis = _basis(supply, symbol, stage, country)
    left = None if basis["share"] is None else round(1 - basis["share"], 6)
    cut = not remaining
    return {
        "element": symbol, "stage": stage, "country": country,
        "sitesBefore": len(before), "sitesRemaining": len(remaining),
        "remainingSites": [o["site"] for o in remaining], "remaining": remaining,
        "pipeline": [o for o in others if o["status"] not in ("operating", "unknown")],
        "statusUnknown": [o for o in others if o["status"] == "unknown"], "unverifiedStage": believed,
        "cut": cut, "essentiallyCut": (not cut and basis.get("basis") == "element-specific" and left is not None
                                       and left <= ESSENTIALLY_CUT),
        "remainingShare": left, "shareBasis": basis.get("basis"), "fellBackToProxy": basis["fellBackToProxy"],
    }


def _basis(supply: _Supply, symbol: str, stage: str, country: str) -> Row:
    """The country's share of the stage that the impact uses: element-specific where a source publishes one,
    else the all-rare-earths proxy (noted as a fall-back), else none."""
    basis: Row = {"element": symbol, "stage": stage, "country": country}
    share = element_share(supply.a, symbol, stage, country)
    summary = supply.summaries[stage] or {}
    if share is not None:
        basis.update(share=share["share"], basis="element-specific", observation=share["observation"],
                     edition=share["edition"], year=share["year"], confidence=share["confidence"],
                     fellBackToProxy=False)
    else:
        proxy = share_of(supply.summaries[stage], country)
        basis.update(share=proxy, basis=None if proxy is None else "all-ree-proxy", edition=summary.get("edition"),
                     year=summary.get("year"), fellBackToProxy=proxy is not None)
    supply.bases.append(basis)
    return basis


def _status_of(found: list[Row]) -> str:
    if any(i["cut"] for i in found):
        return "cut"
    if any(i["essentiallyCut"] for i in found):
        return "essentially-cut"
    return "partial" if found else "unaffected"


def _restoring(a: Answers, symbol: str, when: str, restricted: set[str]) -> list[Row]:
    """The substitutes for ``symbol`` that use none of the restricted elements."""
    options = [o for o in substitutes(a, symbol, on=when)["data"] if not (set(o.get("stillUses") or {}) & restricted)]
    return [{"substitution": o["substitution"], "label": o["label"], "rank": o["rank"], "penalty": o["penalty"],
             "maturity": o["maturity"], "avoidsControlsStatus": o["avoidsControlsStatus"],
             "avoidsControls": o["avoidsControls"]} for o in options]  # avoidsControls: deprecated flag


def _assumptions(supply: _Supply) -> dict[str, Any]:
    return {
        "on": supply.when,
        "shares": list({(b["element"], b["stage"], b["country"]): b for b in supply.bases}.values()),
        "remainingSupply": "only sites operating on the day count; others are listed as pipeline (with the "
                           "status expected next and when) or as status unknown, and a site whose stage the "
                           "sources only believe (reekg:unverifiedStage) under unverifiedStage",
        "essentiallyCut": f"operating sites remain but an element-specific share leaves at most "
                          f"{ESSENTIALLY_CUT:.0%} of world supply",
        "stageShares": share_assumptions(supply.summaries),
    }


_SITE = record("a site's status on the day", {
    "site": string("site id"), "status": SITE_STATUS["properties"]["status"], "asOf": nullable(AS_OF),
    "expected": SITE_STATUS["properties"]["expected"], "sources": texts("source ids of the status"),
    "statedAfterDay": boolean("true when the status is only stated after the day"),
    "reason": string("why it does not count")}, required=("site", "status", "asOf", "expected", "sources"))
_IMPACT = rows("one restriction that reaches it: an element at a stage in a country", {
    "element": string("element symbol"), "stage": string("the stage"), "country": string("the restricted country"),
    "sitesBefore": integer("sites before the restriction"), "sitesRemaining": integer("operating sites left"),
    "remainingSites": texts("their ids"), "remaining": {"type": "array", "items": _SITE},
    "pipeline": {"type": "array", "items": _SITE, "description": "sites not operating yet, with what is expected"},
    "statusUnknown": {"type": "array", "items": _SITE, "description": "sites with no status observation"},
    "unverifiedStage": {"type": "array", "items": _SITE, "description": "sites whose stage is only believed"},
    "cut": boolean("true when no operating site is left"),
    "essentiallyCut": boolean("true when an element-specific share leaves almost nothing"),
    "remainingShare": number("share of world supply left (0–1)", nullable=True),
    "shareBasis": string("element-specific, or all-ree-proxy", nullable=True),
    "fellBackToProxy": boolean("true when no element-specific share was found")})
_STATUS = choice(("cut", "essentially-cut", "partial", "unaffected"), "what the restrictions do to it")
_RESPONSE = record("the subsystems and robots the restrictions reach, and the substitutes that would restore them", {
    "subsystems": rows("every subsystem", {"subsystem": string("subsystem id"), "status": _STATUS,
                                           "impacts": _IMPACT}),
    "robots": rows("every robot model", {"robot": string("robot id"), "status": _STATUS, "impacts": _IMPACT}),
    "substitutes": keyed("for each restricted element, the options that use no restricted element", rows(
        "options, best first", {k: OPTION[k] for k in ("substitution", "label", "penalty", "maturity",
                                                       "avoidsControlsStatus", "avoidsControls")}
        | {"rank": integer("1 for the best option")})),
})


# --- the CLI: --restrict COUNTRY:ELEMENTS:STAGES --------------------------------------------------------------

def _restrict(values: dict[str, Any]) -> dict[str, Any]:
    rules = []
    for text in values.pop("restrictions", ()):
        parts = text.split(":")
        if len(parts) > 3 or not parts[0]:
            raise click.BadParameter(f"{text!r}: write COUNTRY:ELEMENTS:STAGES", param_hint="--restrict")
        parts += [""] * (3 - len(parts))
        rule: dict[str, Any] = {"country": parts[0]}
        if parts[1]:
            rule["elements"] = parts[1].split(",")
        if parts[2]:
            rule["stages"] = parts[2].split(",")
        rules.append(rule)
    return {**values, "restrictions": rules}


def _share(impact: Row) -> str:
    share = impact.get("remainingShare")
    return "share unknown" if share is None else f"{share:.1%} left ({impact['shareBasis']})"


def _rows(result: dict[str, Any]) -> list[Row]:
    rows = [{"kind": "subsystem", "id": s["subsystem"], "status": s["status"],
             "cut at": ", ".join(f"{i['element']}/{i['stage']}" for i in s["impacts"]),
             "remaining": ", ".join(f"{i['element']}: {_share(i)} ({', '.join(i['remainingSites']) or 'no site'})"
                                    for i in s["impacts"])}
            for s in result["data"]["subsystems"]]
    return rows + [{"kind": "robot", "id": r["robot"], "status": r["status"],
                    "cut at": ", ".join(sorted({f"{i['element']}/{i['stage']}" for i in r["impacts"]}))}
                   for r in result["data"]["robots"]]


def _lines(result: dict[str, Any]) -> list[str]:
    lines = [f"share used: {b['element']}/{b['stage']} {b['country']} {b['share']} "
             f"({b['basis']}{', fell back to the all-REE proxy' if b['fellBackToProxy'] else ''})"
             for b in result["assumptions"]["shares"]]
    return lines + [f"substitutes for {symbol}: " + ", ".join(o["substitution"] for o in options[:6])
                    for symbol, options in result["data"]["substitutes"].items()]


def _csv(result: dict[str, Any]) -> list[Row]:
    return [{"kind": "subsystem", "id": s["subsystem"], "status": s["status"], "impacts": s["impacts"]}
            for s in result["data"]["subsystems"]] + [
            {"kind": "robot", "id": r["robot"], "status": r["status"], "impacts": r["impacts"]}
            for r in result["data"]["robots"]]


def _cli() -> Show:
    restrict = click.Option(["--restrict", "restrictions"], multiple=True, required=True,
                            help="COUNTRY:ELEMENTS:STAGES, e.g. CN:Dy,Tb:separation (empty parts mean all); "
                                 "repeatable.")
    return Show(("kind", "id", "status", "cut at", "remaining"), _rows, _lines, params=(CONTROLS_ON,),
                options=(restrict,), convert=_restrict,
                help="What-if: which subsystems and robots lose supply when countries, elements and stages are cut.")


register(Question(
    "scenario", "What-if: restrict countries, elements and stages; see what is cut",
    scenario, method="POST", body=SCENARIO_BODY,
    queries=("stage-shares", "dependencies", "element-sites", "site-status", "substitutes", "in-force"),
    table=_csv, order=70, cli=_cli(), response=_RESPONSE))
