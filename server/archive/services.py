"""Archiving finished inspections (003 第二十五条): file, archive, keep ≥ 2 years, never modify.

An inspection is archived ``ARCHIVE_AFTER_DAYS`` (default 30) after its result was published — or,
for a result a leader approved withholding (never public), after that decision — once every
follow-up is closed. Archiving sets state ``archived``, ``archived_at`` and ``retain_until`` (archive
date + ``ARCHIVE_RETENTION_YEARS``, at least 2), and records a manifest of everything archived with
its hash, which goes into the audit log too. From then on every service refuses to change the
inspection (``ensure_not_archived``), the sync API refuses phone writes, and nothing deletes its
evidence: there is no deletion path for evidence files at all.

Retention ending does not delete anything either: the archive page shows which records may be
disposed of under the records rules; disposal is a decision for people, outside this system.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from server.archive.models import ArchiveRecord
from server.audit.services import record_event
from server.deadlines.services import local_date
from server.errors import ApiError
from server.evidence.models import BlobRef
from server.extensions import db
from server.followup.models import FollowUp
from server.inspections.models import Inspection, InspectionVersion
from server.inspections.services import ensure_not_archived
from server.results.models import InspectionResult
from sync.canonical import canonical_json, sha256_hex

MANIFEST_VERSION = 1


def retention_years() -> int:
    return int(current_app.config["ARCHIVE_RETENTION_YEARS"])


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day ``years`` later; 29 February becomes 1 March in a common year, so the
    retention is never a day short."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February into a common year
        return dt.date(day.year + years, 3, 1)


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _result(inspection: Inspection) -> InspectionResult | None:
    return db.session.scalar(select(InspectionResult).where(InspectionResult.inspection_id == inspection.id))


def _follow_ups(inspection: Inspection) -> list[FollowUp]:
    return list(
        db.session.scalars(
            select(FollowUp)
            .where(FollowUp.inspection_id == inspection.id)
            .options(selectinload(FollowUp.events))
            .order_by(FollowUp.id)
        )
    )


def build_manifest(inspection: Inspection) -> dict[str, Any]:
    """Everything archived for the inspection, each part by value or by hash, in a stable order.

    Versions are listed with the SHA-256 of their full record (so any change inside a frozen
    record shows), the result and follow-ups by value, evidence files by their SHA-256.
    """
    versions = list(
        db.session.scalars(
            select(InspectionVersion)
            .where(InspectionVersion.inspection_id == inspection.id)
            .order_by(InspectionVersion.number)
        )
    )
    result = _result(inspection)
    follow_ups = _follow_ups(inspection)
    evidence = set(db.session.scalars(select(BlobRef.sha256).where(BlobRef.inspection_id == inspection.id)))
    for item in follow_ups:
        for event in item.events:
            evidence.update(str(sha) for sha in event.evidence or [])
    return {
        "v": MANIFEST_VERSION,
        "inspection": {
            "id": inspection.id,
            "target": {"code": inspection.target.code, "name": inspection.target.name},
            "window": [_iso(inspection.window_start), _iso(inspection.window_end)],
            "checked_on": _iso(inspection.checked_on),
            "result_due_on": _iso(inspection.result_due_on),
            "late": bool(inspection.late),
            "submitted_at": _iso(inspection.submitted_at),
            "approved_at": _iso(inspection.approved_at),
            "published_at": _iso(inspection.published_at),
            "tasks": sorted(link.task_id for link in inspection.task_links),
        },
        "versions": [
            {
                "number": v.number,
                "status": v.status,
                "content_hash": v.content_hash,
                "record_sha256": sha256_hex(v.record),
                "submitted_at": _iso(v.submitted_at),
                "decided_at": _iso(v.decided_at),
                "decided_by_id": v.decided_by_id,
                "decision_comment": v.decision_comment,
            }
            for v in versions
        ],
        "result": None
        if result is None
        else {
            "version_id": result.version_id,
            "summary": result.summary,
            "categories": [c.code for c in result.categories],
            "publish": bool(result.publish),
            "withhold_status": result.withhold_status,
            "withhold_reason": result.withhold_reason,
            "withhold_decided_by_id": result.withhold_decided_by_id,
            "withhold_decided_at": _iso(result.withhold_decided_at),
            "published_at": _iso(result.published_at),
        },
        "follow_ups": [
            {
                "id": f.id,
                "kind": f.kind,
                "category_id": f.category_id,
                "description": f.description,
                "deadline": _iso(f.deadline),
                "transfer_to": f.transfer_to,
                "status": f.status,
                "opened_by_id": f.opened_by_id,
                "opened_at": _iso(f.opened_at),
                "closed_by_id": f.closed_by_id,
                "closed_at": _iso(f.closed_at),
                "closed_on": _iso(f.closed_on),
                "outcome": f.outcome,
                "events": [
                    {
                        "id": e.id,
                        "kind": e.kind,
                        "note": e.note,
                        "evidence": list(e.evidence or []),
                        "at": _iso(e.at),
                        "actor_id": e.actor_id,
                        "details": e.details or {},
                    }
                    for e in f.events
                ],
            }
            for f in follow_ups
        ],
        "evidence": sorted(evidence),
    }


def manifest_hash(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(manifest).encode("utf-8")).hexdigest()


# ------------------------------------------------------------------------------------ eligibility


def _withheld(result: InspectionResult | None) -> bool:
    return result is not None and result.withhold_status == "approved"


def finished_at(inspection: Inspection, result: InspectionResult | None) -> dt.datetime | None:
    """When the inspection's public life ended: publication, or the leader's withholding decision."""
    if inspection.state == "published":
        return inspection.published_at
    if inspection.state == "approved" and _withheld(result):
        assert result is not None
        return result.withhold_decided_at or inspection.approved_at
    return None


def archive_blockers(inspection: Inspection, now: dt.datetime) -> list[str]:
    """Why the inspection cannot be archived now (empty: it can)."""
    if inspection.state == "archived":
        return ["already archived"]
    result = _result(inspection)
    ended = finished_at(inspection, result)
    if ended is None:
        return [f"state {inspection.state}: only published results, or approved withheld ones, are archived"]
    blockers = []
    due = ended + dt.timedelta(days=int(current_app.config["ARCHIVE_AFTER_DAYS"]))
    if now < due:
        blockers.append(f"archived from {due.isoformat(timespec='minutes')}Z on")
    follow_ups = _follow_ups(inspection)
    open_ = [f.id for f in follow_ups if f.status != "closed"]
    if open_:
        blockers.append(f"follow-ups still open: {', '.join(map(str, open_))}")
    # A problem that needs follow-up but has none yet is not finished either.
    if result is not None and not follow_ups and any(c.needs_follow_up for c in result.categories):
        blockers.append("a result category needs a follow-up and none was opened")
    return blockers


def archive_inspection(
    inspection: Inspection, now: dt.datetime, actor_id: int | None = None
) -> ArchiveRecord:
    """Archive one inspection (the job calls this for each due one). Refuses with
    ``inspection_archived`` if it already is, ``conflict`` naming the blockers if it may not be."""
    from server.fieldsync.assignments import refresh_inspection

    ensure_not_archived(inspection)
    blockers = archive_blockers(inspection, now)
    if blockers:
        raise ApiError("conflict", detail="; ".join(blockers))
    manifest = build_manifest(inspection)
    digest = manifest_hash(manifest)
    before = inspection.state
    archived_on = local_date(now)
    record = ArchiveRecord(
        inspection_id=inspection.id,
        archived_at=now,
        retain_until=add_years(archived_on, retention_years()),
        manifest=manifest,
        manifest_hash=digest,
    )
    db.session.add(record)
    inspection.state = "archived"
    inspection.archived_at = now
    inspection.retain_until = record.retain_until
    db.session.flush()
    record_event(
        "inspection.archived",
        "inspection",
        inspection.id,
        actor_id=actor_id,
        details={
            "state": [before, "archived"],
            "manifest_hash": digest,
            "retain_until": record.retain_until.isoformat(),
            "versions": [v["content_hash"] for v in manifest["versions"]],
            "evidence": len(manifest["evidence"]),
        },
    )
    refresh_inspection(inspection)  # phones see the state; they no longer list it
    return record


def _candidates(cutoff: dt.datetime) -> Select[Inspection]:
    """Published, or approved and withheld, long enough ago; the follow-up check is per row."""
    # Withheld results are few: their exact due time is archive_blockers' to judge.
    withheld = select(InspectionResult.inspection_id).where(InspectionResult.withhold_status == "approved")
    return (
        select(Inspection)
        .where(
            or_(
                (Inspection.state == "published") & (Inspection.published_at <= cutoff),
                (Inspection.state == "approved") & Inspection.id.in_(withheld),
            ),
            ~Inspection.id.in_(select(FollowUp.inspection_id).where(FollowUp.status != "closed")),
        )
        .options(selectinload(Inspection.target), selectinload(Inspection.task_links))
        .order_by(Inspection.id)
    )


def archive_due_inspections(now: dt.datetime) -> dict[str, Any]:
    """The archive job. Idempotent: archived inspections are no longer candidates."""
    cutoff = now - dt.timedelta(days=int(current_app.config["ARCHIVE_AFTER_DAYS"]))
    archived = waiting = 0
    for inspection in db.session.scalars(_candidates(cutoff)):
        if archive_blockers(inspection, now):
            waiting += 1
            continue
        archive_inspection(inspection, now)
        archived += 1
    return {"archived": archived, "waiting": waiting}


# ------------------------------------------------------------------------------------ verification


@dataclass(frozen=True)
class ArchiveCheck:
    record: ArchiveRecord
    intact: bool
    changed: list[str]  # the manifest's parts that differ now


def check_archive(record: ArchiveRecord) -> ArchiveCheck:
    """Recompute the manifest from the database and compare it with the one stored at archiving."""
    inspection = db.session.get(Inspection, record.inspection_id)
    assert inspection is not None
    current = build_manifest(inspection)
    stored_ok = manifest_hash(record.manifest) == record.manifest_hash
    changed = [
        key
        for key in sorted(set(current) | set(record.manifest))
        if current.get(key) != record.manifest.get(key)
    ]
    if not stored_ok:
        changed.insert(0, "the stored manifest itself")
    if inspection.state != "archived":
        changed.insert(0, f"state is {inspection.state}")
    return ArchiveCheck(record, not changed, changed)


def check_archives(inspection_ids: Iterable[int] | None = None) -> list[ArchiveCheck]:
    stmt = select(ArchiveRecord).order_by(ArchiveRecord.id)
    if inspection_ids is not None:
        stmt = stmt.where(ArchiveRecord.inspection_id.in_(list(inspection_ids)))
    return [check_archive(record) for record in db.session.scalars(stmt)]
