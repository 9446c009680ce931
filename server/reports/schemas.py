"""Wire shape of the KPI report."""

from marshmallow import Schema, fields


class RatioSchema(Schema):
    num = fields.Integer()
    den = fields.Integer()
    rate = fields.Float(allow_none=True)


class KpiRowSchema(Schema):
    key = fields.Integer(allow_none=True, metadata={"description": "department or task id"})
    label = fields.String()
    department = fields.String()
    inspections = fields.Integer()
    late = fields.Integer(metadata={"description": "视为未完成"})
    coverage = fields.Nested(RatioSchema, attribute="ratios.coverage")
    risk_draws = fields.Nested(RatioSchema, attribute="ratios.risk_draws")
    on_time = fields.Nested(RatioSchema, attribute="ratios.on_time")
    publication = fields.Nested(RatioSchema, attribute="ratios.publication")
    follow_up = fields.Nested(RatioSchema, attribute="ratios.follow_up")
    problems = fields.Nested(RatioSchema, attribute="ratios.problems")


class KpiReportSchema(Schema):
    year = fields.Integer()
    today = fields.Date()
    enterprises = fields.Integer(metadata={"description": "active enterprises: the coverage denominator"})
    total = fields.Nested(KpiRowSchema)
    departments = fields.Nested(KpiRowSchema, many=True)
    tasks = fields.Nested(KpiRowSchema, many=True)


class KpiQuerySchema(Schema):
    year = fields.Integer(load_default=None)
    department_id = fields.Integer(load_default=None)
