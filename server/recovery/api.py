"""The recovery API: upload a phone's export for a dry run, read the report, apply it.

Admins, or the user the export names (with a bearer token from ``/api/v1/auth/token`` or a
device login). The upload's size limit is ``RECOVERY_MAX_BYTES`` (default 200 MiB), larger than
the app-wide request limit, so it is set on the request before anything reads the body.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, request
from flask_smorest import Blueprint

from server.accounts.auth import api_auth, current_user
from server.errors import ApiError
from server.extensions import db
from server.recovery import services
from server.recovery.schemas import RecoveryImportBriefSchema, RecoveryImportSchema, RecoveryUploadSchema

blp = Blueprint(
    "recovery_api", __name__, url_prefix="/api/v1/recovery", description="Recovery of a phone's exported data"
)

F = TypeVar("F", bound=Callable[..., Any])


def upload_limit(view: F) -> F:
    """Raise this request's body limit to RECOVERY_MAX_BYTES before the form is parsed."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        request.max_content_length = int(current_app.config["RECOVERY_MAX_BYTES"])
        return view(*args, **kwargs)

    return cast(F, wrapper)


def read_upload() -> tuple[bytes, str]:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        raise ApiError("validation_failed", errors={"file": ["Missing data for required field."]})
    data = upload.read()
    if not data:
        raise ApiError("recovery_file_invalid", "the file is empty")
    return data, upload.filename


@blp.route("/imports", methods=["POST"])
@upload_limit
@api_auth()  # before the body is read: nobody unknown makes the server spool 200 MiB
@blp.arguments(RecoveryUploadSchema, location="files", content_type="multipart/form-data")
@blp.response(201, RecoveryImportSchema)
@blp.doc(
    responses={
        "403": {"description": "`recovery_not_yours`"},
        "413": {"description": "`payload_too_large`: more than RECOVERY_MAX_BYTES"},
        "422": {"description": "`recovery_file_invalid`, `recovery_user_unknown`, `recovery_device_unknown`"},
    }
)
def import_create(_files: dict[str, Any]) -> Any:
    """Upload an export: a dry run of every change and file; nothing else is written."""
    data, name = read_upload()
    imp = services.check_export(data, name, current_user())
    db.session.commit()
    return imp


@blp.route("/imports")
@blp.response(200, RecoveryImportBriefSchema(many=True))
@api_auth()
def import_list() -> Any:
    """Recent imports the caller may see (admins: all), newest first, without their reports."""
    return db.session.scalars(services.visible_imports(current_user()).limit(100)).all()


@blp.route("/imports/<int:import_id>")
@blp.response(200, RecoveryImportSchema)
@api_auth()
def import_get(import_id: int) -> Any:
    """One import with its dry run and, once applied, its results."""
    return services.import_for(current_user(), import_id)


@blp.route("/imports/<int:import_id>/apply", methods=["POST"])
@blp.response(200, RecoveryImportSchema)
@blp.doc(
    responses={
        "409": {"description": "`recovery_already_applied`"},
        "422": {"description": "`recovery_file_tampered`: a file was altered; nothing is applied"},
    }
)
@api_auth()
def import_apply(import_id: int) -> Any:
    """Store the files and push the changes (one transaction) as the exporting user's devices."""
    user = current_user()
    return services.run_apply(services.import_for(user, import_id), user)
