"""Draw fixtures: a builder for departments, items, targets, inspectors and a task of a published plan.

Everything is made directly with the models (no planning or directory services), so these tests
depend only on the schema.
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.accounts.models import User
from server.directory.creditcode import make_code
from server.directory.models import Conflict, Department, Inspector, Item, Target, TargetTag
from server.extensions import db
from server.inspections.models import Inspection, InspectionTask, TeamMember
from server.planning.models import Plan, Task, TaskCooperation, TaskItem
from tests.support.factories import auth_header, login_page

DRAW_DAY = dt.date(2025, 3, 10)


class Builder:
    """Test data for draws; every method flushes, ``commit()`` when a test needs it stored."""

    def __init__(self) -> None:
        self._n = itertools.count(1)
        self._rng = random.Random(20250310)

    def department(self, name: str | None = None, **kw: Any) -> Department:
        n = next(self._n)
        code, level = kw.pop("code", f"DD{n:04d}"), kw.pop("level", "county")
        dept = Department(code=code, name=name or f"部门{n}", level=level, **kw)
        db.session.add(dept)
        db.session.flush()
        return dept

    def item(self, department: Department, specialty: str | None = None, **kw: Any) -> Item:
        n = next(self._n)
        item = Item(code=f"IT{n:04d}", name=kw.pop("name", f"事项{n}"), department_id=department.id, **kw)
        item.specialty = specialty
        db.session.add(item)
        db.session.flush()
        return item

    def target(
        self,
        risk_class: str | None = "B",
        last_inspected_on: dt.date | None = dt.date(2024, 6, 1),
        **kw: Any,
    ) -> Target:
        n = next(self._n)
        tags = kw.pop("tags", [])
        target = Target(
            code=kw.pop("code", None) or make_code("enterprise", "140581", self._rng),
            name=kw.pop("name", f"测试企业{n}有限公司"),
            kind=kw.pop("kind", "enterprise"),
            status=kw.pop("status", "active"),
            district=kw.pop("district", "城区"),
            industry=kw.pop("industry", "餐饮"),
            risk_class=risk_class,
            last_inspected_on=last_inspected_on,
            **kw,
        )
        target.tags = [TargetTag(tag=t) for t in tags]
        db.session.add(target)
        db.session.flush()
        return target

    def targets(self, n: int, **kw: Any) -> list[Target]:
        return [self.target(**kw) for _ in range(n)]

    def inspector(self, department: Department, **kw: Any) -> Inspector:
        n = next(self._n)
        ins = Inspector(
            code=kw.pop("code", f"ZF{n:05d}"),
            name=kw.pop("name", f"执法人员{n}"),
            department_id=department.id,
            credential_no=f"CRED{n}",
            credential_valid_until=kw.pop("credential_valid_until", dt.date(2030, 12, 31)),
            kind=kw.pop("kind", "general"),
            status=kw.pop("status", "active"),
            specialties=kw.pop("specialties", ["食品"]),
            **kw,
        )
        db.session.add(ins)
        db.session.flush()
        return ins

    def inspectors(self, department: Department, n: int, **kw: Any) -> list[Inspector]:
        return [self.inspector(department, **kw) for _ in range(n)]

    def task(
        self,
        department: Department,
        items: list[Item] | None = None,
        cooperating: list[Department] | None = None,
        plan_status: str = "published",
        **kw: Any,
    ) -> Task:
        n = next(self._n)
        plan = Plan(
            year=2025, department_id=department.id, title=f"2025年抽查计划{n}", version=n, status=plan_status
        )
        db.session.add(plan)
        db.session.flush()
        fields: dict[str, Any] = {
            "plan_id": plan.id,
            "seq": 1,
            "name": f"食品经营抽查任务{n}",
            "task_type": "undirected",
            "scope": {},
            "class_ratios_bp": {"A": 100, "B": 200, "C": 1000, "D": 3000},
            "base_ratio_bp": 300,
            "window_start": dt.date(2025, 4, 1),
            "window_end": dt.date(2025, 6, 30),
            "initiating_department_id": department.id,
            "team_size": 2,
        }
        fields.update(kw)
        task = Task(**fields)
        task.item_links = [TaskItem(item_id=i.id, position=p) for p, i in enumerate(items or [])]
        task.cooperating = [TaskCooperation(department_id=d.id) for d in cooperating or []]
        db.session.add(task)
        db.session.flush()
        return task

    def conflict(self, inspector: Inspector, target: Target) -> Conflict:
        c = Conflict(inspector_id=inspector.id, target_id=target.id, reason="亲属关系")
        db.session.add(c)
        db.session.flush()
        return c

    def visit(
        self,
        target: Target,
        members: list[tuple[Inspector, str]],
        task: Task,
        state: str = "assigned",
        window: tuple[dt.date, dt.date] = (dt.date(2025, 5, 1), dt.date(2025, 5, 31)),
        draw_id: int | None = None,
    ) -> Inspection:
        """An existing visit (as another task's draw would leave it), linked to ``task``."""
        inspection = Inspection(
            target_id=target.id, window_start=window[0], window_end=window[1], state=state
        )
        db.session.add(inspection)
        db.session.flush()
        for ins, role in members:
            db.session.add(
                TeamMember(
                    inspection_id=inspection.id,
                    inspector_id=ins.id,
                    role=role,
                    department_id=ins.department_id,
                )
            )
        if draw_id is not None:
            db.session.add(InspectionTask(inspection_id=inspection.id, task_id=task.id, draw_id=draw_id))
        db.session.flush()
        return inspection

    def commit(self) -> None:
        db.session.commit()


@pytest.fixture
def build(app: Flask) -> Builder:
    return Builder()


@pytest.fixture
def county(build: Builder) -> dict[str, Any]:
    """A bureau with a food item, 40 targets across the risk classes and 6 inspectors, one task."""
    bureau = build.department("高平市市场监督管理局")
    item = build.item(bureau, specialty="食品", name="食品经营者落实食品安全主体责任情况检查")
    targets = []
    for i, cls in enumerate(["A", "B", "B", "C", "D", None] * 7):
        year = 2024 - (i % 4)
        targets.append(build.target(risk_class=cls, last_inspected_on=dt.date(year, 5, 1) if i % 5 else None))
    inspectors = build.inspectors(bureau, 6)
    task = build.task(bureau, items=[item])
    build.commit()
    return {"bureau": bureau, "item": item, "targets": targets, "inspectors": inspectors, "task": task}


@pytest.fixture
def headers(app: Flask) -> Callable[[User], dict[str, str]]:
    counter = itertools.count()

    def make_headers(user: User) -> dict[str, str]:
        return auth_header(user, device_id=f"device-{next(counter):06d}")

    return make_headers


@pytest.fixture
def page_as(app: Flask) -> Callable[[User], FlaskClient]:
    """A fresh client logged in on the pages as ``user``."""

    def login(user: User) -> FlaskClient:
        client = app.test_client()
        login_page(client, user)
        return client

    return login
