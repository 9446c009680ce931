"""Publishing approved results: by hand, on schedule with a frozen clock, and what is refused."""

from __future__ import annotations

import datetime as dt

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from server.audit.models import AuditEvent
from server.errors import ApiError
from server.extensions import db
from server.inspections.models import Inspection
from server.publication.services import (
    publication_due_on,
    publish_due_results,
    publish_results,
)
from server.results.models import InspectionResult
from tests.support.field import complete_inspection, field_world
from tests.support.results import approve


def _utc(local: str) -> dt.datetime:
    """A Shanghai wall-clock time as the naive UTC the database stores."""
    moment = dt.datetime.fromisoformat(local).replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    return moment.astimezone(dt.UTC).replace(tzinfo=None)


def _fresh(inspection: Inspection) -> Inspection:
    db.session.expire_all()
    found = db.session.get(Inspection, inspection.id)
    assert found is not None
    return found


def test_publish_by_hand_sets_both_timestamps_state_audit_and_the_phones_record(client: FlaskClient) -> None:
    world = field_world()
    phone_a, _phone_b, sync_id = complete_inspection(world, client)
    approve(world.inspection, categories=("no_problem",), summary="未发现问题")
    supervisor = world.users["a"]  # any actor: authorization is the boundary's job
    now = _utc("2025-06-05T15:00:00")

    published = publish_results([_fresh(world.inspection)], supervisor, now=now)
    db.session.commit()

    inspection = _fresh(world.inspection)
    result = db.session.scalars(select(InspectionResult)).one()
    assert [i.id for i in published] == [inspection.id]
    assert inspection.state == "published" and inspection.published_at == now
    assert result.published_at == now and result.updated_at == now
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "inspection.published")).one()
    assert event.object_id == str(inspection.id) and event.actor_id == supervisor.id
    assert event.details["how"] == "hand" and event.details["categories"] == ["no_problem"]
    phone_a.pull()
    assert phone_a.inspection(sync_id)["fields"]["state"] == "published"

    # Idempotent: publishing again changes nothing and writes no second event.
    assert publish_results([inspection], supervisor, now=now + dt.timedelta(hours=1)) == []
    db.session.commit()
    assert _fresh(world.inspection).published_at == now
    assert (
        len(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "inspection.published")).all())
        == 1
    )


@pytest.mark.parametrize(
    ("state", "withhold", "publish", "code"),
    [
        ("submitted", None, True, "result_not_publishable"),  # not approved, no result
        ("approved", "approved", False, "result_not_publishable"),  # a leader approved withholding
        ("approved", "requested", False, "result_not_publishable"),  # the leader has not decided
        ("archived", "none", True, "inspection_archived"),
    ],
)
def test_publish_refuses_what_may_not_be_published_and_changes_nothing(
    app: object, state: str, withhold: str | None, publish: bool, code: str
) -> None:
    good = field_world()
    approve(good.inspection)
    bad = field_world()
    if withhold is not None:
        approve(bad.inspection, withhold_status=withhold, publish=publish)
    inspection = _fresh(bad.inspection)
    inspection.state = state
    db.session.commit()

    with pytest.raises(ApiError) as err:
        publish_results([_fresh(good.inspection), _fresh(bad.inspection)], None)
    db.session.rollback()
    assert err.value.code == code
    assert str(bad.inspection.id) in (err.value.detail or "")
    # All or nothing: the publishable one was not published either.
    assert _fresh(good.inspection).state == "approved"
    assert db.session.scalars(select(InspectionResult.published_at)).all() in ([None], [None, None])


def test_publication_due_date_is_the_next_working_day_capped_by_the_result_deadline(app: object) -> None:
    world = field_world()
    approve(world.inspection, approved_at=_utc("2025-09-30T10:00:00"))
    inspection = _fresh(world.inspection)
    assert publication_due_on(inspection) == dt.date(2025, 10, 9)
    inspection.result_due_on = dt.date(2025, 10, 9)
    assert publication_due_on(inspection) == dt.date(2025, 10, 9)
    inspection.result_due_on = dt.date(2025, 9, 30)  # approved on the last day: publish that day
    assert publication_due_on(inspection) == dt.date(2025, 9, 30)
    inspection.result_due_on = dt.date(2025, 9, 20)  # approved late: publish at once
    assert publication_due_on(inspection) == dt.date(2025, 9, 30)
    # Approval late in the evening, Shanghai time, is still that local day.
    inspection.result_due_on = None
    inspection.approved_at = _utc("2025-06-05T23:30:00")
    assert publication_due_on(inspection) == dt.date(2025, 6, 6)


def test_scheduled_publication_with_a_frozen_clock_is_timely_and_idempotent(app: object) -> None:
    on_time = field_world()
    approve(on_time.inspection, approved_at=_utc("2025-06-05T10:00:00"))  # Thursday → due Friday
    last_day = field_world()
    approve(last_day.inspection, approved_at=_utc("2025-06-05T11:00:00"), result_due_on=dt.date(2025, 6, 5))
    withheld = field_world()
    approve(withheld.inspection, publish=False, withhold_status="approved")
    pending = field_world()
    approve(pending.inspection, publish=False, withhold_status="requested")
    rejected = field_world()
    approve(rejected.inspection, publish=True, withhold_status="rejected")
    not_approved = field_world()

    first = publish_due_results(_utc("2025-06-05T23:00:00"))
    db.session.commit()
    assert {i.id for i in first} == {last_day.inspection.id}  # its deadline is today

    second = publish_due_results(_utc("2025-06-06T00:30:00"))
    db.session.commit()
    assert {i.id for i in second} == {on_time.inspection.id, rejected.inspection.id}
    assert publish_due_results(_utc("2025-06-06T00:30:00")) == []  # the same run again: nothing
    assert publish_due_results(_utc("2025-06-20T09:00:00")) == []  # nor later
    db.session.commit()

    states = {
        w.inspection.id: _fresh(w.inspection).state for w in (on_time, last_day, withheld, pending, rejected)
    }
    assert states[on_time.inspection.id] == "published"
    assert states[withheld.inspection.id] == "approved" and states[pending.inspection.id] == "approved"
    assert _fresh(not_approved.inspection).state == "assigned"
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "inspection.published")).all()
    assert len(events) == 3 and all(e.actor_id is None and e.details["how"] == "schedule" for e in events)
    published_at = _fresh(on_time.inspection).published_at
    assert published_at == _utc("2025-06-06T00:30:00")
