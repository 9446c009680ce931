"""Wire schemas of the recovery API: the upload, an import and its report (dry run or results)."""

from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from server.recovery.models import RECOVERY_STATUSES
from server.recovery.services import CHANGE_STATUSES, FILE_STATUSES
from sync.messages import ClashSchema


class RecoveryUploadSchema(Schema):
    """multipart/form-data with ``file`` (documented here, read from request.files)."""

    file = Upload(
        required=True,
        metadata={"description": "the field app's export (JSON, spotcheck-unsynced-v1); RECOVERY_MAX_BYTES"},
    )


class RecoveryProblemSchema(Schema):
    code = fields.String(
        metadata={"description": "a problem code (server/errors.py) or a sync per-change code"}
    )
    detail = fields.String()


class RecoveryReportChangeSchema(Schema):
    index = fields.Integer(metadata={"description": "position in the phone's outbox"})
    change_id = fields.String()
    device_id = fields.String()
    queued_at = fields.String(allow_none=True)
    record_type = fields.String()
    record_id = fields.String()
    op = fields.String()
    base_version = fields.Integer()
    fields_ = fields.Dict(data_key="fields", attribute="fields", metadata={"description": "what it sets"})
    inspection = fields.String(allow_none=True)
    replay = fields.Boolean(metadata={"description": "the server had this change id before the import"})
    status = fields.String(
        validate=validate.OneOf(CHANGE_STATUSES),
        metadata={"description": "the push result (predicted in a dry run); held: not sent, see error"},
    )
    record_version = fields.Integer(allow_none=True)
    conflicts = fields.List(fields.Nested(ClashSchema))
    error = fields.Nested(RecoveryProblemSchema, allow_none=True)


class RecoveryReportFileSchema(Schema):
    sha256 = fields.String()
    kind = fields.String(validate=validate.OneOf(("photo", "signature")))
    inspection = fields.String(allow_none=True)
    size = fields.Integer(allow_none=True, metadata={"description": "decoded bytes"})
    on_server = fields.Boolean(metadata={"description": "the server held it before"})
    status = fields.String(
        validate=validate.OneOf(FILE_STATUSES),
        metadata={"description": "new (dry run: would be stored), stored, on_server, refused (see error)"},
    )
    error = fields.Nested(RecoveryProblemSchema, allow_none=True)


class RecoveryReportRejectedSchema(Schema):
    change = fields.Dict()
    error = fields.Dict()
    rejected_at = fields.String(allow_none=True)


class RecoveryReportInspectionSchema(Schema):
    sync_id = fields.String(allow_none=True)
    inspection_id = fields.Integer(allow_none=True)
    target_name = fields.String(allow_none=True)
    state = fields.String(allow_none=True)
    changes = fields.List(fields.Nested(RecoveryReportChangeSchema))
    files = fields.List(fields.Nested(RecoveryReportFileSchema))
    rejected = fields.List(
        fields.Nested(RecoveryReportRejectedSchema),
        metadata={"description": "changes the server had rejected before the export; listed, not re-sent"},
    )


class RecoveryReportOwnerSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    display_name = fields.String()


class RecoveryReportSchema(Schema):
    owner = fields.Nested(RecoveryReportOwnerSchema)
    device_id = fields.String()
    exported_at = fields.String(allow_none=True)
    inspections = fields.List(fields.Nested(RecoveryReportInspectionSchema))
    blocking = fields.List(
        fields.Dict(),
        metadata={"description": "altered or damaged files: {sha256, code, detail}; nothing is applied"},
    )
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())


class RecoveryImportSchema(Schema):
    id = fields.Integer()
    filename = fields.String()
    file_sha256 = fields.String()
    size = fields.Integer()
    status = fields.String(validate=validate.OneOf(RECOVERY_STATUSES))
    owner_id = fields.Integer()
    device_id = fields.String()
    exported_at = fields.DateTime(allow_none=True)
    uploaded_by_id = fields.Integer()
    created_at = fields.DateTime()
    applied_by_id = fields.Integer(allow_none=True)
    applied_at = fields.DateTime(allow_none=True)
    plan = fields.Nested(RecoveryReportSchema, metadata={"description": "the dry run"})
    results = fields.Nested(
        RecoveryReportSchema, allow_none=True, metadata={"description": "what applying did"}
    )


class RecoveryImportBriefSchema(RecoveryImportSchema):
    class Meta:
        exclude = ("plan", "results")
