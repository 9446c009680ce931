"""The KPI figures, per department and per task, what each user sees, the CSV and the snapshots."""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server.directory.models import Target
from server.draws.models import Draw
from server.extensions import db
from server.planning.models import Plan, Task
from server.reports import services
from server.reports.models import KpiSnapshot
from tests.support.factories import login_page
from tests.support.field import FieldWorld, field_world
from tests.support.ops import add_inspection, approve, credit_code, follow_up, publish, staff, submit, utc

D = dt.date
TODAY = D(2025, 12, 1)


@dataclass
class Kpis:
    world: FieldWorld
    other: FieldWorld


def _draw(world: FieldWorld, use_risk_classes: bool, task: Task | None = None) -> None:
    draw = db.session.get(Draw, world.draw.id) if task is None else None
    if draw is None:
        assert task is not None
        draw = Draw(
            task_id=task.id,
            attempt=1,
            algorithm="test",
            server_entropy="0" * 64,
            seed="0" * 64,
            snapshot_hash="0" * 64,
            snapshot_rows=1,
            parameters={},
            strata={},
        )
        db.session.add(draw)
    draw.parameters = {"use_risk_classes": use_risk_classes}
    db.session.commit()


@pytest.fixture
def kpis(app: Flask) -> Kpis:
    """Department 1: a task drawn by risk class with five inspections in every state of interest and
    a second task drawn without classes. Department 2: one task, one inspection."""
    world = field_world()
    _draw(world, True)
    # A: on time, published, a problem, its follow-up closed.
    a = world.inspection
    submit(a, D(2025, 9, 26), D(2025, 10, 30))
    approve(a, utc("2025-10-20 10:00"), ("not_disclosed",))
    publish(a, utc("2025-10-21 10:00"))
    follow_up(a, closed=True)
    # B: approved a day late, not yet published; one follow-up still open.
    b = add_inspection(world)
    submit(b, D(2025, 9, 26), D(2025, 10, 30))
    approve(b, utc("2025-10-31 10:00"), ("corrected",))
    b.late = True
    follow_up(b, closed=False)
    # C: overdue, not approved (视为未完成).
    c = add_inspection(world)
    submit(c, D(2025, 10, 9), D(2025, 11, 6))
    c.late = True
    # D: checked, not yet due.
    d = add_inspection(world)
    submit(d, D(2025, 11, 28), D(2025, 12, 26))
    # E: approved on time, withheld by a leader's decision.
    e = add_inspection(world)
    submit(e, D(2025, 9, 26), D(2025, 10, 30))
    approve(e, utc("2025-10-22 10:00"), withheld=True)
    # F: still in the field (not checked): counts as an inspection, in no rate.
    add_inspection(world, state="in_progress")
    # G: a cooperative is not an enterprise: outside coverage.
    g = add_inspection(world, kind="cooperative")
    submit(g, D(2025, 10, 9), D(2025, 11, 6))
    approve(g, utc("2025-10-20 10:00"))
    publish(g, utc("2025-10-21 10:00"))
    # A second task of the same plan, drawn without risk classes, visiting A's target again.
    task2 = Task(
        plan_id=world.task.plan_id,
        seq=2,
        name="第二项任务",
        task_type="directed",
        window_start=D(2025, 6, 1),
        window_end=D(2025, 11, 30),
        initiating_department_id=world.department.id,
        use_risk_classes=False,
    )
    db.session.add(task2)
    db.session.flush()
    _draw(world, False, task2)
    h = add_inspection(world, task=task2)
    h.target_id = a.target_id
    submit(h, D(2025, 10, 9), D(2025, 11, 6))
    approve(h, utc("2025-10-20 10:00"))
    # Active enterprises in the directory that nobody checked: 10 targets checked + these = 100.
    db.session.add_all(
        Target(code=credit_code(900 + n), name=f"未抽中企业{n}", kind="enterprise") for n in range(95)
    )
    db.session.add(Target(code=credit_code(999), name="已注销企业", kind="enterprise", status="deregistered"))
    other = field_world(name="另一部门的对象有限公司")
    _draw(other, True)
    submit(other.inspection, D(2025, 10, 9), D(2025, 11, 6))
    approve(other.inspection, utc("2025-10-20 10:00"))
    publish(other.inspection, utc("2025-10-21 10:00"))
    db.session.commit()
    return Kpis(world, other)


def _rates(row: services.KpiRow) -> dict[str, tuple[int, int]]:
    return {m: (r.num, r.den) for m, r in row.ratios.items()}


def test_figures_per_department_task_and_total(kpis: Kpis) -> None:
    report = services.kpi_report(2025, TODAY)
    # Active enterprises: 95 unchecked, A–F's six targets, H's own (it visits A's), the other one.
    enterprises = 95 + 6 + 1 + 1
    assert report.enterprises == enterprises
    first, second = sorted(report.departments, key=lambda r: r.key != kpis.world.department.id)
    assert first.key == kpis.world.department.id
    assert first.inspections == 8 and first.late == 2
    assert _rates(first) == {
        # A (and H, the same target), B, C, D, E were checked; F was not; G is a cooperative.
        "coverage": (5, enterprises),
        # Task 1's draw used risk classes, task 2's did not.
        "risk_draws": (1, 2),
        # Judged: A, B (approved late), C (overdue), E, G, H; D is not due yet, F not checked.
        "on_time": (4, 6),
        # Approved A, B, G, H (E is withheld: never public); published A, G.
        "publication": (2, 4),
        "follow_up": (1, 2),
        # Approved A, B, E, G, H; A and B have a problem category.
        "problems": (2, 5),
    }
    assert _rates(second)["coverage"] == (1, enterprises) and second.inspections == 1
    assert report.total.inspections == 9
    assert _rates(report.total)["coverage"] == (6, enterprises)
    assert _rates(report.total)["risk_draws"] == (2, 3)
    assert _rates(report.total)["publication"] == (3, 5)

    by_task = {row.key: row for row in report.tasks}
    task1 = by_task[kpis.world.task.id]
    task2 = next(row for row in report.tasks if row.label == "第二项任务")
    assert task1.inspections == 7 and task2.inspections == 1
    assert task1.uses_risk_classes is True and task1.class_ratios_bp == {
        "A": 100,
        "B": 200,
        "C": 1000,
        "D": 3000,
    }
    assert _rates(task2) == {
        "coverage": (1, enterprises),
        "risk_draws": (0, 1),
        "on_time": (1, 1),
        "publication": (0, 1),
        "follow_up": (0, 0),
        "problems": (0, 1),
    }
    assert task2.ratios["follow_up"].rate is None


def test_supervisors_see_their_departments_only(kpis: Kpis, client: FlaskClient, make: Any) -> None:
    supervisor = staff(kpis.world)
    login_page(client, supervisor)
    html = client.get("/reports/kpi?year=2025").get_data(as_text=True)
    assert kpis.world.task.name in html and "第二项任务" in html
    assert kpis.other.department.name not in html
    assert "<svg" in html and "企业抽查覆盖率" in html
    assert client.get(f"/reports/kpi?year=2025&department_id={kpis.other.department.id}").status_code == 404
    body = client.get("/reports/kpi.csv?year=2025").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[0][:6] == ["年度", "层级", "部门", "抽查任务", "检查数", "视为未完成"]
    levels = [r[1] for r in rows[1:]]
    assert levels == ["合计", "部门", "任务", "任务"]
    total = rows[1]
    assert total[4] == "8" and total[5] == "2"
    assert kpis.other.department.name not in body


def test_admins_see_every_department_and_can_filter(kpis: Kpis, client: FlaskClient, make: Any) -> None:
    login_page(client, make.user(roles=["admin"]))
    html = client.get("/reports/kpi?year=2025").get_data(as_text=True)
    assert kpis.world.department.name in html and kpis.other.department.name in html
    assert "按部门" in html  # two departments: the department charts are shown
    one = client.get(f"/reports/kpi?year=2025&department_id={kpis.other.department.id}").get_data(
        as_text=True
    )
    assert kpis.other.task.name in one and "第二项任务" not in one
    client.set_cookie("lang", "en")
    english = client.get("/reports/kpi?year=2025").get_data(as_text=True)
    assert "Enterprise coverage" in english and "By department" in english


def test_inspectors_have_no_dashboard(kpis: Kpis, client: FlaskClient) -> None:
    login_page(client, kpis.world.users["a"])
    assert client.get("/reports/kpi").status_code == 403
    assert client.get("/reports/kpi.csv").status_code == 403


def test_snapshot_job_is_idempotent_per_day_and_feeds_the_trend(
    kpis: Kpis, client: FlaskClient, make: Any, app: Flask
) -> None:
    # The job counts the current year; freeze "today" inside 2025 by the injected clock.
    first = services.snapshot_kpis(utc("2025-11-30 03:00"))
    db.session.commit()
    assert first == {"day": "2025-11-30", "rows": 3}  # the total and two departments
    services.snapshot_kpis(utc("2025-11-30 05:00"))
    services.snapshot_kpis(utc("2025-12-01 03:00"))
    db.session.commit()
    snaps = db.session.scalars(select(KpiSnapshot).order_by(KpiSnapshot.id)).all()
    assert len(snaps) == 6
    total = services.snapshots(2025, None)
    assert [s.taken_on for s in total] == [D(2025, 11, 30), D(2025, 12, 1)]
    assert total[0].taken_at == utc("2025-11-30 05:00")  # replaced by the later run that day
    assert total[-1].metrics["coverage"]["num"] == 6
    login_page(client, make.user(roles=["admin"]))
    html = client.get("/reports/kpi?year=2025").get_data(as_text=True)
    assert "变化趋势" in html and "<polyline" in html


def test_years_offered_come_from_published_plans(kpis: Kpis, make: Any) -> None:
    admin = make.user(roles=["admin"])
    db.session.add(Plan(year=2024, department_id=kpis.world.department.id, title="旧计划", status="draft"))
    db.session.commit()
    assert services.available_years(admin) == [2025]


def test_a_check_counts_for_its_plans_year_and_that_year_is_the_default(kpis: Kpis, make: Any) -> None:
    admin = make.user(roles=["admin"])
    before = services.kpi_report(2025, TODAY).total.ratios["coverage"].num
    # A 2025 task's visit finished only in January 2026: still the 2025 plan's coverage.
    late = add_inspection(kpis.world)
    submit(late, D(2026, 1, 12), D(2026, 2, 10))
    db.session.commit()
    assert services.kpi_report(2025, D(2026, 2, 1)).total.ratios["coverage"].num == before + 1
    assert services.kpi_report(2026, D(2026, 2, 1)).total.ratios["coverage"].num == 0
    # 2026 has no plan yet: the dashboard opens on 2025, not on an empty year.
    assert services.default_year(admin, D(2026, 2, 1)) == 2025
    db.session.add(
        Plan(year=2026, department_id=kpis.world.department.id, title="新计划", status="published")
    )
    db.session.commit()
    assert services.default_year(admin, D(2026, 2, 1)) == 2026
