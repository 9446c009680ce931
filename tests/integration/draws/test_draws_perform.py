"""Performing a draw: what is stored, the snapshot, scope and exclusions, refusal and voiding."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from typing import Any

import pytest
from sqlalchemy import event, func, select, text
from sqlalchemy.exc import OperationalError

from server.audit.models import AuditEvent
from server.draws import algorithm as algo
from server.draws import services
from server.draws.models import Draw, DrawnTarget
from server.draws.services import perform_draw, verify_draw, void_draw
from server.errors import ApiError
from server.extensions import db
from server.inspections.models import Inspection, InspectionTask, TeamMember
from server.storage import blob_store
from tests.integration.draws.conftest import DRAW_DAY, Builder


def _count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_a_draw_stores_seed_snapshot_targets_and_teams(county: dict[str, Any], make: Any) -> None:
    actor = make.user(roles=["supervisor"], department=county["bureau"])
    draw = perform_draw(county["task"], actor, witness="  见证人 王五  ", today=DRAW_DAY)
    db.session.commit()

    assert (draw.attempt, draw.status, draw.algorithm) == (1, "active", algo.ALGORITHM)
    assert draw.witness_input == "见证人 王五"  # outer blanks are not part of what was typed
    entropy = bytes.fromhex(draw.server_entropy)
    assert len(entropy) == 32
    assert draw.seed == hashlib.sha256(entropy + "见证人 王五".encode()).hexdigest()
    # 42 targets: A 7, B 14, C 7, D 7, U 7 at 1 %, 2 %, 10 %, 30 %, 3 % (rounded up).
    assert {s: v["pool"] for s, v in draw.strata.items()} == {"A": 7, "B": 14, "C": 7, "D": 7, "U": 7}
    assert {s: v["count"] for s, v in draw.strata.items()} == {"A": 1, "B": 1, "C": 1, "D": 3, "U": 1}
    assert draw.snapshot_rows == 42

    drawn = list(db.session.scalars(select(DrawnTarget).where(DrawnTarget.draw_id == draw.id)))
    assert sorted(d.rank for d in drawn) == list(range(1, 8))
    assert [d.stratum for d in sorted(drawn, key=lambda d: d.rank)] == ["A", "B", "C", "D", "D", "D", "U"]
    for d in drawn:
        inspection = db.session.get(Inspection, d.inspection_id)
        assert inspection is not None and inspection.target_id == d.target_id
        assert (inspection.window_start, inspection.window_end) == (dt.date(2025, 4, 1), dt.date(2025, 6, 30))
        roles = sorted(m.role for m in inspection.team)
        assert roles == ["leader", "member"]
        assert all(m.draw_id == draw.id for m in inspection.team)
        assert [link.task_id for link in inspection.task_links] == [county["task"].id]
    assert blob_store().read(draw.snapshot_hash)
    assert verify_draw(draw) == []
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "draw.performed"))
    assert event is not None and event.object_id == str(draw.id) and event.actor_id == actor.id
    assert event.details["seed"] == draw.seed


def test_the_snapshot_lists_every_eligible_target_with_stratum_and_weight(build: Builder) -> None:
    bureau = build.department()
    build.inspectors(bureau, 2)
    rows = [
        build.target(risk_class="C", last_inspected_on=dt.date(2024, 12, 31)),  # 1 year → 1
        build.target(risk_class=None, last_inspected_on=dt.date(2023, 1, 1)),  # 2 years → 2
        build.target(risk_class="D", last_inspected_on=dt.date(2022, 7, 1)),  # 3 years → 3
        build.target(risk_class="B", last_inspected_on=None),  # never → 3
        build.target(risk_class="A", last_inspected_on=dt.date(2025, 1, 2)),  # A seen this year: out
    ]
    build.target(status="deregistered")  # not active: out of the default scope
    task = build.task(bureau)
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    expected = "code,stratum,weight\n" + "".join(
        f"{t.code},{s},{w}\n" for t, s, w in zip(rows[:4], ["C", "U", "D", "B"], [1, 2, 3, 3], strict=True)
    )
    data = blob_store().read(draw.snapshot_hash)
    assert data == expected.encode()
    assert hashlib.sha256(data).hexdigest() == draw.snapshot_hash
    assert draw.parameters["low_risk_exclusion"] == {"applied": True, "excluded": 1, "override_reason": None}
    assert draw.parameters["weight_years"] == {"2": 2, "3": 3}


def test_codes_of_other_lengths_and_scripts_are_written_in_id_order(build: Builder) -> None:
    bureau = build.department()
    build.inspectors(bureau, 2)
    rows = [
        build.target(code="P-140581-0001", kind="product", last_inspected_on=None),
        build.target(risk_class="D"),
        build.target(code="项目-7", kind="project", risk_class=None),
        build.target(risk_class="C", last_inspected_on=dt.date(2022, 1, 1)),
        build.target(code="X", risk_class="A", last_inspected_on=dt.date(2024, 1, 1)),
    ]
    task = build.task(bureau, fixed_count=2)
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    strata, weights = ["B", "D", "U", "C", "A"], [3, 1, 1, 3, 1]
    expected = "code,stratum,weight\n" + "".join(
        f"{t.code},{s},{w}\n" for t, s, w in zip(rows, strata, weights, strict=True)
    )
    assert blob_store().read(draw.snapshot_hash) == expected.encode("utf-8")
    assert verify_draw(draw) == []


@pytest.mark.parametrize("code", ["BAD,CODE", 'BAD"CODE', "BAD\nCODE", "BAD\rCODE"])
def test_a_code_the_snapshot_cannot_hold_refuses_the_draw(build: Builder, code: str) -> None:
    bureau = build.department()
    build.inspectors(bureau, 2)
    build.targets(3)
    build.target(code=code)
    task = build.task(bureau)
    build.commit()
    with pytest.raises(ApiError) as exc:
        perform_draw(task, today=DRAW_DAY)
    assert exc.value.code == "draw_snapshot_invalid"
    db.session.rollback()
    assert _count(Draw) == 0 and _count(Inspection) == 0


@pytest.mark.parametrize(
    "scope",
    [{}, {"kinds": ["enterprise", "cooperative"], "districts": ["北城"], "statuses": ["active", "moved"]}],
)
def test_a_large_table_is_read_in_id_ranges_with_the_same_snapshot(
    build: Builder, monkeypatch: pytest.MonkeyPatch, scope: dict[str, list[str]]
) -> None:
    """On SQLite the draw reads id ranges in a helper thread while it hashes (one transaction, so
    one state), walking each by rowid; the snapshot and the keys are the same as from one read."""
    bureau = build.department()
    build.inspectors(bureau, 3)
    for n, cls in enumerate(("A", "B", "C", "D", None) * 8):
        build.target(
            risk_class=cls,
            last_inspected_on=dt.date(2023, 6, 1),
            kind=("enterprise", "individual", "cooperative")[n % 3],
            district=("北城", "南城")[n % 2],
            status=("active", "moved", "revoked")[n % 3 - 1],
        )
    build.target(risk_class="A", last_inspected_on=dt.date(2025, 2, 1))  # excluded: seen this year
    task = build.task(bureau, fixed_count=12, scope=scope)
    build.commit()
    whole = perform_draw(task, today=DRAW_DAY)
    void_draw(whole, None, "再抽一次")
    db.session.commit()

    calls: list[tuple[int, bool]] = []
    real = services._pipelined

    def spy(produce: Any, consume: Any, parallel: bool = True) -> None:
        items: list[Any] = []

        def counting(item: Any) -> None:
            items.append(item)
            consume(item)

        real(produce, counting, parallel)
        calls.append((len(items), parallel))

    engine = db.session.connection().engine
    statements: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if "BETWEEN" in statement and "group_concat" in statement:
            statements.append((statement, parameters))

    monkeypatch.setattr(services, "MIN_IDS_PER_PART", 5)
    monkeypatch.setattr(services, "_pipelined", spy)
    event.listen(engine, "before_cursor_execute", keep)
    try:
        parts = perform_draw(task, today=DRAW_DAY)
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    sqlite = engine.dialect.name == "sqlite"
    assert calls == ([(8, True)] if sqlite else [(1, False)])
    assert len(statements) == (8 if sqlite else 0)
    for statement, parameters in statements:  # each range walked by rowid, never by ix_target_scope
        plan = db.session.connection().exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        assert any("INTEGER PRIMARY KEY" in row[-1] for row in plan), plan
    assert parts.snapshot_hash == whole.snapshot_hash
    assert 0 < parts.snapshot_rows <= 40
    assert parts.parameters["low_risk_exclusion"]["excluded"] == (0 if scope else 1)
    assert verify_draw(parts) == []


def test_the_draw_locks_out_other_writers_from_its_start(
    build: Builder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite: the whole database's write lock (BEGIN IMMEDIATE), so the draw's several reads see
    one state; PostgreSQL: the task's row (SELECT … FOR UPDATE), its reads being one statement."""
    bureau = build.department()
    build.inspectors(bureau, 2)
    build.targets(5)
    task = build.task(bureau)
    build.commit()
    engine = db.session.connection().engine
    seen: list[str] = []
    real = services._id_ranges

    def other_writer_meanwhile(conn: Any) -> Any:
        if engine.dialect.name == "sqlite":
            other = sqlite3.connect(str(engine.url.database), timeout=0.05)
            try:
                other.execute("UPDATE target SET name = name || '!'")
                seen.append("wrote")
            except sqlite3.OperationalError as exc:
                seen.append(str(exc))
            finally:
                other.close()
        else:
            with engine.connect() as other:
                try:
                    other.execute(
                        text("SELECT id FROM task WHERE id = :id FOR UPDATE NOWAIT"), {"id": task.id}
                    )
                    seen.append("locked it too")
                except OperationalError:
                    seen.append("locked")
        return real(conn)

    monkeypatch.setattr(services, "_id_ranges", other_writer_meanwhile)
    draw = perform_draw(task, today=DRAW_DAY)
    db.session.commit()
    assert seen == (["database is locked"] if engine.dialect.name == "sqlite" else ["locked"])
    assert verify_draw(draw) == []


def test_low_risk_inspected_this_year_comes_back_only_with_a_recorded_reason(build: Builder) -> None:
    bureau = build.department()
    build.inspectors(bureau, 2)
    seen = build.targets(3, risk_class="A", last_inspected_on=dt.date(2025, 2, 1))
    build.target(risk_class="A", last_inspected_on=dt.date(2024, 2, 1))
    task = build.task(bureau, fixed_count=10)
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY, low_risk_override="投诉举报线索，需现场核查")
    assert draw.snapshot_rows == 4
    assert draw.parameters["low_risk_exclusion"] == {
        "applied": False,
        "excluded": 0,
        "override_reason": "投诉举报线索，需现场核查",
    }
    drawn_ids = set(db.session.scalars(select(DrawnTarget.target_id).where(DrawnTarget.draw_id == draw.id)))
    assert {t.id for t in seen} <= drawn_ids


def test_scope_filters_kind_district_industry_tags_and_status(build: Builder) -> None:
    bureau = build.department()
    build.inspectors(bureau, 2)
    inside = build.target(district="北城", industry="餐饮", tags=["学校周边", "食品"])
    build.target(district="南城", industry="餐饮", tags=["学校周边"])
    build.target(district="北城", industry="药品", tags=["学校周边"])
    build.target(district="北城", industry="餐饮", tags=["其他"])
    build.target(district="北城", industry="餐饮", tags=["食品"], kind="individual", code="GT0001")
    liquidating = build.target(district="北城", industry="餐饮", tags=["食品"], status="liquidating")
    task = build.task(
        bureau,
        scope={
            "kinds": ["enterprise"],
            "districts": ["北城"],
            "industries": ["餐饮"],
            "tags": ["食品", "学校周边"],
        },
        fixed_count=5,
    )
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    codes = blob_store().read(draw.snapshot_hash).decode().splitlines()[1:]
    assert [c.split(",")[0] for c in codes] == [inside.code]
    assert draw.parameters["scope"]["statuses"] == ["active"]  # the default, recorded

    task.scope = {"statuses": ["liquidating"], "tags": []}  # an empty list is no constraint
    void_draw(draw, None, "范围有误")
    draw2 = perform_draw(task, today=DRAW_DAY)
    codes = blob_store().read(draw2.snapshot_hash).decode().splitlines()[1:]
    assert [c.split(",")[0] for c in codes] == [liquidating.code]


def test_fixed_count_is_shared_over_the_classes_by_pool_times_ratio(build: Builder) -> None:
    bureau = build.department()
    build.inspectors(bureau, 3)
    for cls, n in (("A", 10), ("B", 10), ("D", 4)):
        build.targets(n, risk_class=cls)
    task = build.task(bureau, fixed_count=6, class_ratios_bp={"A": 100, "B": 200, "D": 3000})
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    # Shares 10×100 : 10×200 : 4×3000 give 0.4 / 0.8 / 4.8 of 6: D holds only 4, and the other 2
    # split 1 : 2 between A and B as 0.67 / 1.33, which the largest remainders round to 1 and 1.
    assert {s: v["count"] for s, v in draw.strata.items()} == {"A": 1, "B": 1, "D": 4}
    assert verify_draw(draw) == []


def test_a_task_without_risk_classes_draws_one_stratum(build: Builder) -> None:
    bureau = build.department()
    build.inspectors(bureau, 2)
    build.targets(5, risk_class="D")
    build.targets(5, risk_class="A")
    task = build.task(bureau, use_risk_classes=False, base_ratio_bp=2000, class_ratios_bp={})
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    assert draw.strata == {"U": {"pool": 10, "ratio_bp": 2000, "count": 2}}


def test_empty_pool_and_unready_tasks_store_nothing(build: Builder) -> None:
    bureau = build.department()
    build.inspectors(bureau, 2)
    task = build.task(bureau, scope={"districts": ["无此区域"]})
    build.target()
    draft = build.task(bureau, plan_status="draft")
    dynamic = build.task(bureau, base_ratio_bp=None, class_ratios_bp={}, fixed_count=None)
    build.commit()
    with pytest.raises(ApiError) as exc:
        perform_draw(task, today=DRAW_DAY)
    assert exc.value.code == "draw_empty_pool"
    for t, problem in ((draft, "plan_not_published"), (dynamic, "no_numbers")):
        with pytest.raises(ApiError) as exc:
            perform_draw(t, today=DRAW_DAY)
        assert exc.value.code == "draw_task_not_ready" and problem in (exc.value.detail or "")
    db.session.rollback()
    assert _count(Draw) == 0 and _count(Inspection) == 0


def test_a_second_active_draw_is_refused(county: dict[str, Any]) -> None:
    first = perform_draw(county["task"], today=DRAW_DAY)
    db.session.commit()
    with pytest.raises(ApiError) as exc:
        perform_draw(county["task"], today=DRAW_DAY)
    assert exc.value.code == "draw_already_active"
    db.session.rollback()
    assert list(db.session.scalars(select(Draw.id))) == [first.id]


def test_void_keeps_the_draw_cancels_its_visits_and_allows_a_new_attempt(
    county: dict[str, Any], make: Any
) -> None:
    actor = make.user(roles=["supervisor"], department=county["bureau"])
    first = perform_draw(county["task"], actor, today=DRAW_DAY)
    db.session.commit()
    created = set(
        db.session.scalars(select(DrawnTarget.inspection_id).where(DrawnTarget.draw_id == first.id))
    )
    with pytest.raises(ApiError) as exc:
        void_draw(first, actor, "   ")
    assert exc.value.code == "validation_failed"

    void_draw(first, actor, "抽查范围设置错误")
    db.session.commit()
    assert (first.status, first.void_reason, first.voided_by_id) == ("voided", "抽查范围设置错误", actor.id)
    assert first.voided_at is not None
    states = set(db.session.scalars(select(Inspection.state).where(Inspection.id.in_(created))))
    assert states == {"cancelled"}
    assert _count(InspectionTask) == 0
    with pytest.raises(ApiError) as exc:
        void_draw(first, actor, "again")
    assert exc.value.code == "draw_voided"

    second = perform_draw(county["task"], actor, today=DRAW_DAY)
    db.session.commit()
    assert second.attempt == 2 and second.seed != first.seed
    # Cancelled visits no longer weigh on anyone's workload, and both draws still verify.
    assert verify_draw(first) == [] and verify_draw(second) == []
    assert second.parameters["team"]["pool"] == first.parameters["team"]["pool"]
    actions = list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))
    assert actions[-3:] == ["draw.performed", "draw.voided", "draw.performed"]


def test_void_leaves_a_visit_already_under_way(county: dict[str, Any]) -> None:
    draw = perform_draw(county["task"], today=DRAW_DAY)
    db.session.commit()
    rows = list(db.session.scalars(select(DrawnTarget).where(DrawnTarget.draw_id == draw.id)))
    started = db.session.get(Inspection, rows[0].inspection_id)
    assert started is not None
    started.state = "in_progress"
    db.session.commit()
    void_draw(draw, None, "任务调整")
    db.session.commit()
    assert started.state == "in_progress"
    assert [link.task_id for link in started.task_links] == [county["task"].id]
    others = {db.session.get(Inspection, r.inspection_id).state for r in rows[1:]}  # type: ignore[union-attr]
    assert others == {"cancelled"}


def test_team_members_carry_the_draw_and_department(county: dict[str, Any]) -> None:
    draw = perform_draw(county["task"], today=DRAW_DAY)
    members = list(db.session.scalars(select(TeamMember).where(TeamMember.draw_id == draw.id)))
    assert len(members) == 2 * 7
    assert {m.department_id for m in members} == {county["bureau"].id}
