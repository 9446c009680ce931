"""Follow-up of problems found (后续处置, DOMAIN.md §6): dispositions, their steps, closing, the ledger.

Every problem found — a result category flagged ``needs_follow_up`` on an approved inspection —
gets a disposition (``FollowUp``): no follow-up needed, routine supervision, an order to correct by
a deadline and a re-check, a case (立案), a transfer to the competent department (with its
feedback), the judiciary, discipline inspection, or other. Steps (``FollowUpEvent``) carry notes and
evidence files; a follow-up is tracked until it is closed with a date and an outcome, which the
public result then shows.

"谁监管、谁负责": the staff of the departments of the inspection's tasks (initiating or cooperating)
handle its follow-ups. Services flush and audit; the request or CLI boundary commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, exists, or_, select

from server.accounts.models import User
from server.accounts.services import visible_department_ids
from server.audit.services import record_event
from server.db import utcnow
from server.errors import ApiError
from server.evidence.models import BlobRef
from server.evidence.services import held_blob, is_sha256
from server.extensions import db
from server.followup.models import FOLLOW_UP_KINDS, FollowUp, FollowUpEvent
from server.i18n import to_local, today_local
from server.inspections.models import Inspection, InspectionTask
from server.planning.models import Task, TaskCooperation
from server.results.models import InspectionResult, InspectionResultCategory, ResultCategory

STAFF = ("admin", "supervisor", "leader")
# Follow-ups are opened on these states; an archived inspection is read-only.
FOLLOW_UP_STATES = ("approved", "published")

# Labels are the Chinese source strings (translations/en/followup.json); the codes are the model's.
KIND_NAMES = {
    "none": "无需后续处置",
    "routine": "纳入日常监管",
    "correction": "责令限期改正",
    "case": "立案查处",
    "transfer": "移送其他部门",
    "judicial": "移送司法机关",
    "discipline": "移送纪检监察机关",
    "other": "其他",
}
assert tuple(KIND_NAMES) == FOLLOW_UP_KINDS
STATUS_NAMES = {"open": "未完结", "closed": "已完结"}
# Steps a person records; "opened" and "closed" are written by the services themselves.
STEP_NAMES = {
    "recheck_passed": "复查：已改正",
    "recheck_failed": "复查：未改正",
    "case_filed": "已立案",
    "penalty": "作出行政处罚",
    "transferred": "已移送",
    "feedback": "收到处理结果反馈",
    "progress": "其他进展",
}
EVENT_NAMES = {"opened": "作出处置决定", **STEP_NAMES, "closed": "处置完结"}
# What a kind must have on record before it can be closed, and why (DOMAIN.md §6): an order to
# correct is followed by a re-check; a transferred lead comes back as feedback.
REQUIRED_STEPS: dict[str, tuple[str, ...]] = {
    "correction": ("recheck_passed", "recheck_failed"),
    "transfer": ("feedback",),
}
MAX_EVIDENCE = 20  # files per step


@dataclass(frozen=True)
class Problem:
    """A problem found that still waits for a disposition (shown at the top of the ledger)."""

    inspection: Inspection
    category: ResultCategory


# -- who handles what ------------------------------------------------------------------------------


def _department_inspections(ids: set[int]) -> Select[int]:
    """Inspections with a task whose initiating or a cooperating department is one of ``ids``."""
    cooperating = select(TaskCooperation.task_id).where(TaskCooperation.department_id.in_(ids))
    return (
        select(InspectionTask.inspection_id)
        .join(Task, Task.id == InspectionTask.task_id)
        .where(or_(Task.initiating_department_id.in_(ids), Task.id.in_(cooperating)))
    )


def responsible_inspections(user: User) -> Select[int] | None:
    """Ids of the inspections whose follow-ups the user handles; None means every one (admins)."""
    if not user.has_role(*STAFF):
        return select(Inspection.id).where(Inspection.id.is_(None))
    ids = visible_department_ids(user)
    if ids is None:
        return None
    return _department_inspections(ids)


def can_handle(user: User, inspection: Inspection) -> bool:
    """谁监管、谁负责: staff of the inspection's task departments (or with a grant), and admins."""
    scope = responsible_inspections(user)
    if scope is None:
        return True
    return (
        db.session.scalar(
            select(Inspection.id).where(Inspection.id == inspection.id, Inspection.id.in_(scope))
        )
        is not None
    )


def visible_follow_ups(user: User) -> Select[FollowUp]:
    query = select(FollowUp)
    scope = responsible_inspections(user)
    if scope is not None:
        query = query.where(FollowUp.inspection_id.in_(scope))
    return query


# -- guards ----------------------------------------------------------------------------------------


def _writable(inspection: Inspection) -> None:
    if inspection.state == "archived":
        raise ApiError("inspection_archived")


def _result(inspection: Inspection) -> InspectionResult:
    result = db.session.scalar(
        select(InspectionResult).where(InspectionResult.inspection_id == inspection.id)
    )
    if inspection.state not in FOLLOW_UP_STATES or result is None or result.version_id is None:
        raise ApiError("inspection_not_approved", detail=f"the inspection is {inspection.state}")
    return result


def follow_up_categories(result: InspectionResult) -> list[ResultCategory]:
    """The result's categories that are problems needing a follow-up."""
    return [c for c in result.categories if c.needs_follow_up]


def _touch_public(inspection_id: int) -> None:
    """A closed follow-up changes what the public result shows: the feed's updated_since sees it."""
    result = db.session.scalar(
        select(InspectionResult).where(InspectionResult.inspection_id == inspection_id)
    )
    if result is not None:
        result.updated_at = utcnow()


# -- opening, steps, closing -----------------------------------------------------------------------


def open_follow_up(inspection: Inspection, actor: User, data: dict[str, Any]) -> FollowUp:
    """Record the disposition of a problem found on an approved inspection.

    ``data``: kind, category_id (a needs_follow_up category of the result, or None for a problem
    outside them, which then needs a description), description, deadline (required for a
    correction order, not before today), transfer_to (required for a transfer). A disposition of
    kind ``none`` is closed at once: there is nothing to track.
    """
    _writable(inspection)
    result = _result(inspection)
    kind = data["kind"]
    errors: dict[str, list[str]] = {}
    if kind not in FOLLOW_UP_KINDS:
        errors["kind"] = [f"One of {', '.join(FOLLOW_UP_KINDS)}."]
    category_id = data.get("category_id")
    description = (data.get("description") or "").strip()
    if category_id is not None and category_id not in {c.id for c in follow_up_categories(result)}:
        errors["category_id"] = ["Not a problem category of this inspection's result."]
    if category_id is None and not description:
        errors["description"] = ["Describe the problem when no result category is chosen."]
    deadline = data.get("deadline")
    today = today_local()
    if kind == "correction" and deadline is None:
        errors["deadline"] = ["A correction order needs a deadline."]
    elif deadline is not None and inspection.checked_on is not None and deadline < inspection.checked_on:
        # A disposition may be recorded after the fact, so a past deadline is allowed, but not one
        # before the check that found the problem.
        errors["deadline"] = ["The deadline cannot be before the inspection date."]
    transfer_to = (data.get("transfer_to") or "").strip()
    if kind == "transfer" and not transfer_to:
        errors["transfer_to"] = ["Name the department the lead is transferred to."]
    if errors:
        raise ApiError("validation_failed", errors=errors)
    if category_id is not None:
        # Problems outside the categories (category None) are told apart only by their description,
        # so only a category's problem is held to one open disposition.
        already_open = db.session.scalar(
            select(FollowUp.id).where(
                FollowUp.inspection_id == inspection.id,
                FollowUp.status == "open",
                FollowUp.category_id == category_id,
            )
        )
        if already_open is not None:
            raise ApiError("follow_up_open_exists", detail=f"follow-up {already_open}")

    now = utcnow()
    follow_up = FollowUp(
        inspection_id=inspection.id,
        category_id=category_id,
        kind=kind,
        description=description,
        deadline=deadline,
        transfer_to=transfer_to,
        status="open",
        opened_by_id=actor.id,
        opened_at=now,
        outcome="",
    )
    db.session.add(follow_up)
    db.session.flush()
    details = {
        "kind": kind,
        "category_id": category_id,
        "deadline": deadline.isoformat() if deadline else None,
        "transfer_to": transfer_to,
    }
    db.session.add(
        FollowUpEvent(
            follow_up_id=follow_up.id,
            kind="opened",
            note=description,
            evidence=[],
            at=now,
            actor_id=actor.id,
            details=details,
        )
    )
    record_event(
        "follow_up.opened",
        "follow_up",
        follow_up.id,
        actor_id=actor.id,
        details={"inspection_id": inspection.id, **details},
    )
    if kind == "none":
        _close(follow_up, actor, today, description or KIND_NAMES["none"])
    db.session.flush()
    return follow_up


def add_follow_up_step(
    follow_up: FollowUp, actor: User, kind: str, note: str, evidence: Sequence[str] = ()
) -> FollowUpEvent:
    """Record one step (a re-check, a case filed, feedback received…) with evidence files.

    ``evidence`` names files already received (``receive_blob``) by SHA-256; each gets a
    ``BlobRef(source='followup')`` so it is kept and its inspection's team may open it.
    """
    inspection = db.session.get(Inspection, follow_up.inspection_id)
    assert inspection is not None
    _writable(inspection)
    if follow_up.status != "open":
        raise ApiError("follow_up_closed")
    note = note.strip()
    shas = list(dict.fromkeys(evidence))  # once each, in the order given
    errors: dict[str, list[str]] = {}
    if kind not in STEP_NAMES:
        errors["kind"] = [f"One of {', '.join(STEP_NAMES)}."]
    if not note and not shas:
        errors["note"] = ["A step needs a note or evidence."]
    if len(shas) > MAX_EVIDENCE:
        errors["evidence"] = [f"At most {MAX_EVIDENCE} files per step."]
    missing = [s for s in shas if not is_sha256(s) or held_blob(s) is None]
    if missing:
        errors["evidence"] = [f"Not uploaded: {s}" for s in missing]
    if errors:
        raise ApiError("validation_failed", errors=errors)
    event = FollowUpEvent(
        follow_up_id=follow_up.id,
        kind=kind,
        note=note,
        evidence=shas,
        at=utcnow(),
        actor_id=actor.id,
        details={},
    )
    db.session.add(event)
    db.session.flush()
    for sha in shas:
        db.session.add(
            BlobRef(sha256=sha, inspection_id=inspection.id, source="followup", source_id=str(event.id))
        )
    record_event(
        "follow_up.step",
        "follow_up",
        follow_up.id,
        actor_id=actor.id,
        details={"event_id": event.id, "kind": kind, "evidence": shas},
    )
    db.session.flush()
    return event


def close_follow_up(follow_up: FollowUp, actor: User, closed_on: dt.date, outcome: str) -> FollowUp:
    """Close with the date the matter ended and its outcome (both public on the result)."""
    inspection = db.session.get(Inspection, follow_up.inspection_id)
    assert inspection is not None
    _writable(inspection)
    if follow_up.status != "open":
        raise ApiError("follow_up_closed")
    outcome = outcome.strip()
    errors: dict[str, list[str]] = {}
    if not outcome:
        errors["outcome"] = ["State the outcome."]
    opened_local = to_local(follow_up.opened_at)
    assert opened_local is not None
    if closed_on > today_local():
        errors["closed_on"] = ["The closing date cannot be in the future."]
    elif closed_on < opened_local.date():
        errors["closed_on"] = ["The closing date cannot be before the follow-up was opened."]
    if errors:
        raise ApiError("validation_failed", errors=errors)
    needed = REQUIRED_STEPS.get(follow_up.kind)
    if needed and not any(e.kind in needed for e in follow_up.events):
        raise ApiError("follow_up_step_missing", detail=f"{follow_up.kind} needs one of: {', '.join(needed)}")
    _close(follow_up, actor, closed_on, outcome)
    db.session.flush()
    return follow_up


def _close(follow_up: FollowUp, actor: User, closed_on: dt.date, outcome: str) -> None:
    now = utcnow()
    follow_up.status = "closed"
    follow_up.closed_at = now
    follow_up.closed_by_id = actor.id
    follow_up.closed_on = closed_on
    follow_up.outcome = outcome
    db.session.add(
        FollowUpEvent(
            follow_up_id=follow_up.id,
            kind="closed",
            note=outcome,
            evidence=[],
            at=now,
            actor_id=actor.id,
            details={"closed_on": closed_on.isoformat()},
        )
    )
    record_event(
        "follow_up.closed",
        "follow_up",
        follow_up.id,
        actor_id=actor.id,
        details={"closed_on": closed_on, "outcome": outcome},
    )
    _touch_public(follow_up.inspection_id)


# -- reading ---------------------------------------------------------------------------------------


def is_overdue(follow_up: FollowUp, today: dt.date | None = None) -> bool:
    return (
        follow_up.status == "open"
        and follow_up.deadline is not None
        and follow_up.deadline < (today or today_local())
    )


def ledger_query(user: User, filters: dict[str, Any]) -> Select[FollowUp]:
    """The 台账: follow-ups the user handles, filtered by status, kind, overdue, deadline range.

    Open ones first, soonest deadline first (none last), then newest.
    """
    query = visible_follow_ups(user)
    today = filters.get("today") or today_local()
    if filters.get("status"):
        query = query.where(FollowUp.status == filters["status"])
    if filters.get("kind"):
        query = query.where(FollowUp.kind == filters["kind"])
    if filters.get("overdue"):
        query = query.where(FollowUp.status == "open", FollowUp.deadline < today)
    if filters.get("deadline_from"):
        query = query.where(FollowUp.deadline >= filters["deadline_from"])
    if filters.get("deadline_to"):
        query = query.where(FollowUp.deadline <= filters["deadline_to"])
    if filters.get("inspection_id"):
        query = query.where(FollowUp.inspection_id == filters["inspection_id"])
    return query.order_by(
        FollowUp.status != "open", FollowUp.deadline.is_(None), FollowUp.deadline, FollowUp.id.desc()
    )


def awaiting_disposition(user: User, limit: int = 200) -> list[Problem]:
    """Problems found (needs_follow_up categories of approved results) that have no disposition yet."""
    query = (
        select(Inspection, ResultCategory)
        .join(InspectionResult, InspectionResult.inspection_id == Inspection.id)
        .join(InspectionResultCategory, InspectionResultCategory.result_id == InspectionResult.id)
        .join(ResultCategory, ResultCategory.id == InspectionResultCategory.category_id)
        .where(
            Inspection.state.in_(FOLLOW_UP_STATES),
            InspectionResult.version_id.is_not(None),
            ResultCategory.needs_follow_up.is_(True),
            ~exists().where(
                and_(FollowUp.inspection_id == Inspection.id, FollowUp.category_id == ResultCategory.id)
            ),
        )
        .order_by(Inspection.approved_at, Inspection.id, ResultCategory.position)
        .limit(limit)
    )
    scope = responsible_inspections(user)
    if scope is not None:
        query = query.where(Inspection.id.in_(scope))
    return [Problem(inspection, category) for inspection, category in db.session.execute(query)]


def public_follow_ups(inspection_ids: Sequence[int]) -> dict[int, list[FollowUp]]:
    """Every follow-up of these inspections, by inspection (the public page shows closed ones)."""
    out: dict[int, list[FollowUp]] = {i: [] for i in inspection_ids}
    if not inspection_ids:
        return out
    rows = db.session.scalars(
        select(FollowUp).where(FollowUp.inspection_id.in_(list(inspection_ids))).order_by(FollowUp.id)
    )
    for row in rows:
        out[row.inspection_id].append(row)
    return out
