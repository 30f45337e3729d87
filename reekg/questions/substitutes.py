"""What can replace an element, ranked by penalty and maturity, with the trade-offs, whether each option
avoids export controls (yes / no / unknown), and, with a minimum temperature, whether it holds it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from .controls import avoids, controls, legacy_flag, verdict
from .core import Answers, BadParameter, Row, day, flag
from .declare import Question, Show, register
from .params import CONTROLS_ON, UNVERIFIED, Param
from .schemas import (
    CONFIDENCE,
    CONTROL_STATUS,
    CONTROL_VERDICT,
    RANGE,
    boolean,
    choice,
    integer,
    keyed,
    nullable,
    number,
    record,
    rows,
    text,
    texts,
)

# the option rows of substitutes (and of the scenario's substitutes for a cut element)
OPTION = {
    "substitution": text("substitution id"), "label": text("its English label", nullable=True),
    "function": text("the function it serves", nullable=True),
    "substitute": text("the substitute material or technology", nullable=True),
    "substituteLabel": text("its English label", nullable=True),
    "penalty": text("performance penalty (none, low, moderate, high, prohibitive)", nullable=True),
    "maturity": text("technology maturity (research, pilot, early-commercial, commercial, mature)", nullable=True),
    "reductionMin": number("how much of the element it saves, low end (0–1)", nullable=True),
    "reductionMax": number("high end (0–1)", nullable=True),
    "penaltyText": text("the penalty in words", nullable=True),
    "tradeOffs": texts("property: substitute vs original, with units"),
    "stillUsesStatus": keyed("export-control status of each element it still uses", CONTROL_STATUS),
    "stillUsesControls": keyed("the control verdict of each element it still uses", CONTROL_VERDICT),
    "avoidsControlsStatus": CONTROL_STATUS | {
        "description": "whether it avoids export controls: no if a still-used element is controlled, unknown if "
                       "one's status is unknown"},
    "stillUses": keyed("deprecated (use stillUsesStatus): the old words", text("in-force, unknown, suspended or "
                                                                               "not-controlled")),
    "avoidsControls": boolean("deprecated (use avoidsControlsStatus): null when unknown", nullable=True),
    "sources": texts("source ids"), "confidence": CONFIDENCE,
}
TEMPERATURE = record("whether the option's sourced maximum working temperature holds min_temperature", {
    "holds": choice(("yes", "no", "straddles", "unknown"), "yes, no, straddles (only at the top of its range) or "
                                                          "unknown (no sourced figure)"),
    "maxWorkingTemperatureC": nullable(RANGE), "reason": text("the verdict in words"),
    "evidence": rows("what the figure was read from", {"id": text("id"), "kind": text("material or trade-off")}),
    "sources": texts("source ids")}, required=("holds", "reason"))

_HOLDS_ORDER = {"yes": 0, "straddles": 1, "unknown": 2, "no": 3}
MAX_TEMPERATURE = 10_000


def substitutes(a: Answers, element: str, function: str | None = None, on: str | None = None,
                unverified: bool = False, min_temperature: int | None = None) -> dict[str, Any]:
    """Substitutes for an element, ranked by penalty then maturity; each still-used element's control status
    on ``on`` (yes / no / unknown, judged as exposure judges it). With ``min_temperature`` (°C), an option
    whose sourced maximum working temperature is below it is excluded (with the reason), one whose range
    straddles it ranks after those that hold it, and one with no sourced temperature is flagged
    "temperature unknown" and ranks last: never above an option known to hold the temperature."""
    params: dict[str, Any] = {"element": a.resolve("element", element), "unverified": flag(unverified),
                              "on": day(on, a.today())}
    if function:
        params["function"] = a.resolve("function", function)
    if min_temperature is not None and (not isinstance(min_temperature, int) or isinstance(min_temperature, bool)
                                        or not 0 <= min_temperature <= MAX_TEMPERATURE):
        raise BadParameter("min_temperature", "must be a whole number of degrees Celsius from 0 to 10,000")
    rows, query = a.run("substitutes", **params)
    in_force, q_controls = controls(a, params["on"])
    queries, cited = [query, q_controls], list(rows) + [c for cs in in_force.values() for c in cs]
    temperatures: dict[str, list[Row]] = defaultdict(list)
    if min_temperature is not None:
        temps, q_temps = a.run("substitute-temperatures", element=params["element"])
        queries.append(q_temps)
        cited += temps
        for t in temps:
            temperatures[t["substitution"]].append(t)
    options, excluded = [], []
    for r in rows:
        option = _option(a, r, in_force)
        if min_temperature is not None:
            option["temperature"] = temperature(temperatures.get(r["substitution"], []), min_temperature, a.local_id)
            if option["temperature"]["holds"] == "no":
                excluded.append({**option, "reason": option["temperature"]["reason"]})
                continue
        options.append(option)
    if min_temperature is not None:  # stable: penalty and maturity order kept within each temperature class
        options.sort(key=lambda o: _HOLDS_ORDER[o["temperature"]["holds"]])
    for rank, option in enumerate(options, start=1):
        option["rank"] = rank
    extra = {} if min_temperature is None else {"minTemperature": min_temperature, "excluded": excluded}
    ranking = "penalty, then maturity" + (
        "; options known to hold min_temperature first, then those whose range straddles it, then those of "
        "unknown temperature" if min_temperature is not None else "")
    return a.answer(options, queries, cited, element=a.local_id(params["element"]), function=function,
                    on=params["on"], **extra,
                    assumptions={"on": params["on"], "controls": "three-valued, as of each statement's date",
                                 "ranking": ranking})


def _option(a: Answers, r: Row, in_force: dict[str, list[Row]]) -> Row:
    used = sorted(t.split("=", 1)[0] for t in (r.get("stillUses") or "").split() if "=" in t)
    verdicts = {symbol: verdict(in_force.get(symbol, [])) for symbol in used}
    return {
        "substitution": a.local_id(r["substitution"]), "label": r.get("label"),
        "function": a.local_id(r.get("inFunction")), "substitute": a.local_id(r.get("substitute")),
        "substituteLabel": r.get("substituteLabel"), "penalty": a.local_id(r.get("penalty")),
        "maturity": a.local_id(r.get("maturity")), "reductionMin": r.get("reductionMin"),
        "reductionMax": r.get("reductionMax"), "penaltyText": r.get("penaltyText"),
        # GROUP_CONCAT's order is the engine's choice (SPARQL 1.1 §18.5.1.7): sorted, the same on every store
        "tradeOffs": sorted(t for t in (r.get("tradeOffs") or "").split(" ; ") if t),
        "stillUsesStatus": {symbol: v["inForce"] for symbol, v in verdicts.items()},
        "stillUsesControls": verdicts,
        "avoidsControlsStatus": avoids(verdicts),
        # deprecated (v1 before issue 11): the old vocabulary and a flag that is null when unknown
        "stillUses": {symbol: v["legacyStatus"] for symbol, v in verdicts.items()},
        "avoidsControls": legacy_flag(avoids(verdicts)),
        "sources": a.local_ids(r.get("sources")),
        "confidence": a.local_id(r.get("confidence")),
    }


def temperature(rows: list[Row], need: int, local: Callable[[Any], Any]) -> Row:
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


def _rows(result: dict[str, Any]) -> list[Row]:
    return [{**o, "avoidsControls": o["avoidsControlsStatus"],
             "stillUses": " ".join(f"{k}={v}" for k, v in o["stillUsesStatus"].items()),
             "temperature": (o.get("temperature") or {}).get("holds", "")} for o in result["data"]]


def _columns(result: dict[str, Any]) -> tuple[str, ...]:
    return ("rank", "substitution", "penalty", "maturity", "avoidsControls", "stillUses",
            *(("temperature",) if "minTemperature" in result else ()))


def _lines(result: dict[str, Any]) -> list[str]:
    return [f"excluded: {o['substitution']}: {o['reason']}" for o in result.get("excluded") or []]


register(Question(
    "substitutes", "Substitutes for an element, ranked, with trade-offs and control status (avoidsControlsStatus "
    "and stillUsesStatus yes / no / unknown; avoidsControls, null when unknown, and stillUses in the old words are "
    "deprecated); with min_temperature, options below it are excluded and options of unknown temperature flagged",
    substitutes,
    (Param("element", required=True, help="element symbol", example="Dy"),
     Param("function", help="function id", example="magnet"), CONTROLS_ON, UNVERIFIED,
     Param("min_temperature", "integer", help="the operating temperature (°C) an option must hold",
           example=180, maximum=MAX_TEMPERATURE)),
    queries=("substitutes", "in-force", "substitute-temperatures"), order=40,
    response=rows("the options, best first", {
        **OPTION, "rank": integer("1 for the best option"),
        "temperature": TEMPERATURE | {"description": "with min_temperature only"}},
        required=("substitution", "tradeOffs", "stillUsesStatus", "avoidsControlsStatus", "sources", "rank")),
    cli=Show(_columns, _rows, _lines,
             help="What can replace ELEMENT, ranked by penalty and maturity (and, with --min-temperature, by "
                  "whether it holds that temperature), and whether it avoids export controls (yes / no / unknown).")))
