"""The field-sync HTTP API (``sync/PROTOCOL.md`` §2): device login, pull, push, blobs, finalize.

Push and pull bodies are validated by the protocol's own schemas (``sync.messages.check``), which
keep the body exactly as sent (times stay strings, values byte for byte), so they are read from the
request here rather than loaded by ``@blp.arguments``; their OpenAPI description still comes from
those schemas.
"""

from __future__ import annotations

from typing import Any

from flask import Response, g, jsonify, request
from flask_smorest import Blueprint

from server.accounts.auth import api_auth, current_user, no_login
from server.errors import ApiError
from server.evidence import api as evidence_api
from server.evidence.schemas import BlobDownloadQuerySchema, BlobSchema
from server.evidence.services import held_blob, is_sha256
from server.extensions import db
from server.fieldsync import services
from server.fieldsync.schemas import (
    SyncBlobUploadQuerySchema,
    SyncDeviceLoginSchema,
    SyncDeviceMeSchema,
    SyncDeviceSchema,
    SyncFinalizeSchema,
)
from sync.messages import PullRequestSchema, PullResponseSchema, PushRequestSchema, PushResponseSchema

blp = Blueprint("sync_api", __name__, url_prefix="/api/v1/sync", description="Field sync (PROTOCOL.md)")


def _body() -> Any:
    return request.get_json(silent=True)


def _json_doc(schema: type, description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


@blp.route("/devices", methods=["POST"])
@blp.arguments(SyncDeviceLoginSchema)
@blp.response(201, SyncDeviceSchema)
@blp.doc(security=[])  # the login itself: no token yet
@no_login
def register(data: dict[str, Any]) -> Any:
    """Log a phone in; the token is bound to the returned device id."""
    device = services.register_device(
        data["username"], data["password"], data["device_name"], data["device_id"]
    )
    db.session.commit()
    return device


@blp.route("/me")
@blp.response(200, SyncDeviceMeSchema)
@api_auth("inspector")
def me() -> Any:
    """The device and account a token stands for."""
    return {"device_id": g.token.device_id, "user": services.device_user(current_user())}


@blp.route("/pull", methods=["POST"])
@blp.doc(
    requestBody=_json_doc(PullRequestSchema, "PullRequest"),
    responses={"200": _json_doc(PullResponseSchema, "PullResponse, plus `assigned`")},
)
@api_auth("inspector")
def pull() -> Response:
    """Records of the caller's inspections changed after the cursor (assignments first time)."""
    body = services.pull_changes(current_user(), _body())
    db.session.commit()
    return jsonify(body)


@blp.route("/push", methods=["POST"])
@blp.doc(
    requestBody=_json_doc(PushRequestSchema, "PushRequest"),
    responses={"200": _json_doc(PushResponseSchema, "PushResponse: one result per change, same order")},
)
@api_auth("inspector")
def push() -> Response:
    """Apply a device's changes in one transaction; replays return the stored results."""
    body = services.push_changes(current_user(), g.token, _body())
    db.session.commit()
    return jsonify(body)


@blp.route("/blobs/<sha256>", methods=["HEAD"])
@blp.doc(responses={"200": {"description": "Held"}, "404": {"description": "`sync_missing_blob`: PUT it"}})
@api_auth("inspector")
def blob_head(sha256: str) -> Response:
    """Whether the server holds this file; the phone asks before uploading."""
    blob = held_blob(sha256) if is_sha256(sha256) else None
    if blob is None:
        raise ApiError("sync_missing_blob", "upload it with PUT")
    resp = Response(status=200, content_type=blob.content_type)
    resp.headers["Content-Length"] = str(blob.size)
    resp.headers["ETag"] = f'"{blob.sha256}"'
    return resp


@blp.route("/blobs/<sha256>", methods=["PUT"])
@blp.arguments(SyncBlobUploadQuerySchema, location="query")
@blp.response(201, BlobSchema, description="Stored")
@blp.alt_response(200, schema=BlobSchema, description="Already held; nothing was rewritten")
@blp.doc(**evidence_api.PUT_DOC)
@api_auth("inspector")
def blob_put(query: dict[str, Any], sha256: str) -> Any:
    """Upload a photo or signature image under its SHA-256 (streamed, re-hashed, validated)."""
    try:
        return evidence_api.upload(sha256, query["kind"])
    except ApiError as exc:
        if exc.code == "blob_hash_mismatch":  # the protocol's spelling of the same problem
            raise ApiError("sync_blob_hash_mismatch", exc.detail) from exc
        raise


@blp.route("/blobs/<sha256>", methods=["GET"])
@blp.arguments(BlobDownloadQuerySchema, location="query")
@api_auth("inspector")
def blob_get(query: dict[str, Any], sha256: str) -> Any:
    """A photo or signature image of an inspection the caller is on (or uploaded)."""
    return evidence_api.download(sha256, query["rendition"])


@blp.route("/inspections/<inspection_id>/finalize", methods=["POST"])
@blp.response(200, SyncFinalizeSchema)
@blp.doc(
    responses={
        "409": {"description": "`inspection_incomplete` with `missing`, or `inspection_locked`"},
    }
)
@api_auth("inspector")
def finalize(inspection_id: str) -> Any:
    """Submit the inspection for review when the checklist and the two-person rule are complete."""
    body = services.finalize_inspection(current_user(), g.token, inspection_id)
    db.session.commit()
    return body
