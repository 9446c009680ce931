"""Wire shapes for plans, tasks and plan imports (explicit fields only)."""

from __future__ import annotations

from typing import Any

from flask_smorest.fields import Upload
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from server.planning.models import MODES, PLAN_STATUSES, TASK_TYPES
from server.planning.parsing import STRATA, format_bp, scope_description


class PlanDepartmentSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class TaskScopeSchema(Schema):
    """The scope filter (see server/planning/parsing.py): each key a list of strings; absent = no limit."""

    kinds = fields.List(fields.String(validate=validate.Length(min=1, max=50)))
    statuses = fields.List(fields.String(validate=validate.Length(min=1, max=50)))
    districts = fields.List(fields.String(validate=validate.Length(min=1, max=100)))
    industries = fields.List(fields.String(validate=validate.Length(min=1, max=100)))
    tags = fields.List(fields.String(validate=validate.Length(min=1, max=50)))


class PlanTaskSchema(Schema):
    id = fields.Integer()
    plan_id = fields.Integer()
    seq = fields.Integer()
    name = fields.String()
    task_type = fields.String()
    items = fields.Method("get_items")
    items_text = fields.String()
    scope = fields.Dict()
    scope_text = fields.String()
    scope_description = fields.Method("get_scope_description")
    ratio_text = fields.String()
    base_ratio_bp = fields.Integer(allow_none=True)
    base_ratio = fields.Method("get_base_ratio")
    class_ratios_bp = fields.Dict(keys=fields.String(), values=fields.Integer())
    fixed_count = fields.Integer(allow_none=True)
    min_one = fields.Boolean()
    frequency_per_year = fields.Integer()
    risk_text = fields.String()
    use_risk_classes = fields.Boolean()
    window_start = fields.Date()
    window_end = fields.Date()
    window_text = fields.String()
    initiating_department = fields.Nested(PlanDepartmentSchema)
    cooperating_departments = fields.Method("get_cooperating")
    inspection_body = fields.String()
    mode = fields.String()
    mode_label = fields.Method("get_mode_label")
    mode_text = fields.String()
    team_size = fields.Integer()
    created_at = fields.DateTime()

    def get_items(self, task: Any) -> list[dict[str, Any]]:
        return [
            {"id": link.item.id, "code": link.item.code, "name": link.item.name, "position": link.position}
            for link in task.item_links
        ]

    def get_scope_description(self, task: Any) -> str:
        return scope_description(task.scope)

    def get_base_ratio(self, task: Any) -> str:
        return format_bp(task.base_ratio_bp)

    def get_cooperating(self, task: Any) -> list[dict[str, Any]]:
        return [PlanDepartmentSchema().dump(c.department) for c in task.cooperating]

    def get_mode_label(self, task: Any) -> str:
        return str(MODES.get(task.mode, task.mode))


class PlanSchema(Schema):
    id = fields.Integer()
    year = fields.Integer()
    department = fields.Nested(PlanDepartmentSchema)
    title = fields.String()
    version = fields.Integer()
    status = fields.String()
    document_no = fields.String()
    completion_date = fields.Date(allow_none=True)
    published_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    task_count = fields.Method("get_task_count")

    def get_task_count(self, plan: Any) -> int:
        return len(plan.tasks)


class PlanDetailSchema(PlanSchema):
    tasks = fields.List(fields.Nested(PlanTaskSchema))


class PlanQuerySchema(Schema):
    year = fields.Integer(validate=validate.Range(2000, 2100))
    department_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(PLAN_STATUSES))


class PlanCreateSchema(Schema):
    year = fields.Integer(required=True, validate=validate.Range(2000, 2100))
    department_id = fields.Integer(required=True)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    document_no = fields.String(load_default="", validate=validate.Length(max=100))
    completion_date = fields.Date(load_default=None, allow_none=True)


class PlanUpdateSchema(Schema):
    title = fields.String(validate=validate.Length(min=1, max=200))
    document_no = fields.String(validate=validate.Length(max=100))
    completion_date = fields.Date(allow_none=True)


def _class_ratios(value: dict[str, int]) -> None:
    unknown = set(value) - set(STRATA)
    if unknown:
        raise ValidationError(f"unknown strata: {', '.join(sorted(unknown))}; use A, B, C, D, U")


class PlanTaskWriteSchema(Schema):
    """A task row. Plan-table texts (ratio_text, window_text, mode_text, scope_text, items_text) given
    without the structured value are parsed into it, as the importer does."""

    seq = fields.Integer(validate=validate.Range(min=1))
    name = fields.String(validate=validate.Length(min=1, max=200))
    task_type = fields.String(validate=validate.OneOf(TASK_TYPES))
    item_ids = fields.List(fields.Integer(), validate=validate.Length(min=1, max=50))
    item_names = fields.List(
        fields.String(validate=validate.Length(min=1, max=200)), validate=validate.Length(min=1, max=50)
    )
    items_text = fields.String(validate=validate.Length(max=5000))
    scope = fields.Nested(TaskScopeSchema)
    scope_text = fields.String(validate=validate.Length(max=300))
    ratio_text = fields.String(validate=validate.Length(max=100))
    base_ratio_bp = fields.Integer(allow_none=True, validate=validate.Range(1, 10_000))
    class_ratios_bp = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(validate=validate.Range(0, 10_000)),
        validate=_class_ratios,
    )
    fixed_count = fields.Integer(allow_none=True, validate=validate.Range(min=1))
    min_one = fields.Boolean()
    frequency_per_year = fields.Integer(validate=validate.Range(1, 366))
    risk_text = fields.String(validate=validate.Length(max=2000))
    use_risk_classes = fields.Boolean()
    window_start = fields.Date()
    window_end = fields.Date()
    window_text = fields.String(validate=validate.Length(max=50))
    initiating_department_id = fields.Integer()
    cooperating_department_ids = fields.List(fields.Integer(), validate=validate.Length(max=20))
    inspection_body = fields.String(validate=validate.Length(max=200))
    mode = fields.String(validate=validate.OneOf(list(MODES)))
    mode_text = fields.String(validate=validate.Length(max=200))
    team_size = fields.Integer(validate=validate.Range(2, 20))

    @validates_schema
    def _one_item_source(self, data: dict[str, Any], **_: Any) -> None:
        if "item_ids" in data and "item_names" in data:
            raise ValidationError("give item_ids or item_names, not both", "item_ids")


class PlanTaskCreateSchema(PlanTaskWriteSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    task_type = fields.String(required=True, validate=validate.OneOf(TASK_TYPES))


class PlanImportFormSchema(Schema):
    """multipart/form-data: the form fields plus ``file`` (documented here, read from request.files:
    two ``arguments`` locations would leave OpenAPI 2's ``formData`` parameters in an OpenAPI 3
    document)."""

    department_id = fields.Integer(required=True)
    year = fields.Integer(required=True, validate=validate.Range(2000, 2100))
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    document_no = fields.String(load_default="", validate=validate.Length(max=100))
    dry_run = fields.Boolean(load_default=False)
    file = Upload(metadata={"description": "the plan table, CSV or XLSX (required)"})


class PlanImportIssueSchema(Schema):
    line = fields.Integer()
    column = fields.String()
    code = fields.String()
    level = fields.String()
    message = fields.String()
    value = fields.String()


class PlanImportResultSchema(Schema):
    dry_run = fields.Boolean()
    plan = fields.Nested(PlanSchema, allow_none=True)
    tasks = fields.Integer()
    issues = fields.List(fields.Nested(PlanImportIssueSchema))


plan_schema = PlanSchema()
plans_schema = PlanSchema(many=True)
plan_detail_schema = PlanDetailSchema()
task_schema = PlanTaskSchema()
