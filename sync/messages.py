"""Marshmallow schemas for every message on the wire (see PROTOCOL.md for the meaning of each field).

Requests are loaded with these schemas; unknown keys are refused so a typo never passes silently.
Record field values inside ``Change.fields`` are validated per record type by ``sync.records``, not
here, so that a change for a record type this server does not know yet is a per-change rejection
rather than a failed push.
"""

from __future__ import annotations

from typing import Any, Final

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from sync.records import UUID

STATUSES: Final = ("applied", "merged", "conflict", "duplicate", "rejected")
MAX_CHANGES_PER_PUSH: Final = 500
MAX_PULL_LIMIT: Final = 500


class _Strict(Schema):
    class Meta:
        unknown = RAISE


class ChangeSchema(_Strict):
    change_id = fields.String(required=True, validate=UUID)
    record_type = fields.String(required=True, validate=validate.Length(min=1, max=40))
    record_id = fields.String(required=True, validate=UUID)
    op = fields.String(required=True, validate=validate.OneOf(("upsert", "append")))
    base_version = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    # Named with data_key/attribute because a Schema attribute called ``fields`` would shadow Schema.fields.
    record_fields = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(allow_none=True),
        required=True,
        data_key="fields",
        attribute="fields",
    )
    client_time = fields.AwareDateTime(format="iso", required=True)


class PushRequestSchema(_Strict):
    device_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    changes = fields.List(
        fields.Nested(ChangeSchema),
        required=True,
        validate=validate.Length(min=1, max=MAX_CHANGES_PER_PUSH),
    )


class ClashSchema(Schema):
    """One same-field clash as a push result reports it."""

    field = fields.String(required=True)
    server_value = fields.Raw(allow_none=True, required=True)
    client_value = fields.Raw(allow_none=True, required=True)


class ProblemSchema(Schema):
    code = fields.String(required=True)
    detail = fields.String(required=True)
    missing = fields.List(fields.Dict(), required=False)


class ChangeResultSchema(Schema):
    change_id = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(STATUSES))
    record_version = fields.Integer(required=True)
    conflicts = fields.List(fields.Nested(ClashSchema), required=False)
    error = fields.Nested(ProblemSchema, required=False)


class PushResponseSchema(Schema):
    results = fields.List(fields.Nested(ChangeResultSchema), required=True)
    cursor = fields.String(required=True)


class PullRequestSchema(_Strict):
    cursor = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    limit = fields.Integer(load_default=100, strict=True, validate=validate.Range(1, MAX_PULL_LIMIT))


class RecordClashValueSchema(Schema):
    device_id = fields.String(required=True)
    value = fields.Raw(allow_none=True, required=True)


class RecordClashSchema(Schema):
    """An open clash as a pulled record carries it: every claimed value, by device."""

    field = fields.String(required=True)
    values = fields.List(fields.Nested(RecordClashValueSchema), required=True)


class PulledRecordSchema(Schema):
    seq = fields.Integer(required=True)
    record_type = fields.String(required=True)
    record_id = fields.String(required=True)
    version = fields.Integer(required=True)
    record_fields = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(allow_none=True),
        required=True,
        data_key="fields",
        attribute="fields",
    )
    conflicts = fields.List(fields.Nested(RecordClashSchema), required=True)


class PullResponseSchema(Schema):
    changes = fields.List(fields.Nested(PulledRecordSchema), required=True)
    cursor = fields.String(required=True)
    has_more = fields.Boolean(required=True)
    # The inspections the device's user is on now (absent only for trusted, unfiltered pulls).
    assigned = fields.List(fields.String(), required=False)


push_request_schema: Final = PushRequestSchema()
push_response_schema: Final = PushResponseSchema()
pull_request_schema: Final = PullRequestSchema()
pull_response_schema: Final = PullResponseSchema()
problem_schema: Final = ProblemSchema()


def check(schema: Schema, body: Any) -> dict[str, Any]:
    """Validate a request body and return it unchanged; raises ``ValidationError``.

    The body is returned as sent rather than as loaded so that times stay the strings the device sent
    and record values are stored byte for byte (loading would turn ``client_time`` into a datetime).
    Defaults are filled in for absent optional keys.
    """
    if not isinstance(body, dict):
        raise ValidationError({"_schema": ["Expected a JSON object."]})
    errors = schema.validate(body)
    if errors:
        raise ValidationError(errors)
    loaded = schema.load(body)
    return {**{k: v for k, v in loaded.items() if k not in body}, **body}
