"""The field-sync HTTP API end to end through the Flask app, on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.audit.models import AuditEvent
from server.evidence.models import BlobRef
from server.extensions import db
from server.fieldsync.models import SyncChange, SyncRecord
from server.inspections.models import Inspection, InspectionVersion
from tests.integration.evidence.imagefiles import field_photo, signature_png
from tests.support import factories
from tests.support.factories import PASSWORD
from tests.support.field import (
    Phone,
    answer,
    complete_inspection,
    current_content_hash,
    field_world,
    outcome,
    photo,
    signature,
)


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def _sync_id(world: Any) -> str:
    inspection = db.session.get(Inspection, world.inspection.id)
    assert inspection is not None and inspection.sync_id is not None
    return inspection.sync_id


# -- devices ---------------------------------------------------------------------------------------


def test_device_login_keeps_the_phones_id_and_names_the_inspector(client: FlaskClient, make: Any) -> None:
    world = field_world()
    phone = Phone(client, world.users["a"].username, device_id="phone-keeps-this-id")
    resp = phone.login()
    assert resp.json["device_id"] == "phone-keeps-this-id"
    assert resp.json["user"]["inspector_id"] == world.inspectors["a"].id
    assert "password" not in resp.json["user"]
    me = client.get("/api/v1/sync/me", headers=phone.headers)
    assert me.status_code == 200
    assert me.json["device_id"] == "phone-keeps-this-id"

    # Another account may not take over that device id: it gets one of its own.
    other = client.post(
        "/api/v1/sync/devices",
        json={
            "username": world.users["b"].username,
            "password": PASSWORD,
            "device_id": "phone-keeps-this-id",
        },
    )
    assert other.status_code == 201
    assert other.json["device_id"] != "phone-keeps-this-id"

    # Without an id the server makes one.
    fresh = client.post(
        "/api/v1/sync/devices", json={"username": world.users["c"].username, "password": PASSWORD}
    )
    assert fresh.status_code == 201 and len(fresh.json["device_id"]) == 36


def test_device_login_refusals(client: FlaskClient, make: Any) -> None:
    world = field_world()
    wrong = client.post("/api/v1/sync/devices", json={"username": world.users["a"].username, "password": "x"})
    assert (wrong.status_code, wrong.json["code"]) == (401, "invalid_credentials")
    staff = make.user(roles=["supervisor"])
    resp = client.post("/api/v1/sync/devices", json={"username": staff.username, "password": PASSWORD})
    assert (resp.status_code, resp.json["code"]) == (403, "forbidden")
    bad_id = client.post(
        "/api/v1/sync/devices",
        json={"username": world.users["a"].username, "password": PASSWORD, "device_id": "no spaces!"},
    )
    assert (bad_id.status_code, bad_id.json["code"]) == (422, "validation_failed")
    assert client.post("/api/v1/sync/pull", json={}).json["code"] == "auth_required"


# -- pull ------------------------------------------------------------------------------------------


def test_first_pull_delivers_the_assignment_with_its_checklist(client: FlaskClient) -> None:
    world = field_world()
    phone = Phone(client, world.users["a"].username)
    phone.login()
    resp = phone.pull()
    sync_id = _sync_id(world)
    assert resp.json["assigned"] == [sync_id]
    record = phone.inspection(sync_id)
    fields = record["fields"]
    assert record["version"] == 1
    assert fields["state"] == "assigned"
    assert fields["target"]["name"] == world.target.name
    assert fields["target"]["code"] == world.target.code
    assert fields["target"]["history"] == [
        {
            "inspected_on": "2023-09-12",
            "department": world.department.name,
            "task_name": "2023年企业公示信息抽查",
            "result": "未发现问题",
        }
    ]
    assert fields["tasks"] == [
        {"id": world.task.id, "name": "企业公示信息抽查", "department": world.department.name}
    ]
    assert (fields["window_start"], fields["window_end"]) == ("2025-06-01", "2025-11-30")
    assert [(m["name"], m["role"]) for m in fields["team"]] == [("张建国", "leader"), ("李晓梅", "member")]
    assert fields["inspector_ids"] == [world.inspectors["a"].id, world.inspectors["b"].id]
    assert fields["leader_id"] == world.inspectors["a"].id
    checkpoints = [c.id for c in world.checkpoints]
    assert fields["checkpoint_ids"] == checkpoints
    [item] = fields["checklist"]
    assert item["name"] == "企业公示信息情况的检查"
    assert [c["text"] for c in item["checkpoints"]] == ["年度报告是否按时公示", "公示的住所与实际是否一致"]
    assert fields["review"] is None and fields["notes"] is None

    # Nothing changed: the next pull writes nothing and returns nothing new.
    before = _count(SyncRecord)
    again = phone.pull()
    assert again.json["changes"] == [] and _count(SyncRecord) == before

    # The team's other phone gets the same record (same sync id, same version).
    phone_b = Phone(client, world.users["b"].username)
    phone_b.login()
    phone_b.pull()
    assert phone_b.inspection(sync_id)["version"] == 1

    # An inspector on no team sees nothing of it.
    outsider = Phone(client, world.users["c"].username)
    outsider.login()
    assert outsider.pull().json == {
        "changes": [],
        "cursor": outsider.cursor,
        "has_more": False,
        "assigned": [],
    }


def test_pull_refusals(client: FlaskClient) -> None:
    world = field_world()
    phone = Phone(client, world.users["a"].username)
    phone.login()
    garbled = client.post("/api/v1/sync/pull", json={"cursor": "not-a-cursor"}, headers=phone.headers)
    assert (garbled.status_code, garbled.json["code"]) == (400, "sync_cursor_invalid")
    extra = client.post("/api/v1/sync/pull", json={"cursor": None, "since": 3}, headers=phone.headers)
    assert (extra.status_code, extra.json["code"]) == (400, "sync_bad_request")
    assert "since" in extra.json["detail"]
    not_json = client.post("/api/v1/sync/pull", data="x", headers=phone.headers)
    assert not_json.json["code"] == "sync_bad_request"


def test_team_change_reaches_the_phone_on_its_next_pull(client: FlaskClient) -> None:
    from server.inspections.models import TeamMember

    world = field_world()
    phone = Phone(client, world.users["a"].username)
    phone.login()
    phone.pull()
    sync_id = _sync_id(world)
    member = db.session.scalar(select(TeamMember).where(TeamMember.inspector_id == world.inspectors["b"].id))
    assert member is not None
    member.inspector_id = world.inspectors["c"].id
    db.session.commit()
    resp = phone.pull()
    [rec] = resp.json["changes"]
    assert rec["record_id"] == sync_id and rec["version"] == 2
    assert rec["fields"]["inspector_ids"] == [world.inspectors["a"].id, world.inspectors["c"].id]
    # b was withdrawn: b's pull no longer lists it as assigned.
    phone_b = Phone(client, world.users["b"].username)
    phone_b.login()
    assert phone_b.pull().json["assigned"] == []


def test_a_peer_stand_in_is_named_on_the_phone(client: FlaskClient) -> None:
    """A member drawn from a peer department (003 第十七条) says whose place it fills."""
    from server.inspections.models import TeamMember

    world = field_world()
    member = db.session.scalar(select(TeamMember).where(TeamMember.inspector_id == world.inspectors["b"].id))
    assert member is not None
    short = factories.department(name="高平市市场监督管理局河西所")
    member.acting_for_department_id = short.id
    db.session.commit()
    phone = Phone(client, world.users["a"].username)
    phone.login()
    phone.pull()
    team = phone.inspection(_sync_id(world))["fields"]["team"]
    assert [(m["name"], m["acting_for"]) for m in team] == [
        ("张建国", None),
        ("李晓梅", "高平市市场监督管理局河西所"),
    ]


# -- push ------------------------------------------------------------------------------------------


def test_push_applies_marks_started_and_replays(client: FlaskClient) -> None:
    world = field_world()
    phone = Phone(client, world.users["a"].username)
    phone.login()
    phone.pull()
    sync_id = _sync_id(world)
    first = answer(sync_id, world.checkpoints[0].id, "yes", note="年报已公示")
    resp = phone.push(first)
    assert resp.status_code == 200
    [result] = resp.json["results"]
    assert (result["status"], result["record_version"]) == ("applied", 1)
    assert db.session.get(Inspection, world.inspection.id).state == "in_progress"  # type: ignore[union-attr]

    # The other phone sees the answer and the new state.
    phone_b = Phone(client, world.users["b"].username)
    phone_b.login()
    phone_b.pull()
    assert phone_b.inspection(sync_id)["fields"]["state"] == "in_progress"
    answers = [r for (t, _), r in phone_b.records.items() if t == "answer"]
    assert [a["fields"]["note"] for a in answers] == ["年报已公示"]

    # A lost response: the same push again returns the same result and writes nothing.
    changes = _count(SyncChange)
    replay = phone.push(first)
    assert replay.json["results"] == resp.json["results"]
    assert _count(SyncChange) == changes


def test_push_refusals(client: FlaskClient) -> None:
    world = field_world()
    phone = Phone(client, world.users["a"].username)
    phone.login()
    phone.pull()
    sync_id = _sync_id(world)
    # The body names another device than the token's.
    spoofed = client.post(
        "/api/v1/sync/push",
        json={
            "device_id": "someone-elses-phone",
            "changes": [answer(sync_id, world.checkpoints[0].id, "yes")],
        },
        headers=phone.headers,
    )
    assert (spoofed.status_code, spoofed.json["code"]) == (403, "forbidden")
    empty = phone.push()
    assert (empty.status_code, empty.json["code"]) == (400, "sync_bad_request")

    # An inspector not on the team is refused per change; nothing is written.
    outsider = Phone(client, world.users["c"].username)
    outsider.login()
    resp = outsider.push(answer(sync_id, world.checkpoints[0].id, "no"))
    [result] = resp.json["results"]
    assert (result["status"], result["error"]["code"]) == ("rejected", "sync_forbidden")
    assert db.session.get(Inspection, world.inspection.id).state == "assigned"  # type: ignore[union-attr]


def test_photo_records_open_the_photo_to_the_team(client: FlaskClient) -> None:
    world = field_world()
    phone_a, phone_b = Phone(client, world.users["a"].username), Phone(client, world.users["b"].username)
    outsider = Phone(client, world.users["c"].username)
    for phone in (phone_a, phone_b, outsider):
        phone.login()
        phone.pull()
    sync_id = _sync_id(world)
    shot = field_photo((640, 480))
    digest = hashlib.sha256(shot).hexdigest()

    head = client.head(f"/api/v1/sync/blobs/{digest}", headers=phone_a.headers)
    assert head.status_code == 404
    wrong = client.put(
        f"/api/v1/sync/blobs/{digest}",
        data=shot + b"x",
        headers={**phone_a.headers, "Content-Type": "image/jpeg"},
    )
    assert (wrong.status_code, wrong.json["code"]) == (400, "sync_blob_hash_mismatch")
    assert phone_a.put_blob(shot).status_code == 201
    assert phone_a.put_blob(shot).status_code == 200  # idempotent
    assert client.head(f"/api/v1/sync/blobs/{digest}", headers=phone_a.headers).status_code == 200

    url = f"/api/v1/sync/blobs/{digest}?rendition=thumb"
    assert client.get(url, headers=phone_b.headers).status_code == 403  # no record names it yet
    phone_a.push(photo(sync_id, shot, phone_a.device_id, world.checkpoints[1].id))
    [ref] = db.session.scalars(select(BlobRef)).all()
    assert (ref.sha256, ref.source, ref.inspection_id) == (digest, "photo", world.inspection.id)
    assert client.get(url, headers=phone_b.headers, buffered=True).status_code == 200
    assert client.get(url, headers=outsider.headers).status_code == 403


# -- finalize --------------------------------------------------------------------------------------


def test_finalize_lists_exactly_what_is_missing(client: FlaskClient) -> None:
    world = field_world()
    phone = Phone(client, world.users["a"].username)
    phone.login()
    phone.pull()
    sync_id = _sync_id(world)
    resp = phone.finalize(sync_id)
    assert (resp.status_code, resp.json["code"]) == (409, "inspection_incomplete")
    items = [m["item"] for m in resp.json["missing"]]
    assert items == ["answer", "answer", "inspector_signatures", "representative_signature_or_refusal"]
    assert resp.json["missing"][2]["not_signed"] == [world.inspectors["a"].id, world.inspectors["b"].id]
    assert _count(InspectionVersion) == 0
    # Not on the team: the inspection does not exist for the caller.
    outsider = Phone(client, world.users["c"].username)
    outsider.login()
    assert outsider.finalize(sync_id).status_code == 404


def test_two_phones_complete_an_inspection_and_it_locks(client: FlaskClient) -> None:
    world = field_world()
    _, phone_b, sync_id = complete_inspection(world, client)
    inspection = db.session.get(Inspection, world.inspection.id)
    assert inspection is not None
    assert inspection.state == "submitted" and inspection.submitted_at is not None
    assert inspection.checked_on is not None
    [version] = inspection.versions
    assert version.number == 1 and version.status == "submitted"
    record = version.record
    assert record["content_hash"] == version.content_hash
    assert [a["value"] for a in record["answers"]] == ["yes", "yes"]
    assert len(record["photos"]) == 1 and record["photos"][0]["height"] == 800  # EXIF-rotated
    assert [s["status"] for s in record["signatures"]] == ["valid", "valid", "valid"]
    assert record["inspection"]["target"]["name"] == world.target.name
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "inspection.submitted")) == 1

    # Phones learn the state; further changes are refused, kept as rejections by the phone.
    phone_b.pull()
    assert phone_b.inspection(sync_id)["fields"]["state"] == "submitted"
    late = phone_b.push(answer(sync_id, world.checkpoints[0].id, "no"))
    [result] = late.json["results"]
    assert (result["status"], result["error"]["code"]) == ("rejected", "sync_inspection_locked")

    # Finalize again (a retry after a lost response) answers the same hash and adds no version.
    again = phone_b.finalize(sync_id)
    assert again.status_code == 200 and again.json["content_hash"] == version.content_hash
    assert _count(InspectionVersion) == 1


def test_a_later_edit_makes_signatures_stale(client: FlaskClient) -> None:
    world = field_world()
    phone_a, phone_b = Phone(client, world.users["a"].username), Phone(client, world.users["b"].username)
    for phone in (phone_a, phone_b):
        phone.login()
        phone.pull()
    sync_id = _sync_id(world)
    phone_a.push(
        answer(sync_id, world.checkpoints[0].id, "yes"), answer(sync_id, world.checkpoints[1].id, "no")
    )
    content = current_content_hash(phone_a, sync_id)
    png = signature_png()
    phone_a.push(signature(sync_id, content, png, phone_a.device_id, inspector_id=phone_a.inspector_id))
    phone_a.put_blob(png, kind="signature")
    phone_b.push(answer(sync_id, world.checkpoints[1].id, "no", note="住所已变更"))
    resp = phone_a.finalize(sync_id)
    gap = next(m for m in resp.json["missing"] if m["item"] == "inspector_signatures")
    assert gap["content_hash"] != content and gap["signed_by"] == []


def test_special_outcome_needs_no_answers_and_no_representative(client: FlaskClient) -> None:
    world = field_world()
    phone_a, phone_b = Phone(client, world.users["a"].username), Phone(client, world.users["b"].username)
    for phone in (phone_a, phone_b):
        phone.login()
        phone.pull()
    sync_id = _sync_id(world)
    shot = field_photo((640, 480))
    phone_a.push(outcome(sync_id, "no_contact", "登记住所已拆除"), photo(sync_id, shot, phone_a.device_id))
    phone_a.put_blob(shot)
    content = current_content_hash(phone_a, sync_id)
    for phone, n in ((phone_a, 0), (phone_b, 1)):
        png = signature_png((300 + n, 120))
        phone.push(signature(sync_id, content, png, phone.device_id, inspector_id=phone.inspector_id))
        phone.put_blob(png, kind="signature")
    done = phone_a.finalize(sync_id)
    assert done.status_code == 200, done.json
    version = db.session.scalar(select(InspectionVersion))
    assert version is not None and version.record["outcome"]["code"] == "no_contact"


def test_sync_endpoints_are_in_the_openapi_spec(client: FlaskClient) -> None:
    spec = client.get("/api/openapi.json").json
    paths = spec["paths"]
    for path in (
        "/api/v1/sync/devices",
        "/api/v1/sync/me",
        "/api/v1/sync/pull",
        "/api/v1/sync/push",
        "/api/v1/sync/blobs/{sha256}",
        "/api/v1/sync/inspections/{inspection_id}/finalize",
    ):
        assert path in paths, path
    assert {"head", "put", "get"} <= set(paths["/api/v1/sync/blobs/{sha256}"])


def test_a_phone_cannot_sign_for_the_other_inspector(client: FlaskClient) -> None:
    world = field_world()
    phone_a = Phone(client, world.users["a"].username)
    phone_a.login()
    phone_a.pull()
    sync_id = _sync_id(world)
    phone_a.push(
        answer(sync_id, world.checkpoints[0].id, "yes"), answer(sync_id, world.checkpoints[1].id, "yes")
    )
    content = current_content_hash(phone_a, sync_id)
    forged = signature(
        sync_id, content, signature_png(), phone_a.device_id, inspector_id=world.inspectors["b"].id
    )
    [result] = phone_a.push(forged).json["results"]
    assert (result["status"], result["error"]["code"]) == ("rejected", "sync_forbidden")
    own = signature(
        sync_id, content, signature_png(), phone_a.device_id, inspector_id=world.inspectors["a"].id
    )
    assert phone_a.push(own).json["results"][0]["status"] == "applied"
    gap = next(m for m in phone_a.finalize(sync_id).json["missing"] if m["item"] == "inspector_signatures")
    assert gap["signed_by"] == [world.inspectors["a"].id]  # the forged one never counted
