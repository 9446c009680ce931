"""Planning fixtures: a county bureau, its staff, API headers and logged-in page clients."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.accounts.models import User
from server.directory.models import Department
from server.extensions import db
from server.planning import services
from server.planning.models import Plan, Task
from tests.support.factories import auth_header, login_page


@pytest.fixture
def bureau(make: Any) -> Department:
    return make.department(code="GP-SJJ", name="高平市市场监督管理局", level="county")


@pytest.fixture
def other_bureau(make: Any) -> Department:
    return make.department(code="YP-SJJ", name="原平市市场监督管理局", level="county")


@pytest.fixture
def admin(make: Any, bureau: Department) -> User:
    return make.user(roles=["admin"], department=bureau)


@pytest.fixture
def supervisor(make: Any, bureau: Department) -> User:
    return make.user(roles=["supervisor"], department=bureau)


@pytest.fixture
def leader(make: Any, bureau: Department) -> User:
    return make.user(roles=["leader"], department=bureau)


@pytest.fixture
def headers(app: Flask) -> Callable[[User], dict[str, str]]:
    counter = iter(range(10_000))

    def build(user: User) -> dict[str, str]:
        return auth_header(user, device_id=f"device-{next(counter):06d}")

    return build


@pytest.fixture
def page_as(app: Flask) -> Callable[[User], FlaskClient]:
    """A fresh client logged in on the pages as the user."""

    def login(user: User) -> FlaskClient:
        client = app.test_client()
        login_page(client, user)
        return client

    return login


def task_data(**overrides: Any) -> dict[str, Any]:
    """Valid service data for one task row of a 2025 plan."""
    data: dict[str, Any] = {
        "name": "对企业的不定向双随机抽查",
        "task_type": "undirected",
        "item_names": ["登记事项检查", "公示信息检查"],
        "items_text": "1.登记事项检查；2.公示信息检查",
        "scope_text": "全市范围内存续的企业",
        "ratio_text": "3%; 1次/年",
        "window_start": dt.date(2025, 7, 1),
        "window_end": dt.date(2025, 11, 30),
        "window_text": "7月—11月",
        "mode": "county_county",
    }
    data.update(overrides)
    return data


@pytest.fixture
def draft(app: Flask, bureau: Department) -> Plan:
    """A draft 2025 plan of the bureau with one task."""
    plan = services.create_plan(bureau, 2025, "高平市2025年度双随机抽查工作计划")
    services.add_task(plan, task_data())
    db.session.commit()
    return plan


@pytest.fixture
def first_task(draft: Plan) -> Task:
    return draft.tasks[0]
