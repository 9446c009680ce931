"""Wire shapes of the directory API: targets, inspectors, departments, items and checkpoints.

Input schemas whitelist what a client may set; output schemas what it may see. Update schemas
are the create schemas with ``partial=True``: a PATCH sets only the fields it names.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from server.directory.models import (
    INSPECTOR_KINDS,
    INSPECTOR_STATUSES,
    ITEM_KINDS,
    LEVELS,
    RISK_CLASSES,
    TARGET_KINDS,
    TARGET_STATUSES,
    TRADES,
)
from server.directory.search import COUNT_CAP, MAX_LIMIT, MAX_OFFSET
from server.i18n import today_local


def _text(max_len: int, required: bool = False) -> fields.String:
    if required:
        return fields.String(required=True, validate=validate.Length(min=1, max=max_len))
    return fields.String(validate=validate.Length(max=max_len))


class PageArgsSchema(Schema):
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=MAX_LIMIT))
    offset = fields.Integer(load_default=0, validate=validate.Range(min=0, max=MAX_OFFSET))


# --- targets ---------------------------------------------------------------------------------


class TargetArgsSchema(PageArgsSchema):
    q = fields.String(load_default="", validate=validate.Length(max=100))
    kind = fields.String(validate=validate.OneOf(TARGET_KINDS))
    status = fields.String(validate=validate.OneOf(TARGET_STATUSES))
    district = fields.String(validate=validate.Length(max=100))
    industry = fields.String(validate=validate.Length(max=100))
    risk_class = fields.String(validate=validate.OneOf(RISK_CLASSES))
    tag = fields.String(validate=validate.Length(max=50))


class TargetInSchema(Schema):
    code = _text(32, required=True)
    name = _text(200, required=True)
    kind = fields.String(required=True, validate=validate.OneOf(TARGET_KINDS))
    industry = _text(100)
    district = _text(100)
    address = _text(300)
    legal_rep = _text(100)
    status = fields.String(validate=validate.OneOf(TARGET_STATUSES))
    risk_class = fields.String(allow_none=True, validate=validate.OneOf(RISK_CLASSES))
    risk_assessed_on = fields.Date(allow_none=True)
    tags = fields.List(
        fields.String(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=50)
    )


class TargetSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    industry = fields.String()
    district = fields.String()
    address = fields.String()
    legal_rep = fields.String()
    status = fields.String()
    risk_class = fields.String(allow_none=True)
    risk_assessed_on = fields.Date(allow_none=True)
    last_inspected_on = fields.Date(allow_none=True)
    tags = fields.List(fields.String(), attribute="tag_names")
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class InspectionRecordSchema(Schema):
    id = fields.Integer()
    inspected_on = fields.Date()
    department_id = fields.Integer(allow_none=True)
    task_name = fields.String()
    result = fields.String()
    source = fields.String()


class InspectorRefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    department_id = fields.Integer()


class TargetRefSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class TargetConflictSchema(Schema):
    id = fields.Integer()
    inspector = fields.Nested(InspectorRefSchema)
    reason = fields.String()
    declared_at = fields.DateTime()


class TargetDetailSchema(TargetSchema):
    history = fields.List(fields.Nested(InspectionRecordSchema))
    conflicts = fields.List(fields.Nested(TargetConflictSchema))


class TargetPageSchema(Schema):
    items = fields.List(fields.Nested(TargetSchema))
    total = fields.Integer(metadata={"description": f"capped: above {COUNT_CAP} means more than {COUNT_CAP}"})
    total_capped = fields.Boolean()
    limit = fields.Integer()
    offset = fields.Integer()


# --- inspectors ------------------------------------------------------------------------------


class InspectorArgsSchema(PageArgsSchema):
    q = fields.String(load_default="", validate=validate.Length(max=100))
    department_id = fields.Integer()
    status = fields.String(validate=validate.OneOf(INSPECTOR_STATUSES))
    kind = fields.String(validate=validate.OneOf(INSPECTOR_KINDS))
    specialty = fields.String(validate=validate.Length(max=50))


class InspectorInSchema(Schema):
    code = _text(32, required=True)
    name = _text(100, required=True)
    department_id = fields.Integer(required=True)
    credential_no = _text(50)
    credential_valid_until = fields.Date(allow_none=True)
    kind = fields.String(validate=validate.OneOf(INSPECTOR_KINDS))
    post = _text(100)
    specialties = fields.List(
        fields.String(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=30)
    )
    status = fields.String(validate=validate.OneOf(INSPECTOR_STATUSES))
    user_id = fields.Integer(allow_none=True)


class InspectorSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    department_id = fields.Integer()
    department_name = fields.Function(lambda i: i.department.name)
    credential_no = fields.String()
    credential_valid_until = fields.Date(allow_none=True)
    credential_expired = fields.Method("get_expired")
    kind = fields.String()
    post = fields.String()
    specialties = fields.List(fields.String())
    status = fields.String()
    user_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()

    def get_expired(self, inspector: Any) -> bool:
        return not inspector.credential_valid_on(today_local())


class ConflictInSchema(Schema):
    target_id = fields.Integer(required=True)
    reason = _text(300, required=True)


class ConflictSchema(Schema):
    id = fields.Integer()
    inspector_id = fields.Integer()
    target = fields.Nested(TargetRefSchema)
    reason = fields.String()
    declared_at = fields.DateTime()


class InspectorDetailSchema(InspectorSchema):
    conflicts = fields.List(fields.Nested(ConflictSchema))


class InspectorPageSchema(Schema):
    items = fields.List(fields.Nested(InspectorSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


# --- departments -----------------------------------------------------------------------------


class DepartmentInSchema(Schema):
    code = _text(32, required=True)
    name = _text(100, required=True)
    level = fields.String(required=True, validate=validate.OneOf(LEVELS))
    parent_id = fields.Integer(allow_none=True)
    # 行业: departments of one trade are peers whose inspectors may stand in (003 第十七条).
    trade = fields.String(allow_none=True, validate=validate.OneOf(TRADES))


class DepartmentSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    level = fields.String()
    parent_id = fields.Integer(allow_none=True)
    trade = fields.String(allow_none=True)
    created_at = fields.DateTime()


class DepartmentNodeSchema(DepartmentSchema):
    children = fields.List(fields.Nested(lambda: DepartmentNodeSchema()))


# --- items -----------------------------------------------------------------------------------


class ItemArgsSchema(PageArgsSchema):
    q = fields.String(load_default="", validate=validate.Length(max=100))
    department_id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(ITEM_KINDS))
    active = fields.Boolean()


class CheckpointInSchema(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    method = _text(100)


class ItemInSchema(Schema):
    code = _text(32, required=True)
    name = _text(200, required=True)
    kind = fields.String(validate=validate.OneOf(ITEM_KINDS))
    department_id = fields.Integer(required=True)
    legal_basis = fields.String(validate=validate.Length(max=5000))
    specialty = fields.String(allow_none=True, validate=validate.Length(max=50))
    active = fields.Boolean()
    checkpoints = fields.List(
        fields.Nested(CheckpointInSchema),
        validate=validate.Length(max=200),
        metadata={"description": "the whole ordered list; replaces the item's checkpoints"},
    )


class CheckpointSchema(Schema):
    id = fields.Integer()
    position = fields.Integer()
    text = fields.String()
    method = fields.String()


class ItemSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()
    kind = fields.String()
    department_id = fields.Integer()
    department_name = fields.Function(lambda i: i.department.name)
    legal_basis = fields.String()
    specialty = fields.String(allow_none=True)
    active = fields.Boolean()
    created_at = fields.DateTime()


class ItemDetailSchema(ItemSchema):
    checkpoints = fields.List(fields.Nested(CheckpointSchema))


class ItemPageSchema(Schema):
    items = fields.List(fields.Nested(ItemSchema))
    total = fields.Integer()
    limit = fields.Integer()
    offset = fields.Integer()


# Distinct classes for PATCH bodies: the OpenAPI generator names schemas by class, and one class
# used both whole and partial would need two names.
class TargetPatchSchema(TargetInSchema):
    pass


class InspectorPatchSchema(InspectorInSchema):
    pass


class DepartmentPatchSchema(DepartmentInSchema):
    pass


class ItemPatchSchema(ItemInSchema):
    pass


target_in_schema = TargetInSchema()
update_target_schema = TargetPatchSchema(partial=True)
inspector_in_schema = InspectorInSchema()
update_inspector_schema = InspectorPatchSchema(partial=True)
department_in_schema = DepartmentInSchema()
update_department_schema = DepartmentPatchSchema(partial=True)
item_in_schema = ItemInSchema()
update_item_schema = ItemPatchSchema(partial=True)
conflict_in_schema = ConflictInSchema()
