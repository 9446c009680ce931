"""The bulk-import API (admin only): upload a CSV/XLSX as a job, then poll it.

``POST /imports`` answers 202 at once with the job in state ``validating``; a background thread
validates (and, unless it is a dry run, applies) the file. ``GET /imports/<id>`` returns the
progress and, when finished, every error by line (capped, with the full count) or the summary.
"""

from __future__ import annotations

from pathlib import PurePath
from typing import Any

from flask import request
from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from server.accounts.auth import api_auth, current_user
from server.directory.api import blp
from server.directory.import_formats import error_message
from server.directory.importer import (
    FINAL_STATUSES,
    copy_import_job,
    create_import_job,
    job_progress,
    rerun_import_job,
    start_import,
)
from server.directory.models import IMPORT_KINDS, IMPORT_MODES, IMPORT_STATUSES, ImportJob
from server.errors import ApiError
from server.extensions import db

ALLOWED_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")


class ImportRequestSchema(Schema):
    """multipart/form-data: the form fields plus ``file`` (documented here, read from request.files)."""

    kind = fields.String(required=True, validate=validate.OneOf(IMPORT_KINDS))
    mode = fields.String(load_default="create", validate=validate.OneOf(IMPORT_MODES))
    dry_run = fields.Boolean(load_default=False, metadata={"description": "validate only, write nothing"})
    file = Upload(metadata={"description": "CSV (UTF-8 or GB18030) or XLSX; header on line 1"})


class ImportProblemSchema(Schema):
    line = fields.Integer(allow_none=True, metadata={"description": "spreadsheet line; header = 1"})
    field = fields.String(allow_none=True)
    column = fields.String(allow_none=True, metadata={"description": "the header as written in the file"})
    code = fields.String(metadata={"description": "stable reason code, e.g. credit_code_check_digit"})
    message = fields.Function(error_message)


class ImportJobSchema(Schema):
    id = fields.Integer()
    kind = fields.String(validate=validate.OneOf(IMPORT_KINDS))
    mode = fields.String(validate=validate.OneOf(IMPORT_MODES))
    filename = fields.String()
    file_sha256 = fields.String()
    status = fields.Method("get_status", metadata={"enum": list(IMPORT_STATUSES)})
    finished = fields.Method("get_finished")
    dry_run = fields.Boolean()
    total_rows = fields.Integer()
    processed_rows = fields.Method("get_processed")
    error_count = fields.Integer()
    errors = fields.List(
        fields.Nested(ImportProblemSchema),
        metadata={"description": "at most 1000 entries, by line; error_count is the full count"},
    )
    summary = fields.Dict(metadata={"description": "rows, created, updated, samples of codes, …"})
    created_by_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)

    def get_status(self, job: ImportJob) -> str:
        return job_progress(job)[0]

    def get_finished(self, job: ImportJob) -> bool:
        return job_progress(job)[0] in FINAL_STATUSES

    def get_processed(self, job: ImportJob) -> int:
        return job_progress(job)[1]


class ImportJobBriefSchema(ImportJobSchema):
    class Meta:
        exclude = ("errors",)


class ImportListArgsSchema(Schema):
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


@blp.route("/imports", methods=["POST"])
@blp.arguments(ImportRequestSchema, location="form", content_type="multipart/form-data")
@blp.response(202, ImportJobSchema)
@api_auth("admin")
def import_create(data: dict[str, Any]) -> Any:
    """Upload a file to import into a directory; processed in the background, poll the job."""
    upload = request.files.get("file")
    if upload is None:
        raise ApiError("validation_failed", errors={"files": {"file": ["Missing data for required field."]}})
    name = upload.filename or ""
    if PurePath(name).suffix.lower() not in ALLOWED_SUFFIXES:
        raise ApiError("import_unreadable", detail="only .csv or .xlsx files")
    content = upload.read()
    if not content:
        raise ApiError("import_unreadable", detail="the file is empty")
    job = create_import_job(
        data["kind"], content, name, mode=data["mode"], dry_run=data["dry_run"], actor_id=current_user().id
    )
    db.session.commit()
    start_import(job)
    return job


@blp.route("/imports")
@blp.arguments(ImportListArgsSchema, location="query")
@blp.response(200, ImportJobBriefSchema(many=True))
@api_auth("admin")
def import_list(args: dict[str, Any]) -> Any:
    """Recent import jobs, newest first (without their error lists)."""
    return db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(args["limit"])).all()


@blp.route("/imports/<int:job_id>")
@blp.response(200, ImportJobSchema)
@api_auth("admin")
def import_get(job_id: int) -> Any:
    """A job with its progress, and its errors or summary once finished."""
    job = db.session.get(ImportJob, job_id)
    if job is None:
        raise ApiError("import_not_found")
    return job


@blp.route("/imports/<int:job_id>/apply", methods=["POST"])
@blp.response(202, ImportJobSchema)
@api_auth("admin")
def import_apply(job_id: int) -> Any:
    """Import the file of a clean dry run for real, as a new job (checked again first)."""
    source = db.session.get(ImportJob, job_id)
    if source is None:
        raise ApiError("import_not_found")
    job = copy_import_job(source, current_user().id)
    db.session.commit()
    start_import(job)
    return job


@blp.route("/imports/<int:job_id>/rerun", methods=["POST"])
@blp.response(202, ImportJobSchema)
@blp.alt_response(409, description="`import_not_failed`: only a failed job runs again")
@api_auth("admin")
def import_rerun(job_id: int) -> Any:
    """Run a failed job's file again, as a new job (dry run or not, as the failed one was): after
    a restart interrupted it (``interrupted``) or an internal error, nothing of it was applied."""
    source = db.session.get(ImportJob, job_id)
    if source is None:
        raise ApiError("import_not_found")
    job = rerun_import_job(source, current_user().id)
    db.session.commit()
    start_import(job)
    return job
