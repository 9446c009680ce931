"""Wire shapes of the review API: the queue, versions with their diff, return and approve."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from server.review.services import COMMENT_MAX, QUEUE_STATES


class ReviewQueueQuerySchema(Schema):
    state = fields.String(load_default="submitted", validate=validate.OneOf(QUEUE_STATES))
    department_id = fields.Integer(load_default=None)
    task_id = fields.Integer(load_default=None)
    q = fields.String(load_default="", validate=validate.Length(max=100))
    overdue = fields.Boolean(load_default=False)


class ReviewCountsSchema(Schema):
    submitted = fields.Integer()
    returned = fields.Integer()
    approved = fields.Integer()


class ReviewTargetSchema(Schema):
    code = fields.String()
    name = fields.String()
    kind = fields.String()


class ReviewTaskSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    department_id = fields.Integer()
    department = fields.String()


class ReviewQueueItemSchema(Schema):
    id = fields.Integer()
    state = fields.String()
    target = fields.Nested(ReviewTargetSchema)
    tasks = fields.List(fields.Nested(ReviewTaskSchema))
    leader = fields.String(allow_none=True, metadata={"description": "the team leader's name"})
    version = fields.Integer(allow_none=True, metadata={"description": "the latest version's number"})
    checked_on = fields.Date(allow_none=True)
    submitted_at = fields.DateTime(allow_none=True)
    approved_at = fields.DateTime(allow_none=True)
    result_due_on = fields.Date(allow_none=True)
    overdue = fields.Boolean(metadata={"description": "past result_due_on without an approved result"})
    late = fields.Boolean(metadata={"description": "视为未完成: the result was not entered in time"})


class ReviewCommentSchema(Schema):
    checkpoint_id = fields.Integer(allow_none=True)
    text = fields.String()
    author_id = fields.Integer()
    created_at = fields.DateTime()


class ReviewVersionSummarySchema(Schema):
    number = fields.Integer()
    status = fields.String()
    content_hash = fields.String()
    submitted_at = fields.DateTime()
    submitted_by_id = fields.Integer(allow_none=True)
    device_id = fields.String(allow_none=True)
    decided_at = fields.DateTime(allow_none=True)
    decided_by_id = fields.Integer(allow_none=True)
    decision_comment = fields.String()


class ReviewVersionSchema(ReviewVersionSummarySchema):
    record = fields.Dict(metadata={"description": "the frozen submission (fieldsync version_record)"})
    comments = fields.List(fields.Nested(ReviewCommentSchema))
    diff = fields.Dict(
        allow_none=True, metadata={"description": "changes since the previous version; null for version 1"}
    )
    suggested_categories = fields.List(
        fields.String(), metadata={"description": "result category codes to preselect when approving"}
    )


class ReviewItemCommentSchema(Schema):
    checkpoint_id = fields.Integer(required=True, strict=True)
    comment = fields.String(required=True, validate=validate.Length(min=1, max=COMMENT_MAX))


class ReturnInspectionSchema(Schema):
    version = fields.Integer(required=True, strict=True, metadata={"description": "the version reviewed"})
    comment = fields.String(load_default="", validate=validate.Length(max=COMMENT_MAX))
    items = fields.List(fields.Nested(ReviewItemCommentSchema), load_default=list)


class ApproveInspectionSchema(Schema):
    version = fields.Integer(required=True, strict=True, metadata={"description": "the version reviewed"})
    categories = fields.List(
        fields.String(validate=validate.Length(min=1, max=40)),
        required=True,
        metadata={"description": "result category codes, at least one"},
    )
    summary = fields.String(load_default="", validate=validate.Length(max=COMMENT_MAX))
    publish = fields.Boolean(load_default=True)
    withhold_reason = fields.String(load_default="", validate=validate.Length(max=COMMENT_MAX))


def version_view(version: Any, comments: list[Any], diff: Any, suggested: list[str]) -> dict[str, Any]:
    """The version as ``ReviewVersionSchema`` dumps it."""
    view = {key: getattr(version, key) for key in ReviewVersionSummarySchema().fields}
    return {
        **view,
        "record": version.record,
        "comments": comments,
        "diff": diff.as_dict() if diff is not None else None,
        "suggested_categories": suggested,
    }
