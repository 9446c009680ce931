"""Wire shapes of follow-ups: opening a disposition, a step, closing, and what is read back."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from server.followup.models import FOLLOW_UP_KINDS, FOLLOW_UP_STATUSES
from server.followup.services import MAX_EVIDENCE, STEP_NAMES, is_overdue

SHA256 = validate.Regexp(r"^[0-9a-f]{64}$", error="Not a lowercase hex SHA-256.")


class FollowUpInSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(FOLLOW_UP_KINDS))
    category_id = fields.Integer(load_default=None, allow_none=True)
    description = fields.String(load_default="", validate=validate.Length(max=4000))
    deadline = fields.Date(load_default=None, allow_none=True)
    transfer_to = fields.String(load_default="", validate=validate.Length(max=200))


class FollowUpStepInSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(tuple(STEP_NAMES)))
    note = fields.String(load_default="", validate=validate.Length(max=4000))
    # Files uploaded first with PUT /api/v1/blobs/<sha256>.
    evidence = fields.List(
        fields.String(validate=SHA256), load_default=list, validate=validate.Length(max=MAX_EVIDENCE)
    )


class FollowUpCloseSchema(Schema):
    closed_on = fields.Date(required=True)
    outcome = fields.String(required=True, validate=validate.Length(min=1, max=4000))


class FollowUpQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf(FOLLOW_UP_STATUSES))
    kind = fields.String(validate=validate.OneOf(FOLLOW_UP_KINDS))
    overdue = fields.Boolean()
    inspection_id = fields.Integer()
    deadline_from = fields.Date()
    deadline_to = fields.Date()


class FollowUpEventSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    note = fields.String()
    evidence = fields.List(fields.String())
    at = fields.DateTime()
    actor_id = fields.Integer(allow_none=True)
    details = fields.Dict()


class FollowUpSchema(Schema):
    id = fields.Integer()
    inspection_id = fields.Integer()
    target_code = fields.String(attribute="inspection.target.code")
    target_name = fields.String(attribute="inspection.target.name")
    category_code = fields.String(attribute="category.code", allow_none=True)
    category_name = fields.String(attribute="category.name", allow_none=True)
    kind = fields.String()
    description = fields.String()
    deadline = fields.Date(allow_none=True)
    transfer_to = fields.String()
    status = fields.String()
    overdue = fields.Method("get_overdue")
    opened_at = fields.DateTime()
    opened_by_id = fields.Integer(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    closed_on = fields.Date(allow_none=True)
    closed_by_id = fields.Integer(allow_none=True)
    outcome = fields.String()

    def get_overdue(self, follow_up: Any) -> bool:
        return is_overdue(follow_up)


class FollowUpDetailSchema(FollowUpSchema):
    events = fields.List(fields.Nested(FollowUpEventSchema))


class AwaitingSchema(Schema):
    """A problem found that has no disposition yet."""

    inspection_id = fields.Integer(attribute="inspection.id")
    target_code = fields.String(attribute="inspection.target.code")
    target_name = fields.String(attribute="inspection.target.name")
    approved_at = fields.DateTime(attribute="inspection.approved_at")
    category_id = fields.Integer(attribute="category.id")
    category_code = fields.String(attribute="category.code")
    category_name = fields.String(attribute="category.name")
