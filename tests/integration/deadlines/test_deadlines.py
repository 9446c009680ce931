"""Result deadlines: set at the end of the check, recomputed on calendar changes, 视为未完成, reminders."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.audit.models import AuditEvent
from server.deadlines import services
from server.deadlines.calendar import package_years
from server.errors import ApiError
from server.extensions import db
from server.i18n import today_local
from server.inspections.models import Inspection
from server.notifications.models import Notification
from tests.support.field import complete_inspection, field_world
from tests.support.ops import add_inspection, approve, staff, submit, utc

D = dt.date


def _events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_finalize_sets_the_result_deadline(app: Flask, client: FlaskClient) -> None:
    world = field_world()
    admin = staff(world, "admin")
    today = today_local()
    # Make the test independent of the year it runs in: declare the years the package lacks.
    for year in (today.year, today.year + 1):
        if year > package_years()[1]:
            services.declare_calendar_year(year, "test: weekday rule", admin)
    db.session.commit()
    complete_inspection(world, client)
    inspection = db.session.get(Inspection, world.inspection.id)
    assert inspection is not None and inspection.checked_on == today
    assert inspection.result_due_on == services.add_working_days(today, 20)
    assert services.working_days_between(today, inspection.result_due_on) == 20
    submitted = _events("inspection.submitted")[-1]
    assert submitted.details["result_due_on"] == inspection.result_due_on.isoformat()


def test_finalize_never_fails_for_a_missing_calendar(app: Flask) -> None:
    world = field_world()
    beyond = package_years()[1] + 2
    inspection = world.inspection
    inspection.checked_on = D(beyond, 3, 2)
    assert services.set_result_deadline(inspection) is None
    with pytest.raises(ApiError) as caught:
        services.add_working_days(D(beyond, 3, 2), 20)
    assert caught.value.code == "calendar_year_unknown"
    assert caught.value.extra["year"] == beyond


def test_anchor_task_end_counts_from_the_window_end(app: Flask) -> None:
    world = field_world()  # the task window ends 2025-11-30 (a Sunday)
    inspection = world.inspection
    inspection.checked_on = D(2025, 6, 3)
    cal = services.working_calendar()
    assert services.compute_result_due_on(inspection, cal) == D(2025, 7, 1)
    app.config["RESULT_DEADLINE_ANCHOR"] = "task_end"
    assert services.compute_result_due_on(inspection, cal) == cal.add_working_days(D(2025, 11, 30), 20)
    # A check that ended after its window counts from its own end.
    inspection.checked_on = D(2025, 12, 5)
    assert services.compute_result_due_on(inspection, cal) == cal.add_working_days(D(2025, 12, 5), 20)
    app.config["RESULT_DEADLINE_WORKING_DAYS"] = 5
    assert services.compute_result_due_on(inspection, cal) == D(2025, 12, 12)


def test_calendar_override_recomputes_open_deadlines(app: Flask) -> None:
    world = field_world()
    admin = staff(world, "admin")
    pending = world.inspection
    submit(pending, D(2025, 9, 26), D(2025, 10, 30))
    done = add_inspection(world)
    submit(done, D(2025, 9, 26), D(2025, 10, 30))
    approve(done, utc("2025-10-20 10:00"))
    result = services.add_calendar_override(D(2025, 10, 13), "holiday", "test: local holiday", admin)
    db.session.commit()
    assert result == {"changed": 1, "unknown": 0}
    assert pending.result_due_on == D(2025, 10, 31)
    assert done.result_due_on == D(2025, 10, 30)  # judged already: it keeps its deadline
    changed = _events("inspection.deadline_changed")
    assert [e.object_id for e in changed] == [str(pending.id)]
    assert changed[0].details["result_due_on"] == ["2025-10-30", "2025-10-31"]
    assert _events("calendar.override_added")[0].details["kind"] == "holiday"
    with pytest.raises(ApiError) as caught:
        services.add_calendar_override(D(2025, 10, 13), "workday", "again", admin)
    assert caught.value.code == "calendar_override_exists"
    db.session.rollback()
    with pytest.raises(ApiError) as caught:
        services.add_calendar_override(D(2025, 10, 14), "sometimes", "", admin)
    assert caught.value.code == "validation_failed" and set(caught.value.errors) == {"kind", "note"}
    db.session.rollback()
    from server.deadlines.models import CalendarOverride

    override = db.session.scalar(select(CalendarOverride))
    assert override is not None
    services.remove_calendar_override(override, admin)
    db.session.commit()
    assert pending.result_due_on == D(2025, 10, 30)


def test_declaring_an_unknown_year_fills_missing_deadlines(app: Flask) -> None:
    world = field_world()
    admin = staff(world, "admin")
    beyond = package_years()[1] + 2
    inspection = world.inspection
    submit(inspection, D(beyond, 3, 2), None)
    now = dt.datetime(beyond, 3, 3, 2, 0)
    assert services.mark_late_inspections(now)["deadlines_set"] == 0
    services.add_calendar_override(D(beyond, 3, 3), "holiday", "test holiday", admin)
    result = services.declare_calendar_year(beyond, "test: notice of that year", admin)
    db.session.commit()
    assert result["changed"] == 1
    assert inspection.result_due_on == services.working_calendar().add_working_days(D(beyond, 3, 2), 20)
    with pytest.raises(ApiError) as caught:
        services.declare_calendar_year(2025, "covered by the package", admin)
    assert caught.value.code == "validation_failed"


def test_the_job_fills_a_deadline_once_the_calendar_allows(app: Flask) -> None:
    world = field_world()
    inspection = world.inspection
    submit(inspection, D(2025, 9, 26), None)  # as if finalize had found no calendar
    result = services.mark_late_inspections(utc("2025-09-27 01:00"))
    db.session.commit()
    assert result["deadlines_set"] == 1 and inspection.result_due_on == D(2025, 10, 30)
    assert _events("inspection.deadline_set")[0].object_id == str(inspection.id)


def test_marking_late_is_exact_to_the_local_day_and_idempotent(app: Flask) -> None:
    world = field_world()
    supervisor = staff(world)
    staff(world, "leader")  # leaders do not enter results: not notified
    not_entered = world.inspection
    submit(not_entered, D(2025, 9, 26), D(2025, 10, 30))
    on_time = add_inspection(world)
    submit(on_time, D(2025, 9, 26), D(2025, 10, 30))
    approve(on_time, utc("2025-10-30 23:59"))  # 15:59 UTC: the due day in Shanghai
    too_late = add_inspection(world)
    submit(too_late, D(2025, 9, 26), D(2025, 10, 30))
    approve(too_late, utc("2025-10-31 00:30"))  # 16:30 UTC on the 30th, but the 31st in Shanghai

    on_the_day = services.mark_late_inspections(utc("2025-10-30 23:00"))
    assert on_the_day["marked_late"] == 0
    result = services.mark_late_inspections(utc("2025-10-31 09:00"))
    db.session.commit()
    assert result["marked_late"] == 2
    assert (not_entered.late, on_time.late, too_late.late) == (True, False, True)
    again = services.mark_late_inspections(utc("2025-11-01 09:00"))
    assert again == {"deadlines_set": 0, "marked_late": 0, "notified": 0, "calendar_warned": 0}
    notes = list(db.session.scalars(select(Notification)))
    assert {(n.user_id, n.kind) for n in notes} == {(supervisor.id, "result_late")}
    assert len(notes) == 2
    assert {e.object_id for e in _events("inspection.marked_late")} == {str(not_entered.id), str(too_late.id)}
    # Archived and cancelled inspections are never touched.
    late_archived = add_inspection(world)
    submit(late_archived, D(2025, 9, 26), D(2025, 10, 30))
    late_archived.state = "archived"
    db.session.commit()
    assert services.mark_late_inspections(utc("2025-11-02 09:00"))["marked_late"] == 0


def test_reminders_before_the_deadline(app: Flask) -> None:
    world = field_world()
    supervisor = staff(world)
    other = staff(world)
    inspection = world.inspection
    submit(inspection, D(2025, 9, 26), D(2025, 10, 30))

    def kinds() -> list[tuple[int, str]]:
        return sorted((u, k) for u, k in db.session.execute(select(Notification.user_id, Notification.kind)))

    # 6 working days left on Wednesday 22 October: nothing yet.
    assert services.send_deadline_reminders(utc("2025-10-22 08:00"))["sent"] == 0
    # 5 left on Thursday 23 October (24, 27, 28, 29, 30).
    first = services.send_deadline_reminders(utc("2025-10-23 08:00"))
    db.session.commit()
    assert first == {"sent": 2, "inspections": 1, "calendar_unknown": 0}
    assert kinds() == [(supervisor.id, "result_due_5"), (other.id, "result_due_5")]
    assert services.send_deadline_reminders(utc("2025-10-24 08:00"))["sent"] == 0  # idempotent
    services.send_deadline_reminders(utc("2025-10-29 08:00"))
    db.session.commit()
    assert [k for _u, k in kinds()].count("result_due_1") == 2
    note = db.session.scalar(select(Notification).where(Notification.kind == "result_due_1"))
    assert (
        note is not None and note.params["days"] == 1 and note.link.endswith(f"#inspection-{inspection.id}")
    )
    approve(inspection, utc("2025-10-29 10:00"))
    assert services.send_deadline_reminders(utc("2025-10-30 08:00"))["sent"] == 0
    assert db.session.scalar(select(func.count()).select_from(Notification)) == 4


def test_reminders_skip_straight_to_the_most_urgent(app: Flask) -> None:
    world = field_world()
    staff(world)
    submit(world.inspection, D(2025, 9, 26), D(2025, 10, 30))
    services.send_deadline_reminders(utc("2025-10-30 08:00"))  # the due day: 0 left
    assert list(db.session.scalars(select(Notification.kind))) == ["result_due_1"]


def test_reminders_without_a_supervisor_go_to_the_admins(app: Flask, make: Any) -> None:
    world = field_world()
    admin = make.user(roles=["admin"])
    submit(world.inspection, D(2025, 9, 26), D(2025, 10, 30))
    services.send_deadline_reminders(utc("2025-10-30 08:00"))
    assert list(db.session.scalars(select(Notification.user_id))) == [admin.id]


def _calendar_notes() -> list[Notification]:
    return list(db.session.scalars(select(Notification).where(Notification.kind == "calendar_year_missing")))


def test_admins_are_told_before_the_calendar_runs_out(app: Flask) -> None:
    world = field_world()
    admin = staff(world, "admin")
    staff(world)  # a supervisor: the calendar is the admins' to keep
    last = package_years()[1]
    # October of the package's last year: next year's holidays are usually not announced yet.
    assert services.mark_late_inspections(utc(f"{last}-10-31 09:00"))["calendar_warned"] == 0
    result = services.mark_late_inspections(utc(f"{last}-11-01 09:00"))
    db.session.commit()
    assert result["calendar_warned"] == 1
    (note,) = _calendar_notes()
    assert note.user_id == admin.id and note.params == {"year": last + 1}
    assert note.link == "/admin/calendar"
    assert services.mark_late_inspections(utc(f"{last}-11-02 09:00"))["calendar_warned"] == 0  # once
    services.declare_calendar_year(last + 1, "test: the notice is out", admin)
    assert services.calendar_years_missing(D(last, 12, 1), services.working_calendar()) == []


def test_a_deadline_the_calendar_cannot_give_names_its_year(app: Flask) -> None:
    world = field_world()
    staff(world, "admin")
    last = package_years()[1]
    submit(world.inspection, D(last + 2, 3, 2), None)
    calendar = services.working_calendar()
    assert services.calendar_years_missing(D(last, 3, 1), calendar) == [last + 2]
    assert services.mark_late_inspections(utc(f"{last}-03-01 09:00"))["calendar_warned"] == 1
    assert [n.params["year"] for n in _calendar_notes()] == [last + 2]
