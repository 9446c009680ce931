"""Evidence files over HTTP, addressed by SHA-256: HEAD (held?), PUT (upload), GET (bytes), GET meta.

The phone uploads a photo after its records, one at a time: ``HEAD /blobs/<sha256>``, and on 404 a
``PUT`` of the bytes. The PUT body is read from ``request.stream`` in chunks — never through
``request.data``/``request.form``, which would buffer or parse it — so no schema touches it; only the
query string goes through ``@blp.arguments``.
"""

from __future__ import annotations

from typing import Any

from flask import Response, current_app, request, send_file
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy.exc import IntegrityError

from server.accounts.auth import api_auth, current_user
from server.errors import ApiError
from server.evidence.models import Blob
from server.evidence.schemas import BlobDownloadQuerySchema, BlobSchema, BlobUploadQuerySchema
from server.evidence.services import blob_file, can_view_blob, held_blob, is_sha256, receive_blob
from server.extensions import db
from server.storage import CHUNK

blp = Blueprint("evidence_api", __name__, url_prefix="/api/v1", description="Evidence files")

# Content-addressed bytes never change, so a browser may keep them; "private" keeps shared caches
# (proxies) from storing evidence.
CACHE_CONTROL = "private, max-age=31536000, immutable"

_BINARY = {"schema": {"type": "string", "format": "binary"}}
PUT_DOC = {
    "requestBody": {
        "required": True,
        "description": "The file's bytes, streamed. Its SHA-256 must equal the one in the path.",
        "content": dict.fromkeys(("image/jpeg", "image/png", "image/webp", "image/heic"), _BINARY),
    },
    "responses": {
        "400": {"description": "`blob_hash_mismatch`: the body does not hash to the path"},
        "413": {"description": "`payload_too_large`: more than EVIDENCE_MAX_BYTES"},
        "415": {"description": "`image_unsupported_format`"},
        "422": {"description": "`image_unreadable`, `image_truncated`, `image_too_many_pixels`"},
    },
}


def _checked(sha256: str) -> str:
    if not is_sha256(sha256):
        raise ApiError("validation_failed", errors={"sha256": ["Not a lowercase hex SHA-256."]})
    return sha256


def _visible_blob(sha256: str) -> Blob:
    blob = held_blob(_checked(sha256))
    if blob is None:
        raise ApiError("not_found")
    if not can_view_blob(current_user(), blob):
        raise ApiError("forbidden")
    return blob


@blp.route("/blobs/<sha256>")
class BlobResource(MethodView):
    @blp.doc(
        responses={
            "200": {
                "description": "Held; `Content-Length` is the original's size",
                "headers": {"Content-Length": {"schema": {"type": "integer"}}},
            },
            "404": {"description": "Not held: PUT it"},
        }
    )
    @api_auth()
    def head(self, sha256: str) -> Any:
        """Whether the server holds this file (any signed-in user; the phone asks before uploading)."""
        blob = held_blob(_checked(sha256))
        if blob is None:
            raise ApiError("not_found")
        resp = Response(status=200, content_type=blob.content_type)
        resp.headers["Content-Length"] = str(blob.size)
        resp.headers["ETag"] = f'"{blob.sha256}"'
        return resp

    @blp.arguments(BlobUploadQuerySchema, location="query")
    @blp.response(201, BlobSchema, description="Stored")
    @blp.alt_response(200, schema=BlobSchema, description="Already held; nothing was rewritten")
    @blp.doc(**PUT_DOC)
    @api_auth()
    def put(self, query: dict[str, Any], sha256: str) -> Any:
        """Upload an evidence image under its SHA-256: re-hashed, fully decoded, stored as sent."""
        return upload(sha256, query["kind"])

    @blp.arguments(BlobDownloadQuerySchema, location="query")
    @blp.doc(
        responses={
            "200": {
                "description": "The original (its own type) or a rendition (JPEG, no metadata)",
                "content": {"image/jpeg": _BINARY, "image/png": _BINARY, "image/webp": _BINARY},
            }
        }
    )
    @api_auth()
    def get(self, query: dict[str, Any], sha256: str) -> Any:
        """The file or a rendition (staff, the inspection's team, or whoever uploaded it)."""
        return download(sha256, query["rendition"])


def upload(sha256: str, kind: str) -> tuple[Blob, int]:
    """The whole PUT (shared with the field-sync API): idempotent, streamed, size-limited."""
    held = held_blob(_checked(sha256))
    if held is not None:
        return held, 200  # idempotent: the body is not even read
    max_bytes = int(current_app.config["EVIDENCE_MAX_BYTES"])
    if request.content_length is not None and request.content_length > max_bytes:
        raise ApiError("payload_too_large", detail=f"An evidence file is at most {max_bytes} bytes.")
    user = current_user()
    # End the transaction the token check opened before reading the body, which may take
    # minutes on a field connection: held open, it would block every other SQLite writer (the
    # token's last_used_at is a write) and sit idle in transaction on PostgreSQL.
    db.session.commit()
    chunks = iter(lambda: request.stream.read(CHUNK), b"")
    try:
        blob, created = receive_blob(sha256, chunks, user, kind, max_bytes=max_bytes)
        db.session.commit()
    except IntegrityError:
        # A concurrent upload of the same file committed its row first: that is success.
        db.session.rollback()
        twin = held_blob(sha256)
        if twin is None:
            raise
        return twin, 200
    return blob, 201 if created else 200


def download(sha256: str, rendition: str) -> Response:
    blob = _visible_blob(sha256)
    path, content_type, etag = blob_file(blob, rendition)
    db.session.commit()  # renditions made on this first view are kept
    resp = send_file(path, mimetype=content_type, etag=etag, conditional=True, max_age=None)
    resp.headers["Cache-Control"] = CACHE_CONTROL
    return resp


@blp.route("/blobs/<sha256>/meta")
@blp.response(200, BlobSchema)
@api_auth()
def blob_meta(sha256: str) -> Any:
    """Size, type, capture time, GPS, device and rendition hashes (who may see the file)."""
    return _visible_blob(sha256)
