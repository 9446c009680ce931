"""Directory fixtures: a department with an admin and a supervisor, and makers for directory rows."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from server.accounts.models import User
from server.directory.creditcode import make_code
from server.directory.models import (
    Checkpoint,
    Department,
    InspectionRecord,
    Inspector,
    Item,
    Target,
    TargetTag,
)
from server.extensions import db

_n = itertools.count(1)
_rng = random.Random(20261123)


def credit_code(kind: str = "enterprise", region: str = "140000") -> str:
    return make_code(kind, region, _rng)


def add_target(name: str = "", **kw: Any) -> Target:
    """A committed target; ``tags`` and ``history`` (list of dicts) may be given."""
    n = next(_n)
    kind = kw.pop("kind", "enterprise")
    tags = kw.pop("tags", [])
    history = kw.pop("history", [])
    target = Target(
        code=kw.pop("code", None) or credit_code(kind), name=name or f"测试对象{n}", kind=kind, **kw
    )
    target.tags = [TargetTag(tag=t) for t in tags]
    target.history = [InspectionRecord(**h) for h in history]
    db.session.add(target)
    db.session.commit()
    return target


def add_inspector(department: Department, **kw: Any) -> Inspector:
    n = next(_n)
    fields: dict[str, Any] = {"code": f"INS{n:05d}", "name": f"执法员{n}", "department_id": department.id}
    fields.update(kw)
    inspector = Inspector(**fields)
    db.session.add(inspector)
    db.session.commit()
    return inspector


def add_item(department: Department, checkpoints: tuple[str, ...] = (), **kw: Any) -> Item:
    n = next(_n)
    fields: dict[str, Any] = {"code": f"ITEM{n:04d}", "name": f"抽查事项{n}", "department_id": department.id}
    fields.update(kw)
    item = Item(**fields)
    item.checkpoints = [Checkpoint(position=i, text=t) for i, t in enumerate(checkpoints, start=1)]
    db.session.add(item)
    db.session.commit()
    return item


@dataclass
class World:
    dept: Department
    other_dept: Department
    admin: User
    supervisor: User
    inspector_user: User
    auth: Callable[[User], dict[str, str]]


@pytest.fixture
def world(make: Any) -> World:
    city = make.department(name="吕梁市市场监督管理局", level="city")
    dept = make.department(name="文水县市场监督管理局", level="county", parent_id=city.id)
    other = make.department(name="交城县市场监督管理局", level="county", parent_id=city.id)
    headers: dict[int, dict[str, str]] = {}

    def auth(u: User) -> dict[str, str]:
        if u.id not in headers:
            headers[u.id] = make.auth_header(u, device_id=f"device-{u.id:05d}")
        return headers[u.id]

    return World(
        dept=dept,
        other_dept=other,
        admin=make.user(roles=["admin"], department=dept),
        supervisor=make.user(roles=["supervisor"], department=dept),
        inspector_user=make.user(roles=["inspector"], department=dept),
        auth=auth,
    )
