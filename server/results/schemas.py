"""Wire shapes of result categories and inspection results (explicit fields only)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.results.models import WITHHOLD_STATUSES


class ResultCategoryEntrySchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    name_en = fields.String()
    is_problem = fields.Boolean()
    needs_follow_up = fields.Boolean()
    ends_without_inspection = fields.Boolean()
    position = fields.Integer()
    active = fields.Boolean()


class ResultCategoryQuerySchema(Schema):
    active = fields.Boolean(load_default=None, allow_none=True, metadata={"description": "only (in)active"})


class ResultCategoryCreateSchema(Schema):
    code = fields.String(
        required=True,
        validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$", error="2-40 of a-z, 0-9 and _, from a letter."),
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    name_en = fields.String(load_default="", validate=validate.Length(max=200))
    is_problem = fields.Boolean(load_default=False)
    needs_follow_up = fields.Boolean(load_default=False)
    ends_without_inspection = fields.Boolean(load_default=False)
    position = fields.Integer(validate=validate.Range(min=0, max=1_000_000))


class ResultCategoryUpdateSchema(Schema):
    """Every field optional; the code never changes (phones and exports refer to it)."""

    name = fields.String(validate=validate.Length(min=1, max=100))
    name_en = fields.String(validate=validate.Length(max=200))
    is_problem = fields.Boolean()
    needs_follow_up = fields.Boolean()
    ends_without_inspection = fields.Boolean()
    position = fields.Integer(validate=validate.Range(min=0, max=1_000_000))
    active = fields.Boolean()


class ReviewedResultSchema(Schema):
    id = fields.Integer()
    inspection_id = fields.Integer()
    version_id = fields.Integer(allow_none=True)
    categories = fields.List(fields.Nested(ResultCategoryEntrySchema))
    summary = fields.String()
    publish = fields.Boolean()
    withhold_status = fields.String(metadata={"enum": list(WITHHOLD_STATUSES)})
    withhold_reason = fields.String(metadata={"description": "internal, never public"})
    withhold_decided_by_id = fields.Integer(allow_none=True)
    withhold_decided_at = fields.DateTime(allow_none=True)
    withhold_decision_note = fields.String()
    entered_by_id = fields.Integer(allow_none=True)
    entered_at = fields.DateTime()
    published_at = fields.DateTime(allow_none=True)


class WithholdingQuerySchema(Schema):
    status = fields.String(
        load_default="requested", validate=validate.OneOf(("requested", "approved", "rejected"))
    )


class WithholdingDecisionSchema(Schema):
    approve = fields.Boolean(required=True, metadata={"description": "true: never publish; false: publish"})
    note = fields.String(load_default="", validate=validate.Length(max=2000))
