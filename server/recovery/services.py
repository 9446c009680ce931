"""Importing a phone's exported unsynced data through the same paths a phone's sync takes.

``check_export`` is the dry run: it reads the file (``export.read_export``), makes sure the uploader
may import it and that the export's device belongs to the user it names, checks every file's
bytes (base64, SHA-256, size, a full image decode) and then runs the changes through the real push
(``fieldsync.services.push_as`` with the exporting user's access) inside a savepoint that is rolled
back: the report shows exactly what applying would do at that moment. The file is kept in the blob
store and the report on a ``RecoveryImport``.

``run_apply`` applies it: each file through ``evidence.services.receive_blob`` (re-hashed, fully
decoded, audited) and committed on its own, then every change in one push transaction under the
device ids the export recorded — merge, idempotency by change id and the two-person rule hold as
for a phone, because it *is* the phone's path. Importing a file twice, or after the phone synced
after all, finds every change id stored and every file held: nothing changes.

What is not sent (decided here, documented in README): changes of an inspection that does not
exist, that the user is no longer on the team of, or that is locked for review, and changes queued
under a device that is not the user's. They are reported as ``held`` with the code a push would
have given, but not pushed — a push would store them as rejected for good, while held back they
stay importable from the same file once, say, a reviewer returns the inspection. The rest of the
file is applied. A file whose bytes were altered (base64 or hash wrong) blocks the whole import.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import Select, or_, select, update
from sqlalchemy.exc import IntegrityError

from server.accounts.models import ApiToken, User
from server.audit.services import record_event
from server.db import utcnow
from server.errors import CATALOGUE, ApiError
from server.evidence.images import ImageRejected, inspect_image
from server.evidence.services import held_blob, receive_blob
from server.extensions import db
from server.fieldsync.services import access_for, inspector_of, push_as
from server.fieldsync.store import SqlStore
from server.inspections.models import Inspection
from server.recovery.export import TAMPERED, Entry, Export, ExportFile, decode_file, read_export
from server.recovery.models import RecoveryImport
from server.storage import blob_store
from sync.records import SPECS
from sync.upstream import Access

# Why a change was not sent although it is well formed: the codes a phone's push would have got
# (sync/PROTOCOL.md §10), plus a device that is not the exporting user's.
HOLD_CODES = (
    "recovery_device_unknown",
    "sync_unknown_inspection",
    "sync_forbidden",
    "sync_inspection_locked",
)
CHANGE_STATUSES = ("applied", "merged", "conflict", "duplicate", "rejected", "held")
FILE_STATUSES = ("new", "stored", "on_server", "refused")


@dataclass(frozen=True)
class Owner:
    """The account an export is applied as, and every device id it ever registered."""

    user: User
    devices: frozenset[str]


# -- who may import what ---------------------------------------------------------------------------


def visible_imports(user: User) -> Select[RecoveryImport]:
    """Admins see every import; anyone else the imports of their own data or uploaded by them."""
    query = select(RecoveryImport).order_by(RecoveryImport.id.desc())
    if user.has_role("admin"):
        return query
    return query.where(or_(RecoveryImport.owner_id == user.id, RecoveryImport.uploaded_by_id == user.id))


def import_for(user: User, import_id: int) -> RecoveryImport:
    """An import the user may see; else ``recovery_import_not_found`` (404, as for any unseen object)."""
    found = db.session.scalar(visible_imports(user).where(RecoveryImport.id == import_id))
    if found is None:
        raise ApiError("recovery_import_not_found")
    return found


def export_owner(export: Export, uploader: User) -> Owner:
    """The account the export names, if the uploader may act for it and the device is that account's.

    A forged export can name someone else only to an admin, and even then its changes run with
    the named account's own team access under that account's own devices — never broader.
    """
    named = export.user
    if not uploader.has_role("admin") and named.id != uploader.id:
        raise ApiError("recovery_not_yours")
    user = db.session.get(User, named.id)
    if user is None or user.username != named.username:
        raise ApiError("recovery_user_unknown", f"no account {named.id} named {named.username!r}")
    inspector = inspector_of(user)
    if (inspector.id if inspector else None) != named.inspector_id:
        raise ApiError("recovery_user_unknown", f"{named.username} is not inspector {named.inspector_id}")
    devices = frozenset(db.session.scalars(select(ApiToken.device_id).where(ApiToken.user_id == user.id)))
    if export.device_id not in devices:
        raise ApiError("recovery_device_unknown", f"{named.username} never registered {export.device_id}")
    return Owner(user, devices)


# -- the dry run -----------------------------------------------------------------------------------


def check_export(data: bytes, filename: str, uploader: User) -> RecoveryImport:
    """Dry run of an uploaded export: nothing but the file and its report is stored. Flushes, audits."""
    export = read_export(data)
    owner = export_owner(export, uploader)
    access = access_for(owner.user)
    files = [_file_row(item, _file_hold(item, access), store=False) for item in export.files]
    blocking = [f for f in files if f["error"] and f["error"]["code"] in TAMPERED]
    changes = _simulate(export, owner, access)
    plan = _report(export, owner, changes, files)
    sha, size = blob_store().put_chunks([data])
    imp = RecoveryImport(
        file_sha256=sha,
        filename=(filename or "export.json")[:255],
        size=size,
        owner_id=owner.user.id,
        device_id=export.device_id,
        exported_at=export.exported_at,
        status="blocked" if blocking else "checked",
        plan=plan,
        uploaded_by_id=uploader.id,
    )
    db.session.add(imp)
    db.session.flush()
    record_event(
        "recovery.checked",
        "recovery_import",
        imp.id,
        actor_id=uploader.id,
        details={
            "owner": owner.user.username,
            "device_id": export.device_id,
            "file_sha256": sha,
            "status": imp.status,
            "counts": plan["counts"],
        },
    )
    return imp


def _simulate(export: Export, owner: Owner, access: Access) -> list[dict[str, Any]]:
    """What applying the changes would give now: the real push in a savepoint that is rolled back."""
    savepoint = db.session.begin_nested()
    try:
        store = SqlStore(db.session)
        with store.transaction():
            return _push(store, export.outbox, owner, access)
    finally:
        savepoint.rollback()


# -- applying --------------------------------------------------------------------------------------


def run_apply(imp: RecoveryImport, actor: User) -> RecoveryImport:
    """Apply a checked import. This is a boundary (the page and the API call it): it commits.

    Each file is committed on its own before the changes: decoding hundreds of photos inside one
    transaction would hold SQLite's write lock (and the audit log's lock on PostgreSQL) for
    seconds against every phone syncing meanwhile. Storing files first is safe — they are
    content-addressed and idempotent — and the changes then go in one push transaction: all of
    them or none.
    """
    export, owner, access = _prepare(imp, actor)
    files = []
    for item in export.files:
        files.append(_file_row(item, _file_hold(item, access), store=True, actor=actor))
        db.session.commit()
    apply_changes(imp, actor, export, owner, files)
    db.session.commit()
    return imp


def _prepare(imp: RecoveryImport, actor: User) -> tuple[Export, Owner, Access]:
    if imp.status == "applied":
        raise ApiError("recovery_already_applied")
    if imp.status == "blocked":
        raise ApiError("recovery_file_tampered")
    export = read_export(blob_store().read(imp.file_sha256))
    owner = export_owner(export, actor)
    return export, owner, access_for(owner.user)


def apply_changes(
    imp: RecoveryImport, actor: User, export: Export, owner: Owner, files: list[dict[str, Any]]
) -> None:
    """Push the export's changes in one transaction and record the results. Flushes, audits."""
    store = SqlStore(db.session)
    with store.transaction():
        # Compare-and-set under the sync lock: of two applies of one import exactly one pushes.
        result = db.session.execute(
            update(RecoveryImport)
            .where(RecoveryImport.id == imp.id, RecoveryImport.status == "checked")
            .values(status="applied"),
            execution_options={"synchronize_session": False},
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's CursorResult has it
            raise ApiError("recovery_already_applied")
        # The exporting user's access as it is now, inside the lock (a finalize may just have run).
        changes = _push(store, export.outbox, owner, access_for(owner.user))
    db.session.refresh(imp)
    imp.results = _report(export, owner, changes, files)
    imp.applied_at = utcnow()
    imp.applied_by_id = actor.id
    db.session.flush()
    record_event(
        "recovery.applied",
        "recovery_import",
        imp.id,
        actor_id=actor.id,
        details={
            "owner": owner.user.username,
            "device_id": export.device_id,
            "file_sha256": imp.file_sha256,
            "counts": imp.results["counts"],
        },
    )


# -- changes ---------------------------------------------------------------------------------------


def _inspection_of(store: SqlStore, change: dict[str, Any]) -> str | None:
    """The inspection a change belongs to, derived as ``sync.upstream`` derives it."""
    record_type = str(change["record_type"])
    if record_type == "inspection":
        return str(change["record_id"])
    record = store.get_record(record_type, str(change["record_id"])) if record_type in SPECS else None
    if record is not None:
        return record.inspection_id
    value = change["fields"].get("inspection_id")
    return value if isinstance(value, str) else None


def _hold(store: SqlStore, entry: Entry, inspection: str | None, owner: Owner, access: Access) -> str | None:
    if entry.device_id not in owner.devices:
        return "recovery_device_unknown"
    if store.get_change_result(str(entry.change["change_id"])) is not None:
        return None  # a replay: the push returns the stored result and writes nothing
    if inspection is None:
        return None  # malformed: the push rejects it with its own code, as for a phone
    if store.get_record("inspection", inspection) is None:
        return "sync_unknown_inspection"
    if access.inspections is not None and inspection not in access.inspections:
        return "sync_forbidden"
    if inspection in access.locked:
        return "sync_inspection_locked"
    return None


def _push(store: SqlStore, outbox: Sequence[Entry], owner: Owner, access: Access) -> list[dict[str, Any]]:
    """Push what may be pushed, per device in outbox order; one row per entry. Inside a transaction."""
    rows: list[dict[str, Any]] = []
    sending: dict[str, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    for entry in outbox:
        change = entry.change
        inspection = _inspection_of(store, change)
        row: dict[str, Any] = {
            "index": entry.index,
            "change_id": change["change_id"],
            "device_id": entry.device_id,
            "queued_at": entry.queued_at,
            "record_type": change["record_type"],
            "record_id": change["record_id"],
            "op": change["op"],
            "base_version": change["base_version"],
            "fields": change["fields"],
            "inspection": inspection,
            "replay": store.get_change_result(str(change["change_id"])) is not None,
            "status": "held",
            "record_version": None,
            "conflicts": [],
            "error": None,
        }
        code = _hold(store, entry, inspection, owner, access)
        if code is not None:
            row["error"] = {"code": code, "detail": _hold_detail(code, entry, inspection)}
        else:
            sending.setdefault(entry.device_id, []).append((row, change))
        rows.append(row)
    for device_id, items in sending.items():
        response = push_as(store, device_id, [change for _, change in items], access)
        results = response["results"]
        assert isinstance(results, list)
        for (row, _), result in zip(items, results, strict=True):
            assert isinstance(result, dict)
            row["status"] = result["status"]
            row["record_version"] = result["record_version"]
            row["conflicts"] = result.get("conflicts") or []
            row["error"] = result.get("error")
    return rows


def _hold_detail(code: str, entry: Entry, inspection: str | None) -> str:
    return {
        "recovery_device_unknown": f"device {entry.device_id} is not the exporting user's",
        "sync_unknown_inspection": f"no inspection {inspection}",
        "sync_forbidden": f"the user is not on the team of inspection {inspection}",
        "sync_inspection_locked": f"inspection {inspection} is locked for review; import again once returned",
    }[code]


# -- files -----------------------------------------------------------------------------------------


def _file_hold(item: ExportFile, access: Access) -> str | None:
    """Files are taken for inspections the user is on (a locked one too: its files are harmless)."""
    if (
        item.inspection_id is None
        or db.session.scalar(select(Inspection.id).where(Inspection.sync_id == item.inspection_id)) is None
    ):
        return "sync_unknown_inspection"
    if access.inspections is not None and item.inspection_id not in access.inspections:
        return "sync_forbidden"
    return None


def _file_row(
    item: ExportFile, hold: str | None, *, store: bool, actor: User | None = None
) -> dict[str, Any]:
    """One file's verdict; with ``store`` it is stored through ``receive_blob`` (flushes, audits)."""
    decoded = decode_file(item)
    row: dict[str, Any] = {
        "sha256": item.sha256,
        "kind": item.kind,
        "inspection": item.inspection_id,
        "size": len(decoded.data) if decoded.data is not None else None,
        "on_server": held_blob(item.sha256) is not None,
        "status": "refused",
        "error": None,
    }
    if decoded.error is not None:
        row["error"] = {"code": decoded.error, "detail": decoded.detail}
        return row
    if hold is not None:
        row["error"] = {"code": hold, "detail": f"inspection {item.inspection_id}"}
        return row
    if row["on_server"]:
        row["status"] = "on_server"
        return row
    assert decoded.data is not None
    max_bytes = int(current_app.config["EVIDENCE_MAX_BYTES"])
    try:
        if not store:
            if len(decoded.data) > max_bytes:
                raise ApiError("payload_too_large", f"an evidence file is at most {max_bytes} bytes")
            _validate_image(decoded.data)
            row["status"] = "new"
            return row
        assert actor is not None
        with db.session.begin_nested():
            receive_blob(item.sha256, [decoded.data], actor, item.kind, max_bytes=max_bytes)
        row["status"] = "stored"
    except ApiError as exc:
        row["error"] = {"code": exc.code, "detail": exc.detail or ""}
    except IntegrityError:
        # A phone uploaded the same file at this moment and its row won: the server holds it.
        row["status"] = "on_server"
    return row


def _validate_image(data: bytes) -> None:
    """The full decode ``receive_blob`` will do, on a private temporary copy."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "file"
        path.write_bytes(data)
        try:
            inspect_image(path)
        except ImageRejected as exc:
            raise ApiError(exc.code, exc.detail) from exc


# -- the report ------------------------------------------------------------------------------------


def _report(
    export: Export, owner: Owner, changes: list[dict[str, Any]], files: list[dict[str, Any]]
) -> dict[str, Any]:
    """Per inspection (target name): its changes, files and earlier rejections; plus counts."""
    groups: dict[str, dict[str, Any]] = {}

    def group(sync_id: str | None) -> dict[str, Any]:
        key = sync_id or ""
        if key not in groups:
            groups[key] = {"sync_id": sync_id, "changes": [], "files": [], "rejected": []}
        return groups[key]

    for row in changes:
        group(row["inspection"])["changes"].append(row)
    for row in files:
        group(row["inspection"])["files"].append(row)
    for rejected in export.rejected:
        values = rejected.change.get("fields")
        value = values.get("inspection_id") if isinstance(values, dict) else None
        group(value if isinstance(value, str) else None)["rejected"].append(
            {"change": rejected.change, "error": rejected.error, "rejected_at": rejected.rejected_at}
        )
    known = {
        i.sync_id: i
        for i in db.session.scalars(
            select(Inspection).where(Inspection.sync_id.in_([k for k in groups if k]))
        )
    }
    for key, data in groups.items():
        inspection = known.get(key)
        data["inspection_id"] = inspection.id if inspection else None
        data["target_name"] = inspection.target.name if inspection else None
        data["state"] = inspection.state if inspection else None
    statuses = Counter(str(r["status"]) for r in changes)
    file_statuses = Counter(str(f["status"]) for f in files)
    counts = {
        "changes": len(changes),
        **{status: statuses.get(status, 0) for status in CHANGE_STATUSES},
        "replays": sum(1 for r in changes if r["replay"]),
        "files": len(files),
        **{f"files_{status}": file_statuses.get(status, 0) for status in FILE_STATUSES},
        "previously_rejected": len(export.rejected),
    }
    return {
        "owner": {
            "id": owner.user.id,
            "username": owner.user.username,
            "display_name": owner.user.display_name,
        },
        "device_id": export.device_id,
        "exported_at": export.exported_at.isoformat() if export.exported_at else None,
        "inspections": sorted(
            groups.values(),
            key=lambda g: (g["target_name"] is None, g["target_name"] or "", g["sync_id"] or ""),
        ),
        "blocking": [
            {"sha256": f["sha256"], **f["error"]}
            for f in files
            if f["error"] and f["error"]["code"] in TAMPERED
        ],
        "counts": counts,
    }


def reason_title(code: str) -> str:
    """The Chinese title of a refusal or hold code (catalogue first, then the protocol's per-change codes)."""
    if code in CATALOGUE:
        return CATALOGUE[code].zh
    return SYNC_CODE_TITLES.get(code, code)


# The protocol's per-change codes (sync/errors.py), as the pages name them.
SYNC_CODE_TITLES = {
    "sync_unknown_record_type": "服务器不认识的记录类型",
    "sync_base_version_ahead": "基础版本高于服务器版本",
    "sync_append_only": "只能追加的记录内容不同",
    "sync_field_not_allowed": "不允许修改的字段",
    "sync_bad_change": "修改内容不合法",
    "sync_unknown_inspection": "服务器上没有该检查",
    "sync_forbidden": "该用户已不在检查组中",
    "sync_change_id_reused": "修改编号已被其他设备使用",
    "sync_inspection_locked": "检查已提交审核或已审核，暂不接受修改",
}
