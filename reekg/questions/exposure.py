"""A robot fleet's magnet and element masses by every sourced estimate, each element's export-control status
on a day (yes / no / unknown) and the concentration of each stage of supply."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .controls import control_view, controls, legacy_flag, verdict
from .core import RARE_EARTHS, Answers, BadParameter, Query, Row, day, flag, rounded
from .declare import Question, Show, register
from .params import CONTROLS_ON, MAX_UNITS, UNVERIFIED, Param
from .schemas import BY_STAGE, CONFIDENCE, CONTROL, CONTROL_STATUS, RANGE, boolean, number, record, rows, text, texts
from .shares import share_assumptions, share_summaries
from .show import gap_lines, range_text, table_lines
from .statuses import gaps

# The heavy rare earths by which magnet grades differ (H, SH, UH … add Dy/Tb for coercivity): a component that
# needs particular grades takes these elements' content from the grades, never from the family's standard grade
GRADE_DOPANTS = {"Dy", "Tb"}


def exposure(a: Answers, robot: str, units: int, on: str | None = None, unverified: bool = False) -> dict[str, Any]:
    """A fleet's magnet and element masses by every sourced estimate, each element's control status on
    ``on`` (yes / no / unknown, as of when and by which source) and the stage concentration.

    One element-content fact is one row whatever its number of sources (issue 11, finding 3). A combined
    figure (Nd+Pr) is reported as the combination, never split. Dy and Tb of a robot whose components need
    particular grades (a joint motor: H, SH, UH) come from those grades' contents, unknown where no grade
    gives a figure, never from the family's standard-grade figure."""
    iri = a.resolve("robot", robot)
    if not isinstance(units, int) or units < 0 or units > MAX_UNITS:
        raise BadParameter("units", "must be a whole number from 0 to 1,000,000,000")
    when = day(on, a.today())
    estimates, q_fleet = a.run("fleet-magnet-mass", robot=iri, units=units, unverified=flag(unverified))
    in_force, q_controls = controls(a, when, iri)
    summary, q_shares, share_rows = share_summaries(a)
    grades, q_grades = a.run("robot-grades", robot=iri)
    needed = _needed(grades)
    materials = {e["material"] for e in estimates if e.get("material")} | {g for gs in needed.values() for g in gs}
    contents, q_contents, content_rows = material_contents(a, materials)
    elements = _Elements(a, in_force)
    for symbol in sorted(in_force):
        elements.entry(symbol)
    for estimate in estimates:
        _add_estimate(a, elements, estimate, contents, needed.get(estimate.get("material"), []), units)
    rows = elements.finish()
    magnet = [_magnet(a, e) for e in estimates]
    data = {"magnet": magnet, "magnetFleetTotalKg": _fleet(magnet), "elements": rows, "stages": summary}
    cited = list(estimates) + [c for cs in in_force.values() for c in cs] + share_rows + content_rows
    return a.answer(data, [q_fleet, q_controls, q_shares, q_grades, *q_contents], cited,
                    robot=a.local_id(iri), units=units, on=when,
                    assumptions=_assumptions(a, when, grades, bool(needed), summary),
                    gaps=gaps(a, {e for r in rows for e in r["elements"] if e in RARE_EARTHS}, when))


def _needed(grades: list[Row]) -> dict[str, list[str]]:
    """Per magnet family, the grades the robot's components need (robot-grades.rq), in the query's order."""
    needed: dict[str, list[str]] = defaultdict(list)
    for g in grades:
        if g.get("family") and g["grade"] not in needed[g["family"]]:
            needed[g["family"]].append(g["grade"])
    return needed


def _fleet(magnet: list[Row]) -> Row:
    return {"min": min((m["fleetMassKg"]["min"] for m in magnet), default=None),
            "max": max((m["fleetMassKg"]["max"] for m in magnet), default=None)}


def content_key(row: Row) -> str:
    """An element-content fact's key: its element, or its combined elements joined by "+" ("Nd+Pr")."""
    return "+".join(sorted((row.get("symbol") or "").split()))


def material_contents(a: Answers, materials: set[str]) -> tuple[dict[str, dict[str, Row]], list[Query], list[Row]]:
    """Each material's element-content facts (material-contents.rq), key ("Nd", "Nd+Pr") → one fact."""
    contents: dict[str, dict[str, Row]] = {}
    queries, rows = [], []
    for material in sorted(materials):
        found, query = a.run("material-contents", material=material)
        contents[material] = {content_key(r): r for r in found}
        rows += found
        queries.append(query)
    return contents, queries, rows


class _Elements:
    """The answer's element rows, keyed "Nd" or "Nd+Pr", each with its control status on the day."""

    def __init__(self, a: Answers, in_force: dict[str, list[Row]]):
        self.a, self.in_force, self.rows = a, in_force, {}

    def entry(self, key: str) -> Row:
        if key not in self.rows:
            members = key.split("+")
            measures = [c for m in members for c in self.in_force.get(m, [])]
            decided = verdict(measures)
            self.rows[key] = {"symbol": key, "elements": members, "combined": len(members) > 1,
                              "massPerUnitKg": [], "fleetMassKg": [],
                              "controls": [control_view(self.a, c) for c in measures],
                              "controlStatus": decided["inForce"], "controlAsOf": decided["asOf"],
                              "controlledOn": legacy_flag(decided["inForce"]),  # deprecated: controlStatus
                              "controlSources": decided["sources"], "controlBasis": decided["basis"]}
        return self.rows[key]

    def finish(self) -> list[Row]:
        """The rows with their fleet totals: across every estimate, the smallest low end and the largest high
        end; unknown if any end is unknown."""
        for row in self.rows.values():
            lows = [m["min"] for m in row["fleetMassKg"]]
            highs = [m["max"] for m in row["fleetMassKg"]]
            row["fleetTotalKg"] = {"min": None if not lows or None in lows else min(lows),
                                   "max": None if not highs or None in highs else max(highs)}
            row["massKnown"] = bool(row["fleetMassKg"]) and None not in lows + highs
            if not row["combined"]:
                row["countedIn"] = sorted(k for k, other in self.rows.items()
                                          if other["combined"] and row["symbol"] in other["elements"])
        return list(self.rows.values())


def _add_estimate(a: Answers, elements: _Elements, estimate: Row, contents: dict[str, dict[str, Row]],
                  graded: list[str], units: int) -> None:
    """One magnet-mass estimate's element masses, per unit and for the fleet."""
    family = estimate.get("material")
    base = contents.get(family, {})
    for key in sorted(set(base) | {k for g in graded for k in contents.get(g, {})}):
        row = elements.entry(key)  # listed even when no figure follows (its control status still counts)
        fraction = _fraction(a, key, family, base, graded, contents)
        if fraction is None:
            continue
        low, high, facts, basis = fraction
        per_unit = {"estimate": a.local_id(estimate["estimate"]),
                    "min": None if low is None else rounded(estimate["massMinKg"] * low),
                    "max": None if high is None else rounded(estimate["massMaxKg"] * high),
                    "basis": basis, "contents": [a.local_id(f["content"]) for f in facts],
                    "contentSources": sorted({a.local_id(s) for f in facts for s in (f.get("sources") or "").split()}),
                    "note": "; ".join(f["note"] for f in facts if f.get("note")) or None}
        if per_unit["min"] is None and per_unit["max"] is None and not facts:
            continue
        row["massPerUnitKg"].append(per_unit)
        row["fleetMassKg"].append({"estimate": per_unit["estimate"],
                                   "min": None if per_unit["min"] is None else rounded(per_unit["min"] * units),
                                   "max": None if per_unit["max"] is None else rounded(per_unit["max"] * units)})


def _fraction(a: Answers, key: str, family: Any, base: dict[str, Row], graded: list[str],
              contents: dict[str, dict[str, Row]]) -> tuple[Any, Any, list[Row], str] | None:
    """The mass fraction of ``key`` in a magnet: from the grades the components need for Dy and Tb, else from
    the family's content fact; None when neither gives one."""
    if graded and set(key.split("+")) & GRADE_DOPANTS:
        low, high, facts = grade_range(key, graded, contents)
        return low, high, facts, f"grades {', '.join(a.local_id(g) for g in graded)} that the robot's components need"
    fact = base.get(key)
    if fact is None:
        return None
    return fact.get("massFractionMin"), fact.get("massFractionMax"), [fact], f"{a.local_id(family)} content"


def grade_range(key: str, grades: list[str], contents: dict[str, dict[str, Row]]
                ) -> tuple[float | None, float | None, list[Row]]:
    """The range of ``key``'s mass fraction over ``grades``: the lowest low end and the highest high end,
    each unknown (None) as soon as one grade gives no figure for it."""
    facts = [contents.get(g, {}).get(key) for g in grades]
    lows = [None if f is None else f.get("massFractionMin") for f in facts]
    highs = [None if f is None else f.get("massFractionMax") for f in facts]
    low = None if None in lows else min(lows)
    high = None if None in highs else max(highs)
    return low, high, [f for f in facts if f is not None]


def _magnet(a: Answers, e: Row) -> Row:
    return {"estimate": a.local_id(e["estimate"]), "material": a.local_id(e.get("material")),
            "massPerUnitKg": {"min": e.get("massMinKg"), "max": e.get("massMaxKg")},
            "fleetMassKg": {"min": e.get("fleetMinKg"), "max": e.get("fleetMaxKg")},
            "source": a.local_id(e.get("source")), "confidence": a.local_id(e.get("confidence")),
            "basis": e.get("basis")}


def _assumptions(a: Answers, when: str, grades: list[Row], graded: bool, summary: Any) -> dict[str, Any]:
    return {
        "on": when, "estimates": "every sourced magnet-mass estimate side by side; none averaged or preferred",
        "controls": "three-valued: a measure with no dated in-force statement covering the day is unknown",
        "grades": [{"component": a.local_id(g["component"]), "grade": a.local_id(g["grade"]),
                    "operatingTemperatureC": {"min": g.get("opMinC"), "max": g.get("opMaxC")}} for g in grades],
        "gradeBasis": ("Dy and Tb per robot come from the grades its components need, applied to the whole "
                       "estimate; unknown where a grade gives no figure") if graded else None,
        "combined": "a combined content figure (Nd+Pr) is reported as the combination, never split",
        "shares": share_assumptions(summary),
    }


def _magnet_rows(result: dict[str, Any]) -> list[Row]:
    return [{"estimate": m["estimate"], "kg per unit": range_text(m["massPerUnitKg"]),
             "kg for fleet": range_text(m["fleetMassKg"]), "source": m["source"]} for m in result["data"]["magnet"]]


def _element_lines(result: dict[str, Any]) -> list[str]:
    elements = [[e["symbol"], range_text(e["fleetTotalKg"]), e["controlStatus"], e["controlAsOf"] or "",
                 ", ".join(f"{c['label'] or c['measure']}: {c['inForce']}" for c in e["controls"])]
                for e in result["data"]["elements"]]
    headers = ["element", "kg for fleet", f"controlled on {result['on']}", "as of", "measures"]
    return ["", *table_lines(headers, elements), *gap_lines(result)]


def _csv(result: dict[str, Any]) -> list[Row]:
    return [{"symbol": e["symbol"], "controlStatus": e["controlStatus"], "controlledOn": e["controlledOn"],
             "controlAsOf": e["controlAsOf"], "fleetTotalKg": e["fleetTotalKg"], "massPerUnitKg": e["massPerUnitKg"],
             "fleetMassKg": e["fleetMassKg"], "controls": e["controls"]} for e in result["data"]["elements"]]


register(Question(
    "exposure", "A robot fleet's magnet and element masses, controls in force (controlStatus yes / no / unknown "
    "with controlAsOf; controlledOn is deprecated: true / false, null when unknown), concentration", exposure,
    (Param("robot", required=True, help="robot id", example="tesla-optimus"),
     Param("units", "integer", required=True, help="fleet size", example=5000), CONTROLS_ON, UNVERIFIED),
    queries=("fleet-magnet-mass", "in-force", "stage-shares", "robot-grades", "material-contents",
             "element-sites", "site-status"), table=_csv, order=30,
    response=record("the fleet's magnet mass, its element masses and controls, and concentration per stage", {
        "magnet": rows("magnet mass by each sourced estimate", {
            "estimate": text("estimate id"), "material": text("magnet material id", nullable=True),
            "massPerUnitKg": RANGE, "fleetMassKg": RANGE, "source": text("source id", nullable=True),
            "confidence": CONFIDENCE, "basis": text("the estimate's basis", nullable=True)},
            required=("estimate", "massPerUnitKg", "fleetMassKg")),
        "magnetFleetTotalKg": RANGE,
        "elements": rows("one element (or elements the sources give only together, as Dy+Tb)", {
            "symbol": text("element symbol, or symbols joined by +"), "elements": texts("its element symbols"),
            "combined": boolean("true for elements the sources give only together"),
            "massPerUnitKg": rows("kg per unit, by estimate", {
                "estimate": text("estimate id"), "min": number("kg, low end", nullable=True),
                "max": number("kg, high end", nullable=True), "basis": text("how the mass was found", nullable=True)},
                required=("estimate", "min", "max")),
            "fleetMassKg": rows("kg for the fleet, by estimate", {
                "estimate": text("estimate id"), "min": number("kg, low end", nullable=True),
                "max": number("kg, high end", nullable=True)}, required=("estimate", "min", "max")),
            "controls": {"type": "array", "items": CONTROL, "description": "the export-control measures on it"},
            "controlStatus": CONTROL_STATUS,
            "controlAsOf": text("as-of date of the deciding statements", nullable=True),
            "controlledOn": boolean("deprecated (use controlStatus): true for yes, false for no, null when unknown",
                                    nullable=True),
            "controlSources": texts("source ids of the deciding statements"),
            "controlBasis": text("what decides the control status"),
            "fleetTotalKg": RANGE, "massKnown": boolean("true when every estimate gives both ends"),
            "countedIn": texts("combined rows this element is part of"),
        }, required=("symbol", "elements", "combined", "massPerUnitKg", "fleetMassKg", "controls", "controlStatus",
                     "controlAsOf", "controlledOn", "controlSources", "controlBasis", "fleetTotalKg", "massKnown")),
        "stages": BY_STAGE,
    }, required=("magnet", "elements", "stages")),
    cli=Show(("estimate", "kg per unit", "kg for fleet", "source"), _magnet_rows, _element_lines, footer=False,
             help="Magnet and element masses of a ROBOT fleet, the controls in force, and concentration per stage.")))
