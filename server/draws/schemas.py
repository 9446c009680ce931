"""Wire shapes for draws, drawn targets, teams and replacements (explicit fields only)."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from server.draws.models import REPLACEMENT_REASONS


class PerformDrawSchema(Schema):
    witness = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    # Recorded reason for including class-A targets already inspected this year (003 第十六条).
    low_risk_override = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class VoidDrawSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class DrawQuerySchema(Schema):
    task_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(("active", "voided")))


class DrawStratumSchema(Schema):
    pool = fields.Integer()
    ratio_bp = fields.Integer()
    count = fields.Integer()


class DrawSchema(Schema):
    id = fields.Integer()
    task_id = fields.Integer()
    task_name = fields.String(attribute="task.name")
    attempt = fields.Integer()
    status = fields.String()
    algorithm = fields.String()
    server_entropy = fields.String()
    witness_input = fields.String(allow_none=True)
    seed = fields.String()
    snapshot_hash = fields.String()
    snapshot_rows = fields.Integer()
    strata = fields.Dict(keys=fields.String(), values=fields.Nested(DrawStratumSchema))
    drawn_at = fields.DateTime()
    drawn_by_id = fields.Integer(allow_none=True)
    voided_at = fields.DateTime(allow_none=True)
    voided_by_id = fields.Integer(allow_none=True)
    void_reason = fields.String(allow_none=True)


class DrawTeamMemberSchema(Schema):
    id = fields.Integer()
    inspector_id = fields.Integer()
    inspector_code = fields.String()
    inspector_name = fields.String()
    role = fields.String()
    department_id = fields.Integer()
    department_name = fields.String()
    # Drawn from a peer department of the same trade for this task department (003 第十七条).
    acting_for_department_id = fields.Integer(allow_none=True)
    acting_for_department_name = fields.String(allow_none=True)
    draw_id = fields.Integer(allow_none=True)
    removed_at = fields.DateTime(allow_none=True)


class DrawnTargetSchema(Schema):
    rank = fields.Integer()
    stratum = fields.String()
    weight = fields.Integer()
    target_id = fields.Integer()
    target_code = fields.String()
    target_name = fields.String()
    inspection_id = fields.Integer(allow_none=True)
    merged = fields.Boolean()
    team = fields.List(fields.Nested(DrawTeamMemberSchema))


class DrawDetailSchema(DrawSchema):
    parameters = fields.Dict()
    drawn = fields.List(fields.Nested(DrawnTargetSchema))


class DrawReplacementRequestSchema(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(REPLACEMENT_REASONS))
    reason_text = fields.String(load_default="", validate=validate.Length(max=2000))


class DrawReplacementDecisionSchema(Schema):
    approve = fields.Boolean(required=True)
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class DrawReplacementSchema(Schema):
    id = fields.Integer()
    inspection_id = fields.Integer()
    out_member_id = fields.Integer()
    in_member_id = fields.Integer(allow_none=True)
    reason = fields.String()
    reason_text = fields.String()
    status = fields.String()
    requested_by_id = fields.Integer()
    requested_at = fields.DateTime()
    decided_by_id = fields.Integer(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String()
    seed = fields.String(allow_none=True)
    candidates = fields.List(fields.String(), allow_none=True)
    peers = fields.Dict(allow_none=True)  # set when the candidates came from peer departments


draw_schema = DrawSchema()
draws_schema = DrawSchema(many=True)
draw_detail_schema = DrawDetailSchema()
replacement_schema = DrawReplacementSchema()
