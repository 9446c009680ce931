"""The OpenAPI document as a developer reads it: valid, complete, honest about errors and auth."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from server.errors import CATALOGUE

# /api/ rules deliberately not in the document, each with its reason.
NOT_IN_SPEC = {
    "/api/openapi.json",  # the document itself
    "/api/problems",  # the problem catalogue the document's description and every problem's type name
}
HTTP_METHODS = {"get", "put", "post", "patch", "delete", "head"}


def _spec(client: FlaskClient) -> dict[str, Any]:
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    return resp.json


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule)


def test_document_is_valid_openapi(client: FlaskClient) -> None:
    validate(_spec(client))  # raises on e.g. OpenAPI 2 `in: formData` parameters


def test_every_api_rule_is_described(app: Flask, client: FlaskClient) -> None:
    paths = _spec(client)["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in NOT_IN_SPEC:
            continue
        # Flask adds HEAD to every GET and OPTIONS everywhere; a HEAD of its own is documented.
        methods = {m.lower() for m in (rule.methods or set())} - {"options"}
        if "get" in methods:
            methods.discard("head")
        described = paths.get(_openapi_path(rule.rule), {})
        missing += [f"{m.upper()} {rule.rule}" for m in sorted(methods - set(described))]
    assert missing == []
    for rule in NOT_IN_SPEC:  # the allow-list names only rules that exist
        assert any(r.rule == rule for r in app.url_map.iter_rules())


def test_every_error_response_is_a_problem_document(client: FlaskClient) -> None:
    spec = _spec(client)
    problem = {"$ref": "#/components/schemas/ProblemDocument"}
    wrong = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS or method == "head":  # HEAD answers have no body
                continue
            for status, response in operation["responses"].items():
                if status != "default" and not status.startswith(("4", "5")):
                    continue
                while "$ref" in response:
                    response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
                if response.get("content") != {"application/problem+json": {"schema": problem}}:
                    wrong.append(f"{method.upper()} {path} {status}")
    assert wrong == []
    schema = spec["components"]["schemas"]["ProblemDocument"]
    assert {"type", "code", "status", "title"} <= set(schema["required"])
    assert set(schema["properties"]["code"]["enum"]) == set(CATALOGUE)


def test_the_real_error_matches_the_documented_one(client: FlaskClient) -> None:
    resp = client.get("/api/v1/targets")
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"
    assert {"type", "code", "status", "title"} <= set(resp.json)
    assert resp.json["type"] == "/api/problems#auth_required"


def test_authentication_is_described(client: FlaskClient) -> None:
    spec = _spec(client)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"bearerAuth": []}]
    # The logins are the operations without a token.
    assert spec["paths"]["/api/v1/auth/token"]["post"]["security"] == []
    assert spec["paths"]["/api/v1/sync/devices"]["post"]["security"] == []
    assert "security" not in spec["paths"]["/api/v1/targets"]["get"]
    assert "/api/problems" in spec["info"]["description"]


def test_plan_import_documents_its_form_fields_and_file(client: FlaskClient) -> None:
    operation = _spec(client)["paths"]["/api/v1/plans/import"]["post"]
    assert "parameters" not in operation
    ref = operation["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    schema = _spec(client)["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert {"department_id", "year", "title", "file"} <= set(schema["properties"])


def test_problem_catalogue_is_a_page_for_browsers(client: FlaskClient) -> None:
    resp = client.get("/api/problems", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert resp.status_code == 200
    assert resp.mimetype == "text/html"
    html = resp.get_data(as_text=True)
    for code, entry in CATALOGUE.items():
        assert f'id="{code}"' in html  # a problem's type, /api/problems#code, lands on its row
        assert entry.zh in html
    # Programs (and curl's */*) still get JSON.
    for accept in ("application/json", "*/*"):
        resp = client.get("/api/problems", headers={"Accept": accept})
        assert resp.mimetype == "application/json"
        assert {p["code"] for p in resp.json["problems"]} == set(CATALOGUE)


def test_every_operation_says_what_it_does(client: FlaskClient) -> None:
    spec = _spec(client)
    silent = [
        f"{method.upper()} {path}"
        for path, operations in spec["paths"].items()
        for method, operation in operations.items()
        if method in HTTP_METHODS and not (operation.get("summary") or operation.get("description"))
    ]
    assert silent == []


def test_without_a_token_every_api_answers_auth_required_before_reading_input(
    app: Flask, client: FlaskClient
) -> None:
    """Only the logins take no token, and the document says exactly those: a caller without one
    gets 401 even with a bad body, never a 422 describing what the endpoint expects."""
    spec_paths = _spec(client)["paths"]
    open_in_spec, open_in_app = set(), set()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        url = re.sub(r"<int:[^>]+>", "1", rule.rule)
        url = re.sub(r"<(?:[^:>]+:)?[^>]+>", "a" * 64, url)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            operation = spec_paths[_openapi_path(rule.rule)][method.lower()]
            if operation.get("security") == []:
                open_in_spec.add((method, rule.rule))
            resp = client.open(url, method=method, json={} if method in ("POST", "PUT", "PATCH") else None)
            if resp.status_code == 401:
                assert resp.json["code"] == "auth_required", (method, url)
            else:
                open_in_app.add((method, rule.rule))
    assert open_in_app == open_in_spec == {("POST", "/api/v1/auth/token"), ("POST", "/api/v1/sync/devices")}
