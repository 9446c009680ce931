"""Inspections in any state of their life, fast: for deadline, archive, job and KPI tests.

Builds on ``field_world()`` (department, task, draw, one inspection). ``add_inspection`` adds more
visits to the same task; ``submit``, ``approve``, ``publish`` and ``follow_up`` set the rows the way
finalize, review and publication leave them (a frozen version, a result with categories), without
driving phones through the sync API — tests of the real flow use ``complete_inspection``.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy import select

from server.accounts.models import User
from server.directory.creditcode import check_char
from server.directory.models import Target
from server.extensions import db
from server.followup.models import FollowUp
from server.inspections.models import Inspection, InspectionTask, InspectionVersion
from server.planning.models import Task
from server.results.models import InspectionResult, InspectionResultCategory, ResultCategory
from tests.support import factories
from tests.support.field import FieldWorld

_n = itertools.count(1)

# (code, name, is_problem, needs_follow_up): the migration seeds these, but tests empty every table.
CATEGORIES = {
    "no_problem": ("未发现问题", False, False),
    "not_disclosed": ("未按规定公示应当公示的信息", True, True),
    "corrected": ("发现问题已责令改正", True, True),
    "no_activity": ("未发现开展本次抽查涉及的经营活动", False, False),
}


def category(code: str) -> ResultCategory:
    found = db.session.scalar(select(ResultCategory).where(ResultCategory.code == code))
    if found is not None:
        return found
    name, is_problem, follow = CATEGORIES[code]
    found = ResultCategory(code=code, name=name, is_problem=is_problem, needs_follow_up=follow)
    db.session.add(found)
    db.session.flush()
    return found


def staff(world: FieldWorld, role: str = "supervisor", **kw: Any) -> User:
    return factories.user(roles=[role], department=world.department, **kw)


def credit_code(n: int) -> str:
    first17 = f"92140581MA1{n:06d}"
    return first17 + check_char(first17)


def add_inspection(
    world: FieldWorld, *, task: Task | None = None, kind: str = "enterprise", **fields: Any
) -> Inspection:
    """One more visit of ``task`` (default the world's) to a new target."""
    n = next(_n)
    task = task or world.task
    target = Target(code=credit_code(n), name=f"测试商贸有限公司{n}", kind=kind)
    db.session.add(target)
    db.session.flush()
    inspection = Inspection(
        target_id=target.id, window_start=task.window_start, window_end=task.window_end, **fields
    )
    db.session.add(inspection)
    db.session.flush()
    db.session.add(InspectionTask(inspection_id=inspection.id, task_id=task.id, draw_id=world.draw.id))
    db.session.commit()
    return inspection


def submit(inspection: Inspection, checked_on: dt.date, due: dt.date | None = None) -> InspectionVersion:
    number = len(inspection.versions) + 1
    version = InspectionVersion(
        inspection=inspection,
        number=number,
        content_hash=f"{inspection.id:032x}{number:032x}",
        record={"v": 1, "inspection_id": inspection.id, "answers": [], "number": number},
        status="submitted",
        submitted_at=dt.datetime.combine(checked_on, dt.time(3, 0)),
    )
    db.session.add(version)
    inspection.state = "submitted"
    inspection.checked_on = inspection.checked_on or checked_on
    inspection.submitted_at = version.submitted_at
    inspection.result_due_on = due
    db.session.commit()
    return version


def approve(
    inspection: Inspection,
    approved_at: dt.datetime,
    categories: tuple[str, ...] = ("no_problem",),
    *,
    withheld: bool = False,
) -> InspectionResult:
    """As review's ``approve_inspection`` leaves it: the version approved, a result with categories."""
    version = inspection.latest_version
    assert version is not None
    version.status = "approved"
    version.decided_at = approved_at
    inspection.state = "approved"
    inspection.approved_at = approved_at
    result = InspectionResult(
        inspection_id=inspection.id,
        version_id=version.id,
        summary="检查结果",
        publish=not withheld,
        withhold_status="approved" if withheld else "none",
        withhold_reason="涉及国家秘密" if withheld else "",
        withhold_decided_at=approved_at if withheld else None,
        entered_at=approved_at,
    )
    db.session.add(result)
    db.session.flush()
    for code in categories:
        db.session.add(InspectionResultCategory(result_id=result.id, category_id=category(code).id))
    db.session.commit()
    return result


def publish(inspection: Inspection, published_at: dt.datetime) -> None:
    """As publication leaves it: published_at on the result and the inspection, state published."""
    result = db.session.scalar(
        select(InspectionResult).where(InspectionResult.inspection_id == inspection.id)
    )
    assert result is not None
    result.published_at = published_at
    inspection.published_at = published_at
    inspection.state = "published"
    db.session.commit()


def follow_up(inspection: Inspection, *, closed: bool = False, kind: str = "correction") -> FollowUp:
    item = FollowUp(
        inspection_id=inspection.id,
        kind=kind,
        description="责令改正",
        status="closed" if closed else "open",
        closed_at=dt.datetime(2025, 11, 1) if closed else None,
        outcome="已改正" if closed else "",
    )
    db.session.add(item)
    db.session.commit()
    return item


def utc(local: str) -> dt.datetime:
    """A naive-UTC instant from an Asia/Shanghai wall-clock time, e.g. ``utc("2025-10-31 09:00")``."""
    return dt.datetime.fromisoformat(local) - dt.timedelta(hours=8)


# -- job bodies for the job-runner tests (a job names its body as "module:function") -----------------


def job_writes_then_fails(now: dt.datetime) -> dict[str, Any]:
    """Changes something, then fails: the run must leave nothing behind."""
    from server.deadlines.models import CalendarYear

    db.session.add(CalendarYear(year=2099, note="written by a failing job"))
    db.session.flush()
    raise RuntimeError(f"boom at {now.isoformat()}")
