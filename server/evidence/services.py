"""Receive, find and serve evidence files; who may see them.

``receive_blob`` is the whole upload: stream the body into a private staging directory (re-hashing
and counting as it goes), compare the hash with the one the client named, validate the image (a full
decode), and only then move the original into the blob store and add the row. Renditions are made
on first view (``ensure_renditions``). A refused
upload therefore leaves nothing behind — and can never touch a file another upload already stored,
which a "write into the store, delete on failure" design would risk when a wrong body happens to hash
to a held blob.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from server.accounts.models import User
from server.audit.services import record_event
from server.errors import ApiError
from server.evidence.images import REVIEW_EDGE, THUMB_EDGE, ImageRejected, inspect_image, make_renditions
from server.evidence.models import BLOB_KINDS, Blob, BlobRef
from server.extensions import db
from server.storage import BlobStore, blob_store

# Roles that may open any evidence file; inspectors see what they uploaded and the evidence of the
# inspections they are on (BlobRef), so inspector B sees A's photos before signing.
STAFF = ("admin", "supervisor", "leader")
RENDITIONS = {"thumb": THUMB_EDGE, "review": REVIEW_EDGE}
_SHA256 = re.compile(r"[0-9a-f]{64}")


def is_sha256(value: str) -> bool:
    """Lowercase hex only: one spelling per hash, so a string compare is a hash compare."""
    return bool(_SHA256.fullmatch(value))


def held_blob(sha256: str, store: BlobStore | None = None) -> Blob | None:
    """The blob if the server holds it: its row exists and its bytes are in the store."""
    blob = db.session.get(Blob, sha256)
    if blob is None or not (store or blob_store()).exists(sha256):
        return None
    return blob


def receive_blob(
    sha256: str,
    chunks: Iterable[bytes],
    uploader: User,
    kind: str = "photo",
    *,
    store: BlobStore | None = None,
    max_bytes: int | None = None,
) -> tuple[Blob, bool]:
    """Store an uploaded evidence image under ``sha256``; returns (blob, created).

    Idempotent: a blob already held is returned as it is, without reading the body. Raises
    ``ApiError`` (``payload_too_large``, ``blob_hash_mismatch`` or an ``image_*`` code) with nothing
    stored. Flushes and audits; the caller commits.
    """
    if not is_sha256(sha256):
        raise ApiError("validation_failed", errors={"sha256": ["Not a lowercase hex SHA-256."]})
    if kind not in BLOB_KINDS:
        raise ApiError("validation_failed", errors={"kind": [f"One of {', '.join(BLOB_KINDS)}."]})
    store = store or blob_store()
    if max_bytes is None:
        max_bytes = int(current_app.config["EVIDENCE_MAX_BYTES"])
    existing = db.session.get(Blob, sha256)
    if existing is not None and store.exists(sha256):
        return existing, False

    # The staging directory sits inside the store's root so the final move is a same-filesystem
    # rename; one directory per upload, so concurrent uploads of the same hash never share a file.
    staging_root = store.root / ".staging"
    staging_root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=staging_root))
    try:
        staged = _stage(BlobStore(staging), sha256, chunks, max_bytes)
        try:
            info = inspect_image(staged)
        except ImageRejected as exc:
            raise ApiError(exc.code, detail=exc.detail) from exc
        final = store.path_for(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, final)  # the same bytes under the same name: a racing twin is harmless
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    size = final.stat().st_size
    if existing is not None:
        # The row outlived its file (restored from an old backup, a lost disk): the bytes are back.
        existing.renditions = {}
        record_event("blob.restored", "blob", sha256, actor_id=uploader.id, details={"size": size})
        db.session.flush()
        return existing, False
    blob = Blob(
        sha256=sha256,
        size=size,
        content_type=info.content_type,
        kind=kind,
        width=info.width,
        height=info.height,
        taken_at=info.taken_at,
        gps_lat=info.gps_lat,
        gps_lon=info.gps_lon,
        device=info.device,
        orientation=info.orientation,
        uploaded_by_id=uploader.id,
        renditions={},
    )
    db.session.add(blob)
    db.session.flush()
    record_event(
        "blob.uploaded",
        "blob",
        sha256,
        actor_id=uploader.id,
        details={"size": size, "kind": kind, "content_type": info.content_type},
    )
    return blob, True


def _stage(staging: BlobStore, sha256: str, chunks: Iterable[bytes], max_bytes: int) -> Path:
    """Write the body into the staging store and check it hashes to ``sha256``."""
    try:
        computed, _size = staging.put_chunks(chunks, max_bytes=max_bytes)
    except ValueError as exc:  # put_chunks' size limit (the only ValueError it raises for a stream)
        raise ApiError("payload_too_large", detail=f"An evidence file is at most {max_bytes} bytes.") from exc
    if computed != sha256:
        raise ApiError("blob_hash_mismatch", detail=f"The body hashes to {computed}.")
    return staging.path_for(sha256)


def can_view_blob(user: User, blob: Blob) -> bool:
    """Admins and the uploader; supervisors and leaders when an inspection of their departments'
    tasks refers to the file (a photo, a signature, a follow-up step); the team of such an
    inspection. Anyone else is answered 404, whatever hash they guess or copy from a page."""
    if user.has_role("admin") or blob.uploaded_by_id == user.id:
        return True
    if user.has_role("supervisor", "leader"):
        from server.inspections.models import Inspection
        from server.inspections.services import inspections_visible_to

        visible = inspections_visible_to(user).with_only_columns(Inspection.id).scalar_subquery()
        referred = db.session.scalar(
            select(BlobRef.id)
            .where(BlobRef.sha256 == blob.sha256, BlobRef.inspection_id.in_(visible))
            .limit(1)
        )
        if referred is not None:
            return True
    from server.directory.models import Inspector
    from server.inspections.models import TeamMember

    on_team = db.session.scalar(
        select(BlobRef.id)
        .join(TeamMember, TeamMember.inspection_id == BlobRef.inspection_id)
        .join(Inspector, Inspector.id == TeamMember.inspector_id)
        .where(BlobRef.sha256 == blob.sha256, Inspector.user_id == user.id, TeamMember.removed_at.is_(None))
        .limit(1)
    )
    return on_team is not None


def blob_file(blob: Blob, rendition: str, store: BlobStore | None = None) -> tuple[Path, str, str]:
    """(path, content type, sha256) of the original or one of its renditions (made if missing)."""
    store = store or blob_store()
    if rendition == "original":
        return store.path_for(blob.sha256), blob.content_type, blob.sha256
    if rendition not in RENDITIONS:
        raise ApiError("not_found", detail=f"No {rendition} rendition.")
    sha = blob.renditions.get(rendition)
    if not sha or not store.exists(sha):
        sha = ensure_renditions(blob, store)[rendition]
    return store.path_for(sha), "image/jpeg", sha


def ensure_renditions(blob: Blob, store: BlobStore | None = None) -> dict[str, str]:
    """Make the blob's renditions if any is missing; returns {name: sha256}. Flushes; the caller commits.

    Renditions are derived data, made when first needed rather than during the upload: the phone
    waits only for what it must (hash, validation, durable storage), and every upload costs the
    server one decode instead of three. Making them twice (two viewers at once) gives the same bytes
    under the same names, so a race is harmless.
    """
    store = store or blob_store()
    current = dict(blob.renditions or {})
    if all(current.get(name) and store.exists(current[name]) for name in RENDITIONS):
        return current
    try:
        made = make_renditions(store.path_for(blob.sha256), list(RENDITIONS.values()))
    except ImageRejected as exc:  # it passed validation when uploaded; only a damaged disk gets here
        raise ApiError("image_unreadable", detail=exc.detail) from exc
    renditions = {name: store.put_bytes(made[edge]) for name, edge in RENDITIONS.items()}
    blob.renditions = renditions
    db.session.flush()
    return renditions
