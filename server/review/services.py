"""Supervisor review: the queue, returning a version with comments, approving it with its result.

Who reviews: admins, supervisors and leaders who may see the inspection (its task's department,
``inspections_visible_to``) and are not on its team. A decision names the version it was made on;
the state change is a compare-and-set (``UPDATE … WHERE state = 'submitted'``), so of two
reviewers acting at once exactly one wins and the other gets ``inspection_not_submitted`` or
``inspection_frozen`` with nothing changed. After either decision the phones' inspection record is
refreshed: a return shows the comments there, an approval locks it for good.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, exists, func, or_, select, update
from sqlalchemy.orm import selectinload

from server.accounts.models import User
from server.audit.models import AuditEvent
from server.audit.services import record_event
from server.db import utcnow
from server.directory.models import Target
from server.errors import ApiError
from server.extensions import db
from server.fieldsync.assignments import refresh_inspection
from server.inspections.models import Inspection, InspectionTask, InspectionVersion, TeamMember
from server.inspections.services import inspections_visible_to
from server.planning.models import Task
from server.results.models import InspectionResult
from server.results.services import categories_by_code, default_summary, enter_result
from server.review.diff import VersionDiff, diff_records
from server.review.models import ReviewComment

STAFF = ("admin", "supervisor", "leader")
# The queue's tabs, in order: waiting for review, sent back to the field, approved not yet published.
QUEUE_STATES = ("submitted", "returned", "approved")
COMMENT_MAX = 2000  # the phone shows comments next to its own 2,000-character notes
FROZEN_STATES = ("approved", "published")


@dataclass(frozen=True)
class QueueFilters:
    department_id: int | None = None
    task_id: int | None = None
    q: str = ""  # target name, or a prefix of its credit code
    overdue: bool = False  # only those past their result deadline (result_due_on)


# -- who may see and decide ------------------------------------------------------------------------


def visible_inspection(user: User, inspection_id: int) -> Inspection | None:
    """The inspection if staff ``user`` may see it (None answers 404: existence is not disclosed)."""
    if not user.has_role(*STAFF):
        return None
    return db.session.scalar(inspections_visible_to(user).where(Inspection.id == inspection_id))


def on_team(user: User, inspection: Inspection) -> bool:
    return any(m.inspector.user_id == user.id for m in inspection.active_team)


def can_review(user: User, inspection: Inspection) -> bool:
    """Staff not on its team (nobody reviews their own inspection). Whether the user may see it at
    all is the caller's check (``visible_inspection``: 404 otherwise)."""
    return user.has_role(*STAFF) and not on_team(user, inspection)


# -- the queue -------------------------------------------------------------------------------------


def review_queue(user: User, state: str, filters: QueueFilters, today: dt.date) -> Select[Any]:
    """Inspections in ``state`` the user may see, soonest result deadline first (none last)."""
    stmt = _filtered(user, filters, today).where(Inspection.state == state)
    return stmt.order_by(
        Inspection.result_due_on.is_(None),
        Inspection.result_due_on,
        Inspection.submitted_at,
        Inspection.id,
    ).options(
        selectinload(Inspection.target),
        selectinload(Inspection.task_links)
        .selectinload(InspectionTask.task)
        .selectinload(Task.initiating_department),
        selectinload(Inspection.team).selectinload(TeamMember.inspector),
        selectinload(Inspection.versions),
    )


def queue_counts(user: User, filters: QueueFilters, today: dt.date) -> dict[str, int]:
    """How many inspections each tab holds under the same filters."""
    sub = _filtered(user, filters, today).where(Inspection.state.in_(QUEUE_STATES)).subquery()
    rows = db.session.execute(select(sub.c.state, func.count()).group_by(sub.c.state))
    counts = dict.fromkeys(QUEUE_STATES, 0)
    counts.update({str(row[0]): int(row[1]) for row in rows})
    return counts


def _filtered(user: User, filters: QueueFilters, today: dt.date) -> Select[Any]:
    stmt = inspections_visible_to(user)
    if filters.department_id is not None or filters.task_id is not None:
        link = select(InspectionTask.inspection_id).join(Task, Task.id == InspectionTask.task_id)
        if filters.department_id is not None:
            link = link.where(Task.initiating_department_id == filters.department_id)
        if filters.task_id is not None:
            link = link.where(InspectionTask.task_id == filters.task_id)
        stmt = stmt.where(Inspection.id.in_(link))
    q = filters.q.strip()
    if q:
        stmt = stmt.where(
            exists().where(
                Target.id == Inspection.target_id,
                or_(
                    Target.name.contains(q, autoescape=True),
                    Target.code.startswith(q.upper(), autoescape=True),
                ),
            )
        )
    if filters.overdue:
        stmt = stmt.where(Inspection.result_due_on < today)
    return stmt


def is_overdue(inspection: Inspection, today: dt.date) -> bool:
    """Past the result deadline without an approved result (视为未完成 is ``late``, set by ops)."""
    return (
        inspection.result_due_on is not None
        and inspection.result_due_on < today
        and inspection.state in ("submitted", "returned", "in_progress", "assigned")
    )


# -- versions --------------------------------------------------------------------------------------


def version_by_number(inspection: Inspection, number: int) -> InspectionVersion | None:
    return next((v for v in inspection.versions if v.number == number), None)


def previous_version(inspection: Inspection, version: InspectionVersion) -> InspectionVersion | None:
    earlier = [v for v in inspection.versions if v.number < version.number]
    return earlier[-1] if earlier else None


def version_diff(inspection: Inspection, version: InspectionVersion) -> VersionDiff | None:
    """What changed since the previous version (None for the first)."""
    before = previous_version(inspection, version)
    if before is None:
        return None
    return diff_records(before.record, version.record, before.number, version.number)


def version_comments(version_ids: Sequence[int]) -> dict[int, list[ReviewComment]]:
    """Review comments of each version in the order written (a return writes its general comment first)."""
    out: dict[int, list[ReviewComment]] = {vid: [] for vid in version_ids}
    if not version_ids:
        return out
    rows = db.session.scalars(
        select(ReviewComment).where(ReviewComment.version_id.in_(version_ids)).order_by(ReviewComment.id)
    )
    for row in rows:
        out[row.version_id].append(row)
    return out


def decision_history(inspection: Inspection) -> list[AuditEvent]:
    """Every audited event of the inspection (submissions, returns, approvals, withholding)."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "inspection", AuditEvent.object_id == str(inspection.id))
            .order_by(AuditEvent.seq)
        )
    )


# -- decisions -------------------------------------------------------------------------------------


def _guard(user: User, inspection: Inspection, number: int) -> InspectionVersion:
    """The version a decision is about, if the inspection is waiting for review on exactly it."""
    if inspection.state == "archived":
        raise ApiError("inspection_archived")
    if not user.has_role(*STAFF):
        raise ApiError("forbidden")
    if on_team(user, inspection):
        raise ApiError("review_own_inspection")
    if inspection.state in FROZEN_STATES:
        raise ApiError("inspection_frozen", detail=f"the inspection is {inspection.state}")
    if inspection.state != "submitted":
        raise ApiError("inspection_not_submitted", detail=f"the inspection is {inspection.state}")
    latest = inspection.latest_version
    if latest is None or latest.number != number or latest.status != "submitted":
        current = latest.number if latest else None
        raise ApiError("review_version_stale", detail=f"version {number} reviewed, latest is {current}")
    return latest


def _transition(inspection: Inspection, to_state: str, **values: Any) -> None:
    """Compare-and-set submitted → ``to_state``: the UPDATE's WHERE is the concurrency check.

    On PostgreSQL a second reviewer's UPDATE waits on the first's row lock and then matches no row;
    on SQLite writers are serialised. Either way the loser changes nothing.
    """
    result = db.session.execute(
        update(Inspection)
        .where(Inspection.id == inspection.id, Inspection.state == "submitted")
        .values(state=to_state, **values)
        .execution_options(synchronize_session="fetch")
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        db.session.refresh(inspection)
        raise ApiError(
            "inspection_frozen" if inspection.state in FROZEN_STATES else "inspection_not_submitted",
            detail=f"the inspection is {inspection.state}",
        )


def _checkpoint_ids(version: InspectionVersion) -> set[int]:
    ids = (version.record.get("inspection") or {}).get("checkpoint_ids") or []
    return {i for i in ids if isinstance(i, int)}


def return_inspection(
    inspection: Inspection,
    number: int,
    actor: User,
    *,
    comment: str = "",
    items: Sequence[Mapping[str, Any]] = (),
) -> InspectionVersion:
    """Send version ``number`` back to the inspectors with a general comment and/or per checkpoint.

    ``items`` are ``{checkpoint_id, comment}``; blank ones are ignored, a checkpoint not on the
    version's checklist is refused. The phones pull state ``returned`` and the comments (``review``).
    """
    version = _guard(actor, inspection, number)
    comment = comment.strip()
    known = _checkpoint_ids(version)
    rows: list[tuple[int, str]] = []
    errors: dict[str, list[str]] = {}
    for item in items:
        text = str(item.get("comment") or "").strip()
        checkpoint = item.get("checkpoint_id")
        if not text:
            continue
        if not isinstance(checkpoint, int) or checkpoint not in known:
            errors.setdefault("items", []).append(
                f"checkpoint {checkpoint} is not on this version's checklist"
            )
        elif len(text) > COMMENT_MAX:
            errors.setdefault("items", []).append(
                f"checkpoint {checkpoint}: at most {COMMENT_MAX} characters"
            )
        elif any(c == checkpoint for c, _ in rows):
            errors.setdefault("items", []).append(f"checkpoint {checkpoint} is commented twice")
        else:
            rows.append((checkpoint, text))
    if len(comment) > COMMENT_MAX:
        errors["comment"] = [f"At most {COMMENT_MAX} characters."]
    if errors:
        raise ApiError("validation_failed", errors=errors)
    if not comment and not rows:
        raise ApiError("review_comment_required")

    now = utcnow()
    _transition(inspection, "returned")
    version.status = "returned"
    version.decided_at = now
    version.decided_by_id = actor.id
    version.decision_comment = comment
    if comment:
        db.session.add(
            ReviewComment(version_id=version.id, checkpoint_id=None, text=comment, author_id=actor.id)
        )
    for checkpoint, text in rows:
        db.session.add(
            ReviewComment(version_id=version.id, checkpoint_id=checkpoint, text=text, author_id=actor.id)
        )
    db.session.flush()
    refresh_inspection(inspection)
    record_event(
        "inspection.returned",
        "inspection",
        inspection.id,
        actor_id=actor.id,
        details={
            "version": version.number,
            "content_hash": version.content_hash,
            "state": ["submitted", "returned"],
            "comment": comment,
            "checkpoints": [c for c, _ in rows],
        },
    )
    return version


def approve_inspection(
    inspection: Inspection,
    number: int,
    actor: User,
    *,
    categories: Sequence[str],
    summary: str = "",
    publish: bool = True,
    withhold_reason: str = "",
) -> InspectionResult:
    """Approve version ``number`` with its result: categories (codes), public summary, publish or not.

    Freezes the version (``InspectionVersion`` refuses later edits) and the result's categories;
    the phones' record becomes ``approved`` (locked for good). Not publishing needs a reason and
    waits for a leader's decision (``results.services.decide_withholding``).
    """
    version = _guard(actor, inspection, number)
    chosen = categories_by_code(categories)
    if len(summary) > COMMENT_MAX:
        raise ApiError("validation_failed", errors={"summary": [f"At most {COMMENT_MAX} characters."]})
    if len(withhold_reason) > COMMENT_MAX:
        raise ApiError(
            "validation_failed", errors={"withhold_reason": [f"At most {COMMENT_MAX} characters."]}
        )
    if not publish and not withhold_reason.strip():
        raise ApiError("withhold_reason_required")
    now = utcnow()
    _transition(inspection, "approved", approved_at=now)
    version.status = "approved"
    version.decided_at = now
    version.decided_by_id = actor.id
    version.decision_comment = ""
    db.session.flush()
    record_event(
        "inspection.approved",
        "inspection",
        inspection.id,
        actor_id=actor.id,
        details={
            "version": version.number,
            "content_hash": version.content_hash,
            "state": ["submitted", "approved"],
            "categories": [c.code for c in chosen],
            "summary": summary.strip() or default_summary(chosen),
            "publish": publish,
        },
    )
    # After the approval event, so the history reads "approved, then withholding requested".
    result = enter_result(
        inspection,
        version,
        chosen,
        summary=summary,
        publish=publish,
        withhold_reason=withhold_reason,
        actor=actor,
    )
    refresh_inspection(inspection)
    if not publish:
        _notify_withholding_deciders(inspection, actor)
    return result


# The bell's message to the leaders who may decide a request not to publish (a Chinese source string).
WITHHOLD_REQUESTED_TEXT = "{requester}申请对{target}的检查结果不予公示，请审批"


def _notify_withholding_deciders(inspection: Inspection, actor: User) -> None:
    """Tell the leaders who see the inspection (the requester decides nothing on their own request)."""
    from server.notifications.services import notify, users_with_role

    leaders = [
        u
        for u in users_with_role("leader")
        if u.id != actor.id
        and db.session.scalar(inspections_visible_to(u).where(Inspection.id == inspection.id).limit(1))
    ]
    notify(
        leaders,
        "withhold_requested",
        f"withhold_requested:inspection:{inspection.id}",
        WITHHOLD_REQUESTED_TEXT,
        {"requester": actor.display_name, "target": inspection.target.name},
        "/review/withholdings",
    )


def queue_row(inspection: Inspection, today: dt.date) -> dict[str, Any]:
    """One queue line as the page and the API show it."""
    leader = next((m for m in inspection.active_team if m.role == "leader"), None)
    latest = inspection.latest_version
    return {
        "id": inspection.id,
        "state": inspection.state,
        "target": inspection.target,
        "tasks": [
            {
                "id": link.task.id,
                "name": link.task.name,
                "department_id": link.task.initiating_department_id,
                "department": link.task.initiating_department.name,
            }
            for link in sorted(inspection.task_links, key=lambda link: link.task_id)
        ],
        "leader": leader.inspector.name if leader else None,
        "version": latest.number if latest else None,
        "version_status": latest.status if latest else None,
        "checked_on": inspection.checked_on,
        "submitted_at": inspection.submitted_at,
        "approved_at": inspection.approved_at,
        "result_due_on": inspection.result_due_on,
        "overdue": is_overdue(inspection, today),
        "late": inspection.late,
    }
