"""/api/v1/docs (vendored Swagger UI, a no-JavaScript list of routes) and the answers' schemas in the OpenAPI
document: every question's real answer on the curated graph, asked with its documented examples, is valid
against the schema the document publishes for it (issue 14, item 4)."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from importlib import resources

import pytest
from jsonschema import Draft202012Validator
from markupsafe import escape
from openapi_spec_validator import validate as validate_openapi

from reekg.server.api import ROUTES, answer_schema_name

VENDOR = resources.files("reekg.server") / "static" / "vendor" / "swagger_ui"


@pytest.fixture(scope="module")
def document(app):
    with app.test_client() as client:
        found = client.get("/api/v1/openapi.json").get_json()
    validate_openapi(found)
    return found


def _validator(document, q) -> Draft202012Validator:
    schema = {"$ref": f"#/components/schemas/{answer_schema_name(q)}", "components": document["components"]}
    return Draft202012Validator(schema)


def _ask(client, q):
    path = "/api/v1" + q.path.replace("<ident>", str(q.path_param.example) if q.path_param else "")
    if q.body is not None:
        return client.post(path, json=q.body["example"])
    examples = {p.name: p.example if isinstance(p.example, str) else json.dumps(p.example)
                for p in q.params if p.example is not None}
    return client.get(path, query_string=examples)


@pytest.mark.parametrize("q", ROUTES, ids=[q.name for q in ROUTES])
def test_each_answer_to_the_documented_examples_is_valid_against_its_published_schema(client, document, q):
    assert q.response is not None, f"{q.name} declares no response schema"
    response = _ask(client, q)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    answer = response.get_json()
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in _validator(document, q).iter_errors(answer)]
    assert not errors, errors[:5]
    operation = next(op for path in document["paths"].values() for op in path.values() if op["operationId"] == q.name)
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == f"#/components/schemas/{answer_schema_name(q)}"


def test_the_schemas_refuse_an_answer_of_the_wrong_shape(client, document):
    q = next(q for q in ROUTES if q.name == "exposure")
    answer = _ask(client, q).get_json()
    validator = _validator(document, q)
    assert validator.is_valid(answer)
    for damage in (lambda a: a["data"]["elements"][0].update(controlStatus="maybe"),
                   lambda a: a["data"]["elements"][0].update(controlledOn="false"),
                   lambda a: a["data"]["magnet"][0].pop("estimate"),
                   lambda a: a.update(data=[])):
        broken = copy.deepcopy(answer)
        damage(broken)
        assert not validator.is_valid(broken)


def test_nullable_fields_say_so_in_the_schema(document):
    row = document["components"]["schemas"]["ExposureAnswer"]["allOf"][1]["properties"]["data"]["properties"]
    element = row["elements"]["items"]["properties"]
    assert element["controlledOn"]["type"] == ["boolean", "null"]
    assert element["controlStatus"]["enum"] == ["yes", "no", "unknown"]


def test_the_docs_page_serves_vendored_swagger_ui_from_this_origin(client):
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    html = response.get_data(as_text=True)
    assert "<script>" not in html and "<script type" not in html  # no inline script: the CSP forbids it
    links = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert all(link.startswith(("/", "#")) for link in links), [x for x in links if not x.startswith(("/", "#"))]
    assert 'aria-label="Site"' in html and 'href="/api/v1/docs"' in html  # the site's navigation
    assets = {m.group(2): m.group(0) for m in re.finditer(r"/assets/([0-9a-f]{16})/([^\"']+)", html)}
    assert {"vendor/swagger_ui/swagger-ui-bundle.js", "vendor/swagger_ui/swagger-ui.css", "api_docs.js"} <= set(assets)
    version = (VENDOR / "VERSION").read_text("utf-8")
    recorded = dict(reversed(line.split()[1:]) for line in version.splitlines() if line.startswith("sha256:"))
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"} <= set(recorded)
    for name in ("swagger-ui-bundle.js", "swagger-ui.css"):
        served = client.get(assets[f"vendor/swagger_ui/{name}"])
        assert served.status_code == 200
        assert hashlib.sha256(served.data).hexdigest() == recorded[name]
        assert assets[f"vendor/swagger_ui/{name}"].split("/")[2] == recorded[name][:16]
        assert b"sourceMappingURL" not in served.data
    init = client.get(assets["api_docs.js"]).get_data(as_text=True)
    assert "validatorUrl: null" in init


def test_the_no_javascript_list_shows_booleans_as_json(client):
    html = client.get("/api/v1/docs").get_data(as_text=True)
    routes = html[html.index('id="routes"'):]
    assert "False" not in routes and "True" not in routes
    assert "<td><code>unverified</code></td><td>boolean</td><td>no</td>" in routes
    assert routes.count("<code>false</code>") >= 5  # unverified's example on every route that takes it
    for q in ROUTES:
        assert str(escape(q.summary)) in routes
    assert 'href="/api/v1/dependents?element=Dy"' in routes
