"""Wire shapes of the working-day calendar."""

from marshmallow import Schema, fields, validate


class WorkingDaysQuerySchema(Schema):
    start = fields.Date(required=True, metadata={"description": "the anchor day (not counted)"})
    days = fields.Integer(required=True, validate=validate.Range(min=1, max=250))


class WorkingDaysSchema(Schema):
    start = fields.Date()
    days = fields.Integer()
    due = fields.Date(metadata={"description": "the days-th working day after start"})
    calendar_days = fields.Integer()
