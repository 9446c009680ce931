"""Follow-up through the API: every problem gets a disposition, tracked to closure with evidence."""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools

from flask.testing import FlaskClient
from sqlalchemy import select

from server.accounts.models import User
from server.audit.models import AuditEvent
from server.evidence.models import BlobRef
from server.extensions import db
from server.followup.models import FollowUp
from server.i18n import today_local
from server.inspections.models import Inspection
from server.planning.models import TaskCooperation
from server.publication.services import publish_results
from server.results.models import InspectionResult
from tests.integration.evidence.imagefiles import field_photo
from tests.support import factories
from tests.support.field import FieldWorld, field_world
from tests.support.results import approve, category

_devices = itertools.count(1)


def _h(user: User) -> dict[str, str]:
    return factories.auth_header(user, device_id=f"device-fu-{next(_devices):04d}")


def _problem_world(categories: tuple[str, ...] = ("not_disclosed", "corrected")) -> tuple[FieldWorld, User]:
    world = field_world()
    approve(world.inspection, categories=categories)
    return world, factories.user(roles=["supervisor"], department=world.department)


def _open(client: FlaskClient, world: FieldWorld, user: User, **body: object) -> object:
    return client.post(f"/api/v1/inspections/{world.inspection.id}/follow-ups", json=body, headers=_h(user))


def test_every_problem_found_awaits_a_disposition_until_it_has_one(client: FlaskClient) -> None:
    world, supervisor = _problem_world()
    clean = field_world()
    approve(clean.inspection, categories=("no_problem",))
    waiting = client.get("/api/v1/follow-ups/awaiting", headers=_h(supervisor))
    assert waiting.status_code == 200
    assert sorted(p["category_code"] for p in waiting.json) == ["corrected", "not_disclosed"]
    assert {p["inspection_id"] for p in waiting.json} == {world.inspection.id}

    resp = _open(client, world, supervisor, kind="routine", category_id=category("not_disclosed").id)
    assert resp.status_code == 201, resp.json  # type: ignore[attr-defined]
    left = client.get("/api/v1/follow-ups/awaiting", headers=_h(supervisor)).json
    assert [p["category_code"] for p in left] == ["corrected"]


def test_opening_is_validated_and_refused_on_inspections_not_approved_or_archived(
    client: FlaskClient,
) -> None:
    world, supervisor = _problem_world()
    corrected = category("corrected").id
    no_deadline = _open(client, world, supervisor, kind="correction", category_id=corrected)
    assert no_deadline.status_code == 422 and "deadline" in no_deadline.json["errors"]  # type: ignore[attr-defined]
    no_dept = _open(client, world, supervisor, kind="transfer", category_id=corrected)
    assert no_dept.status_code == 422 and "transfer_to" in no_dept.json["errors"]  # type: ignore[attr-defined]
    not_on_result = _open(client, world, supervisor, kind="routine", category_id=category("no_contact").id)
    assert not_on_result.status_code == 422 and "category_id" in not_on_result.json["errors"]  # type: ignore[attr-defined]
    nothing = _open(client, world, supervisor, kind="other")
    assert nothing.status_code == 422 and "description" in nothing.json["errors"]  # type: ignore[attr-defined]
    early = _open(client, world, supervisor, kind="correction", category_id=corrected, deadline="2025-06-01")
    assert early.status_code == 422 and "deadline" in early.json["errors"]  # type: ignore[attr-defined]
    assert db.session.scalars(select(FollowUp)).all() == []

    deadline = (today_local() + dt.timedelta(days=15)).isoformat()
    ok = _open(client, world, supervisor, kind="correction", category_id=corrected, deadline=deadline)
    assert ok.status_code == 201
    body = ok.json  # type: ignore[attr-defined]
    assert body["status"] == "open" and body["deadline"] == deadline and body["overdue"] is False
    assert body["category_code"] == "corrected" and [e["kind"] for e in body["events"]] == ["opened"]
    twice = _open(client, world, supervisor, kind="case", category_id=corrected)
    assert twice.status_code == 409 and twice.json["code"] == "follow_up_open_exists"  # type: ignore[attr-defined]

    submitted = field_world()
    inspection = db.session.get(Inspection, submitted.inspection.id)
    assert inspection is not None
    inspection.state = "submitted"
    db.session.commit()
    boss = factories.user(roles=["supervisor"], department=submitted.department)
    refused = _open(client, submitted, boss, kind="none", description="无")
    assert refused.status_code == 409 and refused.json["code"] == "inspection_not_approved"  # type: ignore[attr-defined]

    archived = db.session.get(Inspection, world.inspection.id)
    assert archived is not None
    archived.state = "archived"
    db.session.commit()
    frozen = _open(client, world, supervisor, kind="routine", category_id=category("not_disclosed").id)
    assert frozen.status_code == 409 and frozen.json["code"] == "inspection_archived"  # type: ignore[attr-defined]
    step = client.post(
        f"/api/v1/follow-ups/{body['id']}/steps",
        json={"kind": "progress", "note": "x"},
        headers=_h(supervisor),
    )
    assert step.status_code == 409 and step.json["code"] == "inspection_archived"


def test_no_follow_up_needed_is_closed_at_once(client: FlaskClient) -> None:
    world, supervisor = _problem_world(("pending",))
    resp = _open(
        client, world, supervisor, kind="none", category_id=category("pending").id, description="情节轻微"
    )
    assert resp.status_code == 201
    body = resp.json  # type: ignore[attr-defined]
    assert body["status"] == "closed" and body["closed_on"] == today_local().isoformat()
    assert body["outcome"] == "情节轻微" and [e["kind"] for e in body["events"]] == ["opened", "closed"]


def test_a_correction_is_rechecked_with_evidence_then_closed_and_shown_publicly(client: FlaskClient) -> None:
    world, supervisor = _problem_world(("corrected",))
    inspection = db.session.get(Inspection, world.inspection.id)
    assert inspection is not None
    publish_results([inspection], None, now=dt.datetime(2025, 6, 6, 1, 0))
    db.session.commit()
    deadline = (today_local() + dt.timedelta(days=10)).isoformat()
    opened = _open(
        client, world, supervisor, kind="correction", category_id=category("corrected").id, deadline=deadline
    )
    follow_up_id = opened.json["id"]  # type: ignore[attr-defined]

    too_soon = client.post(
        f"/api/v1/follow-ups/{follow_up_id}/close",
        json={"closed_on": today_local().isoformat(), "outcome": "已整改"},
        headers=_h(supervisor),
    )
    assert too_soon.status_code == 409 and too_soon.json["code"] == "follow_up_step_missing"

    photo = field_photo((320, 240))
    sha = hashlib.sha256(photo).hexdigest()
    missing = client.post(
        f"/api/v1/follow-ups/{follow_up_id}/steps",
        json={"kind": "recheck_passed", "note": "复查已改正", "evidence": [sha]},
        headers=_h(supervisor),
    )
    assert missing.status_code == 422 and "evidence" in missing.json["errors"]  # not uploaded yet
    put = client.put(
        f"/api/v1/blobs/{sha}?kind=photo",
        data=photo,
        headers={**_h(supervisor), "Content-Type": "image/jpeg"},
    )
    assert put.status_code == 201
    step = client.post(
        f"/api/v1/follow-ups/{follow_up_id}/steps",
        json={"kind": "recheck_passed", "note": "复查已改正", "evidence": [sha]},
        headers=_h(supervisor),
    )
    assert step.status_code == 201 and step.json["evidence"] == [sha]
    ref = db.session.scalars(select(BlobRef).where(BlobRef.source == "followup")).one()
    assert (
        ref.sha256 == sha
        and ref.inspection_id == world.inspection.id
        and ref.source_id == str(step.json["id"])
    )

    future = client.post(
        f"/api/v1/follow-ups/{follow_up_id}/close",
        json={"closed_on": (today_local() + dt.timedelta(days=1)).isoformat(), "outcome": "已整改"},
        headers=_h(supervisor),
    )
    assert future.status_code == 422 and "closed_on" in future.json["errors"]
    before = db.session.scalars(select(InspectionResult.updated_at)).one()
    closed = client.post(
        f"/api/v1/follow-ups/{follow_up_id}/close",
        json={"closed_on": today_local().isoformat(), "outcome": "企业已按期补报年度报告"},
        headers=_h(supervisor),
    )
    assert closed.status_code == 200, closed.json
    assert closed.json["status"] == "closed" and closed.json["closed_on"] == today_local().isoformat()
    assert [e["kind"] for e in closed.json["events"]] == ["opened", "recheck_passed", "closed"]
    again = client.post(
        f"/api/v1/follow-ups/{follow_up_id}/steps",
        json={"kind": "progress", "note": "x"},
        headers=_h(supervisor),
    )
    assert again.status_code == 409 and again.json["code"] == "follow_up_closed"

    # The public result now carries the outcome, and the feed sees the change.
    after = db.session.scalars(select(InspectionResult.updated_at)).one()
    assert after > before
    page = client.get(f"/results/{world.inspection.id}").get_data(as_text=True)
    assert "企业已按期补报年度报告" in page and "责令限期改正" in page
    since = (before + dt.timedelta(microseconds=1)).isoformat() + "Z"
    feed = client.get(f"/results/feed.json?updated_since={since}").json
    (item,) = feed["items"]
    assert item["follow_ups"] == [
        {
            "kind": "correction",
            "kind_name": "责令限期改正",
            "closed_on": today_local().isoformat(),
            "outcome": "企业已按期补报年度报告",
        }
    ]
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_type == "follow_up")).all()
    assert actions == ["follow_up.opened", "follow_up.step", "follow_up.closed"]


def test_a_transfer_needs_the_receiving_departments_feedback_before_closing(client: FlaskClient) -> None:
    world, supervisor = _problem_world(("false_disclosure",))
    opened = _open(
        client,
        world,
        supervisor,
        kind="transfer",
        category_id=category("false_disclosure").id,
        transfer_to="高平市税务局",
    )
    follow_up_id = opened.json["id"]  # type: ignore[attr-defined]
    close = {"closed_on": today_local().isoformat(), "outcome": "税务局已立案"}
    refused = client.post(f"/api/v1/follow-ups/{follow_up_id}/close", json=close, headers=_h(supervisor))
    assert refused.status_code == 409 and refused.json["code"] == "follow_up_step_missing"
    client.post(
        f"/api/v1/follow-ups/{follow_up_id}/steps",
        json={"kind": "feedback", "note": "税务局回函：已立案调查"},
        headers=_h(supervisor),
    )
    done = client.post(f"/api/v1/follow-ups/{follow_up_id}/close", json=close, headers=_h(supervisor))
    assert done.status_code == 200 and done.json["transfer_to"] == "高平市税务局"


def test_who_handles_follow_ups_and_the_ledger_filters(client: FlaskClient) -> None:
    world, supervisor = _problem_world()
    outsider = factories.user(roles=["supervisor"], department=factories.department())
    helper_dept = factories.department(name="高平市应急管理局")
    db.session.add(TaskCooperation(task_id=world.task.id, department_id=helper_dept.id))
    db.session.commit()
    cooperating = factories.user(roles=["leader"], department=helper_dept)

    yesterday = (today_local() - dt.timedelta(days=1)).isoformat()
    late = _open(
        client, world, supervisor, kind="correction", category_id=category("corrected").id, deadline=yesterday
    )
    assert late.status_code == 201 and late.json["overdue"] is True  # type: ignore[attr-defined]
    by_helper = _open(client, world, cooperating, kind="case", category_id=category("not_disclosed").id)
    assert by_helper.status_code == 201  # a cooperating department handles its part too
    follow_up_id = late.json["id"]  # type: ignore[attr-defined]

    assert _open(client, world, outsider, kind="none", description="x").status_code == 404  # type: ignore[attr-defined]
    assert client.get(f"/api/v1/follow-ups/{follow_up_id}", headers=_h(outsider)).status_code == 404
    assert client.get("/api/v1/follow-ups", headers=_h(outsider)).json == []
    assert client.get("/api/v1/follow-ups/awaiting", headers=_h(outsider)).json == []
    inspector = client.get("/api/v1/follow-ups", headers=_h(world.users["a"]))
    assert inspector.status_code == 403

    everything = client.get("/api/v1/follow-ups", headers=_h(supervisor))
    assert everything.status_code == 200 and len(everything.json) == 2
    assert "X-Pagination" in everything.headers
    overdue = client.get("/api/v1/follow-ups?overdue=true", headers=_h(supervisor)).json
    assert [f["id"] for f in overdue] == [follow_up_id]
    cases = client.get("/api/v1/follow-ups?kind=case", headers=_h(cooperating)).json
    assert [f["kind"] for f in cases] == ["case"]
    closed = client.get("/api/v1/follow-ups?status=closed", headers=_h(supervisor)).json
    assert closed == []
    bad = client.get("/api/v1/follow-ups?status=finished", headers=_h(supervisor))
    assert bad.status_code == 422 and bad.json["code"] == "validation_failed"
    of_inspection = client.get(
        f"/api/v1/inspections/{world.inspection.id}/follow-ups", headers=_h(supervisor)
    )
    assert len(of_inspection.json) == 2
