"""The archive: which inspections are archived when, read-only afterwards, the manifest check."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text

from server import TestConfig, create_app
from server.archive import services
from server.archive.models import ArchiveRecord
from server.audit.models import AuditEvent
from server.config import Config, check_config
from server.deadlines.services import recompute_result_deadlines
from server.errors import ApiError
from server.extensions import db
from server.inspections.models import Inspection
from server.inspections.services import ensure_not_archived
from tests.support.factories import login_page
from tests.support.field import answer, complete_inspection, field_world
from tests.support.ops import add_inspection, approve, follow_up, publish, staff, submit, utc

D = dt.date
PUBLISHED = utc("2025-11-03 10:00")
AFTER_30_DAYS = utc("2025-12-03 10:00")


def _published(world: Any, inspection: Inspection, categories: tuple[str, ...] = ("no_problem",)) -> None:
    submit(inspection, D(2025, 10, 9), D(2025, 11, 6))
    approve(inspection, utc("2025-10-20 10:00"), categories)
    publish(inspection, PUBLISHED)


def test_the_job_archives_what_is_finished_and_nothing_else(app: Flask) -> None:
    world = field_world()
    done = world.inspection
    _published(world, done)
    fixed = add_inspection(world)
    _published(world, fixed, ("not_disclosed",))
    follow_up(fixed, closed=True)
    still_open = add_inspection(world)
    _published(world, still_open, ("not_disclosed",))
    follow_up(still_open, closed=False)
    never_followed = add_inspection(world)
    _published(world, never_followed, ("corrected",))  # needs a follow-up; none was opened
    withheld = add_inspection(world)
    submit(withheld, D(2025, 10, 9), D(2025, 11, 6))
    approve(withheld, utc("2025-10-20 10:00"), withheld=True)
    approved_only = add_inspection(world)  # approved, waiting for publication
    submit(approved_only, D(2025, 10, 9), D(2025, 11, 6))
    approve(approved_only, utc("2025-10-20 10:00"))

    too_soon = services.archive_due_inspections(AFTER_30_DAYS - dt.timedelta(minutes=1))
    assert too_soon == {"archived": 1, "waiting": 0}  # only the withheld one (decided 20 October)
    db.session.commit()
    result = services.archive_due_inspections(AFTER_30_DAYS)
    db.session.commit()
    assert result == {"archived": 2, "waiting": 1}
    states = {i.id: i.state for i in (done, fixed, still_open, never_followed, withheld, approved_only)}
    assert states == {
        done.id: "archived",
        fixed.id: "archived",
        still_open.id: "published",
        never_followed.id: "published",
        withheld.id: "archived",
        approved_only.id: "approved",
    }
    assert done.archived_at == AFTER_30_DAYS and done.retain_until == D(2027, 12, 3)
    assert services.archive_due_inspections(AFTER_30_DAYS + dt.timedelta(days=1)) == {
        "archived": 0,
        "waiting": 1,
    }
    record = db.session.scalar(select(ArchiveRecord).where(ArchiveRecord.inspection_id == fixed.id))
    assert record is not None and record.retain_until == D(2027, 12, 3)
    assert record.manifest["result"]["categories"] == ["not_disclosed"]
    assert record.manifest["follow_ups"][0]["status"] == "closed"
    assert record.manifest_hash == services.manifest_hash(record.manifest)
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "inspection.archived", AuditEvent.object_id == str(fixed.id)
        )
    )
    assert event is not None and event.details["manifest_hash"] == record.manifest_hash
    assert event.details["state"] == ["published", "archived"]
    blockers = services.archive_blockers(never_followed, AFTER_30_DAYS)
    assert blockers == ["a result category needs a follow-up and none was opened"]


def test_retention_is_configurable_but_never_below_two_years(app: Flask) -> None:
    world = field_world()
    _published(world, world.inspection)
    app.config["ARCHIVE_RETENTION_YEARS"] = 10
    services.archive_due_inspections(AFTER_30_DAYS)
    assert world.inspection.retain_until == D(2035, 12, 3)
    assert services.add_years(D(2028, 2, 29), 2) == D(2030, 3, 1)
    settings = {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
    with pytest.raises(ValueError, match="ARCHIVE_RETENTION_YEARS must be at least 2"):
        check_config({**settings, "ARCHIVE_RETENTION_YEARS": 1, "TESTING": False})
    check_config({**settings, "ARCHIVE_RETENTION_YEARS": 1, "TESTING": True})  # a test config may
    with pytest.raises(ValueError, match="RESULT_DEADLINE_ANCHOR"):
        create_app(TestConfig, {"RESULT_DEADLINE_ANCHOR": "whenever"})


def test_archived_inspections_are_read_only(app: Flask) -> None:
    world = field_world()
    inspection = world.inspection
    _published(world, inspection)
    services.archive_due_inspections(AFTER_30_DAYS)
    db.session.commit()
    with pytest.raises(ApiError) as caught:
        ensure_not_archived(inspection)
    assert caught.value.code == "inspection_archived" and caught.value.status == 409
    with pytest.raises(ApiError) as again:
        services.archive_inspection(inspection, AFTER_30_DAYS)
    assert again.value.code == "inspection_archived"
    # Deadline recomputation leaves archived inspections alone.
    inspection.approved_at = None  # even if it looked pending
    assert recompute_result_deadlines()["changed"] == 0
    db.session.rollback()


def test_phones_cannot_write_to_an_archived_inspection(app: Flask, client: FlaskClient) -> None:
    world = field_world()
    phone_a, _phone_b, sync_id = complete_inspection(world, client)
    inspection = db.session.get(Inspection, world.inspection.id)
    assert inspection is not None
    approve(inspection, utc("2025-10-20 10:00"))
    publish(inspection, PUBLISHED)
    services.archive_due_inspections(AFTER_30_DAYS)
    db.session.commit()
    resp = phone_a.push(answer(sync_id, world.checkpoints[0].id, "no"))
    assert resp.status_code == 200
    assert resp.json["results"][0]["status"] == "rejected"
    assert resp.json["results"][0]["error"]["code"] == "sync_inspection_locked"
    # Finalizing again is an idempotent replay: the same hash, no new version, still archived.
    versions = len(inspection.versions)
    replay = phone_a.finalize(sync_id)
    assert replay.status_code == 200 and replay.json["content_hash"] == inspection.latest_version.content_hash
    db.session.expire_all()
    assert inspection.state == "archived" and len(inspection.versions) == versions


def test_verify_finds_changes_to_archived_material(app: Flask) -> None:
    world = field_world()
    inspection = world.inspection
    _published(world, inspection, ("not_disclosed",))
    follow_up(inspection, closed=True)
    services.archive_due_inspections(AFTER_30_DAYS)
    db.session.commit()
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["archive", "verify"])
    assert ok.exit_code == 0 and "OK: 1 archived inspections intact" in ok.output
    # Tampering goes around the application (the services and the review's model guards refuse it).
    version = inspection.latest_version
    assert version is not None
    record = json.dumps({**version.record, "answers": [{"checkpoint_id": 1, "value": "no"}]})
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE inspection_result SET summary = '改过的结果'"))
        conn.execute(
            text("UPDATE inspection_version SET record = :r WHERE id = :i"), {"r": record, "i": version.id}
        )
    db.session.expire_all()
    check = services.check_archives()[0]
    assert not check.intact and check.changed == ["result", "versions"]
    bad = runner.invoke(args=["archive", "verify", "--inspection", str(inspection.id)])
    assert bad.exit_code == 1 and f"inspection {inspection.id}: changed: result, versions" in bad.output


def test_archive_pages(app: Flask, client: FlaskClient, make: Any) -> None:
    world = field_world()
    supervisor = staff(world)
    _published(world, world.inspection)
    services.archive_due_inspections(AFTER_30_DAYS)
    db.session.commit()
    login_page(client, supervisor)
    listing = client.get("/archive").get_data(as_text=True)
    assert world.target.name in listing and "2027-12-03" in listing
    # The page says when an inspection gets here (the configured delay after publication).
    days = app.config["ARCHIVE_AFTER_DAYS"]
    assert f"结果公示（或经领导批准不予公示）满{days}天、后续处置全部完结的检查" in listing
    assert world.target.name in client.get(f"/archive?q={world.target.code[:8]}").get_data(as_text=True)
    assert world.target.name not in client.get("/archive?q=不存在的名称").get_data(as_text=True)
    detail = client.get(f"/archive/{world.inspection.id}").get_data(as_text=True)
    assert "核对通过" in detail
    assert '<a href="/archive">← 检查档案</a>' in detail  # the way back to the list
    record = db.session.scalar(select(ArchiveRecord))
    assert record is not None and record.manifest_hash in detail
    outsider = make.user(roles=["supervisor"], department=make.department())
    client.post("/logout", data={"csrf_token": _csrf(client)})
    login_page(client, outsider)
    assert world.target.name not in client.get("/archive").get_data(as_text=True)
    assert client.get(f"/archive/{world.inspection.id}").status_code == 404


def _csrf(client: FlaskClient) -> str:
    from tests.support.factories import csrf_from

    return csrf_from(client, "/")
