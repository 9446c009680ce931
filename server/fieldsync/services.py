"""Field sync as the server runs it: device login, pull, push and finalize on ``sync``'s reference logic.

Who may do what comes from team membership, computed *inside* the push or finalize transaction,
after the sync counter's lock is taken (``SqlStore.transaction``): a finalize by one inspector and a
push by the other are serialised, so no change lands on an inspection between its completeness check
and its being locked for review.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select

from server.accounts.models import ApiToken, User
from server.accounts.services import authenticate, issue_token
from server.audit.services import record_event
from server.db import utcnow
from server.deadlines.services import set_result_deadline
from server.directory.models import Inspector
from server.errors import ApiError
from server.evidence.models import Blob, BlobRef
from server.evidence.services import held_blob
from server.extensions import db
from server.fieldsync.assignments import load_options, refresh_records, stale_fields
from server.fieldsync.store import SqlStore
from server.i18n import today_local
from server.inspections.models import FIELD_EDITABLE_STATES, Inspection, InspectionVersion, TeamMember
from sync.canonical import JSON, canonical_json
from sync.content import (
    Snapshot,
    check_complete,
    content_hash,
    content_of,
    inspection_snapshot,
    signature_status,
)
from sync.downstream import pull
from sync.errors import SyncError
from sync.messages import check, pull_request_schema, push_request_schema
from sync.upstream import Access, apply_push, write_server_record

# Inspections a phone still sees: it learns of a review's outcome through the record's state.
VISIBLE_STATES = ("assigned", "in_progress", "submitted", "returned", "approved", "published")
WRITTEN = ("applied", "merged", "conflict")  # statuses of a change that wrote to its record
_DEVICE_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


@dataclass(frozen=True)
class Membership:
    inspection: Inspection
    role: str  # leader | member | expert


def _problem(exc: SyncError) -> ApiError:
    extra: dict[str, Any] = {"missing": exc.missing} if exc.missing is not None else {}
    return ApiError(exc.code, exc.detail, extra=extra)


def _bad_request(exc: ValidationError) -> ApiError:
    return ApiError("sync_bad_request", canonical_json(exc.messages))


# -- devices ---------------------------------------------------------------------------------------


def inspector_of(user: User) -> Inspector | None:
    return db.session.scalar(select(Inspector).where(Inspector.user_id == user.id))


def device_user(user: User) -> dict[str, Any]:
    inspector = inspector_of(user)
    return {
        "id": user.id,
        "username": user.username,
        "display_name": user.display_name,
        "inspector_id": inspector.id if inspector else None,
        "locale": user.locale,
    }


def register_device(
    username: str, password: str, device_name: str, device_id: str | None = None
) -> dict[str, Any]:
    """Log a phone in: a bearer token bound to its device id (kept if the phone sends its own).

    A device id already registered to another account is not reused (a device's claims in the merge
    would mix two people); the phone gets a new one and queued changes of the other account stay
    with it. Only inspectors register devices: the field app is theirs.
    """
    user = authenticate(username, password)
    if not user.has_role("inspector"):
        raise ApiError("forbidden", detail="only inspectors use the field app")
    if device_id is not None and not _DEVICE_ID.fullmatch(device_id):
        raise ApiError("validation_failed", errors={"device_id": ["8-64 characters of A-Za-z0-9._-"]})
    if device_id is not None:
        taken = db.session.scalar(
            select(ApiToken.id).where(ApiToken.device_id == device_id, ApiToken.user_id != user.id).limit(1)
        )
        if taken is not None:
            device_id = None
    device_id = device_id or str(uuid.uuid4())
    token = issue_token(user, device_id, device_name)
    return {"device_id": device_id, "token": token, "user": device_user(user)}


# -- who may do what -------------------------------------------------------------------------------


def memberships(user: User, states: Sequence[str] = VISIBLE_STATES, *, full: bool = True) -> list[Membership]:
    """The inspections the user is on (active membership), with the user's role on each.

    ``full`` loads everything the inspection record is made of (target, team, checklist) in a few
    queries; without it only the inspections' own columns, which is all access checks need.
    """
    query = (
        select(Inspection, TeamMember.role)
        .join(TeamMember, TeamMember.inspection_id == Inspection.id)
        .join(Inspector, Inspector.id == TeamMember.inspector_id)
        .where(
            Inspector.user_id == user.id,
            TeamMember.removed_at.is_(None),
            Inspection.state.in_(states),
        )
        .order_by(Inspection.window_end, Inspection.id)
    )
    rows = db.session.execute(query.options(*load_options()) if full else query).all()
    seen: dict[int, Membership] = {}
    for inspection, role in rows:
        # One person on a team twice cannot happen through draws; prefer the leader role if it did.
        if inspection.id not in seen or role == "leader":
            seen[inspection.id] = Membership(inspection, role)
    return list(seen.values())


def access_for(user: User) -> Access:
    # Archived inspections count too, so a phone's late write to one is refused as locked
    # (sync_inspection_locked: archived material is read-only), not as someone else's.
    members = [
        m
        for m in memberships(user, (*VISIBLE_STATES, "archived"), full=False)
        if m.inspection.sync_id is not None
    ]
    return Access(
        inspections=frozenset(str(m.inspection.sync_id) for m in members),
        leads=frozenset(str(m.inspection.sync_id) for m in members if m.role == "leader"),
        locked=frozenset(
            str(m.inspection.sync_id) for m in members if m.inspection.state not in FIELD_EDITABLE_STATES
        ),
        people=frozenset(db.session.scalars(select(Inspector.id).where(Inspector.user_id == user.id)).all()),
    )


def team_inspection(user: User, sync_id: str) -> Inspection:
    """An inspection by its sync id, if the user is on its team; else not_found."""
    for member in memberships(user, (*VISIBLE_STATES, "archived"), full=False):
        if member.inspection.sync_id == sync_id:
            return member.inspection
    raise ApiError("not_found")


# -- pull ------------------------------------------------------------------------------------------


def pull_changes(user: User, raw: Any) -> dict[str, JSON]:
    """Bring the user's inspection records up to date, then the PullResponse from the cursor.

    The refresh writes only when something changed (a new assignment, a new team, a review), and
    only then takes the sync lock: most pulls are pure reads.
    """
    try:
        body = check(pull_request_schema, raw)
    except ValidationError as exc:
        raise _bad_request(exc) from exc
    store = SqlStore(db.session)
    members = memberships(user)
    if any(m.inspection.sync_id is None or stale_fields(store, m.inspection) for m in members):
        with store.transaction():
            # Again under the lock, from the database: another team member's pull may have given
            # the inspection its sync id or written its record meanwhile.
            db.session.expire_all()
            members = memberships(user)
            refresh_records(store, [m.inspection for m in members])
    assigned = frozenset(str(m.inspection.sync_id) for m in members if m.inspection.sync_id)
    try:
        return pull(store, body["cursor"], body["limit"], assigned)
    except SyncError as exc:
        raise _problem(exc) from exc


# -- push ------------------------------------------------------------------------------------------


def push_changes(user: User, token: ApiToken, raw: Any) -> dict[str, JSON]:
    """Apply a device's push (all or nothing) and what follows from it on the server's side."""
    try:
        body = check(push_request_schema, raw)
    except ValidationError as exc:
        raise _bad_request(exc) from exc
    if body["device_id"] != token.device_id:
        raise ApiError("forbidden", detail="device_id is not the device this token was issued to")
    store = SqlStore(db.session)
    with store.transaction():
        response = push_as(store, body["device_id"], body["changes"], access_for(user))
    return response


def push_as(
    store: SqlStore, device_id: str, changes: Sequence[Mapping[str, Any]], access: Access
) -> dict[str, JSON]:
    """One device's validated changes through ``apply_push``, then the server's follow-ups.

    Call inside ``store.transaction()`` with ``access_for`` the device's user: the sync API's push
    and the import of a phone's export (``server/recovery``) both come through here.
    """
    response = apply_push(store, device_id, changes, access)
    _after_push(store, changes, response)
    return response


def _after_push(store: SqlStore, changes: Sequence[Mapping[str, Any]], response: Mapping[str, Any]) -> None:
    """Note which evidence files records refer to, and mark inspections whose field work began."""
    touched: set[str] = set()
    refs: list[tuple[str, str, str, str]] = []  # (sha256, source, record id, inspection sync id)
    for change, result in zip(changes, response["results"], strict=True):
        if result["status"] not in WRITTEN and result["status"] != "duplicate":
            continue
        record = store.get_record(str(change["record_type"]), str(change["record_id"]))
        if record is None:
            continue
        touched.add(record.inspection_id)
        values = record.fields()
        if record.record_type == "photo" and isinstance(values.get("sha256"), str):
            refs.append((str(values["sha256"]), "photo", record.record_id, record.inspection_id))
        elif record.record_type == "signature" and isinstance(values.get("png_sha256"), str):
            refs.append((str(values["png_sha256"]), "signature", record.record_id, record.inspection_id))
    by_sync = {
        i.sync_id: i for i in db.session.scalars(select(Inspection).where(Inspection.sync_id.in_(touched)))
    }
    for sha, source, record_id, sync_id in refs:
        inspection = by_sync.get(sync_id)
        exists = db.session.scalar(
            select(BlobRef.id).where(
                BlobRef.sha256 == sha, BlobRef.source == source, BlobRef.source_id == record_id
            )
        )
        if exists is None:
            db.session.add(
                BlobRef(
                    sha256=sha,
                    source=source,
                    source_id=record_id,
                    inspection_id=inspection.id if inspection else None,
                )
            )
    started = [i for i in by_sync.values() if i.state == "assigned"]
    for inspection in started:
        inspection.state = "in_progress"
        # Only the state changed: write that field rather than recompute the whole record.
        write_server_record(store, "inspection", str(inspection.sync_id), {"state": "in_progress"})
    db.session.flush()


# -- finalize --------------------------------------------------------------------------------------


def has_blob(sha256: str) -> bool:
    return held_blob(sha256) is not None


def finalize_inspection(user: User, token: ApiToken, sync_id: str) -> dict[str, JSON]:
    """Submit the inspection for review if nothing is missing: a new frozen version, state submitted.

    Idempotent: finalizing an inspection already submitted with the current content returns the same
    hash. The completeness check and the lock happen under the sync lock (see the module docstring).
    """
    store = SqlStore(db.session)
    with store.transaction():
        inspection = team_inspection(user, sync_id)
        snap = inspection_snapshot(store, sync_id)
        current = content_hash(snap)
        latest = inspection.latest_version
        if inspection.state not in FIELD_EDITABLE_STATES:
            if latest is not None and latest.content_hash == current:
                return {"content_hash": current}
            raise ApiError("inspection_locked", detail=f"the inspection is {inspection.state}")
        try:
            signed = check_complete(store, sync_id, has_blob)
        except SyncError as exc:
            raise _problem(exc) from exc
        version = InspectionVersion(
            inspection=inspection,
            number=(latest.number if latest else 0) + 1,
            content_hash=signed,
            record=version_record(inspection, snap, signed),
            status="submitted",
            submitted_by_id=user.id,
            device_id=token.device_id,
        )
        db.session.add(version)
        inspection.state = "submitted"
        inspection.submitted_at = utcnow()
        if inspection.checked_on is None:
            # The end of the check: the result deadline (20 working days) counts from here.
            inspection.checked_on = today_local()
            set_result_deadline(inspection)
        db.session.flush()
        refresh_records(store, [inspection])
        record_event(
            "inspection.submitted",
            "inspection",
            inspection.id,
            actor_id=user.id,
            details={
                "version": version.number,
                "content_hash": signed,
                "device_id": token.device_id,
                "result_due_on": inspection.result_due_on.isoformat() if inspection.result_due_on else None,
            },
        )
    return {"content_hash": signed}


def _checkpoint_order(answer: dict[str, JSON]) -> int:
    checkpoint = answer.get("checkpoint_id")
    return checkpoint if isinstance(checkpoint, int) else -1


def version_record(inspection: Inspection, snap: Snapshot, signed: str) -> dict[str, Any]:
    """Everything of one submission, self-contained (see ``InspectionVersion``)."""
    photos = sorted(snap.photos, key=lambda p: (str(p.get("taken_at")), str(p.get("sha256"))))
    blobs = {
        b.sha256: b
        for b in db.session.scalars(select(Blob).where(Blob.sha256.in_([str(p["sha256"]) for p in photos])))
    }

    def photo(p: dict[str, JSON]) -> dict[str, Any]:
        blob = blobs.get(str(p["sha256"]))
        meta = (
            {
                "width": blob.width,
                "height": blob.height,
                "size": blob.size,
                "exif_taken_at": blob.taken_at.isoformat() + "Z" if blob.taken_at else None,
                "exif_lat": blob.gps_lat,
                "exif_lon": blob.gps_lon,
                "exif_device": blob.device,
            }
            if blob
            else {}
        )
        return {**p, **meta}

    return {
        "v": 1,
        "inspection_id": inspection.id,
        "sync_id": inspection.sync_id,
        "content_hash": signed,
        "content": content_of(snap),
        "inspection": snap.inspection,
        "outcome": snap.outcome,
        "answers": sorted(snap.answers, key=_checkpoint_order),
        "findings": [{"id": rid, **values} for rid, values in sorted(snap.findings)],
        "photos": [photo(p) for p in photos],
        "signatures": [
            {"id": rid, **values, "status": signature_status(values.get("content_hash"), signed)}
            for rid, values in sorted(snap.signatures, key=lambda s: str(s[1].get("signed_at")))
        ],
        "refusals": [
            {"id": rid, **values, "status": signature_status(values.get("content_hash"), signed)}
            for rid, values in sorted(snap.refusals)
        ],
        "checkins": sorted(snap.checkins, key=lambda c: str(c.get("at"))),
    }


__all__ = [
    "access_for",
    "device_user",
    "finalize_inspection",
    "memberships",
    "pull_changes",
    "push_as",
    "push_changes",
    "register_device",
]
