"""An entity with its statements and links (incoming too), its labels in every language, and per kind what
else an analyst reads there: the elements that serve a function, a country's production and shares by year
and edition."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

from .core import Answers, Query, Row
from .declare import Question, register
from .params import Param
from .schemas import CONFIDENCE, Schema, boolean, keyed, number, record, rows, text, texts

_STATEMENT = {
    "property": text("the property, as prefix:name"),
    "value": {"type": ["string", "number", "boolean", "null"],
              "description": "the other end: an id of ours, an IRI or a literal's value"},
    "iri": text("the other end's IRI, when it is one", nullable=True),
    "label": text("the other end's English label", nullable=True),
    "source": text("the source (or named graph) the statement is in", nullable=True),
    "inferred": boolean("true when the reasoner inferred it")}
_ENTITY = {
    "id": text("the id"), "iri": text("its IRI"), "kind": text("its kind"),
    "types": texts("its classes (reekg ontology names)"),
    "labels": keyed("its labels by language tag (en, zh-Hant, zh-Hans)", text("label")),
    "statements": rows("what it says of others", _STATEMENT), "incoming": rows("what others say of it", _STATEMENT)}
_EXTRA: dict[str, dict[str, Schema]] = {
    "function": {"elements": rows("the elements that serve the function", {
        "element": text("element symbol"),
        "unverified": boolean("true when only unverified evidence finds it"),
        "foundVia": texts("how it was found"), "materials": texts("the materials through which it serves"),
        "components": texts("the components through which it serves")})},
    "country": {"production": rows("production and shares by year and edition", {
        "edition": text("the publication (source id)", nullable=True), "year": text("the year", nullable=True),
        "quantity": text("what is measured", nullable=True), "stage": text("the stage", nullable=True),
        "value": number("the figure", nullable=True), "unit": text("its unit", nullable=True),
        "share": number("share of world output (0–1)", nullable=True),
        "isEstimate": boolean("true for an estimate", nullable=True),
        "isLowerBound": boolean("true for a lower bound", nullable=True), "confidence": CONFIDENCE})},
}


def entity(a: Answers, kind: str, ident: str) -> dict[str, Any]:
    iri = a.resolve(kind, ident)
    rows, query = a.run("entity", entity=iri)
    out: dict[str, list[Row]] = defaultdict(list)
    types = []
    inferred = str(a.ns.inferred_graph)
    for r in rows:
        prop = r["property"]
        if r["direction"] == "out" and prop.endswith("rdf-syntax-ns#type"):
            types.append(a.local_id(r["value"]) if not r["value"].startswith(str(a.ns.reekg))
                         else r["value"][len(str(a.ns.reekg)):])
        out[r["direction"]].append({
            "property": a.short(prop), "value": a.local_id(r["value"]),
            "iri": r["value"] if isinstance(r["value"], str) and "://" in r["value"] else None,
            "label": r.get("valueLabel"), "source": a.graph_source(r.get("graph")),
            "inferred": r.get("graph") == inferred})
    names = (a.call(a.queries["labels"], {"entity": iri}) or [{}])[0]
    labels = {lang: names[key] for lang, key in (("en", "labelEn"), ("zh-Hant", "labelZhHant"),
                                                  ("zh-Hans", "labelZhHans")) if names.get(key)}
    data = {"id": a.local_id(iri), "iri": iri, "kind": kind, "types": sorted(set(types)),
            "labels": labels, "statements": out["out"], "incoming": out["in"]}
    queries, cited = [query], list(rows)
    if kind == "function":
        data["elements"], q_functions, used = _function_elements(a, iri)
        queries.append(q_functions)
        cited += used
    if kind == "country":
        obs, q_obs = a.run("country-observations", country=iri)
        data["production"] = [_observation(a, o) for o in obs]
        queries.append(q_obs)
        cited += obs
    return a.answer(data, queries, cited, kind=kind, id=a.local_id(iri))


def _observation(a: Answers, o: Row) -> Row:
    return {"edition": a.local_id(o.get("edition")), "year": o.get("year"),
            "quantity": a.local_id(o.get("quantity")), "stage": a.local_id(o.get("stage")),
            "value": o.get("value"), "unit": o.get("unit"), "share": o.get("share"),
            "isEstimate": o.get("isEstimate"), "isLowerBound": o.get("isLowerBound"),
            "confidence": a.local_id(o.get("confidence"))}


def _function_elements(a: Answers, function: str) -> tuple[list[Row], Query, list[Row]]:
    """The elements that serve ``function``, with the materials and components through which they do;
    an element found only through unverified evidence is listed with ``unverified: true`` (the answer's
    consumers leave it out by default, as every other answer does)."""
    verified, query = a.run("functions", function=function, unverified="false")
    everything, _ = a.run("functions", function=function, unverified="true")
    sure = {r["symbol"] for r in verified}
    out = [{"element": r["symbol"], "unverified": r["symbol"] not in sure,
            "foundVia": sorted((r.get("foundVia") or "").split()),
            "materials": [m for m in (r.get("materials") or "").split(" | ") if m],
            "components": [c for c in (r.get("components") or "").split(" | ") if c]} for r in everything]
    return out, query, verified + everything


def _of(kind: str) -> Callable[..., dict[str, Any]]:
    def answer(a: Answers, ident: str) -> dict[str, Any]:
        return entity(a, kind, ident)

    return answer


def _page(name: str, plural: str, summary: str, help_text: str, example: str, order: int,
          queries: tuple[str, ...] = ("entity",)) -> Question:
    extra = _EXTRA.get(name, {})
    response = record(f"the {name}, its labels and every statement about it", {**_ENTITY, **extra})
    return Question(name, summary, _of(name), path=f"/{plural}/<ident>", lists=False, queries=queries,
                    path_param=Param("ident", required=True, help=help_text, example=example), order=order,
                    response=response)


register(
    _page("element", "elements", "An element with its statements and links", "element symbol", "Nd", 90),
    _page("function", "functions", "A function with its statements and links", "function id", "phosphor", 100),
    _page("subsystem", "subsystems", "A robot subsystem with its statements and links", "subsystem id",
          "joint-actuation", 110),
    _page("robot", "robots", "A robot model with its statements and links", "robot id", "tesla-optimus", 120),
    _page("country", "countries", "A country with production and shares by year and edition",
          "ISO 3166-1 alpha-2 code", "CN", 130, ("entity", "country-observations")),
)
