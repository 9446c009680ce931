"""Inspector teams: who may be drawn, joint tasks, balanced load, and merging into one visit."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import func, select

from server.draws.models import Draw, DrawnTarget
from server.draws.services import perform_draw, verify_draw
from server.errors import ApiError
from server.extensions import db
from server.inspections.models import Inspection, InspectionTask, TeamMember
from tests.integration.draws.conftest import DRAW_DAY, Builder


def _teams(draw: Draw) -> dict[int, list[TeamMember]]:
    """target id → the members this draw put on its visit."""
    out: dict[int, list[TeamMember]] = {}
    for dt_row in db.session.scalars(select(DrawnTarget).where(DrawnTarget.draw_id == draw.id)):
        out[dt_row.target_id] = list(
            db.session.scalars(
                select(TeamMember)
                .where(TeamMember.inspection_id == dt_row.inspection_id, TeamMember.draw_id == draw.id)
                .order_by(TeamMember.id)
            )
        )
    return out


def test_only_eligible_inspectors_are_drawn(build: Builder) -> None:
    bureau = build.department()
    item = build.item(bureau, specialty="特种设备")
    good = build.inspectors(bureau, 2, specialties=["特种设备", "食品"])
    build.inspector(bureau, specialties=["食品"])  # lacks the item's specialty
    build.inspector(bureau, specialties=["特种设备"], kind="expert")  # experts never count
    build.inspector(bureau, specialties=["特种设备"], status="leave")
    build.inspector(bureau, specialties=["特种设备"], credential_valid_until=DRAW_DAY - dt.timedelta(days=1))
    build.inspector(bureau, specialties=["特种设备"], credential_valid_until=None)
    build.inspector(build.department(), specialties=["特种设备"])  # another bureau
    build.targets(6, risk_class="D")
    task = build.task(bureau, items=[item])
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    drawn = {m.inspector_id for team in _teams(draw).values() for m in team}
    assert drawn == {i.id for i in good}
    excluded = dict(draw.parameters["team"]["excluded"])
    assert sorted(excluded.values()) == ["credential", "credential", "expert", "specialty", "status"]
    assert draw.parameters["team"]["specialties"] == ["特种设备"]


def test_a_credential_valid_on_the_draw_day_counts(build: Builder) -> None:
    bureau = build.department()
    last_day = build.inspector(bureau, credential_valid_until=DRAW_DAY)
    build.inspector(bureau)
    build.target()
    task = build.task(bureau)
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    assert last_day.code in {p[0] for p in draw.parameters["team"]["pool"]}


def test_every_team_has_two_with_a_leader_from_the_initiating_department(build: Builder) -> None:
    bureau = build.department("发起局")
    partner = build.department("住建局")
    other = build.department("教育局")
    staff = build.inspectors(bureau, 4)
    build.inspectors(partner, 2)
    build.inspectors(other, 2)
    build.targets(10, risk_class="D")
    task = build.task(bureau, cooperating=[partner, other], team_size=2)
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    staff_ids = {i.id for i in staff}
    teams = _teams(draw)
    assert len(teams) == 3  # 30 % of 10
    for team in teams.values():
        assert team[0].role == "leader" and team[0].inspector_id in staff_ids
        assert [m.department_id for m in team] == [bureau.id, partner.id, other.id]
        assert [m.role for m in team[1:]] == ["member", "member"]


def test_a_joint_team_is_filled_up_from_the_initiating_department(build: Builder) -> None:
    bureau = build.department()
    partner = build.department()
    build.inspectors(bureau, 3)
    build.inspectors(partner, 1)
    build.target(risk_class="D")
    task = build.task(bureau, cooperating=[partner], team_size=4)
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    (team,) = _teams(draw).values()
    assert [m.department_id for m in team] == [bureau.id, partner.id, bureau.id, bureau.id]
    assert len({m.inspector_id for m in team}) == 4


def test_declared_conflicts_are_respected(build: Builder) -> None:
    bureau = build.department()
    a, b, c = build.inspectors(bureau, 3)
    target = build.target(risk_class="D")
    build.conflict(a, target)
    task = build.task(bureau)
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    assert {m.inspector_id for m in _teams(draw)[target.id]} == {b.id, c.id}
    assert draw.parameters["team"]["conflicts"] == [[a.code, target.code]]
    assert verify_draw(draw) == []


def test_load_is_balanced_and_counts_open_visits_in_overlapping_windows(build: Builder) -> None:
    bureau = build.department()
    busy, *others = build.inspectors(bureau, 5)
    elsewhere = build.target(risk_class=None, status="liquidating")  # outside the scope
    old_task = build.task(bureau)
    for _ in range(3):
        build.visit(
            elsewhere, [(busy, "leader")], old_task, window=(dt.date(2025, 5, 1), dt.date(2025, 5, 31))
        )
    # Visits outside the window or finished do not count.
    build.visit(
        elsewhere, [(others[0], "leader")], old_task, window=(dt.date(2025, 8, 1), dt.date(2025, 8, 31))
    )
    build.visit(elsewhere, [(others[1], "leader")], old_task, state="published")
    build.targets(10, risk_class="D")
    build.targets(10, risk_class="C")
    task = build.task(bureau)
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    loads = {code: load for code, _, load in draw.parameters["team"]["pool"]}
    assert loads[busy.code] == 3 and all(loads[o.code] == 0 for o in others)
    picks = Counter(m.inspector_id for team in _teams(draw).values() for m in team)
    # 3 + 1 targets × 2 = 8 picks; busy starts at 3, so the four others take 2 each and busy none.
    assert picks[busy.id] == 0
    assert sorted(picks[o.id] for o in others) == [2, 2, 2, 2]


def test_load_ignores_removed_members_and_counts_only_open_visits(build: Builder) -> None:
    bureau, other = build.department(), build.department()
    a, b = build.inspectors(bureau, 2)
    outsider = build.inspector(other)
    elsewhere = build.target(risk_class=None, status="liquidating")  # outside the scope
    old_task = build.task(bureau)
    # One open visit with a and someone of another department; b was on it but was replaced.
    visit = build.visit(elsewhere, [(a, "leader"), (outsider, "member"), (b, "member")], old_task)
    replaced = db.session.scalars(
        select(TeamMember).where(TeamMember.inspection_id == visit.id, TeamMember.inspector_id == b.id)
    ).one()
    replaced.removed_at = dt.datetime(2025, 3, 1)
    for state in ("in_progress", "returned", "submitted", "cancelled"):
        build.visit(elsewhere, [(b, "leader")], old_task, state=state)
    build.target(risk_class="D")
    task = build.task(bureau)
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    loads = {code: load for code, _, load in draw.parameters["team"]["pool"]}
    # a: the open visit; b: in progress and returned count, submitted and cancelled do not.
    assert loads == {a.code: 1, b.code: 2}
    assert verify_draw(draw) == []


def test_not_enough_inspectors_stores_nothing(build: Builder) -> None:
    bureau = build.department()
    partner = build.department()
    build.inspectors(bureau, 3)
    build.inspector(partner, kind="expert")
    build.targets(3, risk_class="D")
    task = build.task(bureau, cooperating=[partner])
    lonely = build.task(build.department())
    build.commit()
    for t in (task, lonely):
        with pytest.raises(ApiError) as exc:
            perform_draw(t, today=DRAW_DAY)
        assert exc.value.code == "draw_no_inspectors"
        db.session.rollback()
    for model in (Draw, DrawnTarget, Inspection, TeamMember):
        assert db.session.scalar(select(func.count()).select_from(model)) == 0


def test_a_drawn_target_with_a_visit_in_the_window_is_merged_into_it(build: Builder) -> None:
    """进一次门、查多项事: one visit, linked to both tasks; the second department joins the team."""
    market = build.department("市场监管局")
    health = build.department("卫健委")
    market_staff = build.inspectors(market, 3)
    health_staff = build.inspectors(health, 2)
    shared, fresh = build.target(risk_class="D", tags=["学校周边"]), build.target(risk_class="D")
    first_task = build.task(market, fixed_count=2, scope={"tags": ["学校周边"]})
    build.commit()
    first = perform_draw(first_task, today=DRAW_DAY)
    db.session.commit()
    visit_id = db.session.scalar(
        select(DrawnTarget.inspection_id).where(
            DrawnTarget.draw_id == first.id, DrawnTarget.target_id == shared.id
        )
    )

    second_task = build.task(
        health, fixed_count=2, window_start=dt.date(2025, 6, 1), window_end=dt.date(2025, 9, 30)
    )
    build.commit()
    second = perform_draw(second_task, today=DRAW_DAY)
    db.session.commit()
    rows = {
        r.target_id: r
        for r in db.session.scalars(select(DrawnTarget).where(DrawnTarget.draw_id == second.id))
    }
    assert rows[shared.id].inspection_id == visit_id  # no second visit
    visit = db.session.get(Inspection, visit_id)
    assert visit is not None
    assert {link.task_id for link in visit.task_links} == {first_task.id, second_task.id}
    added = [m for m in visit.team if m.draw_id == second.id]
    assert len(added) == 1 and added[0].role == "member"
    assert added[0].inspector_id in {i.id for i in health_staff}
    assert {m.inspector_id for m in visit.team if m.draw_id == first.id} <= {i.id for i in market_staff}
    assert (
        db.session.scalar(
            select(func.count()).select_from(Inspection).where(Inspection.target_id == shared.id)
        )
        == 1
    )
    assert str(shared.code) in second.parameters["team"]["merged"]
    new_visit = db.session.get(Inspection, rows[fresh.id].inspection_id)
    assert new_visit is not None and [link.task_id for link in new_visit.task_links] == [second_task.id]
    assert [m.role for m in new_visit.team] == ["leader", "member"]
    assert {m.department_id for m in new_visit.team} == {health.id}
    assert verify_draw(first) == [] and verify_draw(second) == []


def test_a_visit_that_already_has_the_department_gets_nobody_new(build: Builder) -> None:
    bureau = build.department()
    a, b, c = build.inspectors(bureau, 3)
    target = build.target(risk_class="D")
    other_task = build.task(bureau)
    visit = build.visit(
        target, [(a, "leader"), (b, "member")], other_task, window=(dt.date(2025, 6, 1), dt.date(2025, 6, 30))
    )
    # A started visit, or one outside the window, is not merged into.
    build.visit(target, [(c, "leader")], other_task, state="in_progress")
    task = build.task(bureau)
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    (row,) = db.session.scalars(select(DrawnTarget).where(DrawnTarget.draw_id == draw.id))
    assert row.inspection_id == visit.id
    assert (
        db.session.scalar(select(func.count()).select_from(TeamMember).where(TeamMember.draw_id == draw.id))
        == 0
    )
    link = db.session.get(InspectionTask, (visit.id, task.id))
    assert link is not None and link.draw_id == draw.id
    assert verify_draw(draw) == []


def test_experts_on_a_merged_team_do_not_count_as_the_department(build: Builder) -> None:
    bureau = build.department()
    staff = build.inspectors(bureau, 2)
    expert = build.inspector(bureau, kind="expert")
    outsider = build.inspector(build.department())
    target = build.target(risk_class="D")
    other_task = build.task(bureau)
    window = (dt.date(2025, 6, 1), dt.date(2025, 6, 30))
    visit = build.visit(target, [(outsider, "leader"), (expert, "expert")], other_task, window=window)
    task = build.task(bureau)
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    assert draw.parameters["team"]["merged"][target.code] == {
        "inspection_id": visit.id,
        "members": [outsider.code, expert.code],
        "has_initiating": False,  # the bureau's only person there is an expert
    }
    added = [m for m in db.session.get(Inspection, visit.id).team if m.draw_id == draw.id]  # type: ignore[union-attr]
    assert len(added) == 1 and added[0].inspector_id in {s.id for s in staff}
    assert added[0].role == "member" and added[0].department_id == bureau.id
    assert verify_draw(draw) == []
