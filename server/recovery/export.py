"""Reading the field app's export file (``pwa/app/export.js`` ``buildExport``, ``spotcheck-unsynced-v1``).

The file is what the phone held unconfirmed: its outbox (each entry a protocol ``Change`` with the
device id it was queued under), the changes the server had already rejected, and the bytes (base64)
of every photo and signature image the server had not confirmed by HEAD. ``read_export`` checks the
whole shape strictly — every change against the protocol's own ``ChangeSchema`` — and refuses
anything else with ``recovery_file_invalid``; decoding a file's bytes is left to ``decode_file`` so
that a large export is never held decoded all at once.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from server.errors import ApiError
from sync.canonical import canonical_json
from sync.messages import ChangeSchema, check

FORMAT = "spotcheck-unsynced-v1"
FILE_KINDS = ("photo", "signature")
_SHA256 = r"^[0-9a-f]{64}$"


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class _UserSchema(_Strict):
    id = fields.Integer(required=True, strict=True)
    username = fields.String(required=True)
    inspector_id = fields.Integer(required=True, strict=True, allow_none=True)


class _EntrySchema(_Strict):
    device_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    queued_at = fields.String(load_default=None, allow_none=True)
    change = fields.Dict(required=True)


class _RejectedSchema(_Strict):
    change = fields.Dict(required=True)
    error = fields.Dict(load_default=None, allow_none=True)
    rejected_at = fields.String(load_default=None, allow_none=True)


class _FileSchema(_Strict):
    sha256 = fields.String(required=True, validate=validate.Regexp(_SHA256))
    kind = fields.String(required=True, validate=validate.OneOf(FILE_KINDS))
    content_type = fields.String(load_default=None, allow_none=True)
    inspection_id = fields.String(load_default=None, allow_none=True)
    state = fields.String(load_default=None, allow_none=True)
    error = fields.Raw(load_default=None, allow_none=True)
    base64 = fields.String(required=True, allow_none=True)


class _ExportSchema(_Strict):
    format = fields.String(required=True, validate=validate.Equal(FORMAT))
    exported_at = fields.String(load_default=None, allow_none=True)
    # The phone writes null for both when it exported without a session; such a file names nobody
    # whose access the changes could be applied with, so it is refused (see README, limits).
    device_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    user = fields.Nested(_UserSchema, required=True)
    outbox = fields.List(fields.Nested(_EntrySchema), required=True)
    rejected = fields.List(fields.Nested(_RejectedSchema), load_default=list)
    blobs = fields.List(fields.Nested(_FileSchema), required=True)


@dataclass(frozen=True)
class ExportUser:
    id: int
    username: str
    inspector_id: int | None


@dataclass(frozen=True)
class Entry:
    """One outbox entry: the change exactly as the phone would push it, under its device id."""

    index: int  # position in the outbox (the FIFO order the changes must be applied in)
    device_id: str
    queued_at: str | None
    change: dict[str, Any]


@dataclass(frozen=True)
class Rejected:
    change: dict[str, Any]
    error: dict[str, Any]
    rejected_at: str | None


@dataclass(frozen=True)
class ExportFile:
    sha256: str
    kind: str
    content_type: str | None
    inspection_id: str | None
    text: str | None  # base64 as exported; None when the phone no longer held the bytes


@dataclass(frozen=True)
class Export:
    exported_at: dt.datetime | None
    device_id: str
    user: ExportUser
    outbox: list[Entry]
    rejected: list[Rejected]
    files: list[ExportFile]


def _invalid(detail: str) -> ApiError:
    return ApiError("recovery_file_invalid", detail)


def _utc(text: str | None) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise _invalid(f"exported_at is not an ISO 8601 time: {text!r}") from exc
    if value.tzinfo is None:
        raise _invalid("exported_at has no UTC offset")
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def read_export(data: bytes) -> Export:
    """Parse and check an export file; raises ``ApiError('recovery_file_invalid')`` naming the problem."""
    try:
        raw = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _invalid(f"not a JSON file: {exc}") from exc
    if not isinstance(raw, dict):
        raise _invalid("not a Spotcheck export (expected a JSON object)")
    if raw.get("format") != FORMAT:
        raise _invalid(f"not a Spotcheck export of format {FORMAT}")
    if raw.get("user") is None or raw.get("device_id") is None:
        raise _invalid("the export names no user and device (it was made while logged out)")
    try:
        body = _ExportSchema().load(raw)
    except ValidationError as exc:
        raise _invalid(canonical_json(exc.messages)) from exc
    outbox = []
    for index, (entry, sent) in enumerate(zip(body["outbox"], raw["outbox"], strict=True)):
        try:
            change = check(ChangeSchema(), sent["change"])
        except ValidationError as exc:
            raise _invalid(canonical_json({"outbox": {str(index): {"change": exc.messages}}})) from exc
        outbox.append(Entry(index, entry["device_id"], entry["queued_at"], change))
    user = body["user"]
    return Export(
        exported_at=_utc(body["exported_at"]),
        device_id=body["device_id"],
        user=ExportUser(user["id"], user["username"], user["inspector_id"]),
        outbox=outbox,
        rejected=[Rejected(r["change"], r["error"] or {}, r["rejected_at"]) for r in body["rejected"]],
        files=[
            ExportFile(f["sha256"], f["kind"], f["content_type"], f["inspection_id"], f["base64"])
            for f in body["blobs"]
        ],
    )


@dataclass(frozen=True)
class Decoded:
    """A file's bytes, or why they cannot be used: ``error`` is a problem code."""

    data: bytes | None
    error: str | None = None
    detail: str = ""


def decode_file(item: ExportFile) -> Decoded:
    """The file's bytes if they decode and hash to its name.

    ``recovery_blob_missing``: the phone no longer held them. ``recovery_blob_malformed`` (not
    base64) and ``blob_hash_mismatch`` mean the export was altered or damaged.
    """
    if item.text is None:
        return Decoded(None, "recovery_blob_missing", "the phone no longer held this file's bytes")
    try:
        data = base64.b64decode(item.text, validate=True)
    except (binascii.Error, ValueError) as exc:
        return Decoded(None, "recovery_blob_malformed", f"not base64: {exc}")
    computed = hashlib.sha256(data).hexdigest()
    if computed != item.sha256:
        return Decoded(None, "blob_hash_mismatch", f"the bytes hash to {computed}")
    return Decoded(data)


# Per-file problems that mean the export file itself was altered or damaged: nothing of it is applied.
TAMPERED = frozenset({"recovery_blob_malformed", "blob_hash_mismatch"})
