"""Factory functions for tests: each makes a valid object; keyword arguments override fields."""

from __future__ import annotations

import itertools
from typing import Any

from flask.testing import FlaskClient

from server.accounts.models import User
from server.accounts.services import create_user, issue_token
from server.directory.models import Department
from server.extensions import db

_counter = itertools.count(1)

PASSWORD = "correct horse battery staple"


def department(**kw: Any) -> Department:
    n = next(_counter)
    fields: dict[str, Any] = {"code": f"D{n:04d}", "name": f"测试部门{n}", "level": "county"}
    fields.update(kw)
    dept = Department(**fields)
    db.session.add(dept)
    db.session.commit()
    return dept


def user(
    roles: tuple[str, ...] | list[str] = ("admin",), department: Department | None = None, **kw: Any
) -> User:
    n = next(_counter)
    u = create_user(
        kw.pop("username", f"user{n}"),
        kw.pop("password", PASSWORD),
        kw.pop("display_name", f"用户{n}"),
        list(roles),
        department.id if department else None,
    )
    for k, v in kw.items():
        setattr(u, k, v)
    db.session.commit()
    return u


def token(u: User, device_id: str = "device-0001") -> str:
    raw = issue_token(u, device_id, "test phone")
    db.session.commit()
    return raw


def auth_header(u: User, device_id: str = "device-0001") -> dict[str, str]:
    return {"Authorization": f"Bearer {token(u, device_id)}"}


def csrf_from(client: FlaskClient, path: str = "/login") -> str:
    """Fetch a page and return the CSRF token from its <meta name="csrf-token">."""
    html = client.get(path).get_data(as_text=True)
    marker = 'name="csrf-token" content="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


def login_page(client: FlaskClient, u: User, password: str = PASSWORD) -> None:
    csrf = csrf_from(client)
    resp = client.post("/login", data={"username": u.username, "password": password, "csrf_token": csrf})
    assert resp.status_code == 302, resp.get_data(as_text=True)
