"""Which robot models use a given material (through subsystem → component → material, or a sourced estimate of
its mass), and how much of it per unit: the sourced estimates side by side, unknown (null, with a gap) where
the graph has none — never zero, never derived from another material's figure."""

from __future__ import annotations

from typing import Any

from .core import Answers, Row, flag, words
from .declare import Question, Show, register
from .params import UNVERIFIED, Param
from .schemas import CONFIDENCE, RANGE, boolean, nullable, number, rows, text, texts
from .show import gap_lines, range_text

BASIS = ("a robot uses the material where an asserted path robot → subsystem → component → material exists, or "
         "where a sourced magnet-mass estimate of the robot is of this very material; its mass per unit is that "
         "estimate's range (every estimate side by side; the total from the smallest low end to the largest high "
         "end), and unknown where the graph has no estimate of this material for the robot")


def material_users(a: Answers, material: str, unverified: bool = False) -> dict[str, Any]:
    iri = a.resolve("material", material)
    rows, query = a.run("material-users", material=iri, unverified=flag(unverified))
    robots: dict[str, Row] = {}
    for r in rows:
        robot = robots.setdefault(r["robot"], {"robot": a.local_id(r["robot"]), "robotLabel": r.get("robotLabel"),
                                               "usedThrough": [], "estimates": [], "sources": set()})
        robot["sources"] |= {a.local_id(s) for s in words(r.get("sources"))}
        if r.get("estimate"):
            robot["estimates"].append({
                "estimate": a.local_id(r["estimate"]), "min": r["massMinKg"], "max": r["massMaxKg"],
                "sources": a.local_ids(r.get("sources")), "confidence": a.local_id(r.get("confidence")),
                "basis": r.get("basis")})
        else:
            robot["usedThrough"].append({"subsystem": a.local_id(r["subsystem"]),
                                         "component": a.local_id(r["component"])})
    data = [_row(robot) for _, robot in sorted(robots.items(), key=lambda kv: kv[1]["robot"])]
    name = a.local_id(iri)
    gaps = [{"robot": row["robot"], "material": name, "kind": "no-mass",
             "message": f"no sourced mass of {name} per unit of {row['robot']} in the graph: unknown, not zero"}
            for row in data if not row["massKnown"]]
    return a.answer(data, [query], rows, material=name, materialLabel=(rows[0].get("materialLabel") if rows else None),
                    unverified=unverified, basis=BASIS, gaps=gaps)


def _row(robot: Row) -> Row:
    estimates = robot["estimates"]
    known = bool(estimates)
    return {"robot": robot["robot"], "robotLabel": robot["robotLabel"], "usedThrough": robot["usedThrough"],
            "massKnown": known,
            "massPerUnitKg": ({"min": min(e["min"] for e in estimates), "max": max(e["max"] for e in estimates)}
                              if known else None),
            "estimates": estimates, "sources": sorted(robot["sources"])}


def _rows(result: dict[str, Any]) -> list[Row]:
    return [{"robot": r["robot"], "kg per unit": range_text(r["massPerUnitKg"] or {}),
             "estimates": len(r["estimates"]),
             "used through": ", ".join(f"{p['subsystem']}/{p['component']}" for p in r["usedThrough"]),
             "sources": len(r["sources"])} for r in result["data"]]


register(Question(
    "material-users", "Robot models that use a material (through subsystem, component and material, or a sourced "
    "estimate of its mass) and how much of it per unit: every sourced estimate, unknown (null and a gap) where the "
    "graph has none", material_users,
    (Param("material", required=True, help="material id", example="sintered-ndfeb"), UNVERIFIED),
    queries=("material-users",), order=65,
    response=rows("one robot model that uses the material", {
        "robot": text("robot id"), "robotLabel": text("its English label", nullable=True),
        "usedThrough": rows("the subsystem and component that use it", {
            "subsystem": text("subsystem id"), "component": text("component id")}),
        "massKnown": boolean("true when a source gives its mass per unit"),
        "massPerUnitKg": nullable(RANGE | {"description": "kg per unit across every estimate; null when unknown"}),
        "estimates": rows("every sourced estimate of its mass per unit", {
            "estimate": text("estimate id"), "min": number("kg, low end", nullable=True),
            "max": number("kg, high end", nullable=True), "sources": texts("source ids"), "confidence": CONFIDENCE,
            "basis": text("the estimate's basis", nullable=True)}),
        "sources": texts("source ids of how it is used")}),
    cli=Show(("robot", "kg per unit", "estimates", "used through", "sources"), _rows, gap_lines,
             help="Robot models that use MATERIAL and how much of it per unit, by every sourced estimate "
                  "(unknown where the graph has none).")))
