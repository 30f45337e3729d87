"""Export-control statuses on a day, three-valued (yes / no / unknown): what exposure, substitutes and the
scenario judge an element by. No statement covering the day is unknown, never "not controlled"."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .core import Answers, Query, Row


def controls(a: Answers, on: str, robot: str | None = None) -> tuple[dict[str, list[Row]], Query]:
    """Each controlled element's measures on ``on`` with their in-force statement (in-force.rq): once per build,
    day and robot (the scenario asks for every element it cuts; the rows are never changed by an answer)."""
    params: dict[str, Any] = {"on": on}
    if robot:
        params["robot"] = robot

    def read() -> tuple[dict[str, list[Row]], Query]:
        rows, query = a.run("in-force", **params)
        by_symbol: dict[str, list[Row]] = defaultdict(list)
        for r in rows:
            by_symbol[r["symbol"]].append(r)
        return dict(by_symbol), query

    return a.memo(f"in-force {on} {robot or ''}", read)


def control_view(a: Answers, c: Row) -> Row:
    """One measure on one element as an answer shows it."""
    return {"measure": a.local_id(c.get("measure")), "label": c.get("measureLabel"),
            "controlCode": c.get("controlCode"), "inForce": in_force_value(c),
            "statusDetail": a.local_id(c.get("statusDetail")),
            "validFrom": c.get("validFrom"), "validUntil": c.get("validUntil"),
            "asOf": {"start": c.get("asOfStart"), "end": c.get("asOfEnd"), "text": c.get("asOfText")},
            "statement": a.local_id(c.get("statement")),
            "sources": a.local_ids(c.get("sources")),
            "confidence": a.local_id(c.get("confidence")),
            **({} if c.get("statement") else {"reason": "no in-force statement covers the day"})}


def in_force_value(row: Row) -> str:
    """yes / no / unknown of an in-force.rq row: no statement covering the day is unknown, never no."""
    found = row.get("inForce")
    return found.rsplit("/", 1)[-1] if isinstance(found, str) and found else "unknown"


def verdict(rows: list[Row]) -> Row:
    """An element's control status from its measures' statements on a day: yes if one is in force, else
    unknown if one is unknown, else no; with the as-of date and the sources of the statements that decide it."""
    if not rows:
        return {"inForce": "no", "asOf": None, "sources": [], "legacyStatus": "not-controlled",
                "basis": "no export control in the graph covers it"}
    values = [in_force_value(r) for r in rows]
    decided = "yes" if "yes" in values else "unknown" if "unknown" in values else "no"
    deciding = [r for r, v in zip(rows, values, strict=True) if v == decided]
    dates = [str(r["asOfEnd"]) for r in deciding if r.get("asOfEnd")]
    measures = sorted({r["measure"].rsplit("/", 1)[-1] for r in deciding if r.get("measure")})
    suspended = any(str(r.get("statusDetail") or "").endswith("suspended") for r in deciding)
    legacy = {"yes": "in-force", "unknown": "unknown"}.get(decided, "suspended" if suspended else "not-controlled")
    return {"inForce": decided, "asOf": max(dates) if dates else None, "legacyStatus": legacy,
            "sources": sorted({s.rsplit("/", 1)[-1] for r in deciding for s in (r.get("sources") or "").split()}),
            "basis": f"in-force statements of {', '.join(measures)}"
            + ("" if all(r.get("statement") for r in deciding) else " (no statement covers the day)")}


def legacy_flag(status: str) -> bool | None:
    """The boolean that /api/v1 gave before statuses were three-valued (``controlledOn``, ``avoidsControls``),
    kept for existing clients: true for yes, false for no, and null — never false — for unknown."""
    return {"yes": True, "no": False}.get(status)


def avoids(verdicts: dict[str, Row]) -> str:
    """Whether an option avoids the controls: no if a still-used element is controlled, unknown if one's
    status is unknown, yes otherwise."""
    values = {v["inForce"] for v in verdicts.values()}
    return "no" if "yes" in values else "unknown" if "unknown" in values else "yes"
