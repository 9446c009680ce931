"""Importing a phone's export through the API: dry run, apply, idempotency, refusals, the rules of sync.

Every test runs on SQLite and PostgreSQL. Exports are shaped as ``pwa/app/export.js`` makes them
(``helpers.build_export``); one test has the field app's own code make the file.
"""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from server.audit.models import AuditEvent
from server.evidence.models import Blob, BlobRef
from server.extensions import db
from server.fieldsync.models import SyncChange, SyncCounter, SyncRecord
from server.inspections.models import Inspection, TeamMember
from server.recovery.models import RecoveryImport
from server.review.services import return_inspection
from sync.records import answer_id
from tests.integration.evidence.imagefiles import field_photo, signature_png
from tests.integration.recovery.helpers import (
    apply,
    build_export,
    changes_of,
    files_of,
    js_export,
    upload,
)
from tests.support import factories, ops
from tests.support.field import (
    FieldWorld,
    Phone,
    answer,
    change,
    complete_inspection,
    current_content_hash,
    field_world,
    photo,
    signature,
)


@dataclass
class Setup:
    world: FieldWorld
    phone: Phone  # inspector a's phone (team leader), logged in and pulled
    sync_id: str

    @property
    def user_id(self) -> int:
        return int(self.world.users["a"].id)

    @property
    def cps(self) -> tuple[int, int]:
        one, two = (c.id for c in self.world.checkpoints)
        return one, two


@pytest.fixture
def setup(client: FlaskClient) -> Setup:
    world = field_world()
    phone = Phone(client, world.users["a"].username)
    phone.login()
    phone.pull()
    sync_id = db.session.get(Inspection, world.inspection.id).sync_id  # type: ignore[union-attr]
    assert sync_id is not None
    return Setup(world, phone, sync_id)


def finding(s: Setup, text: str = "实际经营地址为建设路8号") -> dict[str, Any]:
    return change(
        "finding",
        str(uuid.uuid4()),
        {
            "inspection_id": s.sync_id,
            "checkpoint_id": s.cps[1],
            "description": text,
            "recorded_by": s.phone.inspector_id,
            "recorded_at": "2025-06-03T09:10:00+08:00",
        },
    )


def counts() -> tuple[int, int, int, int]:
    """Sync results, records, evidence files and the sync counter: what an import may change."""
    return (
        db.session.scalar(select(func.count()).select_from(SyncChange)) or 0,
        db.session.scalar(select(func.sum(SyncRecord.version))) or 0,
        db.session.scalar(select(func.count()).select_from(Blob)) or 0,
        db.session.scalar(select(SyncCounter.next_seq)) or 0,
    )


def state(s: Setup) -> str:
    return str(db.session.get(Inspection, s.world.inspection.id).state)  # type: ignore[union-attr]


def test_dry_run_lists_per_inspection_then_apply_writes_as_a_push_would(
    client: FlaskClient, setup: Setup
) -> None:
    s = setup
    shot = field_photo((800, 600))
    queued = [
        answer(s.sync_id, s.cps[0], "yes"),
        answer(s.sync_id, s.cps[1], "no", note="经营场所与登记住所不一致"),
        finding(s),
        photo(s.sync_id, shot, s.phone.device_id, checkpoint_id=s.cps[1]),
    ]
    export = build_export(s.phone, s.user_id, queued, [(shot, "photo", s.sync_id)])
    before = counts()

    resp = upload(client, s.phone.headers, export)
    assert resp.status_code == 201, resp.json
    body = resp.json
    assert body["status"] == "checked" and body["results"] is None
    plan = body["plan"]
    assert plan["owner"]["username"] == s.phone.username and plan["device_id"] == s.phone.device_id
    [group] = plan["inspections"]
    assert group["target_name"] == s.world.target.name and group["state"] == "assigned"
    rows = changes_of(plan)
    assert [(r["record_type"], r["status"], r["replay"]) for r in rows] == [
        ("answer", "applied", False),
        ("answer", "applied", False),
        ("finding", "applied", False),
        ("photo", "applied", False),
    ]
    assert rows[1]["fields"]["note"] == "经营场所与登记住所不一致"  # what it sets
    [file] = files_of(plan)
    assert (file["kind"], file["size"], file["on_server"], file["status"]) == (
        "photo",
        len(shot),
        False,
        "new",
    )
    assert plan["counts"]["applied"] == 4 and plan["counts"]["files_new"] == 1
    # A dry run writes nothing but the import and its audit event.
    assert counts() == before and state(s) == "assigned"
    assert db.session.scalar(select(func.count()).select_from(BlobRef)) == 0

    done = apply(client, s.phone.headers, body["id"])
    assert done.status_code == 200, done.json
    results = done.json["results"]
    assert done.json["status"] == "applied" and done.json["applied_by_id"] == s.user_id
    assert [r["status"] for r in changes_of(results)] == ["applied"] * 4
    assert [f["status"] for f in files_of(results)] == ["stored"]
    # As a push from that phone: results stored under its device, the file held and referenced.
    stored = db.session.scalars(select(SyncChange)).all()
    assert {c.change_id for c in stored} >= {c["change_id"] for c in queued}
    assert {c.device_id for c in stored if c.change_id in {q["change_id"] for q in queued}} == {
        s.phone.device_id
    }
    blob = db.session.get(Blob, queued[3]["fields"]["sha256"])
    assert blob is not None and blob.size == len(shot)
    ref = db.session.scalar(select(BlobRef).where(BlobRef.sha256 == blob.sha256))
    assert ref is not None and ref.source == "photo" and ref.inspection_id == s.world.inspection.id
    assert state(s) == "in_progress"
    events = {
        e.action: e
        for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.object_type == "recovery_import")
        ).all()
    }
    assert set(events) == {"recovery.checked", "recovery.applied"}
    assert events["recovery.applied"].details["counts"]["applied"] == 4
    assert events["recovery.applied"].details["owner"] == s.phone.username

    # The other inspector's phone pulls what was imported.
    other = Phone(client, s.world.users["b"].username)
    other.login()
    other.pull()
    held = other.records[("answer", answer_id(s.sync_id, s.cps[1]))]
    assert held["fields"]["value"] == "no"

    # Once applied, an import is not applied again.
    again = apply(client, s.phone.headers, body["id"])
    assert again.status_code == 409 and again.json["code"] == "recovery_already_applied"

    # The same file uploaded again: every change a duplicate of a stored result, nothing changes.
    after = counts()
    second = upload(client, s.phone.headers, export)
    assert second.status_code == 201
    assert [(r["status"], r["replay"]) for r in changes_of(second.json["plan"])] == [("applied", True)] * 4
    assert [f["status"] for f in files_of(second.json["plan"])] == ["on_server"]
    replayed = apply(client, s.phone.headers, second.json["id"])
    assert replayed.status_code == 200
    assert replayed.json["results"]["counts"]["replays"] == 4
    assert counts() == after


def test_importing_after_the_phone_synced_after_all_changes_nothing(
    client: FlaskClient, setup: Setup
) -> None:
    s = setup
    shot = field_photo((640, 480))
    queued = [answer(s.sync_id, s.cps[0], "yes"), photo(s.sync_id, shot, s.phone.device_id)]
    export = build_export(s.phone, s.user_id, queued, [(shot, "photo", s.sync_id)])
    pushed = s.phone.push(*queued)
    assert [r["status"] for r in pushed.json["results"]] == ["applied", "applied"]
    assert s.phone.put_blob(shot).status_code == 201
    before = counts()

    resp = upload(client, s.phone.headers, export)
    plan = resp.json["plan"]
    assert all(r["replay"] for r in changes_of(plan))
    assert [f["status"] for f in files_of(plan)] == ["on_server"]
    done = apply(client, s.phone.headers, resp.json["id"])
    assert done.status_code == 200
    assert counts() == before


def test_a_tampered_file_byte_refuses_the_whole_import(client: FlaskClient, setup: Setup) -> None:
    s = setup
    shot = field_photo((640, 480))
    queued = [answer(s.sync_id, s.cps[0], "yes"), photo(s.sync_id, shot, s.phone.device_id)]
    export = build_export(s.phone, s.user_id, queued, [(shot, "photo", s.sync_id)])
    altered = bytearray(shot)
    altered[len(altered) // 2] ^= 0x01
    export["blobs"][0]["base64"] = base64.b64encode(bytes(altered)).decode()
    before = counts()

    resp = upload(client, s.phone.headers, export)
    assert resp.status_code == 201
    assert resp.json["status"] == "blocked"
    [blocking] = resp.json["plan"]["blocking"]
    assert blocking["code"] == "blob_hash_mismatch" and blocking["sha256"] == export["blobs"][0]["sha256"]
    refused = apply(client, s.phone.headers, resp.json["id"])
    assert refused.status_code == 422 and refused.json["code"] == "recovery_file_tampered"
    assert counts() == before and state(s) == "assigned"

    # Bytes that are not base64 at all: damaged, refused the same way.
    export["blobs"][0]["base64"] = "not base64!"
    broken = upload(client, s.phone.headers, export)
    assert broken.json["status"] == "blocked"
    assert broken.json["plan"]["blocking"][0]["code"] == "recovery_blob_malformed"


def test_a_file_that_is_no_image_or_has_no_bytes_is_refused_alone(client: FlaskClient, setup: Setup) -> None:
    s = setup
    junk = b"definitely not an image"
    gone = field_photo((320, 240))
    queued = [answer(s.sync_id, s.cps[0], "yes"), photo(s.sync_id, junk, s.phone.device_id)]
    export = build_export(
        s.phone, s.user_id, queued, [(junk, "photo", s.sync_id), (gone, "photo", s.sync_id)]
    )
    export["blobs"][1]["base64"] = None  # the phone no longer held these bytes

    resp = upload(client, s.phone.headers, export)
    assert resp.json["status"] == "checked"
    verdicts = [(f["status"], f["error"]["code"]) for f in files_of(resp.json["plan"])]
    assert verdicts == [("refused", "image_unreadable"), ("refused", "recovery_blob_missing")]
    done = apply(client, s.phone.headers, resp.json["id"])
    assert [r["status"] for r in changes_of(done.json["results"])] == ["applied", "applied"]
    assert db.session.scalar(select(func.count()).select_from(Blob)) == 0


def test_someone_elses_export_is_refused_and_a_forged_one_never_writes(
    client: FlaskClient, setup: Setup, make: Any
) -> None:
    s = setup
    export = build_export(s.phone, s.user_id, [answer(s.sync_id, s.cps[0], "yes")])
    c = Phone(client, s.world.users["c"].username)  # an inspector on no team of this inspection
    c.login()
    before = counts()

    refused = upload(client, c.headers, export)
    assert refused.status_code == 403 and refused.json["code"] == "recovery_not_yours"

    # c names themselves but keeps a's device: the device is not theirs.
    forged = {
        **export,
        "user": {"id": s.world.users["c"].id, "username": c.username, "inspector_id": c.inspector_id},
    }
    resp = upload(client, c.headers, forged)
    assert resp.status_code == 422 and resp.json["code"] == "recovery_device_unknown"

    # c's own device on top, a's device on the entries: those entries are not c's to send.
    forged["device_id"] = c.device_id
    resp = upload(client, c.headers, forged)
    assert resp.status_code == 201
    [row] = changes_of(resp.json["plan"])
    assert (row["status"], row["error"]["code"]) == ("held", "recovery_device_unknown")

    # Everything rewritten to c's device: applied with c's access, which does not reach the inspection.
    forged["outbox"] = [{**e, "device_id": c.device_id} for e in forged["outbox"]]
    resp = upload(client, c.headers, forged)
    [row] = changes_of(resp.json["plan"])
    assert (row["status"], row["error"]["code"]) == ("held", "sync_forbidden")
    assert apply(client, c.headers, resp.json["id"]).status_code == 200
    assert counts() == before

    # An unknown account or a username that does not match it.
    wrong = {**export, "user": {**export["user"], "username": "someone-else"}}
    admin = make.user(roles=["admin"])
    resp = upload(client, make.auth_header(admin), wrong)
    assert resp.status_code == 422 and resp.json["code"] == "recovery_user_unknown"

    # Another inspector cannot even see a's imports (404), an admin imports them as a's phone.
    mine = upload(client, s.phone.headers, export).json
    assert client.get(f"/api/v1/recovery/imports/{mine['id']}", headers=c.headers).status_code == 404
    assert apply(client, c.headers, mine["id"]).status_code == 404
    listed = client.get("/api/v1/recovery/imports", headers=c.headers).json
    assert mine["id"] not in [i["id"] for i in listed] and len(listed) == 2  # c's own two
    by_admin = upload(client, make.auth_header(admin, "admin-desk-01"), export)
    assert by_admin.status_code == 201
    done = apply(client, make.auth_header(admin, "admin-desk-02"), by_admin.json["id"])
    assert [r["status"] for r in changes_of(done.json["results"])] == ["applied"]
    assert (
        db.session.get(SyncChange, export["outbox"][0]["change"]["change_id"]).device_id == s.phone.device_id
    )  # type: ignore[union-attr]


def test_a_locked_inspection_is_held_back_the_rest_applied_and_importable_once_returned(
    client: FlaskClient, setup: Setup
) -> None:
    s = setup
    phone_a, _phone_b, locked = complete_inspection(s.world, client)  # submitted: locked for phones
    second = ops.add_inspection(s.world)
    for key, role in (("a", "leader"), ("b", "member")):
        db.session.add(
            TeamMember(
                inspection_id=second.id,
                inspector_id=s.world.inspectors[key].id,
                role=role,
                department_id=s.world.department.id,
                draw_id=s.world.draw.id,
            )
        )
    db.session.commit()
    phone_a.pull()
    open_id = db.session.get(Inspection, second.id).sync_id  # type: ignore[union-attr]
    assert open_id is not None
    version = phone_a.inspection(locked)["version"]
    queued = [
        change("inspection", locked, {"notes": "补充：负责人不在场"}, base_version=version),
        answer(open_id, s.cps[0], "yes"),
    ]
    export = build_export(phone_a, s.user_id, queued)

    plan = upload(client, phone_a.headers, export).json
    by_target = {g["sync_id"]: g for g in plan["plan"]["inspections"]}
    assert by_target[locked]["state"] == "submitted"
    [held] = by_target[locked]["changes"]
    assert (held["status"], held["error"]["code"]) == ("held", "sync_inspection_locked")
    assert [c["status"] for c in by_target[open_id]["changes"]] == ["applied"]

    done = apply(client, phone_a.headers, plan["id"]).json["results"]
    assert [r["status"] for r in changes_of(done)] == ["held", "applied"]
    # Held back, not stored as rejected: the change id is still free.
    assert db.session.get(SyncChange, queued[0]["change_id"]) is None
    record = db.session.get(SyncRecord, ("inspection", locked))
    assert record is not None and notes_of(record) == [None]

    # A reviewer returns it; the same file imported again now brings the note in.
    reviewer = ops.staff(s.world)
    inspection = db.session.scalar(select(Inspection).where(Inspection.sync_id == locked))
    assert inspection is not None
    return_inspection(inspection, 1, reviewer, comment="请补充现场情况")
    db.session.commit()
    again = upload(client, phone_a.headers, export).json
    rows = changes_of(again["plan"])
    assert rows[0]["status"] in ("applied", "merged") and rows[1]["replay"]
    done = apply(client, phone_a.headers, again["id"]).json["results"]
    assert changes_of(done)[0]["status"] in ("applied", "merged")
    record = db.session.get(SyncRecord, ("inspection", locked))
    assert record is not None and notes_of(record) == ["补充：负责人不在场"]


def notes_of(record: SyncRecord) -> list[Any]:
    return [claim["value"] for claim in record.claims.get("notes", [])]


def test_unknown_inspection_and_a_member_taken_off_the_team_are_held(
    client: FlaskClient, setup: Setup
) -> None:
    s = setup
    ghost = str(uuid.uuid4())
    queued = [answer(s.sync_id, s.cps[0], "yes"), answer(ghost, s.cps[0], "yes")]
    member = db.session.scalar(
        select(TeamMember).where(
            TeamMember.inspection_id == s.world.inspection.id,
            TeamMember.inspector_id == s.world.inspectors["a"].id,
        )
    )
    assert member is not None
    member.removed_at = dt.datetime(2025, 6, 2, 8, 0)
    db.session.commit()
    resp = upload(client, s.phone.headers, build_export(s.phone, s.user_id, queued))
    rows = changes_of(resp.json["plan"])
    assert [(r["status"], r["error"]["code"]) for r in rows] == [
        ("held", "sync_forbidden"),
        ("held", "sync_unknown_inspection"),
    ]
    groups = {g["sync_id"]: g for g in resp.json["plan"]["inspections"]}
    assert groups[ghost]["target_name"] is None and groups[s.sync_id]["target_name"] == s.world.target.name


def test_finalize_succeeds_after_an_import_that_completed_the_inspection(
    client: FlaskClient, setup: Setup
) -> None:
    """Phone a answered online, then went offline: photo bytes, its own and the representative's
    signatures never left it. Phone b signed online. After the import the inspection is complete."""
    s = setup
    a = s.phone
    b = Phone(client, s.world.users["b"].username)
    b.login()
    b.pull()
    shot = field_photo((800, 600))
    pushed = a.push(
        answer(s.sync_id, s.cps[0], "yes"),
        answer(s.sync_id, s.cps[1], "yes"),
        photo(s.sync_id, shot, a.device_id),
    )
    assert all(r["status"] == "applied" for r in pushed.json["results"])
    content = current_content_hash(a, s.sync_id)
    png_a, png_b, png_rep = (signature_png((400 + i, 160)) for i in range(3))
    assert (
        b.push(signature(s.sync_id, content, png_b, b.device_id, inspector_id=b.inspector_id)).status_code
        == 200
    )
    assert b.put_blob(png_b, kind="signature").status_code == 201

    offline = [
        signature(s.sync_id, content, png_a, a.device_id, inspector_id=a.inspector_id),
        signature(s.sync_id, content, png_rep, a.device_id, name="赵某（法定代表人）"),
    ]
    export = build_export(
        a,
        s.user_id,
        offline,
        [(shot, "photo", s.sync_id), (png_a, "signature", s.sync_id), (png_rep, "signature", s.sync_id)],
    )
    missing = b.finalize(s.sync_id)
    assert missing.status_code == 409 and missing.json["code"] == "inspection_incomplete"

    resp = upload(client, a.headers, export)
    done = apply(client, a.headers, resp.json["id"]).json["results"]
    assert [r["status"] for r in changes_of(done)] == ["applied", "applied"]
    assert sorted(f["status"] for f in files_of(done)) == ["stored"] * 3

    final = b.finalize(s.sync_id)
    assert final.status_code == 200, final.json
    assert final.json["content_hash"] == content
    assert state(s) == "submitted"


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "not a JSON file"),
        (b'{"format": "something-else"}', "not a Spotcheck export"),
        (b'{"format": "spotcheck-unsynced-v1", "device_id": null, "user": null}', "made while logged out"),
    ],
)
def test_a_file_that_is_no_export_is_refused_and_nothing_is_kept(
    client: FlaskClient, setup: Setup, body: bytes, detail: str
) -> None:
    resp = upload(client, setup.phone.headers, body)
    assert resp.status_code == 422 and resp.json["code"] == "recovery_file_invalid"
    assert detail in resp.json["detail"]
    assert db.session.scalar(select(func.count()).select_from(RecoveryImport)) == 0


def test_a_change_that_is_not_a_protocol_change_makes_the_file_invalid(
    client: FlaskClient, setup: Setup
) -> None:
    s = setup
    export = build_export(s.phone, s.user_id, [answer(s.sync_id, s.cps[0], "yes")])
    export["outbox"][0]["change"]["surprise"] = 1
    resp = upload(client, s.phone.headers, export)
    assert resp.status_code == 422 and resp.json["code"] == "recovery_file_invalid"
    assert "surprise" in resp.json["detail"]


def test_the_upload_limit_is_its_own_setting(app: Flask, client: FlaskClient, setup: Setup) -> None:
    s = setup
    export = build_export(s.phone, s.user_id, [answer(s.sync_id, s.cps[0], "yes")])
    app.config["RECOVERY_MAX_BYTES"] = 2000
    resp = upload(client, s.phone.headers, {**export, "padding": "x" * 4000})
    assert resp.status_code == 413 and resp.json["code"] == "payload_too_large"
    # Above the app-wide request limit is fine when the recovery limit allows it.
    app.config["RECOVERY_MAX_BYTES"] = 200 * 1024 * 1024
    app.config["MAX_CONTENT_LENGTH"] = 1000
    assert upload(client, s.phone.headers, export).status_code == 201
    assert db.session.scalar(select(func.count()).select_from(RecoveryImport)) == 1


def test_an_export_made_by_the_field_apps_own_code_imports(client: FlaskClient, setup: Setup) -> None:
    s = setup
    shot = field_photo((640, 480))
    exported = js_export(
        {
            "session": {
                "device_id": s.phone.device_id,
                "user": {"id": s.user_id, "username": s.phone.username, "inspector_id": s.phone.inspector_id},
            },
            "pulled": [r for (t, _), r in s.phone.records.items() if t == "inspection"],
            "ops": [
                {"op": "answer", "inspection_id": s.sync_id, "checkpoint_id": s.cps[0], "value": "yes"},
                {
                    "op": "answer",
                    "inspection_id": s.sync_id,
                    "checkpoint_id": s.cps[1],
                    "value": "no",
                    "note": "经营场所与登记住所不一致",
                },
                {"op": "notes", "inspection_id": s.sync_id, "notes": "负责人在场"},
                {
                    "op": "append",
                    "record_type": "photo",
                    "inspection_id": s.sync_id,
                    "fields": {"taken_at": "2025-06-03T09:21:05+08:00", "device_id": s.phone.device_id},
                    "base64": base64.b64encode(shot).decode(),
                    "sha_field": "sha256",
                    "kind": "photo",
                    "content_type": "image/jpeg",
                },
            ],
        }
    )
    assert exported["format"] == "spotcheck-unsynced-v1" and len(exported["outbox"]) == 4
    resp = upload(client, s.phone.headers, exported)
    assert resp.status_code == 201, resp.json
    assert [r["record_type"] for r in changes_of(resp.json["plan"])] == [
        "answer",
        "answer",
        "inspection",
        "photo",
    ]
    done = apply(client, s.phone.headers, resp.json["id"]).json["results"]
    assert [r["status"] for r in changes_of(done)] == ["applied"] * 4
    assert [f["status"] for f in files_of(done)] == ["stored"]
    s.phone.pull()
    assert s.phone.inspection(s.sync_id)["fields"]["notes"] == "负责人在场"
    assert db.session.get(Blob, exported["blobs"][0]["sha256"]) is not None


def test_the_api_is_in_the_openapi_document(client: FlaskClient) -> None:
    paths = client.get("/api/openapi.json").json["paths"]
    assert {"post"} <= set(paths["/api/v1/recovery/imports"])
    assert "get" in paths["/api/v1/recovery/imports/{import_id}"]
    assert "post" in paths["/api/v1/recovery/imports/{import_id}/apply"]
    problems = client.get("/api/problems").get_data(as_text=True)
    for code in ("recovery_file_invalid", "recovery_not_yours", "recovery_file_tampered"):
        assert code in problems


def test_an_admin_token_without_inspector_role_can_list_every_import(
    client: FlaskClient, setup: Setup
) -> None:
    s = setup
    upload(client, s.phone.headers, build_export(s.phone, s.user_id, [answer(s.sync_id, s.cps[0], "yes")]))
    admin = factories.user(roles=["admin"])
    listed = client.get("/api/v1/recovery/imports", headers=factories.auth_header(admin)).json
    assert len(listed) == 1 and "plan" not in listed[0]
    assert listed[0]["owner_id"] == s.user_id
