"""Schemathesis against a real `reekg serve` on the curated graph, over the whole `/api/v1/openapi.json`
(issue 10, item 3): requests generated from the document — values it declares valid and values it declares
invalid — never get a server error, and every answer keeps to what the document says (schemathesis' checks:
not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance,
positive_data_acceptance, negative_data_rejection, …).

Bounded and repeatable: 25 positive and 25 negative examples per operation, derandomized, no example
database. (schemathesis' own pytest loader, ``schemathesis.pytest.from_fixture``, does not run on pytest 9:
it reads ``Function._nodeid``; so each operation's strategy is driven here with hypothesis directly.)
"""

from __future__ import annotations

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.generation import GenerationMode

from reekg.server.api import ROUTES

FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
OPERATIONS = [(r.method, "/api/v1" + r.path.replace("<ident>", "{ident}")) for r in ROUTES]

tally: Counter[str] = Counter()


@pytest.fixture(scope="module")
def served(curated_server, report_counts):
    yield curated_server  # the session's real read-only curated server (tests/conftest.py)
    report_counts("hostile requests from schemathesis: {tried} tried, {server_errors} answered 5xx",
                  tried=tally["tried"], server_errors=tally["5xx"])


@pytest.fixture(scope="module")
def api_schema(served):
    return schemathesis.openapi.from_url(served.url + "/api/v1/openapi.json")


def test_every_operation_of_the_document_is_fuzzed(api_schema):
    documented = {(o.ok().method.upper(), o.ok().path) for o in api_schema.get_all_operations()}
    assert documented == set(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_the_api_keeps_to_its_openapi_document(api_schema, served, method, path, mode):
    operation = api_schema[path][method]

    @FUZZ
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case):
        response = case.call(base_url=served.url, timeout=60)
        tally["tried"] += 1
        tally["5xx"] += response.status_code >= 500
        case.validate_response(response)

    check()
