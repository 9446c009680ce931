"""Publishing approved results (一公开), by hand or on schedule, and what the public may see of them.

Publication rule (003 第二十条(三); DOMAIN.md §5): a result is published once the review approved it
(``Inspection.state == 'approved'``, an ``InspectionResult`` on the approved version) unless a leader
approved withholding it; a pending withholding request holds it back until the leader decides.
Staff publish by hand at any time after approval ("谁检查、谁录入、谁公开"). The scheduled job
``publish_due_results`` publishes whatever is left on its *publication due date*: the first working
day after the local date of approval — but never later than the result deadline ``result_due_on``
when the approval came on time, and at once when it came after it. So every approved, publishable
result is public at the latest on the working day after its approval, and inside its deadline.

What is public (DOMAIN.md §9) is decided in ``public_results``: task, departments, inspection date,
target name and credit code, result categories and summary, closed follow-ups' outcomes, the draw.
Never inspectors, photos, signatures, withheld results; for individual operators (个体工商户) neither
the legal representative nor the address.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import has_app_context
from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import selectinload

from server.accounts.models import User
from server.audit.services import record_event
from server.db import utcnow
from server.deadlines.calendar import CalendarGap, WorkingCalendar
from server.deadlines.services import working_calendar
from server.directory.models import MARKET_KINDS, Department, Target
from server.directory.search import target_condition
from server.errors import ApiError
from server.extensions import db
from server.fieldsync.assignments import refresh_inspection
from server.followup.services import KIND_NAMES, public_follow_ups
from server.i18n import to_local
from server.inspections.models import Inspection, InspectionTask, InspectionVersion
from server.inspections.services import inspections_visible_to
from server.planning.models import Plan, Task, TaskCooperation
from server.results.models import InspectionResult

STAFF = ("admin", "supervisor", "leader")
# Kinds of target whose operator is a private person: no legal representative, no address in public.
PERSONAL_KINDS = ("individual",)
# A leader's pending or approved withholding keeps a result from the public (003 第二十条(三)).
PUBLISHABLE_WITHHOLD = ("none", "rejected")
TASK_TYPE_NAMES = {"directed": "定向抽查", "undirected": "不定向抽查"}
PUBLIC_STATES = ("published", "archived")


# -- working days ------------------------------------------------------------------------------------


def _calendar() -> WorkingCalendar:
    """The admin-maintained calendar; outside an app (pure unit use) the package's alone."""
    return working_calendar() if has_app_context() else WorkingCalendar()


def is_working_day(day: dt.date, calendar: WorkingCalendar | None = None) -> bool:
    """The working-day calendar (statutory holidays, make-up workdays, admin overrides:
    ``server/deadlines``); Monday–Friday beyond the years it covers — publication does not wait for
    an admin to enter next year's holidays."""
    try:
        return (calendar or _calendar()).is_working_day(day)
    except CalendarGap:
        return day.weekday() < 5


def next_working_day(day: dt.date) -> dt.date:
    calendar = _calendar()  # once, not once per day looked at
    day += dt.timedelta(days=1)
    while not is_working_day(day, calendar):
        day += dt.timedelta(days=1)
    return day


# -- what may be published ---------------------------------------------------------------------------


def is_publishable(result: InspectionResult | None) -> bool:
    return result is not None and result.publish and result.withhold_status in PUBLISHABLE_WITHHOLD


def result_of(inspection: Inspection) -> InspectionResult | None:
    return db.session.scalar(select(InspectionResult).where(InspectionResult.inspection_id == inspection.id))


def local_date(moment: dt.datetime) -> dt.date:
    local = to_local(moment)
    assert local is not None
    return local.date()


def publication_due_on(inspection: Inspection) -> dt.date | None:
    """The day the scheduled job publishes an approved result (see the module docstring)."""
    if inspection.approved_at is None:
        return None
    approved_on = local_date(inspection.approved_at)
    due = next_working_day(approved_on)
    if inspection.result_due_on is not None:
        # On time: no later than the deadline itself. Late: the deadline is gone, publish now.
        due = min(due, max(inspection.result_due_on, approved_on))
    return due


def why_not_publishable(inspection: Inspection, result: InspectionResult | None) -> str | None:
    """None if the result can be published now; else a short reason (the problem's detail)."""
    if inspection.state == "archived":
        return "archived"
    if inspection.state != "approved" or result is None or result.version_id is None:
        return f"not approved ({inspection.state})"
    if result.withhold_status == "requested":
        return "withholding requested; a leader has not decided"
    if not is_publishable(result):
        return "withheld"
    return None


def awaiting_publication(user: User) -> Select[Inspection]:
    """Approved inspections the user's departments publish that are not public yet."""
    visible = inspections_visible_to(user).with_only_columns(Inspection.id)
    return (
        select(Inspection)
        .join(InspectionResult, InspectionResult.inspection_id == Inspection.id)
        .where(
            Inspection.state == "approved",
            InspectionResult.published_at.is_(None),
            Inspection.id.in_(visible),
        )
        .order_by(Inspection.approved_at, Inspection.id)
    )


# -- publishing ----------------------------------------------------------------------------------------


def publish_results(
    inspections: Sequence[Inspection],
    actor: User | None,
    *,
    now: dt.datetime | None = None,
    how: str = "hand",
) -> list[Inspection]:
    """Publish these inspections' results: all of them or, on any that cannot be, none.

    Idempotent: one already published is left as it is and not returned. Refuses an archived one
    (``inspection_archived``) and one not approved or withheld (``result_not_publishable``, the
    detail names them). Sets ``published_at`` on result and inspection, state ``published``, audits,
    and refreshes the record phones pull.
    """
    now = now or utcnow()
    todo: list[tuple[Inspection, InspectionResult]] = []
    refused: list[str] = []
    for inspection in inspections:
        result = result_of(inspection)
        if inspection.state == "published" or (result is not None and result.published_at is not None):
            continue
        if inspection.state == "archived":
            raise ApiError("inspection_archived", detail=f"inspection {inspection.id}")
        reason = why_not_publishable(inspection, result)
        if reason is not None:
            refused.append(f"{inspection.id}: {reason}")
            continue
        assert result is not None
        todo.append((inspection, result))
    if refused:
        raise ApiError("result_not_publishable", detail="; ".join(refused))

    published: list[Inspection] = []
    for inspection, result in todo:
        # Claim the row: a concurrent publisher (the job, a colleague) that got there first leaves
        # published_at set, so this matches nothing and the result is published exactly once. On
        # PostgreSQL the UPDATE waits for the other transaction and then re-checks the condition.
        claimed = db.session.execute(
            update(InspectionResult)
            .where(InspectionResult.id == result.id, InspectionResult.published_at.is_(None))
            .values(published_at=now, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        if getattr(claimed, "rowcount", 0) != 1:
            continue
        db.session.refresh(result)
        inspection.state = "published"
        inspection.published_at = now
        db.session.flush()
        record_event(
            "inspection.published",
            "inspection",
            inspection.id,
            actor_id=actor.id if actor else None,
            details={
                "how": how,
                "result_id": result.id,
                "version_id": result.version_id,
                "categories": [c.code for c in result.categories],
            },
        )
        refresh_inspection(inspection)
        published.append(inspection)
    return published


def publish_due_results(now: dt.datetime | None = None) -> list[Inspection]:
    """The scheduled job's body: publish every approved, publishable result whose publication due
    date has come (local date of ``now`` ≥ ``publication_due_on``). Idempotent: a second run at the
    same time publishes nothing. ``now`` is naive UTC (a frozen clock in tests)."""
    now = now or utcnow()
    today = local_date(now)
    candidates = db.session.scalars(
        select(Inspection)
        .join(InspectionResult, InspectionResult.inspection_id == Inspection.id)
        .where(
            Inspection.state == "approved",
            Inspection.approved_at.is_not(None),
            InspectionResult.version_id.is_not(None),
            InspectionResult.published_at.is_(None),
            InspectionResult.publish.is_(True),
            InspectionResult.withhold_status.in_(PUBLISHABLE_WITHHOLD),
        )
        .order_by(Inspection.approved_at, Inspection.id)
    ).all()
    due = [i for i in candidates if (day := publication_due_on(i)) is not None and day <= today]
    return publish_results(due, None, now=now, how="schedule") if due else []


# -- the public view -----------------------------------------------------------------------------------


@dataclass
class PublicTask:
    id: int
    name: str
    task_type: str
    departments: list[str]  # initiating first, then cooperating
    department_ids: list[int]
    draw_id: int
    year: int


@dataclass
class PublicFollowUp:
    kind: str
    kind_name: str
    closed_on: dt.date | None
    outcome: str


@dataclass
class PublicResult:
    """One published result as anyone may see it; nothing else of the inspection leaves the server."""

    inspection_id: int
    target_name: str
    target_code: str
    target_kind: str
    address: str | None  # None for individual operators
    legal_rep: str | None  # None for individual operators
    inspection_date: dt.date | None
    published_at: dt.datetime
    updated_at: dt.datetime
    summary: str
    categories: list[tuple[str, str, str]]  # (code, name, English name)
    tasks: list[PublicTask] = field(default_factory=list)
    follow_ups: list[PublicFollowUp] = field(default_factory=list)
    follow_up_open: bool = False

    @property
    def departments(self) -> list[str]:
        return list(dict.fromkeys(name for task in self.tasks for name in task.departments))

    @property
    def is_market_entity(self) -> bool:
        return self.target_kind in MARKET_KINDS

    @property
    def result_text(self) -> str:
        return "；".join(name for _code, name, _en in self.categories)


def _public_base() -> Select[InspectionResult, Inspection, Target]:
    return (
        select(InspectionResult, Inspection, Target)
        .join(Inspection, Inspection.id == InspectionResult.inspection_id)
        .join(Target, Target.id == Inspection.target_id)
        .where(
            InspectionResult.published_at.is_not(None),
            InspectionResult.withhold_status != "approved",
            Inspection.state.in_(PUBLIC_STATES),
        )
    )


def public_query(filters: dict[str, Any]) -> Select[InspectionResult, Inspection, Target]:
    """Published results filtered by q (name fragment or credit-code prefix), task_id,
    department_id (initiating or cooperating), market_only and updated_since (naive UTC)."""
    query = _public_base()
    q = (filters.get("q") or "").strip()
    if q:
        condition = target_condition(q)
        if condition is not None:
            query = query.where(condition)
    if filters.get("task_id"):
        query = query.where(
            Inspection.id.in_(
                select(InspectionTask.inspection_id).where(InspectionTask.task_id == filters["task_id"])
            )
        )
    if filters.get("department_id"):
        dept = filters["department_id"]
        cooperating = select(TaskCooperation.task_id).where(TaskCooperation.department_id == dept)
        tasks = select(Task.id).where((Task.initiating_department_id == dept) | Task.id.in_(cooperating))
        query = query.where(
            Inspection.id.in_(select(InspectionTask.inspection_id).where(InspectionTask.task_id.in_(tasks)))
        )
    if filters.get("market_only"):
        query = query.where(Target.kind.in_(MARKET_KINDS))
    if filters.get("updated_since") is not None:
        query = query.where(InspectionResult.updated_at >= filters["updated_since"])
    return query


def _inspection_dates(inspections: Sequence[Inspection]) -> dict[int, dt.date | None]:
    """The inspection date: the day the check ended; for an inspection without one (imported), the
    local date its approved version was submitted."""
    out: dict[int, dt.date | None] = {i.id: i.checked_on for i in inspections}
    missing = [i.id for i in inspections if i.checked_on is None]
    if missing:
        for inspection_id, submitted_at in db.session.execute(
            select(InspectionVersion.inspection_id, InspectionVersion.submitted_at)
            .join(InspectionResult, InspectionResult.version_id == InspectionVersion.id)
            .where(InspectionVersion.inspection_id.in_(missing))
        ):
            out[inspection_id] = local_date(submitted_at)
    return out


def _tasks(inspection_ids: Sequence[int]) -> dict[int, list[PublicTask]]:
    out: dict[int, list[PublicTask]] = {i: [] for i in inspection_ids}
    if not inspection_ids:
        return out
    links = db.session.scalars(
        select(InspectionTask)
        .where(InspectionTask.inspection_id.in_(list(inspection_ids)))
        .options(selectinload(InspectionTask.task).selectinload(Task.plan))
        .order_by(InspectionTask.inspection_id, InspectionTask.task_id)
    ).all()
    dept_ids = {link.task.initiating_department_id for link in links} | {
        c.department_id for link in links for c in link.task.cooperating
    }
    names = dict(
        db.session.execute(select(Department.id, Department.name).where(Department.id.in_(dept_ids))).all()
    )
    for link in links:
        task = link.task
        ids = [task.initiating_department_id, *sorted(c.department_id for c in task.cooperating)]
        out[link.inspection_id].append(
            PublicTask(
                id=task.id,
                name=task.name,
                task_type=task.task_type,
                departments=[names.get(i, "") for i in ids],
                department_ids=ids,
                draw_id=link.draw_id,
                year=task.plan.year,
            )
        )
    return out


def build_public(rows: Sequence[tuple[InspectionResult, Inspection, Target]]) -> list[PublicResult]:
    """The public view of a page of rows (a fixed number of queries per page, not per row)."""
    inspections = [inspection for _r, inspection, _t in rows]
    ids = [i.id for i in inspections]
    dates = _inspection_dates(inspections)
    tasks = _tasks(ids)
    follow_ups = public_follow_ups(ids)
    out = []
    for result, inspection, target in rows:
        personal = target.kind in PERSONAL_KINDS
        assert result.published_at is not None
        mine = follow_ups.get(inspection.id, [])
        out.append(
            PublicResult(
                inspection_id=inspection.id,
                target_name=target.name,
                target_code=target.code,
                target_kind=target.kind,
                address=None if personal else target.address,
                legal_rep=None if personal else target.legal_rep,
                inspection_date=dates.get(inspection.id),
                published_at=result.published_at,
                updated_at=result.updated_at,
                summary=result.summary,
                categories=[(c.code, c.name, c.name_en) for c in result.categories],
                tasks=tasks.get(inspection.id, []),
                follow_ups=[
                    PublicFollowUp(f.kind, KIND_NAMES[f.kind], f.closed_on, f.outcome)
                    for f in mine
                    if f.status == "closed"
                ],
                follow_up_open=any(f.status == "open" for f in mine),
            )
        )
    return out


def public_page(filters: dict[str, Any], offset: int, limit: int) -> tuple[list[PublicResult], int]:
    """A page of published results, newest publication first, and the total count."""
    query = public_query(filters)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.session.execute(
        query.order_by(InspectionResult.published_at.desc(), InspectionResult.id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    return build_public(rows), total


def public_feed_page(
    filters: dict[str, Any], after: int | None, limit: int
) -> tuple[list[PublicResult], int]:
    """A page of the feed and how many results remain from its start.

    Least recently changed first, by (``updated_at``, inspection id). Paging is by keyset, not
    offset: the next page starts after the last item's (``updated_at``, id), given as
    ``updated_since`` + ``after``. A result that changes while a client pages moves to the end and
    is delivered again later; nothing is skipped, which an offset would risk.
    """
    query = public_query({**filters, "updated_since": None})
    since = filters.get("updated_since")
    if since is not None and after is not None:
        query = query.where(
            (InspectionResult.updated_at > since)
            | ((InspectionResult.updated_at == since) & (Inspection.id > after))
        )
    elif since is not None:
        query = query.where(InspectionResult.updated_at >= since)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    rows = db.session.execute(query.order_by(InspectionResult.updated_at, Inspection.id).limit(limit)).all()
    return build_public(rows), total


def export_count(filters: dict[str, Any]) -> int:
    """Lines of an export: one per published result of a market entity and task."""
    query = (
        public_query({**filters, "market_only": True})
        .join(InspectionTask, InspectionTask.inspection_id == Inspection.id)
        .with_only_columns(InspectionTask.task_id)
    )
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def public_result(inspection_id: int) -> PublicResult | None:
    rows = db.session.execute(_public_base().where(Inspection.id == inspection_id)).all()
    built = build_public(rows)
    return built[0] if built else None


def iter_public(filters: dict[str, Any], batch: int = 500) -> Iterator[PublicResult]:
    """Every matching published result in entry order, a batch at a time (exports)."""
    last = 0
    while True:
        rows = db.session.execute(
            public_query(filters).where(InspectionResult.id > last).order_by(InspectionResult.id).limit(batch)
        ).all()
        if not rows:
            return
        yield from build_public(rows)
        last = rows[-1][0].id


def public_departments() -> list[Department]:
    """Departments with at least one published result (initiating or cooperating), for the filter."""
    published = _public_base().with_only_columns(Inspection.id)
    tasks = select(InspectionTask.task_id).where(InspectionTask.inspection_id.in_(published))
    initiating = select(Task.initiating_department_id).where(Task.id.in_(tasks))
    cooperating = select(TaskCooperation.department_id).where(TaskCooperation.task_id.in_(tasks))
    return list(
        db.session.scalars(
            select(Department)
            .where(Department.id.in_(initiating) | Department.id.in_(cooperating))
            .order_by(Department.code)
        )
    )


def public_tasks(limit: int = 500) -> list[Task]:
    """Tasks with at least one published result, newest plan year first."""
    published = _public_base().with_only_columns(Inspection.id)
    tasks = select(InspectionTask.task_id).where(InspectionTask.inspection_id.in_(published))
    return list(
        db.session.scalars(
            select(Task)
            .join(Plan, Plan.id == Task.plan_id)
            .where(Task.id.in_(tasks))
            .options(selectinload(Task.plan))
            .order_by(Plan.year.desc(), Task.plan_id, Task.seq)
            .limit(limit)
        )
    )
