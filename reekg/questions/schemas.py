"""The JSON Schemas of answers' ``data``, as the OpenAPI document publishes them (a question declares its own in
``Question.response``; what several answers share is declared here once).

Derived from what the answers return: a field that may be absent from the graph (an OPTIONAL in the query, a
label) is nullable and says so. Objects stay open (``additionalProperties`` is not false), so a new field is an
addition, not a break; tests/server/test_api_docs.py checks every question's real answer against its schema.
"""

from __future__ import annotations

from typing import Any

from .core import SITE_STATUSES, STAGES

Schema = dict[str, Any]


def text(description: str, *, nullable: bool = False) -> Schema:
    return {"type": ["string", "null"] if nullable else "string", "description": description}


def number(description: str, *, nullable: bool = False) -> Schema:
    return {"type": ["number", "null"] if nullable else "number", "description": description}


def integer(description: str) -> Schema:
    return {"type": "integer", "description": description}


def boolean(description: str, *, nullable: bool = False) -> Schema:
    return {"type": ["boolean", "null"] if nullable else "boolean", "description": description}


def choice(values: tuple[str, ...] | list[str], description: str, *, nullable: bool = False) -> Schema:
    return {"enum": [*values, *([None] if nullable else [])], "description": description}


def texts(description: str) -> Schema:
    return {"type": "array", "items": {"type": "string"}, "description": description}


def nullable(schema: Schema) -> Schema:
    """``schema`` or null (a whole object that may be missing)."""
    return {"anyOf": [schema, {"type": "null"}], "description": schema.get("description", "")}


def record(description: str, properties: dict[str, Schema], required: tuple[str, ...] | None = None) -> Schema:
    """An object; every property is required unless ``required`` names fewer."""
    return {"type": "object", "description": description, "properties": properties,
            "required": list(properties if required is None else required)}


def rows(description: str, properties: dict[str, Schema], required: tuple[str, ...] | None = None) -> Schema:
    """A list of records (a CSV table's rows)."""
    return {"type": "array", "description": description, "items": record("one row", properties, required)}


def keyed(description: str, values: Schema) -> Schema:
    """An object keyed by ids (element symbols, stages) whose values all have one schema."""
    return {"type": "object", "description": description, "additionalProperties": values}


CONFIDENCE = text("the curators' confidence (reekg confidence scheme id: primary, secondary, unverified, …)",
                  nullable=True)
RANGE = record("a range; an end is null where no source gives it", {
    "min": number("the low end", nullable=True), "max": number("the high end", nullable=True)})
AS_OF = record("when the statement was made", {
    "start": text("first day (YYYY-MM-DD)", nullable=True), "end": text("last day (YYYY-MM-DD)", nullable=True),
    "text": text("as the source words it", nullable=True)})
SITE_STATUS = record("the site's status on the day: the newest observation as of that day (unknown when none)", {
    "status": choice(SITE_STATUSES, "the status (unknown where the graph has no observation)"),
    "observation": text("the status observation's id"),
    "asOf": nullable(AS_OF),
    "statedAfterDay": boolean("true when the only observations are dated after the day asked about"),
    "expected": nullable(record("a status the source expects, and when", {
        "status": text("expected status", nullable=True), "start": text("from (YYYY-MM-DD)", nullable=True),
        "end": text("until (YYYY-MM-DD)", nullable=True), "text": text("as the source words it", nullable=True)})),
    "confidence": CONFIDENCE,
    "sources": texts("source ids of the observation"),
    "reason": text("why the status is unknown"),
}, required=("status",))
STAGE_SHARES = nullable(record("country shares of one stage: the newest edition's latest past year", {
    "year": text("the year of the shares", nullable=True),
    "edition": text("the publication (source id) the shares come from"),
    "basis": text("all-ree-proxy: shares of all rare earths, only a proxy for one element"),
    "shares": rows("country shares, largest first", {"country": text("ISO 3166-1 alpha-2"),
                                                     "share": number("share of world output, 0–1")}),
    "coverage": number("the sum of the published shares (below 1 when they do not cover the world)"),
    "hhi": number("Herfindahl–Hirschman index of the shares (0–1)"),
    "hhiIsLowerBound": boolean("true when the shares do not cover the whole world"),
    "concentrated": boolean("true when the top country's share is above the threshold"),
    "threshold": number("the concentration_threshold setting"),
    "top": record("the largest producer", {"country": text("ISO 3166-1 alpha-2"), "share": number("its share")}),
}))
BY_STAGE = record("country shares per stage (null where the graph has none)",
                  {stage: STAGE_SHARES for stage in STAGES}, required=())
CONTROL_STATUS = choice(("yes", "no", "unknown"), "whether an export control is in force on the day "
                                                  "(unknown when no statement covers it, never no)")
CONTROL_VERDICT = record("an element's export-control status on the day", {
    "inForce": CONTROL_STATUS, "asOf": text("as-of date of the deciding statements", nullable=True),
    "legacyStatus": choice(("in-force", "unknown", "suspended", "not-controlled"), "deprecated: the old words"),
    "sources": texts("source ids of the deciding statements"), "basis": text("what decides it")})
CONTROL = record("one export-control measure on one element and its in-force statement for the day", {
    "measure": text("the measure's id", nullable=True), "label": text("its name", nullable=True),
    "controlCode": text("its control-list code", nullable=True), "inForce": CONTROL_STATUS,
    "statusDetail": text("e.g. suspended", nullable=True),
    "validFrom": text("YYYY-MM-DD", nullable=True), "validUntil": text("YYYY-MM-DD", nullable=True),
    "asOf": AS_OF, "statement": text("the in-force statement's id", nullable=True),
    "sources": texts("source ids"), "confidence": CONFIDENCE,
    "reason": text("why the status is unknown")}, required=("measure", "inForce", "sources"))
GAPS = rows("what the graph lacks for this answer (elements or stages with no site, masses no source gives)", {
    "kind": text("the kind of gap (no-site, no-operating-site, …)"), "message": text("the gap in plain words")},
    required=("kind", "message"))
