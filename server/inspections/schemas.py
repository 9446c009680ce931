"""Wire shapes of inspections as their team sees them."""

from marshmallow import Schema, fields


class InspectionTeamMemberSchema(Schema):
    id = fields.Integer()
    role = fields.String()
    inspector_code = fields.String(attribute="inspector.code")
    name = fields.String(attribute="inspector.name")
    department = fields.String(attribute="department.name")


class AssignmentTargetSchema(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    address = fields.String()
    district = fields.String()
    risk_class = fields.String(allow_none=True)


class InspectionSummarySchema(Schema):
    id = fields.Integer()
    state = fields.String()
    window_start = fields.Date()
    window_end = fields.Date()
    target = fields.Nested(AssignmentTargetSchema)
    tasks = fields.Method("get_tasks")
    team = fields.Nested(InspectionTeamMemberSchema, many=True, attribute="active_team")

    def get_tasks(self, inspection: object) -> list[dict[str, object]]:
        return [
            {"id": link.task.id, "name": link.task.name} for link in getattr(inspection, "task_links", [])
        ]
