"""Every library query takes a hostile value as only a value, an IRI outside the store as an unknown one, and
refuses a malformed typed value; ORDINARY is each query's ordinary call (the remote-store tests reuse it)."""

from __future__ import annotations

import re

import pytest
from competency_kit import iri, run

from reekg.questions.library import QueryParameterError, library

# --- hostile values -------------------------------------------------------------------------------------------

HOSTILE = ['x" } ; DROP ALL ; #', "}", "<http://evil.example/>", "a" * 10_000]

# an ordinary call per query; each iri/string parameter is then replaced by a hostile value
ORDINARY = {
    "functions": {"function": iri("function", "phosphor")},
    "dependents": {"element": iri("element", "Dy")},
    "trace": {"subsystem": iri("subsystem", "joint-actuation"), "robot": iri("robot", "tesla-optimus"),
              "element": iri("element", "Dy")},
    "controls": {"robot": iri("robot", "tesla-optimus"), "on": "2025-06-01"},
    "production-share": {"year": "2024", "country": iri("country", "CN")},
    "fleet-magnet-mass": {"robot": iri("robot", "tesla-optimus"), "units": 5000},
    "substitutes": {"element": iri("element", "Dy"), "function": iri("function", "magnet"), "on": "2025-06-01"},
    "heavy-sources": {"outside": iri("country", "CN")},
    "magnet-temperature": {"family": iri("material", "sintered-ndfeb")},
    "search": {"q": "neodymium"},
    # the helpers every answer uses (reekg.questions.core, statuses, shares, controls)
    "sources": {}, "provenance": {}, "stage-shares": {}, "kinds": {},
    "known-entity": {"entity": iri("element", "Nd")}, "kind-entities": {"kind": "element"},
    "labels": {"entity": iri("element", "Nd")},
    "entity": {"entity": iri("element", "Nd")},
    "material-contents": {"material": iri("material", "sintered-ndfeb")},
    "country-observations": {"country": iri("country", "CN")},
    "element-sites": {"element": iri("element", "Dy")},
    "dependencies": {},
    "in-force": {"robot": iri("robot", "generic-humanoid"), "on": "2026-12-01"},
    "site-status": {"site": iri("facility", "eneabba-refinery")},
    "robot-grades": {"robot": iri("robot", "tesla-optimus")},
    "substitute-temperatures": {"element": iri("element", "Dy")},
}


def header_call(query) -> dict[str, str]:
    """The ordinary call a query's header gives: ``e.g. id:material/sintered-ndfeb`` after an IRI parameter."""
    found = {p.name: re.search(r"e\.g\. id:([a-z-]+)/([A-Za-z0-9._-]+)", p.help) for p in query.parameters
             if p.kind == "iri"}
    return {name: iri(*match.groups()) for name, match in found.items() if match}


# a query the table does not list (a question added with its .rq and its module) calls as its header says
ORDINARY.update({name: header_call(query) for name, query in library().items() if name not in ORDINARY})
UNKNOWN = {"iri": "http://evil.example/", "string": "no-such-thing-zzz"}


def answers(name: str, rows) -> list[dict]:
    """Rows without the echoed parameter columns (a query projects its parameters)."""
    params = {p.name for p in library()[name].parameters}
    return [{k: v for k, v in row.items() if k not in params} for row in rows]


def hostile_cases():
    for name, query in sorted(library().items()):
        for param in query.parameters:
            if param.kind in UNKNOWN:
                for value in HOSTILE:
                    yield pytest.param(name, param.name, value, id=f"{name}-{param.name}-{value[:12]}")


def test_every_query_has_an_ordinary_call():
    assert set(ORDINARY) == set(library())
    for name, query in library().items():  # every required IRI has a value, so the hostile cases bind each one
        required = {p.name for p in query.parameters if p.kind == "iri" and not p.optional and p.default is None}
        assert required <= set(ORDINARY[name]), name


@pytest.mark.parametrize("name, param, value", list(hostile_cases()))
def test_hostile_value_is_only_a_value(store, name, param, value):
    query = library()[name]
    kind = next(p.kind for p in query.parameters if p.name == param)
    params = dict(ORDINARY[name])
    unknown = run(store, name, **{**params, param: UNKNOWN[kind]})
    try:
        rows = run(store, name, **{**params, param: value})
    except QueryParameterError as error:
        assert kind == "iri" and error.name == param  # a bad IRI is refused before SPARQL sees it
        return
    assert answers(name, rows) == answers(name, unknown)


@pytest.mark.parametrize("name", sorted(ORDINARY))
def test_outside_iri_is_an_unknown_value(store, name):
    """An IRI outside our namespace is a plain value: it matches nothing and changes no query."""
    query = library()[name]
    for param in (p for p in query.parameters if p.kind == "iri"):
        params = {**ORDINARY[name], param.name: "http://evil.example/x#"}
        assert answers(name, run(store, name, **params)) == answers(
            name, run(store, name, **{**ORDINARY[name], param.name: UNKNOWN["iri"]}))


@pytest.mark.parametrize("kind_value", [("date", "2025-06-01'); DROP ALL"), ("integer", "5000 } ;"),
                                        ("gYear", "2024\" }"), ("boolean", "true || 1")])
def test_typed_parameters_refuse_malformed_values(store, kind_value):
    kind, value = kind_value
    for name, query in library().items():
        for param in (p for p in query.parameters if p.kind == kind):
            with pytest.raises(QueryParameterError):
                run(store, name, **{**ORDINARY[name], param.name: value})
