"""The factory, the OpenAPI document, the problem catalogue and the translations."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from server.errors import CATALOGUE

TEMPLATES = Path(__file__).resolve().parents[3] / "server" / "templates"
EN = Path(__file__).resolve().parents[3] / "server" / "translations" / "en"


def test_factory_wires_blueprints_and_extensions(app: Flask) -> None:
    assert {"sqlalchemy", "migrate", "csrf"} <= set(app.extensions)
    for name in ("accounts", "web", "directory", "planning", "draws"):
        assert name in app.blueprints


def test_openapi_document_is_served(client: FlaskClient) -> None:
    resp = client.get("/api/openapi.json")
    assert resp.status_code == 200
    spec = resp.json
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/auth/token" in spec["paths"]


def test_problem_catalogue_page_lists_every_code(client: FlaskClient) -> None:
    resp = client.get("/api/problems")
    assert resp.status_code == 200
    codes = {p["code"] for p in resp.json["problems"]}
    assert codes == set(CATALOGUE)


def test_unknown_api_path_is_a_problem(client: FlaskClient) -> None:
    resp = client.get("/api/v1/nope")
    assert resp.status_code == 404
    assert resp.json["code"] == "not_found"


def test_security_headers(client: FlaskClient) -> None:
    resp = client.get("/login")
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"


def test_every_template_string_has_an_english_translation() -> None:
    english: dict[str, str] = {}
    for path in EN.glob("*.json"):
        english.update(json.loads(path.read_text("utf-8")))
    pattern = re.compile(r"""_\(\s*(['"])(.+?)\1""")
    missing = set()
    for tpl in TEMPLATES.rglob("*.html"):
        for _quote, text in pattern.findall(tpl.read_text("utf-8")):
            if re.search(r"[\u4e00-\u9fff]", text) and text not in english:
                missing.add(f"{tpl.relative_to(TEMPLATES)}: {text}")
    assert not missing, "\n".join(sorted(missing))


def test_pages_run_under_a_strict_content_security_policy(client: FlaskClient) -> None:
    page = client.get("/login")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert '<script src="/static/site.js" defer></script>' in page.get_data(as_text=True)
    script = client.get("/static/site.js")
    assert script.status_code == 200 and "data-confirm" in script.get_data(as_text=True)
    script.close()
    # JSON answers need no policy; the field app sets its own (test_pwa_shell).
    assert "Content-Security-Policy" not in client.get("/api/v1/nope").headers


def test_no_template_has_inline_script_or_handlers() -> None:
    """The policy forbids them, so a browser would silently not run them."""
    offenders = [
        f"{path.relative_to(TEMPLATES)}: {match.group(0)}"
        for path in sorted(TEMPLATES.rglob("*.html"))
        for match in re.finditer(
            r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=|javascript:|\sstyle\s*=", path.read_text()
        )
    ]
    assert offenders == []


def test_foreign_keys_are_enforced_on_every_database(app: Flask) -> None:
    """SQLite enforces them only when asked (server/db.py asks on every connection)."""
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from server.extensions import db

    if db.engine.dialect.name == "sqlite":
        assert db.session.execute(text("PRAGMA foreign_keys")).scalar() == 1
    insert = text(
        "INSERT INTO department (code, name, level, parent_id, created_at)"
        " VALUES (:code, 'x', 'county', :parent, CURRENT_TIMESTAMP)"
    )
    db.session.execute(insert, {"code": "FK-OK", "parent": None})  # a valid row goes in
    with pytest.raises(IntegrityError) as caught:
        db.session.execute(insert, {"code": "FK-BAD", "parent": 987654})
    assert "foreign key" in str(caught.value).lower()
    db.session.rollback()


def test_a_missing_page_speaks_the_readers_language_and_points_to_the_public_pages(
    client: FlaskClient,
) -> None:
    html = client.get("/no-such-page").get_data(as_text=True)
    assert "没有这个页面" in html and "The requested URL" not in html  # not werkzeug's stock English
    assert 'href="/results"' in html and 'href="/public/draws"' in html
    client.get("/lang/en")
    html = client.get("/no-such-page").get_data(as_text=True)
    assert "There is no such page" in html and "没有这个页面" not in html
    # The API keeps the problem document, detail included.
    assert client.get("/api/v1/nope").json["code"] == "not_found"


def test_a_number_too_large_for_the_database_is_bad_input_not_a_crash(client: FlaskClient, make: Any) -> None:
    headers = make.auth_header(make.user(roles=["admin"]))
    huge = 10**20
    for url in (
        f"/api/v1/reports/kpi?year=2025&department_id={huge}",
        f"/api/v1/review/queue?department_id={huge}",
        f"/api/v1/follow-ups?inspection_id={huge}",
    ):
        resp = client.get(url, headers=headers)
        assert resp.status_code == 422 and resp.json["code"] == "validation_failed", url
    resp = client.post("/api/v1/publication/publish", json={"inspection_ids": [huge]}, headers=headers)
    assert resp.status_code == 422 and resp.json["code"] == "validation_failed"
