"""The field app's mount at /app/: the built shell files, their types and headers, nothing else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server import TestConfig, create_app
from tests.support.pwa import built_pwa


@pytest.fixture(scope="module")
def dist() -> Path:
    return built_pwa()


@pytest.fixture
def shell_client(dist: Path, tmp_path: Path) -> Iterator[FlaskClient]:
    # Serving static files touches no table, so an empty SQLite file is enough here.
    app: Flask = create_app(
        TestConfig,
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "VAR_DIR": tmp_path, "PWA_DIR": dist},
    )
    with app.app_context():
        yield app.test_client()


def csp_directives(resp) -> dict[str, str]:  # type: ignore[no-untyped-def]
    header = resp.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";")}


def test_index_is_the_shell_with_a_strict_csp(shell_client: FlaskClient) -> None:
    resp = shell_client.get("/app/")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
    assert resp.headers["Cache-Control"] == "no-cache"
    body = resp.get_data(as_text=True)
    assert 'src="app.js"' in body and 'rel="manifest"' in body
    assert "<script>" not in body and "style=" not in body  # nothing inline: the CSP forbids it
    csp = csp_directives(resp)
    assert csp["script-src"] == "script-src 'self'"
    assert csp["style-src"] == "style-src 'self'"
    assert csp["connect-src"] == "connect-src 'self'"
    assert csp["object-src"] == "object-src 'none'"
    assert csp["frame-ancestors"] == "frame-ancestors 'none'"
    assert "'unsafe-inline'" not in resp.headers["Content-Security-Policy"]
    assert "'unsafe-eval'" not in resp.headers["Content-Security-Policy"]


def test_service_worker_headers(shell_client: FlaskClient, dist: Path) -> None:
    resp = shell_client.get("/app/sw.js")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == "text/javascript; charset=utf-8"
    assert resp.headers["Service-Worker-Allowed"] == "/app/"
    # Revalidated every time (no max-age, no immutable) so a new version is seen at once.
    assert resp.headers["Cache-Control"] == "no-cache"
    version = json.loads((dist / "shell.json").read_text())["version"]
    assert version in resp.get_data(as_text=True)


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("app.js", "text/javascript; charset=utf-8"),
        ("app.css", "text/css; charset=utf-8"),
        ("manifest.webmanifest", "application/manifest+json"),
        ("icons/icon-192.png", "image/png"),
        ("icons/maskable-512.png", "image/png"),
    ],
)
def test_shell_files_have_their_types(shell_client: FlaskClient, name: str, content_type: str) -> None:
    resp = shell_client.get(f"/app/{name}")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == content_type
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


def test_manifest_makes_the_app_installable(shell_client: FlaskClient, dist: Path) -> None:
    manifest = json.loads(shell_client.get("/app/manifest.webmanifest").get_data())
    assert manifest["scope"] == "/app/" and manifest["start_url"].startswith("/app/")
    assert manifest["display"] == "standalone"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in manifest["icons"]:
        assert (dist / icon["src"]).is_file()


def test_conditional_get_answers_304(shell_client: FlaskClient) -> None:
    first = shell_client.get("/app/app.js")
    again = shell_client.get("/app/app.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("name", ["shell.json", "../README.md", "icons/make_icons.py", "nope.js", "%2e%2e/x"])
def test_only_built_shell_files_are_served(shell_client: FlaskClient, name: str) -> None:
    assert shell_client.get(f"/app/{name}").status_code == 404


def test_missing_build_is_a_clear_error(tmp_path: Path) -> None:
    overrides = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}", "VAR_DIR": tmp_path}
    app = create_app(TestConfig, {**overrides, "PWA_DIR": tmp_path})
    with app.app_context():
        resp = app.test_client().get("/app/", headers={"Accept": "application/json"})
    assert resp.status_code == 503
    assert resp.get_json()["code"] == "pwa_not_built"
