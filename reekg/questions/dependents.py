"""Which subsystems and robot models depend on an element, with each path (subsystem → component →
material → element)."""

from __future__ import annotations

from typing import Any

from .core import Answers, flag
from .declare import Question, Show, register
from .params import UNVERIFIED, Param
from .schemas import CONFIDENCE, number, rows, text


def dependents(a: Answers, element: str, unverified: bool = False) -> dict[str, Any]:
    iri = a.resolve("element", element)
    rows, query = a.run("dependents", element=iri, unverified=flag(unverified))
    paths = [{
        "subsystem": a.local_id(r.get("subsystem")), "subsystemLabel": r.get("subsystemLabel"),
        "robot": a.local_id(r.get("robot")), "robotLabel": r.get("robotLabel"),
        "component": a.local_id(r.get("component")), "componentLabel": r.get("componentLabel"),
        "material": a.local_id(r.get("material")), "materialLabel": r.get("materialLabel"),
        "role": a.local_id(r.get("role")), "massFractionMin": r.get("massFractionMin"),
        "massFractionMax": r.get("massFractionMax"), "confidence": a.local_id(r.get("confidence")),
    } for r in rows]
    subsystems = sorted({p["subsystem"] for p in paths if p["subsystem"]})
    robots = sorted({p["robot"] for p in paths if p["robot"]})
    return a.answer(paths, [query], rows, element=a.local_id(iri), subsystems=subsystems, robots=robots)


register(Question(
    "dependents", "Subsystems and robot models that depend on an element, with each path", dependents,
    (Param("element", required=True, help="element symbol", example="Dy"), UNVERIFIED),
    queries=("dependents",), order=10,
    response=rows("one path: subsystem → component → material → the element", {
        "subsystem": text("subsystem id"), "subsystemLabel": text("its English label", nullable=True),
        "robot": text("a robot model with that subsystem", nullable=True),
        "robotLabel": text("its English label", nullable=True),
        "component": text("component id"), "componentLabel": text("its English label", nullable=True),
        "material": text("material id"), "materialLabel": text("its English label", nullable=True),
        "role": text("the element's role in the material", nullable=True),
        "massFractionMin": number("mass fraction of the element in the material, low end", nullable=True),
        "massFractionMax": number("mass fraction, high end", nullable=True),
        "confidence": CONFIDENCE}),
    cli=Show(("subsystem", "robot", "component", "material", "role"),
             help="Subsystems and robots that depend on ELEMENT (a symbol), with each path.")))
