"""What a signature binds, whether it still holds, and whether an inspection may be completed.

The content of an inspection is the canonical JSON of::

    {"v": 1, "inspection_id": ..., "notes": ..., "outcome": {"code", "note"} | null,
     "answers": [{"checkpoint_id", "value", "note"}, ...]      # by checkpoint_id
     "findings": [{"id", "checkpoint_id", "description"}, ...]  # by id
     "photos": [sha256, ...]}                                   # sorted, distinct

and its hash is the SHA-256 of those UTF-8 bytes (``canonical.canonical_json``). Check-ins,
signatures and refusals are not content: signing must not change what was signed. Any later edit —
an answer, a note, a new finding or photo, the outcome — gives a new hash, and every signature over
the old one is stale.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from sync.canonical import JSON, sha256_hex
from sync.errors import SyncError
from sync.records import NO_REPRESENTATIVE_OUTCOMES
from sync.store import Store

CONTENT_VERSION = 1
INSPECTORS_NEEDED = 2  # 003 第二十条(二): at least two inspectors on site


@dataclass
class Snapshot:
    """Every record of one inspection, current values only, grouped by type."""

    inspection_id: str
    inspection: dict[str, JSON]
    answers: list[dict[str, JSON]] = field(default_factory=list)
    findings: list[tuple[str, dict[str, JSON]]] = field(default_factory=list)  # (record_id, fields)
    photos: list[dict[str, JSON]] = field(default_factory=list)
    signatures: list[tuple[str, dict[str, JSON]]] = field(default_factory=list)
    refusals: list[tuple[str, dict[str, JSON]]] = field(default_factory=list)
    checkins: list[dict[str, JSON]] = field(default_factory=list)
    outcome: dict[str, JSON] | None = None
    clashes: list[dict[str, JSON]] = field(default_factory=list)  # {record_type, record_id, field}


def inspection_snapshot(store: Store, inspection_id: str) -> Snapshot:
    inspection = store.get_record("inspection", inspection_id)
    if inspection is None:
        raise KeyError(inspection_id)
    snap = Snapshot(inspection_id, inspection.fields())
    for record in store.records_for_inspection(inspection_id):
        values = record.fields()
        for clash in record.conflicts():
            snap.clashes.append(
                {"record_type": record.record_type, "record_id": record.record_id, "field": clash["field"]}
            )
        match record.record_type:
            case "answer":
                snap.answers.append(values)
            case "finding":
                snap.findings.append((record.record_id, values))
            case "photo":
                snap.photos.append(values)
            case "signature":
                snap.signatures.append((record.record_id, values))
            case "refusal":
                snap.refusals.append((record.record_id, values))
            case "checkin":
                snap.checkins.append(values)
            case "outcome":
                snap.outcome = values
    return snap


def _int_key(value: JSON) -> int:
    return value if isinstance(value, int) else -1


def content_of(snap: Snapshot) -> dict[str, JSON]:
    answers: list[JSON] = [
        {"checkpoint_id": a.get("checkpoint_id"), "value": a.get("value"), "note": a.get("note")}
        for a in sorted(snap.answers, key=lambda a: _int_key(a.get("checkpoint_id")))
    ]
    findings: list[JSON] = [
        {"id": rid, "checkpoint_id": f.get("checkpoint_id"), "description": f.get("description")}
        for rid, f in sorted(snap.findings)
    ]
    photos: list[JSON] = [*sorted({str(p["sha256"]) for p in snap.photos})]
    outcome: JSON = (
        {"code": snap.outcome.get("code"), "note": snap.outcome.get("note")} if snap.outcome else None
    )
    return {
        "v": CONTENT_VERSION,
        "inspection_id": snap.inspection_id,
        "notes": snap.inspection.get("notes"),
        "outcome": outcome,
        "answers": answers,
        "findings": findings,
        "photos": photos,
    }


def content_hash(snap: Snapshot) -> str:
    return sha256_hex(content_of(snap))


def signature_status(signed_hash: JSON, current_hash: str) -> Literal["valid", "stale"]:
    """A signature (or refusal) holds only for the exact content it was given."""
    return "valid" if signed_hash == current_hash else "stale"


def completeness(snap: Snapshot, has_blob: Callable[[str], bool]) -> list[dict[str, JSON]]:
    """Exactly what is still missing before the inspection may be completed ([] when complete).

    The two-person rule: signatures of at least two distinct assigned inspectors over the current
    content hash, plus the representative's signature over it or a refusal with a witness recorded
    against it (waived when the outcome says nobody represents the target). Also: every checkpoint
    answered unless a special outcome ended the check (then at least one photo as evidence), no open
    clash, and every photo and counted signature image uploaded.
    """
    current = content_hash(snap)
    missing: list[dict[str, JSON]] = []
    outcome_code = snap.outcome.get("code") if snap.outcome else None

    if outcome_code is None:
        answered = {a.get("checkpoint_id") for a in snap.answers if a.get("value") is not None}
        checklist = snap.inspection.get("checkpoint_ids")
        for checkpoint in checklist if isinstance(checklist, list) else []:
            if checkpoint not in answered:
                missing.append({"item": "answer", "checkpoint_id": checkpoint})
    elif not snap.photos:
        missing.append({"item": "evidence_photo", "outcome": outcome_code})

    for clash in sorted(snap.clashes, key=lambda c: (str(c["record_type"]), str(c["record_id"]))):
        missing.append({"item": "clash", **clash})

    assigned = snap.inspection.get("inspector_ids")
    assigned_ids = set(assigned) if isinstance(assigned, list) else set()
    valid = [
        (rid, s)
        for rid, s in sorted(snap.signatures)
        if signature_status(s.get("content_hash"), current) == "valid"
    ]
    signers = sorted(
        {
            s["signer_id"]
            for _, s in valid
            if s.get("signer_role") == "inspector" and isinstance(s.get("signer_id"), int)
            if s["signer_id"] in assigned_ids
        },
        key=_int_key,
    )
    if len(signers) < INSPECTORS_NEEDED:
        unsigned: list[JSON] = sorted((i for i in assigned_ids if i not in signers), key=_int_key)
        missing.append(
            {
                "item": "inspector_signatures",
                "content_hash": current,
                "needed": INSPECTORS_NEEDED,
                "signed_by": list(signers),
                "not_signed": unsigned,
            }
        )

    representative = [s for _, s in valid if s.get("signer_role") == "representative"]
    refusals = [
        r
        for _, r in sorted(snap.refusals)
        if signature_status(r.get("content_hash"), current) == "valid" and r.get("witness_name")
    ]
    if outcome_code not in NO_REPRESENTATIVE_OUTCOMES and not representative and not refusals:
        missing.append({"item": "representative_signature_or_refusal", "content_hash": current})

    counted = [s for _, s in valid]
    blobs = {str(p["sha256"]) for p in snap.photos} | {str(s["png_sha256"]) for s in counted}
    for sha in sorted(blobs):
        if not has_blob(sha):
            missing.append({"item": "blob", "sha256": sha})
    return missing


def check_complete(store: Store, inspection_id: str, has_blob: Callable[[str], bool]) -> str:
    """The finalize check: the content hash the signatures bind, or ``inspection_incomplete``."""
    snap = inspection_snapshot(store, inspection_id)
    missing = completeness(snap, has_blob)
    if missing:
        raise SyncError("inspection_incomplete", f"{len(missing)} item(s) missing", missing=missing)
    return content_hash(snap)


def verify_blob(sha256: str, data: bytes) -> str:
    """The server re-hashes every uploaded blob; a body that does not match its URL is refused."""
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise SyncError("sync_blob_hash_mismatch", f"body hashes to {actual}")
    return actual
