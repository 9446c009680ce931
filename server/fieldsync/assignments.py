"""The inspection record phones pull: what the server writes into it, and keeping it current.

An inspection reaches the sync log lazily: the first time a team member's phone pulls, the
inspection gets its ``sync_id`` and a server-written ``inspection`` record (PROTOCOL.md §4.1). A
draw of a million targets therefore writes no sync rows, and a phone always receives the team,
checklist and state as they are now. Any later server-side change (a replacement, a reviewer's
return, an approval) is picked up the same way: ``refresh_records`` recomputes the fields and writes
only those that differ, so an unchanged inspection costs no write and no seq.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from server.directory.models import Department, InspectionRecord, Item
from server.extensions import db
from server.fieldsync.store import SqlStore
from server.inspections.models import Inspection, InspectionTask, TeamMember
from server.planning.models import Task, TaskItem
from server.review.models import ReviewComment
from sync.canonical import JSON, same_json
from sync.upstream import write_server_record

HISTORY_SHOWN = 5  # past inspections of the target shown on the phone


def load_options() -> tuple[Any, ...]:
    """Eager loads for computing many inspections' fields without a query per row."""
    return (
        selectinload(Inspection.target),
        selectinload(Inspection.team).selectinload(TeamMember.inspector),
        selectinload(Inspection.team).selectinload(TeamMember.department),
        selectinload(Inspection.team).selectinload(TeamMember.acting_for),
        selectinload(Inspection.task_links)
        .selectinload(InspectionTask.task)
        .selectinload(Task.item_links)
        .selectinload(TaskItem.item)
        .selectinload(Item.checkpoints),
        selectinload(Inspection.task_links)
        .selectinload(InspectionTask.task)
        .selectinload(Task.initiating_department),
        selectinload(Inspection.versions),
    )


def _date(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _team(inspection: Inspection) -> list[dict[str, JSON]]:
    members = sorted(inspection.active_team, key=lambda m: (m.role != "leader", m.role == "expert", m.id))
    return [
        {
            "inspector_id": m.inspector_id,
            "code": m.inspector.code,
            "name": m.inspector.name,
            "role": m.role,
            "department": m.department.name,
            # The task department this member stands in for, drawn from a peer department of the
            # same trade because that one had nobody eligible left (003 第十七条); None otherwise.
            "acting_for": m.acting_for.name if m.acting_for is not None else None,
        }
        for m in members
    ]


def _items(inspection: Inspection) -> list[Item]:
    """Every item of every task of the visit (1+X), each once, in task then item order."""
    seen: set[int] = set()
    out: list[Item] = []
    for link in sorted(inspection.task_links, key=lambda link: link.task_id):
        for item_link in link.task.item_links:
            if item_link.item.id not in seen:
                seen.add(item_link.item.id)
                out.append(item_link.item)
    return out


def _checklist(inspection: Inspection) -> list[dict[str, JSON]]:
    return [
        {
            "item_id": item.id,
            "code": item.code,
            "name": item.name,
            "kind": item.kind,
            "legal_basis": item.legal_basis,
            "checkpoints": [
                {"id": c.id, "position": c.position, "text": c.text, "method": c.method}
                for c in item.checkpoints
            ],
        }
        for item in _items(inspection)
    ]


def _history(target_id: int) -> list[dict[str, JSON]]:
    rows = db.session.execute(
        select(InspectionRecord, Department.name)
        .outerjoin(Department, Department.id == InspectionRecord.department_id)
        .where(InspectionRecord.target_id == target_id)
        .order_by(InspectionRecord.inspected_on.desc(), InspectionRecord.id.desc())
        .limit(HISTORY_SHOWN)
    )
    return [
        {
            "inspected_on": rec.inspected_on.isoformat(),
            "department": dept or "",
            "task_name": rec.task_name,
            "result": rec.result,
        }
        for rec, dept in rows
    ]


def _review(inspection: Inspection) -> dict[str, JSON] | None:
    """The reviewer's comments while the inspection is returned (shown on the phone to fix)."""
    version = inspection.latest_version
    if inspection.state != "returned" or version is None or version.status != "returned":
        return None
    comments = db.session.scalars(
        select(ReviewComment).where(ReviewComment.version_id == version.id).order_by(ReviewComment.id)
    )
    return {
        "version": version.number,
        "returned_at": version.decided_at.isoformat() + "Z" if version.decided_at else None,
        "comment": version.decision_comment,
        "items": [{"checkpoint_id": c.checkpoint_id, "comment": c.text} for c in comments],
    }


def assignment_fields(inspection: Inspection) -> dict[str, JSON]:
    """The server-owned fields of the inspection record (PROTOCOL.md §4.1)."""
    target = inspection.target
    team = _team(inspection)
    checklist = _checklist(inspection)
    counted = [m for m in team if m["role"] in ("leader", "member")]
    leader = next((m["inspector_id"] for m in team if m["role"] == "leader"), None)
    tasks: list[JSON] = [
        {"id": link.task.id, "name": link.task.name, "department": link.task.initiating_department.name}
        for link in sorted(inspection.task_links, key=lambda link: link.task_id)
    ]
    checkpoint_ids: list[JSON] = [c.id for link in _items(inspection) for c in link.checkpoints]
    return {
        "state": inspection.state,
        "target": {
            "code": target.code,
            "name": target.name,
            "kind": target.kind,
            "industry": target.industry,
            "district": target.district,
            "address": target.address,
            "legal_rep": target.legal_rep,
            "risk_class": target.risk_class,
            "status": target.status,
            "history": list(_history(target.id)),
        },
        "tasks": tasks,
        "window_start": _date(inspection.window_start),
        "window_end": _date(inspection.window_end),
        "team": list(team),
        "inspector_ids": [m["inspector_id"] for m in counted],
        "leader_id": leader,
        "checklist": list(checklist),
        "checkpoint_ids": checkpoint_ids,
        "review": _review(inspection),
    }


def ensure_sync_id(inspection: Inspection) -> str:
    if inspection.sync_id is None:
        inspection.sync_id = str(uuid.uuid4())
        db.session.flush()
    return inspection.sync_id


def stale_fields(store: SqlStore, inspection: Inspection) -> dict[str, JSON]:
    """The server-owned fields whose stored value differs from what they should be now."""
    wanted = assignment_fields(inspection)
    record = store.get_record("inspection", inspection.sync_id) if inspection.sync_id else None
    if record is None:
        return {**wanted, "notes": None}
    current = record.fields()
    return {name: value for name, value in wanted.items() if not same_json(current.get(name), value)}


def refresh_records(store: SqlStore, inspections: Iterable[Inspection]) -> int:
    """Write what changed of each inspection's record; returns how many records were written.

    Call inside ``store.transaction()`` (it takes seqs). Fields devices write (``notes``) are never
    touched, except that a new record starts with ``notes: null``.
    """
    written = 0
    for inspection in inspections:
        ensure_sync_id(inspection)
        assert inspection.sync_id is not None
        changed = stale_fields(store, inspection)
        if changed:
            write_server_record(store, "inspection", inspection.sync_id, changed)
            written += 1
    return written


def refresh_inspection(inspection: Inspection) -> None:
    """Bring one inspection's record up to date after a server-side change (review, replacement).

    Only for inspections phones already know (those with a ``sync_id``); the others are written on
    their first pull anyway.
    """
    if inspection.sync_id is None:
        return
    store = SqlStore(db.session)
    with store.transaction():
        refresh_records(store, [inspection])


def inspections_by_sync_id(sync_ids: Sequence[str]) -> dict[str, Inspection]:
    if not sync_ids:
        return {}
    rows = db.session.scalars(select(Inspection).where(Inspection.sync_id.in_(sorted(set(sync_ids)))))
    return {row.sync_id: row for row in rows if row.sync_id is not None}
