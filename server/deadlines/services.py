"""Working-day deadlines for results: the calendar with its overrides, due dates, 视为未完成, reminders,
and the overview of task windows and plans' year-end completion dates.

Rules (DOMAIN.md §5; 003 第二十条(三); 002 §五): the result is entered within
``RESULT_DEADLINE_WORKING_DAYS`` (default 20) working days of the anchor — the end of the check
(``checked_on``, default) or the end of the task window (``RESULT_DEADLINE_ANCHOR=task_end``; a check
that ended after its window counts from its own end). "Entered" means approved with its result
(issue4-shared.md): on time iff the local date of ``approved_at`` ≤ ``result_due_on``; otherwise the
inspection is marked ``late`` (视为未完成) and stays so.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from server.accounts.models import User
from server.audit.services import record_event
from server.db import utcnow
from server.deadlines.calendar import OVERRIDE_KINDS, CalendarGap, WorkingCalendar, package_years
from server.deadlines.models import CalendarOverride, CalendarYear
from server.errors import ApiError
from server.extensions import db
from server.i18n import to_local
from server.inspections.models import Inspection, InspectionTask
from server.inspections.services import inspections_visible_to
from server.notifications.services import notify, users_with_role
from server.planning.models import Plan, Task
from server.planning.services import visible_plans

log = logging.getLogger(__name__)

ANCHORS = ("check_end", "task_end")
# Field work or review still going on: the inspection is not done (a task with any is unfinished).
OPEN_STATES = ("assigned", "in_progress", "submitted", "returned")
# Checked but no result yet: the result deadline runs.
AWAITING_RESULT = ("submitted", "returned")
# Where a reminder sends people: the deadlines page, at the inspection's row.
DEADLINES_PATH = "/deadlines"

REMINDER_TEXT = "检查结果录入期限还剩{days}个工作日：{target}（截止{due}）"
LATE_TEXT = "检查结果未在期限内录入，视为未完成：{target}（截止{due}）"
CALENDAR_TEXT = (
    "工作日历尚未覆盖{year}年：{year}年的节假日安排公布后，请在工作日历中录入该年的节假日和调休上班日"
    "并声明该年份，否则期限落在该年的检查无法计算结果录入期限。"
)
CALENDAR_PATH = "/admin/calendar"
# From this day of the year (month, day) on, a missing next year is worth a warning: the State
# Council publishes the next year's holidays in October–December, and a check finished in early
# December already has its 20th working day in January.
CALENDAR_WARN_FROM = (11, 1)


# ------------------------------------------------------------------------------------ configuration


def deadline_days() -> int:
    return int(current_app.config["RESULT_DEADLINE_WORKING_DAYS"])


def deadline_anchor() -> str:
    return str(current_app.config["RESULT_DEADLINE_ANCHOR"])


def reminder_days() -> tuple[int, ...]:
    return tuple(sorted({int(n) for n in current_app.config["RESULT_REMINDER_WORKING_DAYS"]}))


def local_date(now: dt.datetime) -> dt.date:
    """The Asia/Shanghai date of a naive-UTC instant (jobs get ``now`` injected, never the clock)."""
    local = to_local(now)
    assert local is not None
    return local.date()


# ------------------------------------------------------------------------------------- the calendar


def working_calendar() -> WorkingCalendar:
    overrides = {o.day: o.kind == "workday" for o in db.session.scalars(select(CalendarOverride))}
    years = frozenset(db.session.scalars(select(CalendarYear.year)))
    return WorkingCalendar(overrides, years)


def _gap(exc: CalendarGap) -> ApiError:
    first, last = package_years()
    return ApiError(
        "calendar_year_unknown",
        detail=(
            f"{exc.day.isoformat()}: the holiday package covers {first}–{last}; enter the holidays "
            f"and make-up workdays of {exc.day.year} as overrides and declare the year"
        ),
        extra={"day": exc.day.isoformat(), "year": exc.day.year},
    )


def add_working_days(start: dt.date, days: int, calendar: WorkingCalendar | None = None) -> dt.date:
    """The ``days``-th working day after ``start``; ``calendar_year_unknown`` past the known years."""
    try:
        return (calendar or working_calendar()).add_working_days(start, days)
    except CalendarGap as exc:
        raise _gap(exc) from exc


def working_days_between(start: dt.date, end: dt.date, calendar: WorkingCalendar | None = None) -> int:
    try:
        return (calendar or working_calendar()).working_days_between(start, end)
    except CalendarGap as exc:
        raise _gap(exc) from exc


def add_calendar_override(day: dt.date, kind: str, note: str, actor: User | None) -> dict[str, Any]:
    """Declare one day a working day or a holiday; deadlines not yet met are recomputed at once."""
    note = note.strip()
    errors: dict[str, list[str]] = {}
    if kind not in OVERRIDE_KINDS:
        errors["kind"] = ["One of workday, holiday."]
    if not note:
        errors["note"] = ["Say why (e.g. the State Council notice)."]
    if len(note) > 200:
        errors["note"] = ["At most 200 characters."]
    if errors:
        raise ApiError("validation_failed", errors=errors)
    if db.session.scalar(select(CalendarOverride.id).where(CalendarOverride.day == day)) is not None:
        raise ApiError("calendar_override_exists", detail=day.isoformat())
    override = CalendarOverride(day=day, kind=kind, note=note, created_by_id=actor.id if actor else None)
    db.session.add(override)
    db.session.flush()
    record_event(
        "calendar.override_added",
        "calendar_override",
        day.isoformat(),
        actor_id=actor.id if actor else None,
        details={"day": day.isoformat(), "kind": kind, "note": note},
    )
    return recompute_result_deadlines(actor)


def remove_calendar_override(override: CalendarOverride, actor: User | None) -> dict[str, Any]:
    details = {"day": override.day.isoformat(), "kind": override.kind, "note": override.note}
    db.session.delete(override)
    db.session.flush()
    record_event(
        "calendar.override_removed",
        "calendar_override",
        details["day"],
        actor_id=actor.id if actor else None,
        details=details,
    )
    return recompute_result_deadlines(actor)


def declare_calendar_year(year: int, note: str, actor: User | None) -> dict[str, Any]:
    """Declare a year the package does not know: weekday rule plus the overrides entered for it."""
    note = note.strip()
    first, last = package_years()
    errors: dict[str, list[str]] = {}
    if not 2000 <= year <= 2100:
        errors["year"] = ["A year between 2000 and 2100."]
    elif first <= year <= last:
        errors["year"] = [f"The holiday package already covers {first}–{last}; use overrides."]
    if not note or len(note) > 200:
        errors["note"] = ["Say why, in at most 200 characters."]
    if errors:
        raise ApiError("validation_failed", errors=errors)
    if db.session.get(CalendarYear, year) is not None:
        raise ApiError("conflict", detail=f"{year} is already declared")
    db.session.add(CalendarYear(year=year, note=note, declared_by_id=actor.id if actor else None))
    db.session.flush()
    record_event(
        "calendar.year_declared",
        "calendar_year",
        year,
        actor_id=actor.id if actor else None,
        details={"year": year, "note": note},
    )
    return recompute_result_deadlines(actor)


def withdraw_calendar_year(entry: CalendarYear, actor: User | None) -> dict[str, Any]:
    year = entry.year
    db.session.delete(entry)
    db.session.flush()
    record_event("calendar.year_withdrawn", "calendar_year", year, actor_id=actor.id if actor else None)
    return recompute_result_deadlines(actor)


# ------------------------------------------------------------------------------------- due dates


def result_anchor(inspection: Inspection) -> dt.date | None:
    """The day the deadline counts from; None until the check has ended."""
    if inspection.checked_on is None:
        return None
    if deadline_anchor() == "task_end":
        return max(inspection.checked_on, inspection.window_end)
    return inspection.checked_on


def compute_result_due_on(inspection: Inspection, calendar: WorkingCalendar) -> dt.date | None:
    """The due date, or None before the check ended. Raises CalendarGap past the known years."""
    anchor = result_anchor(inspection)
    if anchor is None:
        return None
    return calendar.add_working_days(anchor, deadline_days())


def set_result_deadline(inspection: Inspection, calendar: WorkingCalendar | None = None) -> dt.date | None:
    """Give a just-checked inspection its due date (called by finalize, after ``checked_on``).

    Never refuses: the inspectors' submission must not fail because the calendar lacks next year.
    The due date then stays empty, the deadlines page lists the inspection under "calendar missing",
    and the deadline job fills it in once an admin has entered that year.
    """
    try:
        inspection.result_due_on = compute_result_due_on(inspection, calendar or working_calendar())
    except CalendarGap as exc:
        log.warning("no result deadline for inspection %s: %s", inspection.id, exc)
        inspection.result_due_on = None
    return inspection.result_due_on


def approved_on(inspection: Inspection) -> dt.date | None:
    local = to_local(inspection.approved_at)
    return local.date() if local else None


def is_late(inspection: Inspection, today: dt.date) -> bool:
    """视为未完成: approved after the due date, or not approved and the due date has passed."""
    if inspection.state == "cancelled":
        return False
    return result_late(inspection.result_due_on, inspection.approved_at, today)


def result_late(due: dt.date | None, approved_at: dt.datetime | None, today: dt.date) -> bool:
    """The one rule for lateness: the local date of approval, or today if not approved, after ``due``."""
    if due is None:
        return False
    local = to_local(approved_at)
    return local.date() > due if local is not None else today > due


def _pending_deadlines() -> Select[Inspection]:
    """Checked, result not yet approved, and still changeable (archived ones are frozen)."""
    return select(Inspection).where(
        Inspection.checked_on.is_not(None),
        Inspection.approved_at.is_(None),
        Inspection.state.notin_(("cancelled", "archived")),
    )


def recompute_result_deadlines(actor: User | None = None, now: dt.datetime | None = None) -> dict[str, Any]:
    """After a calendar change: recompute the due date of every result not yet entered.

    Results already approved keep the deadline they were judged against. An inspection whose new
    due date is still ahead is no longer late (the override says the days were not working days).
    """
    today = local_date(now or utcnow())
    calendar = working_calendar()
    changed = unknown = 0
    for inspection in db.session.scalars(_pending_deadlines().order_by(Inspection.id)):
        try:
            due = compute_result_due_on(inspection, calendar)
        except CalendarGap:
            due = None
            unknown += 1
        late = is_late_with(inspection, due, today)
        if due == inspection.result_due_on and late == inspection.late:
            continue
        record_event(
            "inspection.deadline_changed",
            "inspection",
            inspection.id,
            actor_id=actor.id if actor else None,
            details={
                "result_due_on": [_iso(inspection.result_due_on), _iso(due)],
                "late": [inspection.late, late],
            },
        )
        inspection.result_due_on, inspection.late = due, late
        changed += 1
    db.session.flush()
    return {"changed": changed, "unknown": unknown}


def is_late_with(inspection: Inspection, due: dt.date | None, today: dt.date) -> bool:
    return due is not None and inspection.approved_at is None and today > due


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


# ------------------------------------------------------------------------------------------- jobs


def _departments_of(inspection: Inspection) -> set[int]:
    return {link.task.initiating_department_id for link in inspection.task_links}


def responsible_users(
    inspection: Inspection, cache: dict[frozenset[int], list[User]] | None = None
) -> list[User]:
    """Who enters the result (谁检查、谁录入): the supervisors of the initiating departments; the
    admins when a department has none, so a reminder is never addressed to nobody."""
    departments = frozenset(_departments_of(inspection))
    if cache is not None and departments in cache:
        return cache[departments]
    users = users_with_role("supervisor", departments) or users_with_role("admin")
    if cache is not None:
        cache[departments] = users
    return users


def _params(inspection: Inspection, **more: Any) -> dict[str, Any]:
    return {
        "target": inspection.target.name,
        "due": _iso(inspection.result_due_on),
        "inspection_id": inspection.id,
        **more,
    }


def mark_late_inspections(now: dt.datetime) -> dict[str, Any]:
    """The deadline job: fill in due dates the calendar could not give before, then mark 视为未完成.

    Idempotent: a second run finds nothing to do. Late is never unmarked here (only a calendar
    change, through ``recompute_result_deadlines``, can move a deadline that has not been met).
    """
    today = local_date(now)
    calendar = working_calendar()
    filled = 0
    missing = _pending_deadlines().where(Inspection.result_due_on.is_(None))
    for inspection in db.session.scalars(missing.order_by(Inspection.id)):
        if set_result_deadline(inspection, calendar) is not None:
            filled += 1
            record_event(
                "inspection.deadline_set",
                "inspection",
                inspection.id,
                details={"result_due_on": _iso(inspection.result_due_on)},
            )
    # A prefilter only: approved_at (UTC) before midnight UTC of the due day is surely on time; the
    # exact local-date comparison is is_late's.
    candidates = (
        select(Inspection)
        .where(
            Inspection.late.is_(False),
            Inspection.result_due_on.is_not(None),
            Inspection.result_due_on < today,
            Inspection.state.notin_(("cancelled", "archived")),
            or_(Inspection.approved_at.is_(None), Inspection.approved_at >= Inspection.result_due_on),
        )
        .options(selectinload(Inspection.target), selectinload(Inspection.task_links))
        .order_by(Inspection.id)
    )
    marked = notified = 0
    recipients: dict[frozenset[int], list[User]] = {}
    for inspection in db.session.scalars(candidates):
        if not is_late(inspection, today):
            continue
        inspection.late = True
        marked += 1
        record_event(
            "inspection.marked_late",
            "inspection",
            inspection.id,
            details={
                "result_due_on": _iso(inspection.result_due_on),
                "approved_on": _iso(approved_on(inspection)),
                "today": today.isoformat(),
            },
        )
        notified += notify(
            responsible_users(inspection, recipients),
            "result_late",
            f"result_late:inspection:{inspection.id}",
            LATE_TEXT,
            _params(inspection),
            f"{DEADLINES_PATH}#inspection-{inspection.id}",
        )
    db.session.flush()
    return {
        "deadlines_set": filled,
        "marked_late": marked,
        "notified": notified,
        "calendar_warned": warn_calendar_gaps(today, calendar),
    }


def calendar_years_missing(today: dt.date, calendar: WorkingCalendar) -> list[int]:
    """The years deadlines need now that the calendar does not know: this year, next year from
    ``CALENDAR_WARN_FROM`` on, and the year of any pending deadline it could not compute."""
    wanted = {today.year}
    if (today.month, today.day) >= CALENDAR_WARN_FROM:
        wanted.add(today.year + 1)
    pending = _pending_deadlines().where(Inspection.result_due_on.is_(None))
    for inspection in db.session.scalars(pending):
        try:
            compute_result_due_on(inspection, calendar)
        except CalendarGap as exc:
            wanted.add(exc.day.year)
    return sorted(y for y in wanted if not calendar.knows_year(y))


def warn_calendar_gaps(today: dt.date, calendar: WorkingCalendar) -> int:
    """Tell the admins, once per year, that the working-day calendar lacks a year deadlines need
    (the package is updated once a year, sometimes after the State Council's notice is out)."""
    sent = 0
    for year in calendar_years_missing(today, calendar):
        sent += notify(
            users_with_role("admin"),
            "calendar_year_missing",
            f"calendar_year_missing:{year}",
            CALENDAR_TEXT,
            {"year": year},
            CALENDAR_PATH,
        )
    return sent


def send_deadline_reminders(now: dt.datetime) -> dict[str, Any]:
    """The reminder job: when a result not yet entered has ≤ N working days left (N from
    ``RESULT_REMINDER_WORKING_DAYS``, default 5 and 1), remind the people who enter it.

    Only the most urgent threshold reached is sent, once per (inspection, threshold): after a
    weekend without runs nobody gets a stale "5 days left" next to the "1 day left".
    """
    today = local_date(now)
    thresholds = reminder_days()
    if not thresholds:
        return {"sent": 0, "inspections": 0}
    calendar = working_calendar()
    rows = db.session.scalars(
        _pending_deadlines()
        .where(Inspection.result_due_on >= today, Inspection.state.in_(AWAITING_RESULT))
        .options(selectinload(Inspection.target), selectinload(Inspection.task_links))
        .order_by(Inspection.id)
    )
    sent = reminded = unknown = 0
    recipients: dict[frozenset[int], list[User]] = {}
    for inspection in rows:
        assert inspection.result_due_on is not None
        try:
            left = calendar.working_days_between(today, inspection.result_due_on)
        except CalendarGap:
            unknown += 1
            continue
        reached = [n for n in thresholds if left <= n]
        if not reached:
            continue
        kind = f"result_due_{min(reached)}"
        new = notify(
            responsible_users(inspection, recipients),
            kind,
            f"{kind}:inspection:{inspection.id}",
            REMINDER_TEXT,
            _params(inspection, days=left),
            f"{DEADLINES_PATH}#inspection-{inspection.id}",
        )
        sent += new
        reminded += bool(new)
    return {"sent": sent, "inspections": reminded, "calendar_unknown": unknown}


# ---------------------------------------------------------------------------------- the overview


@dataclass(frozen=True)
class PendingResult:
    inspection: Inspection
    days_left: int | None  # working days to the due date (negative: overdue); None: unknown


@dataclass(frozen=True)
class TaskWindow:
    task: Task
    open_count: int
    late_count: int
    days_to_end: int  # calendar days; negative: the window has ended


@dataclass(frozen=True)
class PlanCompletion:
    plan: Plan
    unfinished: list[Task]
    late_count: int
    days_to_completion: int  # calendar days; negative: past the completion date


@dataclass(frozen=True)
class DeadlineOverview:
    today: dt.date
    pending: list[PendingResult]
    late: list[Inspection]
    undated: list[Inspection]
    windows: list[TaskWindow]
    plans: list[PlanCompletion]


def deadline_overview(user: User, today: dt.date, year: int | None = None) -> DeadlineOverview:
    """What the deadlines page shows, limited to what ``user`` may see."""
    year = year or today.year
    warn = int(current_app.config["TASK_WINDOW_WARNING_DAYS"])
    calendar = working_calendar()
    visible = inspections_visible_to(user).options(selectinload(Inspection.target))

    pending = []
    awaiting = visible.where(
        Inspection.state.in_(AWAITING_RESULT),
        Inspection.approved_at.is_(None),
        Inspection.result_due_on.is_not(None),
    ).order_by(Inspection.result_due_on, Inspection.id)
    for inspection in db.session.scalars(awaiting.limit(500)):
        assert inspection.result_due_on is not None
        try:
            left: int | None = calendar.working_days_between(today, inspection.result_due_on)
        except CalendarGap:
            left = None
        pending.append(PendingResult(inspection, left))

    late = list(
        db.session.scalars(
            visible.where(
                Inspection.late.is_(True),
                Inspection.result_due_on >= dt.date(year, 1, 1),
                Inspection.result_due_on <= dt.date(year, 12, 31),
            )
            .order_by(Inspection.result_due_on, Inspection.id)
            .limit(500)
        )
    )
    undated = list(
        db.session.scalars(
            visible.where(
                Inspection.checked_on.is_not(None),
                Inspection.result_due_on.is_(None),
                Inspection.approved_at.is_(None),
                Inspection.state.notin_(("cancelled", "archived")),
            ).order_by(Inspection.checked_on, Inspection.id)
        )
    )
    plan_ids = visible_plans(user).where(Plan.status == "published").with_only_columns(Plan.id)
    return DeadlineOverview(
        today, pending, late, undated, _task_windows(plan_ids, today, warn), _plans(plan_ids, today, warn)
    )


def _inspection_counts(task_ids: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Per task: inspections still open, and inspections marked late."""
    opened: dict[int, int] = defaultdict(int)
    late: dict[int, int] = defaultdict(int)
    if not task_ids:
        return opened, late
    rows = db.session.execute(
        select(InspectionTask.task_id, Inspection.state, Inspection.late, func.count())
        .join(Inspection, Inspection.id == InspectionTask.inspection_id)
        .where(InspectionTask.task_id.in_(task_ids), Inspection.state != "cancelled")
        .group_by(InspectionTask.task_id, Inspection.state, Inspection.late)
    )
    for task_id, state, is_late_, count in rows:
        if state in OPEN_STATES:
            opened[task_id] += count
        if is_late_:
            late[task_id] += count
    return opened, late


def _drawn_task_ids(task_ids: list[int]) -> set[int]:
    from server.draws.models import Draw

    if not task_ids:
        return set()
    return set(
        db.session.scalars(select(Draw.task_id).where(Draw.task_id.in_(task_ids), Draw.status == "active"))
    )


def _task_windows(plan_ids: Any, today: dt.date, warn: int) -> list[TaskWindow]:
    """Tasks whose window ends within ``warn`` days, or has ended, with inspections still open."""
    tasks = list(
        db.session.scalars(
            select(Task)
            .where(Task.plan_id.in_(plan_ids), Task.window_end <= today + dt.timedelta(days=warn))
            .where(Task.window_end >= today - dt.timedelta(days=366))
            .options(selectinload(Task.plan), selectinload(Task.initiating_department))
            .order_by(Task.window_end, Task.id)
        )
    )
    opened, late = _inspection_counts([t.id for t in tasks])
    return [
        TaskWindow(t, opened[t.id], late[t.id], (t.window_end - today).days) for t in tasks if opened[t.id]
    ]


def _plans(plan_ids: Any, today: dt.date, warn: int) -> list[PlanCompletion]:
    """Published plans at or past their completion date (001 §三: 12-15) with unfinished tasks.

    A task is unfinished while it has no active draw or any of its inspections is still open.
    """
    plans = list(
        db.session.scalars(
            select(Plan)
            .where(
                Plan.id.in_(plan_ids),
                Plan.completion_date.is_not(None),
                Plan.completion_date <= today + dt.timedelta(days=warn),
                Plan.year >= today.year - 1,
            )
            .options(selectinload(Plan.tasks), selectinload(Plan.department))
            .order_by(Plan.completion_date, Plan.id)
        )
    )
    task_ids = [t.id for p in plans for t in p.tasks]
    opened, late = _inspection_counts(task_ids)
    drawn = _drawn_task_ids(task_ids)
    out = []
    for plan in plans:
        assert plan.completion_date is not None
        unfinished = [t for t in plan.tasks if t.id not in drawn or opened[t.id]]
        if unfinished:
            out.append(
                PlanCompletion(
                    plan,
                    unfinished,
                    sum(late[t.id] for t in plan.tasks),
                    (plan.completion_date - today).days,
                )
            )
    return out
