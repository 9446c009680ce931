"""What each record type is and which fields a device may write to it.

Mutable types (inspection, answer, outcome) are edited with ``upsert`` and merged field by field;
append-only types (finding, photo, signature, refusal, checkin) are written once with ``append``.
Values are validated here and stored exactly as they came over the wire (strings for times), so the
PWA and the server hash the same bytes.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from marshmallow import Schema, fields, validate

from sync.canonical import JSON

ANSWER_VALUES: Final = ("yes", "no", "not_checked", "not_applicable")  # 是 / 否 / 未检查 / 合理缺项

# Special outcomes that end a check with evidence but count as done (003 第二十一条).
OUTCOME_CODES: Final = (
    "no_contact",  # 通过登记的住所（经营场所）无法联系
    "refused_cooperation",  # 不配合检查，情节严重
    "no_activity",  # 未发现开展本次抽查涉及的经营活动
    "closed_or_liquidating",  # 已关闭停业或正在组织清算
    "deregistered",  # 已注销
    "licence_revoked",  # 被吊销营业执照
    "registration_revoked",  # 被撤销登记
    "moved_out",  # 已迁出
)
# Outcomes where nobody speaks for the target, so the representative's signature cannot be asked for.
NO_REPRESENTATIVE_OUTCOMES: Final = frozenset(
    {"no_contact", "deregistered", "licence_revoked", "registration_revoked", "moved_out"}
)

SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="Not a lowercase SHA-256 hex digest.")
# Ids travel in one spelling only (lowercase, hyphenated), so a string compare is an id compare.
UUID = validate.Regexp(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", error="Not a lowercase UUID."
)

# Answer and outcome ids are derived, not random, so two phones answering the same checkpoint offline
# address the same record and their edits merge instead of living side by side.
_ID_NAMESPACE: Final = uuid.UUID("6f1c3a52-1d0e-4c59-9d0a-2b7f4e5d8a10")


def answer_id(inspection_id: str, checkpoint_id: int) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"answer:{inspection_id}:{checkpoint_id}"))


def outcome_id(inspection_id: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"outcome:{inspection_id}"))


def _text(max_len: int, min_len: int = 0, **kw: Any) -> fields.String:
    return fields.String(validate=validate.Length(min=min_len, max=max_len), **kw)


def _uuid(**kw: Any) -> fields.String:
    return fields.String(validate=UUID, **kw)


def _when(**kw: Any) -> fields.AwareDateTime:
    return fields.AwareDateTime(format="iso", **kw)


def _gps(lo: float, hi: float) -> fields.Float:
    return fields.Float(allow_none=True, validate=validate.Range(lo, hi))


class InspectionFields(Schema):
    notes = _text(10000, allow_none=True)


class AnswerFields(Schema):
    inspection_id = _uuid(required=True)
    checkpoint_id = fields.Integer(required=True, strict=True)
    value = fields.String(allow_none=True, validate=validate.OneOf(ANSWER_VALUES))
    note = _text(2000, allow_none=True)


class OutcomeFields(Schema):
    inspection_id = _uuid(required=True)
    code = fields.String(allow_none=True, validate=validate.OneOf(OUTCOME_CODES))
    note = _text(2000, allow_none=True)


class FindingFields(Schema):
    inspection_id = _uuid(required=True)
    checkpoint_id = fields.Integer(strict=True, allow_none=True, load_default=None)
    description = _text(4000, 1, required=True)
    recorded_by = fields.Integer(required=True, strict=True)
    recorded_at = _when(required=True)


class PhotoFields(Schema):
    inspection_id = _uuid(required=True)
    sha256 = fields.String(required=True, validate=SHA256)
    checkpoint_id = fields.Integer(strict=True, allow_none=True)
    finding_id = _uuid(allow_none=True)
    taken_at = _when(required=True)
    lat = _gps(-90, 90)
    lon = _gps(-180, 180)
    accuracy_m = fields.Float(allow_none=True, validate=validate.Range(0, None))
    device_id = _text(100, required=True)


class SignatureFields(Schema):
    inspection_id = _uuid(required=True)
    signer_role = fields.String(required=True, validate=validate.OneOf(("inspector", "representative")))
    signer_id = fields.Integer(strict=True, allow_none=True)  # the inspector's id; null for a representative
    signer_name = _text(100, 1, required=True)
    content_hash = fields.String(required=True, validate=SHA256)
    png_sha256 = fields.String(required=True, validate=SHA256)
    signed_at = _when(required=True)
    device_id = _text(100, required=True)


class RefusalFields(Schema):
    """The representative refused to sign this content; a witness records it (003 第二十条(三))."""

    inspection_id = _uuid(required=True)
    content_hash = fields.String(required=True, validate=SHA256)
    reason = _text(2000, required=True)
    witness_name = _text(100, 1, required=True)
    witness_contact = _text(100, allow_none=True)
    recorded_by = fields.Integer(required=True, strict=True)
    recorded_at = _when(required=True)


class CheckinFields(Schema):
    inspection_id = _uuid(required=True)
    inspector_id = fields.Integer(required=True, strict=True)
    at = _when(required=True)
    lat = _gps(-90, 90)
    lon = _gps(-180, 180)
    accuracy_m = fields.Float(allow_none=True, validate=validate.Range(0, None))


@dataclass(frozen=True)
class RecordSpec:
    schema: Schema
    append_only: bool
    immutable: frozenset[str]  # fields fixed at creation: a different value later is refused

    @property
    def op(self) -> str:
        return "append" if self.append_only else "upsert"

    @property
    def allowed(self) -> frozenset[str]:
        return frozenset(self.schema.fields)


_REF = frozenset({"inspection_id"})

SPECS: Final[Mapping[str, RecordSpec]] = {
    # The inspection itself is created by the server at assignment; devices may only edit its notes.
    "inspection": RecordSpec(InspectionFields(), append_only=False, immutable=frozenset()),
    "answer": RecordSpec(AnswerFields(), append_only=False, immutable=_REF | {"checkpoint_id"}),
    "outcome": RecordSpec(OutcomeFields(), append_only=False, immutable=_REF),
    "finding": RecordSpec(FindingFields(), append_only=True, immutable=_REF),
    "photo": RecordSpec(PhotoFields(), append_only=True, immutable=_REF),
    "signature": RecordSpec(SignatureFields(), append_only=True, immutable=_REF),
    "refusal": RecordSpec(RefusalFields(), append_only=True, immutable=_REF),
    "checkin": RecordSpec(CheckinFields(), append_only=True, immutable=_REF),
}
RECORD_TYPES: Final = tuple(SPECS)
APPEND_ONLY: Final = frozenset(t for t, s in SPECS.items() if s.append_only)


def field_errors(record_type: str, values: Mapping[str, JSON], *, creating: bool) -> dict[str, Any]:
    """Marshmallow's error dict for these values ({} when valid). Only a new record needs every
    required field; an edit may send just the fields it changes."""
    return SPECS[record_type].schema.validate(dict(values), partial=not creating)
