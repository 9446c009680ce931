"""``flask demo`` on a small county, on both databases: what a person trying Spotcheck gets."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from sqlalchemy import func, select, text
from werkzeug.security import check_password_hash

from server.accounts.models import User
from server.audit.models import AuditEvent
from server.audit.services import verify_chain
from server.demo import PASSWORD
from server.directory import creditcode
from server.directory.grams import name_grams
from server.directory.models import (
    MARKET_KINDS,
    Conflict,
    Department,
    InspectionRecord,
    Inspector,
    Item,
    Target,
    TargetTag,
)
from server.draws.models import Draw, DrawnTarget
from server.draws.services import verify_draw
from server.extensions import db
from server.inspections.models import Inspection, TeamMember
from server.planning.models import Plan, Task

SMALL = "300"


def run_demo(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["demo", *args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.output


def count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_small_demo_builds_a_county_with_a_published_plan_and_verified_draws(app: Flask) -> None:
    code, output = run_demo(app, "--targets", SMALL, "--seed", "7")
    assert code == 0, output
    assert PASSWORD in output and "admin" in output

    # Departments: the bureau with its parents, 16 stations, other agencies.
    bureau = db.session.scalar(select(Department).where(Department.name == "高平市市场监督管理局"))
    assert bureau is not None and bureau.parent is not None and bureau.parent.name == "晋城市市场监督管理局"
    assert bureau.parent.parent is not None and bureau.parent.parent.level == "province"
    stations = db.session.scalars(select(Department).where(Department.level == "station")).all()
    assert len(stations) == 16 and all(s.parent_id == bureau.id for s in stations)
    assert db.session.scalar(select(Department).where(Department.name == "高平市卫生健康局")) is not None

    # Targets: the requested number, valid codes, grams matching names.
    targets = db.session.scalars(select(Target)).all()
    assert len(targets) == int(SMALL)
    for t in targets:
        if t.kind in MARKET_KINDS:
            assert creditcode.is_valid(t.code), t.code
            assert t.code[2:8] == "140581"
        else:
            assert re.fullmatch(r"[PX]-140581-\d{4}", t.code), t.code
        assert t.search_grams == name_grams(t.name)
        assert (t.risk_class is not None) == (t.kind == "enterprise")
    kinds = {t.kind for t in targets}
    assert {"enterprise", "individual", "cooperative", "product", "project"} <= kinds
    assert {t.status for t in targets} >= {"active", "deregistered"}
    # History agrees with last_inspected_on.
    last = dict(
        db.session.execute(
            select(InspectionRecord.target_id, func.max(InspectionRecord.inspected_on)).group_by(
                InspectionRecord.target_id
            )
        ).all()
    )
    assert last and all(t.last_inspected_on == last.get(t.id) for t in targets)
    assert count(TargetTag) > 0

    # Inspectors: about 60, with accounts named by their codes; experts and irregular ones present.
    inspectors = db.session.scalars(select(Inspector)).all()
    assert 55 <= len(inspectors) <= 65
    assert {i.kind for i in inspectors} == {"general", "professional", "expert"}
    assert {i.status for i in inspectors} >= {"active", "leave", "retired"}
    assert any(i.credential_valid_until and i.credential_valid_until.year < 2026 for i in inspectors)
    for ins in inspectors:
        user = db.session.get(User, ins.user_id)
        assert user is not None and user.username == ins.code and user.roles == {"inspector"}
    assert count(Conflict) == 3
    for username, role in (("admin", "admin"), ("supervisor", "supervisor"), ("leader", "leader")):
        user = db.session.scalar(select(User).where(User.username == username))
        assert user is not None and user.roles == {role}
        assert check_password_hash(user.password_hash, PASSWORD)

    # The plan: 16 tasks, published, every item linked to a listed item with a checklist
    # (the import created no empty items).
    plan = db.session.scalar(select(Plan))
    assert plan is not None and plan.status == "published" and plan.year == 2025
    tasks = db.session.scalars(select(Task).where(Task.plan_id == plan.id)).all()
    assert len(tasks) == 16
    for task in tasks:
        assert task.items and all(item.checkpoints for item in task.items), task.name
    assert not db.session.scalars(select(Item).where(Item.code.like("AUTO-%"))).all()

    # Draws: finished, with teams, and verify_draw recomputes each exactly.
    draws = db.session.scalars(select(Draw).order_by(Draw.id)).all()
    assert len(draws) >= 1
    assert {d.task.name for d in draws} >= {"对企业的不定向双随机抽查"}
    assert any(d.task.task_type == "directed" for d in draws)
    for draw in draws:
        assert draw.status == "active" and draw.witness_input
        assert verify_draw(draw) == []
    # A target drawn by both tasks gets one visit (进一次门、查多项事), so visits ≤ drawn targets.
    assert 0 < count(Inspection) <= count(DrawnTarget)
    assert db.session.scalar(select(func.count()).where(DrawnTarget.inspection_id.is_(None))) == 0
    assert count(TeamMember) >= 2 * count(Inspection)

    # Every step left a trace, and the chain holds.
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"demo.loaded", "plan.imported", "plan.published", "draw.performed"} <= actions
    assert verify_chain() == []


def test_if_empty_loads_once_and_then_does_nothing(app: Flask) -> None:
    code, output = run_demo(app, "--targets", "120", "--if-empty")
    assert code == 0, output
    before = {m.__name__: count(m) for m in (Department, Target, Inspector, User, Plan, Draw, AuditEvent)}
    assert before["Target"] == 120

    code, output = run_demo(app, "--targets", "120", "--if-empty")
    assert code == 0, output
    assert "nothing loaded" in output
    after = {m.__name__: count(m) for m in (Department, Target, Inspector, User, Plan, Draw, AuditEvent)}
    assert after == before


def test_demo_refuses_a_database_that_has_data(app: Flask, make: Any) -> None:
    make.department()
    code, output = run_demo(app, "--targets", "150")
    assert code != 0
    assert "already has data" in output
    assert count(Target) == 0 and count(Plan) == 0


def _delete_everything() -> None:
    db.session.rollback()
    if db.engine.dialect.name == "postgresql":
        # The audit log refuses DELETE there (append-only trigger); TRUNCATE is a test's way out.
        names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        db.session.execute(text(f"TRUNCATE {names} CASCADE"))
    else:
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    db.session.commit()


def _snapshot() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    targets = db.session.execute(
        select(Target.code, Target.name, Target.risk_class, Target.last_inspected_on).order_by(Target.id)
    ).all()
    inspectors = db.session.execute(
        select(Inspector.code, Inspector.name, Inspector.credential_valid_until).order_by(Inspector.code)
    ).all()
    return [tuple(r) for r in targets], [tuple(r) for r in inspectors]


def test_same_seed_gives_the_same_directory(app: Flask) -> None:
    assert run_demo(app, "--targets", "150", "--seed", "42")[0] == 0
    first = _snapshot()
    _delete_everything()
    assert run_demo(app, "--targets", "150", "--seed", "42")[0] == 0
    assert _snapshot() == first
    _delete_everything()
    assert run_demo(app, "--targets", "150", "--seed", "43")[0] == 0
    assert _snapshot()[0] != first[0]
