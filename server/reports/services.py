"""The KPIs the seeds name (DOMAIN.md §8), per department and per task, for one plan year.

- coverage: distinct enterprises checked by the year's tasks / active enterprises in the directory
  (goal ≥ 3%, 000 §二; 004 §一). A check counts for its task's plan year even when it ended later:
  the coverage goal is the plan's, and a late check is still that plan's work. Every department's
  share is of the same directory, so the department rows add up to more than the total whenever two
  departments checked one enterprise.
- risk-class use: active draws of the year's tasks that drew per risk class / all active draws
  (goals ≥ 80% 004 §一, ≥ 90% 000 §四, ≥ 95% 002 §二);
- results on time: of the inspections whose result was due by today or has been entered, those
  approved by their due date (the rest are 视为未完成);
- publication: published / approved (results a leader approved withholding are not counted:
  they are never to be public) — goal 100% (000 §五);
- follow-up closure: closed / all follow-ups of the year's inspections — goal 100% (004 §一);
- problem finding: approved inspections with a result category flagged is_problem / approved.

An inspection of a joint visit (1+X) counts for every task it belongs to and once per department.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select

from server.accounts.models import User
from server.accounts.services import visible_department_ids
from server.deadlines.services import local_date, result_late
from server.directory.models import Department, Target
from server.draws.models import Draw
from server.extensions import db
from server.followup.models import FollowUp
from server.inspections.models import Inspection, InspectionTask
from server.planning.models import Plan, Task
from server.reports.models import KpiSnapshot
from server.results.models import InspectionResult, InspectionResultCategory, ResultCategory

METRICS = ("coverage", "risk_draws", "on_time", "publication", "follow_up", "problems")
# Goals the seeds set (DOMAIN.md §8), as fractions; risk-class use has three, one per seed.
GOALS: dict[str, list[tuple[float, str]]] = {
    "coverage": [(0.03, "≥3%")],
    "risk_draws": [(0.80, "004 ≥80%"), (0.90, "000 ≥90%"), (0.95, "002 ≥95%")],
    "on_time": [(1.0, "100%")],
    "publication": [(1.0, "100%")],
    "follow_up": [(1.0, "100%")],
    "problems": [],
}


@dataclass
class Ratio:
    num: int = 0
    den: int = 0

    @property
    def rate(self) -> float | None:
        return self.num / self.den if self.den else None

    def as_dict(self) -> dict[str, Any]:
        return {"num": self.num, "den": self.den, "rate": self.rate}


@dataclass
class KpiRow:
    key: int | None  # department or task id; None for the total
    label: str
    department: str = ""  # a task row's initiating department
    inspections: int = 0
    late: int = 0
    ratios: dict[str, Ratio] = field(default_factory=lambda: {m: Ratio() for m in METRICS})
    class_ratios_bp: dict[str, int] = field(default_factory=dict)  # a task's ratio per risk class
    uses_risk_classes: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "inspections": self.inspections,
            "late": self.late,
            **{m: self.ratios[m].as_dict() for m in METRICS},
        }


@dataclass
class KpiReport:
    year: int
    today: dt.date
    enterprises: int  # active enterprises in the directory: the coverage denominator
    total: KpiRow
    departments: list[KpiRow]
    tasks: list[KpiRow]


@dataclass
class _Visit:
    """One inspection's facts, gathered once."""

    id: int
    state: str
    target_id: int
    is_enterprise: bool
    checked_on: dt.date | None
    result_due_on: dt.date | None
    approved_at: dt.datetime | None
    published_at: dt.datetime | None
    late: bool
    withheld: bool = False
    problem: bool = False
    follow_ups: int = 0
    closed: int = 0

    def judged_on(self, today: dt.date) -> bool:
        """Its result was due by now, or has been entered: on time or not is decided."""
        return self.result_due_on is not None and (self.approved_at is not None or self.result_due_on < today)


def _year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def default_year(user: User, today: dt.date) -> int:
    """This year if it has a plan the user may see, else the latest such year before it."""
    earlier = [y for y in available_years(user) if y <= today.year]
    return today.year if not earlier or today.year in earlier else earlier[0]


def available_years(user: User) -> list[int]:
    stmt = select(Plan.year).distinct().where(Plan.status.in_(("published", "superseded")))
    departments = visible_department_ids(user)
    if departments is not None:
        stmt = stmt.where(Plan.department_id.in_(departments or {-1}))
    return sorted(db.session.scalars(stmt), reverse=True)


def kpi_report(
    year: int, today: dt.date, department_ids: Iterable[int] | None = None, only_department: int | None = None
) -> KpiReport:
    """The report over the tasks of ``year``'s plans initiated by ``department_ids`` (None: all)."""
    allowed = None if department_ids is None else set(department_ids)
    if only_department is not None:
        allowed = {only_department} if allowed is None or only_department in allowed else set()
    task_filter = [Plan.year == year, Plan.status.in_(("published", "superseded"))]
    if allowed is not None:
        task_filter.append(Task.initiating_department_id.in_(allowed or {-1}))
    tasks = list(
        db.session.execute(
            select(Task, Department.name)
            .join(Plan, Plan.id == Task.plan_id)
            .join(Department, Department.id == Task.initiating_department_id)
            .where(*task_filter)
            .order_by(Task.initiating_department_id, Plan.id, Task.seq)
        )
    )
    task_ids = [t.id for t, _ in tasks]
    links = _links(task_ids)  # inspection id → task ids
    visits = _visits(set(links))
    coverage_links = _coverage_links(year, allowed)  # (task id, department id, target id)

    enterprises = int(
        db.session.scalar(
            select(func.count())
            .select_from(Target)
            .where(Target.kind == "enterprise", Target.status == "active")
        )
        or 0
    )
    draws = _draws(task_ids)  # task id → [use_risk_classes of each active draw]

    task_rows: dict[int, KpiRow] = {}
    dept_rows: dict[int, KpiRow] = {}
    task_dept: dict[int, int] = {}
    for task, dept_name in tasks:
        task_dept[task.id] = task.initiating_department_id
        task_rows[task.id] = KpiRow(
            task.id,
            task.name,
            department=dept_name,
            class_ratios_bp=dict(task.class_ratios_bp or {}),
            uses_risk_classes=task.use_risk_classes,
        )
        dept_rows.setdefault(task.initiating_department_id, KpiRow(task.initiating_department_id, dept_name))
    total = KpiRow(None, "合计")

    by_task: dict[int, set[int]] = defaultdict(set)
    for inspection_id, ids in links.items():
        for task_id in ids:
            by_task[task_id].add(inspection_id)
    by_dept: dict[int, set[int]] = defaultdict(set)
    for task_id, ids in by_task.items():
        by_dept[task_dept[task_id]] |= ids

    def fill(row: KpiRow, inspection_ids: set[int], draw_flags: list[bool], covered: set[int]) -> None:
        mine = [visits[i] for i in inspection_ids if i in visits]
        row.inspections = len(mine)
        row.late = sum(v.late for v in mine)
        row.ratios["coverage"] = Ratio(len(covered), enterprises)
        row.ratios["risk_draws"] = Ratio(sum(draw_flags), len(draw_flags))
        judged = [v for v in mine if v.judged_on(today)]
        on_time = sum(not result_late(v.result_due_on, v.approved_at, today) for v in judged)
        row.ratios["on_time"] = Ratio(on_time, len(judged))
        approved = [v for v in mine if v.approved_at is not None]
        public = [v for v in approved if not v.withheld]
        row.ratios["publication"] = Ratio(sum(v.published_at is not None for v in public), len(public))
        row.ratios["follow_up"] = Ratio(sum(v.closed for v in mine), sum(v.follow_ups for v in mine))
        row.ratios["problems"] = Ratio(sum(v.problem for v in approved), len(approved))

    covered_task: dict[int, set[int]] = defaultdict(set)
    covered_dept: dict[int, set[int]] = defaultdict(set)
    covered_all: set[int] = set()
    for task_id, dept_id, target_id in coverage_links:
        covered_task[task_id].add(target_id)
        covered_dept[dept_id].add(target_id)
        covered_all.add(target_id)
    for task_id, row in task_rows.items():
        fill(row, by_task[task_id], draws.get(task_id, []), covered_task[task_id])
    for dept_id, row in dept_rows.items():
        dept_draws = [flag for t, flags in draws.items() if task_dept.get(t) == dept_id for flag in flags]
        fill(row, by_dept[dept_id], dept_draws, covered_dept[dept_id])
    fill(total, set(links), [flag for flags in draws.values() for flag in flags], covered_all)
    return KpiReport(
        year,
        today,
        enterprises,
        total,
        sorted(dept_rows.values(), key=lambda r: r.label),
        list(task_rows.values()),
    )


def _links(task_ids: list[int]) -> dict[int, set[int]]:
    links: dict[int, set[int]] = defaultdict(set)
    if not task_ids:
        return links
    rows = db.session.execute(
        select(InspectionTask.inspection_id, InspectionTask.task_id)
        .join(Inspection, Inspection.id == InspectionTask.inspection_id)
        .where(InspectionTask.task_id.in_(task_ids), Inspection.state != "cancelled")
    )
    for inspection_id, task_id in rows:
        links[inspection_id].add(task_id)
    return links


def _chunks(ids: list[int], size: int = 5000) -> Iterable[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _visits(ids: set[int]) -> dict[int, _Visit]:
    visits: dict[int, _Visit] = {}
    for chunk in _chunks(sorted(ids)):
        for row in db.session.execute(
            select(
                Inspection.id,
                Inspection.state,
                Inspection.target_id,
                Target.kind,
                Inspection.checked_on,
                Inspection.result_due_on,
                Inspection.approved_at,
                Inspection.published_at,
                Inspection.late,
            )
            .join(Target, Target.id == Inspection.target_id)
            .where(Inspection.id.in_(chunk))
        ):
            visits[row.id] = _Visit(
                row.id,
                row.state,
                row.target_id,
                row.kind == "enterprise",
                row.checked_on,
                row.result_due_on,
                row.approved_at,
                row.published_at,
                bool(row.late),
            )
        for inspection_id in db.session.scalars(
            select(InspectionResult.inspection_id).where(
                InspectionResult.inspection_id.in_(chunk), InspectionResult.withhold_status == "approved"
            )
        ):
            visits[inspection_id].withheld = True
        for inspection_id in db.session.scalars(
            select(InspectionResult.inspection_id)
            .join(InspectionResultCategory, InspectionResultCategory.result_id == InspectionResult.id)
            .join(ResultCategory, ResultCategory.id == InspectionResultCategory.category_id)
            .where(InspectionResult.inspection_id.in_(chunk), ResultCategory.is_problem.is_(True))
            .distinct()
        ):
            visits[inspection_id].problem = True
        for inspection_id, status, count in db.session.execute(
            select(FollowUp.inspection_id, FollowUp.status, func.count())
            .where(FollowUp.inspection_id.in_(chunk))
            .group_by(FollowUp.inspection_id, FollowUp.status)
        ):
            visits[inspection_id].follow_ups += count
            if status == "closed":
                visits[inspection_id].closed += count
    return visits


def _coverage_links(year: int, allowed: set[int] | None) -> list[tuple[int, int, int]]:
    """(task, department, enterprise target) for every checked inspection of an enterprise by a task
    of ``year``'s published plans."""
    stmt = (
        select(InspectionTask.task_id, Task.initiating_department_id, Inspection.target_id)
        .join(Inspection, Inspection.id == InspectionTask.inspection_id)
        .join(Task, Task.id == InspectionTask.task_id)
        .join(Plan, Plan.id == Task.plan_id)
        .join(Target, Target.id == Inspection.target_id)
        .where(
            Target.kind == "enterprise",
            Inspection.state != "cancelled",
            Inspection.checked_on.is_not(None),
            Plan.year == year,
            Plan.status.in_(("published", "superseded")),
        )
    )
    if allowed is not None:
        stmt = stmt.where(Task.initiating_department_id.in_(allowed or {-1}))
    return [(t, d, target) for t, d, target in db.session.execute(stmt)]


def _draws(task_ids: list[int]) -> dict[int, list[bool]]:
    out: dict[int, list[bool]] = defaultdict(list)
    if not task_ids:
        return out
    for task_id, parameters in db.session.execute(
        select(Draw.task_id, Draw.parameters).where(Draw.task_id.in_(task_ids), Draw.status == "active")
    ):
        out[task_id].append(bool((parameters or {}).get("use_risk_classes")))
    return out


def report_for(user: User, year: int, today: dt.date, department_id: int | None = None) -> KpiReport:
    """What ``user`` may see: admins every department, others their own and granted ones."""
    return kpi_report(year, today, visible_department_ids(user), department_id)


# ------------------------------------------------------------------------------------ snapshots


def snapshot_kpis(now: dt.datetime) -> dict[str, Any]:
    """The KPI snapshot job: today's figures for this year, per department and in total.

    Idempotent: one snapshot per (day, year, department); a second run the same day replaces it
    with the newer figures.
    """
    today = local_date(now)
    report = kpi_report(today.year, today)
    rows: list[tuple[int | None, KpiRow]] = [(None, report.total)] + [(r.key, r) for r in report.departments]
    written = 0
    for department_id, row in rows:
        existing = db.session.scalar(
            select(KpiSnapshot).where(
                KpiSnapshot.taken_on == today,
                KpiSnapshot.year == today.year,
                KpiSnapshot.department_id.is_(None)
                if department_id is None
                else KpiSnapshot.department_id == department_id,
            )
        )
        data = {**row.as_dict(), "enterprises": report.enterprises}
        if existing is None:
            db.session.add(
                KpiSnapshot(
                    taken_on=today, year=today.year, department_id=department_id, metrics=data, taken_at=now
                )
            )
        else:
            existing.metrics = data
            existing.taken_at = now
        written += 1
    db.session.flush()
    return {"day": today.isoformat(), "rows": written}


def snapshots(year: int, department_id: int | None, limit: int = 60) -> list[KpiSnapshot]:
    stmt = (
        select(KpiSnapshot)
        .where(
            KpiSnapshot.year == year,
            KpiSnapshot.department_id.is_(None)
            if department_id is None
            else KpiSnapshot.department_id == department_id,
        )
        .order_by(KpiSnapshot.taken_on.desc())
        .limit(limit)
    )
    return list(reversed(list(db.session.scalars(stmt))))
