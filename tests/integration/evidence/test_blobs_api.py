"""The evidence API as the phone and staff use it: HEAD, PUT, GET, meta; refusals leave nothing behind."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import ExifTags, Image
from sqlalchemy import func, select

from server.audit.models import AuditEvent
from server.evidence.models import Blob, BlobRef
from server.extensions import db
from server.storage import BlobStore
from tests.integration.evidence.helpers import Person, get, person, put, sha, stored_files
from tests.integration.evidence.imagefiles import (
    BLUE,
    RED,
    bomb_png,
    encoded,
    field_photo,
    signature_png,
    two_tone,
)
from tests.support import factories
from tests.support.field import field_world


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _blob_events() -> int:
    return db.session.scalar(select(func.count()).where(AuditEvent.object_type == "blob")) or 0


def _near(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(abs(x - y) <= 40 for x, y in zip(a, b, strict=False))


def test_phone_upload_flow(app: Flask, client: FlaskClient, inspector: Person) -> None:
    photo = field_photo((640, 480))
    digest = sha(photo)
    url = f"/api/v1/blobs/{digest}"

    assert client.head(url, headers=inspector.headers).status_code == 404

    resp = put(client, inspector, photo, headers={"Content-Type": "image/jpeg"})
    assert resp.status_code == 201, resp.json
    meta = resp.json
    assert meta["sha256"] == digest
    assert meta["size"] == len(photo)
    assert meta["content_type"] == "image/jpeg"
    assert meta["kind"] == "photo"
    assert (meta["width"], meta["height"], meta["orientation"]) == (480, 640, 6)
    assert meta["taken_at"] == "2026-05-01T02:20:30+00:00"  # 10:20:30 China time
    assert meta["gps_lat"] == pytest.approx(39.9075)
    assert meta["gps_lon"] == pytest.approx(116.3973333)
    assert meta["device"] == "Huawei P60"
    assert meta["uploaded_by_id"] == inspector.user.id
    assert meta["renditions"] == {}  # made on first view, not while the phone waits

    head = client.head(url, headers=inspector.headers)
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len(photo))
    assert head.data == b""

    # The original is kept byte for byte under its hash, in the store and over the API.
    store = BlobStore(app.config["BLOB_DIR"])
    assert hashlib.sha256(store.read(digest)).hexdigest() == digest
    original = get(client, url, inspector)
    assert original.status_code == 200
    assert original.mimetype == "image/jpeg"
    assert original.data == photo
    assert "private" in original.headers["Cache-Control"]

    row = db.session.get(Blob, digest)
    assert row is not None and row.renditions == {}
    assert get(client, f"{url}?rendition=thumb", inspector).status_code == 200
    db.session.expire_all()
    row = db.session.get(Blob, digest)
    assert row is not None and set(row.renditions) == {"thumb", "review"}
    made = {name: store.read(h) for name, h in row.renditions.items()}
    assert get(client, f"{url}?rendition=review", inspector).data == made["review"]
    assert client.get(f"{url}/meta", headers=inspector.headers).json["renditions"] == row.renditions
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "blob")).all()
    assert [(e.action, e.object_id, e.actor_id) for e in events] == [
        ("blob.uploaded", digest, inspector.user.id)
    ]


def test_renditions_are_upright_and_carry_no_gps(client: FlaskClient, inspector: Person) -> None:
    photo = field_photo((2400, 1800))
    assert put(client, inspector, photo).status_code == 201
    admin = person("admin")
    for name, edge in (("review", 1600), ("thumb", 320)):
        resp = get(client, f"/api/v1/blobs/{sha(photo)}?rendition={name}", admin)
        assert resp.status_code == 200
        assert resp.mimetype == "image/jpeg"
        with Image.open(io.BytesIO(resp.data)) as out:
            assert out.size == (edge * 3 // 4, edge)  # width and height swapped: upright portrait
            exif = out.getexif()
            assert not exif.get_ifd(ExifTags.IFD.GPSInfo)
            assert ExifTags.Base.Make not in exif
            rgb = out.convert("RGB")
            assert _near(rgb.getpixel((out.width // 2, 5)), RED)  # type: ignore[arg-type]
            assert _near(rgb.getpixel((out.width // 2, out.height - 5)), BLUE)  # type: ignore[arg-type]
        assert sha(resp.data) == resp.headers["ETag"].strip('"')


def test_put_is_idempotent(app: Flask, client: FlaskClient, inspector: Person) -> None:
    photo = field_photo()
    first = put(client, inspector, photo)
    assert first.status_code == 201
    path = BlobStore(app.config["BLOB_DIR"]).path_for(sha(photo))
    mtime = path.stat().st_mtime_ns
    files = stored_files(app)

    other = person("inspector")
    again = put(client, other, photo, query_string={"kind": "other"})
    assert again.status_code == 200
    assert again.json == first.json  # the stored metadata: first uploader, first kind
    assert path.stat().st_mtime_ns == mtime
    assert stored_files(app) == files
    assert _count(Blob) == 1
    assert _blob_events() == 1


def test_a_lost_file_can_be_uploaded_again(app: Flask, client: FlaskClient, inspector: Person) -> None:
    photo = field_photo()
    digest = sha(photo)
    assert put(client, inspector, photo).status_code == 201
    BlobStore(app.config["BLOB_DIR"]).path_for(digest).unlink()
    assert client.head(f"/api/v1/blobs/{digest}", headers=inspector.headers).status_code == 404
    assert put(client, inspector, photo).status_code == 200
    assert client.head(f"/api/v1/blobs/{digest}", headers=inspector.headers).status_code == 200
    assert BlobStore(app.config["BLOB_DIR"]).read(digest) == photo


def test_signature_png(client: FlaskClient, inspector: Person) -> None:
    png = signature_png()
    resp = put(client, inspector, png, query_string={"kind": "signature"})
    assert resp.status_code == 201
    assert (resp.json["kind"], resp.json["content_type"]) == ("signature", "image/png")
    assert (resp.json["taken_at"], resp.json["gps_lat"], resp.json["device"]) == (None, None, None)


def test_heic_is_accepted(client: FlaskClient, inspector: Person) -> None:
    heic = encoded(two_tone((300, 200)), "HEIF")
    resp = put(client, inspector, heic)
    assert resp.status_code == 201
    assert resp.json["content_type"] == "image/heic"
    thumb = get(client, f"/api/v1/blobs/{sha(heic)}?rendition=thumb", inspector)
    assert thumb.mimetype == "image/jpeg"


def _truncated() -> bytes:
    photo = field_photo()
    return photo[: len(photo) * 2 // 3]


@pytest.mark.parametrize(
    ("make_body", "status", "code"),
    [
        (_truncated, 422, "image_truncated"),
        (lambda: os.urandom(4096), 422, "image_unreadable"),
        (lambda: bomb_png(20000, 20000), 422, "image_too_many_pixels"),
        (lambda: encoded(two_tone(), "GIF"), 415, "image_unsupported_format"),
    ],
    ids=["truncated", "random", "bomb", "gif"],
)
def test_bad_images_are_refused_and_nothing_is_kept(  # type: ignore[no-untyped-def]
    app: Flask, client: FlaskClient, inspector: Person, make_body, status: int, code: str
) -> None:
    body = make_body()
    resp = put(client, inspector, body)
    assert resp.status_code == status, resp.json
    assert resp.json["code"] == code
    assert stored_files(app) == []
    assert _count(Blob) == 0
    assert _blob_events() == 0
    assert client.head(f"/api/v1/blobs/{sha(body)}", headers=inspector.headers).status_code == 404


def test_wrong_hash_is_refused_and_nothing_is_kept(
    app: Flask, client: FlaskClient, inspector: Person
) -> None:
    photo = field_photo()
    claimed = sha(b"something else")
    resp = put(client, inspector, photo, sha256=claimed)
    assert resp.status_code == 400
    assert resp.json["code"] == "blob_hash_mismatch"
    assert sha(photo) in resp.json["detail"]
    assert stored_files(app) == []
    assert _count(Blob) == 0


def test_wrong_hash_never_touches_a_held_file(app: Flask, client: FlaskClient, inspector: Person) -> None:
    photo = field_photo()
    assert put(client, inspector, photo).status_code == 201
    files = {p: p.read_bytes() for p in stored_files(app)}
    # The bytes of a held file sent under another hash: refused, and the held file stays.
    resp = put(client, inspector, photo, sha256=sha(b"other"))
    assert resp.json["code"] == "blob_hash_mismatch"
    assert {p: p.read_bytes() for p in stored_files(app)} == files


def test_too_large_is_refused(app: Flask, client: FlaskClient, inspector: Person) -> None:
    photo = field_photo()
    app.config["EVIDENCE_MAX_BYTES"] = len(photo) - 1
    resp = put(client, inspector, photo)  # refused from Content-Length, before reading
    assert resp.status_code == 413
    assert resp.json["code"] == "payload_too_large"

    # Without a Content-Length (chunked transfer), the limit stops the stream as it is read.
    streamed = client.put(
        f"/api/v1/blobs/{sha(photo)}",
        input_stream=io.BytesIO(photo),
        headers=inspector.headers,
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert streamed.status_code == 413
    assert streamed.json["code"] == "payload_too_large"
    assert stored_files(app) == []
    assert _count(Blob) == 0

    app.config["EVIDENCE_MAX_BYTES"] = len(photo)
    assert put(client, inspector, photo).status_code == 201


def test_streamed_upload_without_length_is_stored(client: FlaskClient, inspector: Person) -> None:
    photo = field_photo()
    resp = client.put(
        f"/api/v1/blobs/{sha(photo)}",
        input_stream=io.BytesIO(photo),
        headers=inspector.headers,
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert resp.status_code == 201
    assert resp.json["size"] == len(photo)


def test_authentication_is_required(client: FlaskClient, inspector: Person) -> None:
    photo = field_photo()
    digest = sha(photo)
    url = f"/api/v1/blobs/{digest}"
    assert client.put(url, data=photo).json["code"] == "auth_required"
    assert client.head(url).status_code == 401
    assert put(client, inspector, photo).status_code == 201
    for path in (url, f"{url}/meta", f"{url}?rendition=thumb"):
        resp = client.get(path)
        assert resp.status_code == 401
        assert resp.json["code"] == "auth_required"
    bad = {"Authorization": "Bearer not-a-token"}
    assert client.head(url, headers=bad).status_code == 401


def test_who_may_see_evidence(client: FlaskClient) -> None:
    world = field_world()
    uploader = Person(world.users["a"], factories.auth_header(world.users["a"], device_id="device-a"))
    photo = field_photo()
    url = f"/api/v1/blobs/{sha(photo)}"
    assert put(client, uploader, photo).status_code == 201
    stranger = person("inspector")
    admin = person("admin")
    own = factories.user(roles=["supervisor"], department=world.department)
    supervisor = Person(own, factories.auth_header(own, device_id="device-own"))
    other = factories.user(roles=["supervisor", "leader"], department=factories.department())
    elsewhere = Person(other, factories.auth_header(other, device_id="device-other"))
    # Anyone signed in may ask whether a file is held (a phone checks before deleting its copy) ...
    assert client.head(url, headers=stranger.headers).status_code == 200
    # ... but before a record refers to it only the uploader and admins see the file and its
    # metadata (GPS is personal data) ...
    for path in (url, f"{url}/meta", f"{url}?rendition=review"):
        assert get(client, path, uploader).status_code == 200
        assert get(client, path, admin).status_code == 200
        for who in (stranger, supervisor, elsewhere):
            assert get(client, path, who).json["code"] == "forbidden"
    # ... then also the staff of the inspection's department and its team, never another department.
    db.session.add(
        BlobRef(sha256=sha(photo), inspection_id=world.inspection.id, source="photo", source_id="p-1")
    )
    db.session.commit()
    teammate = Person(world.users["b"], factories.auth_header(world.users["b"], device_id="device-b"))
    for path in (url, f"{url}/meta", f"{url}?rendition=review"):
        assert get(client, path, supervisor).status_code == 200
        assert get(client, path, teammate).status_code == 200
        assert get(client, path, elsewhere).json["code"] == "forbidden"
        assert get(client, path, stranger).json["code"] == "forbidden"
    assert get(client, f"{url}/meta", supervisor).json["gps_lat"] == pytest.approx(39.9075)


def test_unknown_and_malformed_hashes(client: FlaskClient, inspector: Person) -> None:
    missing = sha(b"never uploaded")
    assert get(client, f"/api/v1/blobs/{missing}/meta", inspector).json["code"] == "not_found"
    assert get(client, f"/api/v1/blobs/{missing}", inspector).status_code == 404
    for bad in ("abc", missing.upper(), missing[:-1] + "g"):
        resp = get(client, f"/api/v1/blobs/{bad}/meta", inspector)
        assert resp.json["code"] == "validation_failed"
        assert put(client, inspector, b"x", sha256=bad).json["code"] == "validation_failed"
    resp = get(client, f"/api/v1/blobs/{missing}?rendition=huge", inspector)
    assert resp.status_code == 422
    resp = put(client, inspector, field_photo(), query_string={"kind": "video"})
    assert resp.status_code == 422


def test_conditional_get(client: FlaskClient, inspector: Person) -> None:
    photo = field_photo()
    url = f"/api/v1/blobs/{sha(photo)}"
    assert put(client, inspector, photo).status_code == 201
    etag = get(client, url, inspector).headers["ETag"]
    again = get(client, url, inspector, headers={"If-None-Match": etag})
    assert again.status_code == 304


def test_openapi_documents_the_blob_endpoints(client: FlaskClient) -> None:
    paths = client.get("/api/openapi.json").json["paths"]
    blob = paths["/api/v1/blobs/{sha256}"]
    assert {"head", "put", "get"} <= set(blob)
    assert "image/jpeg" in blob["put"]["requestBody"]["content"]
    assert {"200", "201"} <= set(blob["put"]["responses"])
    assert "/api/v1/blobs/{sha256}/meta" in paths


def test_a_concurrent_twin_upload_is_success(
    app: Flask, client: FlaskClient, inspector: Person, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two phones PUT the same new photo at once: the one whose row lands second gets 200."""
    from server.evidence import services

    photo = field_photo()
    digest = sha(photo)
    other = person("inspector")
    real = services.inspect_image

    def twin_commits_meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        # Another worker finishes the same upload while this one is validating the image.
        with db.engine.begin() as conn:
            conn.execute(
                Blob.__table__.insert().values(
                    sha256=digest,
                    size=len(photo),
                    content_type="image/jpeg",
                    kind="photo",
                    width=480,
                    height=640,
                    orientation=6,
                    uploaded_by_id=other.user.id,
                    uploaded_at=dt.datetime(2026, 5, 1),
                    renditions={},
                )
            )
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "inspect_image", twin_commits_meanwhile)
    resp = put(client, inspector, photo)
    assert resp.status_code == 200, resp.json
    assert resp.json["uploaded_by_id"] == other.user.id
    assert _blob_events() == 0  # the loser's audit event was rolled back with its row
    assert BlobStore(app.config["BLOB_DIR"]).read(digest) == photo
