"""Login on pages and the API, throttling, token revocation, CSRF."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.support.factories import PASSWORD, csrf_from


def test_api_login_issues_a_device_token_that_can_be_revoked(client: FlaskClient, make: Any) -> None:
    u = make.user(roles=["inspector"])
    resp = client.post(
        "/api/v1/auth/token",
        json={
            "username": u.username,
            "password": PASSWORD,
            "device_id": "phone-abcdef12",
            "device_name": "Redmi",
        },
    )
    assert resp.status_code == 201
    token = resp.json["token"]
    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/auth/me", headers=headers)
    assert me.status_code == 200 and me.json["roles"] == ["inspector"]
    assert client.delete("/api/v1/auth/token", headers=headers).status_code == 204
    again = client.get("/api/v1/auth/me", headers=headers)
    assert again.status_code == 401 and again.json["code"] == "token_invalid"


def test_api_without_token_is_a_coded_problem(client: FlaskClient) -> None:
    resp = client.get("/api/v1/auth/me")
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"
    assert resp.json["code"] == "auth_required"


def test_wrong_password_then_lockout(client: FlaskClient, make: Any) -> None:
    u = make.user()
    body = {"username": u.username, "password": "nope", "device_id": "phone-abcdef12"}
    codes = [client.post("/api/v1/auth/token", json=body).json["code"] for _ in range(5)]
    assert codes == ["invalid_credentials"] * 5
    body["password"] = PASSWORD  # even the right password is refused while locked
    resp = client.post("/api/v1/auth/token", json=body)
    assert resp.status_code == 429 and resp.json["code"] == "login_throttled"


def test_login_validation_problem_lists_fields(client: FlaskClient) -> None:
    resp = client.post("/api/v1/auth/token", json={"username": "x"})
    assert resp.status_code == 422
    assert resp.json["code"] == "validation_failed"
    assert "password" in resp.json["errors"]["json"]


def test_page_login_requires_csrf(client: FlaskClient, make: Any) -> None:
    u = make.user()
    resp = client.post("/login", data={"username": u.username, "password": PASSWORD})
    assert resp.status_code == 400
    csrf = csrf_from(client)
    resp = client.post("/login", data={"username": u.username, "password": PASSWORD, "csrf_token": csrf})
    assert resp.status_code == 302
    home = client.get("/")
    assert u.display_name in home.get_data(as_text=True)


def test_login_never_redirects_off_site(client: FlaskClient, make: Any) -> None:
    u = make.user()
    csrf = csrf_from(client)
    resp = client.post(
        "/login?next=//evil.example/x",
        data={"username": u.username, "password": PASSWORD, "csrf_token": csrf},
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


def test_english_on_request(client: FlaskClient) -> None:
    assert "登录" in client.get("/login").get_data(as_text=True)
    client.get("/lang/en")
    resp = client.get("/api/v1/auth/me")
    assert resp.json["title"] == "Authentication required"


def test_token_use_is_recorded_at_most_once_a_minute(client: FlaskClient, make: Any) -> None:
    import datetime as dt

    from server.accounts.models import ApiToken
    from server.extensions import db

    u = make.user(roles=["inspector"])
    headers = make.auth_header(u)
    token = db.session.query(ApiToken).one()
    assert token.last_used_at is None
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    db.session.refresh(token)
    first = token.last_used_at
    assert first is not None
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    db.session.refresh(token)
    assert token.last_used_at == first  # within the minute: no write
    token.last_used_at = first - dt.timedelta(minutes=2)
    db.session.commit()
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    db.session.refresh(token)
    assert token.last_used_at is not None and token.last_used_at > first - dt.timedelta(minutes=2)
