"""Admin account pages: create, edit roles, reset a password, revoke a device, grants."""

from __future__ import annotations

import re
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import select

from server.accounts.models import ApiToken, DepartmentGrant, User
from server.extensions import db
from tests.support.factories import csrf_from, login_page


def test_admin_creates_and_edits_a_user(client: FlaskClient, make: Any) -> None:
    admin = make.user(roles=["admin"])
    dept = make.department()
    login_page(client, admin)
    csrf = csrf_from(client, "/admin/users/new")
    bad = client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf,
            "username": "li",
            "display_name": "李",
            "roles": ["inspector"],
            "password": "short",
        },
    )
    assert bad.status_code == 200
    assert "密码至少 10 位" in bad.get_data(as_text=True)
    assert db.session.scalar(select(User).where(User.username == "li")) is None
    resp = client.post(
        "/admin/users/new",
        data={
            "csrf_token": csrf,
            "username": "li",
            "display_name": "李四",
            "roles": ["inspector"],
            "password": "long enough pw",
            "department_id": str(dept.id),
        },
    )
    assert resp.status_code == 302
    li = db.session.scalar(select(User).where(User.username == "li"))
    assert li is not None and li.roles == {"inspector"} and li.department_id == dept.id
    resp = client.post(
        f"/admin/users/{li.id}",
        data={
            "csrf_token": csrf,
            "display_name": "李四",
            "roles": ["inspector", "supervisor"],
            "password": "",
        },
    )
    assert resp.status_code == 302
    db.session.refresh(li)
    assert li.roles == {"inspector", "supervisor"}
    assert li.is_active is False  # the unchecked box disables


def test_admin_revokes_a_device_token(client: FlaskClient, make: Any) -> None:
    admin = make.user(roles=["admin"])
    phone_user = make.user(roles=["inspector"])
    headers = make.auth_header(phone_user)
    token = db.session.scalar(select(ApiToken).where(ApiToken.user_id == phone_user.id))
    login_page(client, admin)
    csrf = csrf_from(client, f"/admin/users/{phone_user.id}")
    assert client.post(f"/admin/tokens/{token.id}/revoke", data={"csrf_token": csrf}).status_code == 302
    assert client.get("/api/v1/auth/me", headers=headers).json["code"] == "token_invalid"


def test_grants_page(client: FlaskClient, make: Any) -> None:
    admin = make.user(roles=["admin"])
    a, b = make.department(), make.department()
    login_page(client, admin)
    assert '<a href="/admin/users">← 用户管理</a>' in client.get("/admin/grants").get_data(as_text=True)
    csrf = csrf_from(client, "/admin/grants")
    client.post(
        "/admin/grants", data={"csrf_token": csrf, "grantee_id": a.id, "department_id": b.id, "action": "add"}
    )
    assert db.session.scalar(select(DepartmentGrant).where(DepartmentGrant.grantee_id == a.id)) is not None
    client.post(
        "/admin/grants",
        data={"csrf_token": csrf, "grantee_id": a.id, "department_id": b.id, "action": "remove"},
    )
    assert db.session.scalar(select(DepartmentGrant).where(DepartmentGrant.grantee_id == a.id)) is None


def test_non_admin_is_refused(client: FlaskClient, make: Any) -> None:
    sup = make.user(roles=["supervisor"])
    login_page(client, sup)
    assert client.get("/admin/users").status_code == 403
    anonymous = client.application.test_client()
    assert anonymous.get("/admin/users").status_code == 302


def test_password_change_ends_web_sessions(client: FlaskClient, make: Any) -> None:
    admin = make.user(roles=["admin"])
    other = make.user(roles=["supervisor"])
    other_client = client.application.test_client()
    login_page(other_client, other)
    assert other.display_name in other_client.get("/").get_data(as_text=True)
    login_page(client, admin)
    csrf = csrf_from(client, f"/admin/users/{other.id}")
    client.post(
        f"/admin/users/{other.id}",
        data={
            "csrf_token": csrf,
            "display_name": other.display_name,
            "roles": ["supervisor"],
            "is_active": "on",
            "password": "a brand new password",
        },
    )
    assert other.display_name not in other_client.get("/").get_data(as_text=True)


def test_the_user_list_pages_through_every_account(client: FlaskClient, make: Any) -> None:
    from server.accounts.admin_views import USERS_PER_PAGE
    from server.accounts.services import create_user

    admin = make.user(roles=["admin"], username="a-admin")
    for n in range(USERS_PER_PAGE + 4):  # more than a page, without a commit per user
        create_user(f"insp{n:03d}", "correct horse battery staple", f"检查员{n}", ["inspector"], None)
    db.session.commit()
    login_page(client, admin)
    first = client.get("/admin/users").get_data(as_text=True)
    rows = re.compile(r'href="/admin/users/\d+"')
    assert len(rows.findall(first)) == USERS_PER_PAGE
    assert f"第1/2页，共{USERS_PER_PAGE + 5}个用户" in first and "/admin/users?page=2" in first
    second = client.get("/admin/users?page=2").get_data(as_text=True)
    assert len(rows.findall(second)) == 5 and "insp103" in second and "/admin/users?page=1" in second
    found = client.get("/admin/users?q=insp10").get_data(as_text=True)
    assert "第1/1页，共4个用户" in found  # insp100 … insp103
    client.set_cookie("lang", "en")
    assert f"Page 1 of 2, {USERS_PER_PAGE + 5} users" in client.get("/admin/users").get_data(as_text=True)
