"""Review services: return with comments, approve with a result, freezing, the queue, refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from server.audit.models import AuditEvent
from server.audit.services import verify_chain
from server.errors import ApiError
from server.extensions import db
from server.inspections.models import Inspection, InspectionVersion
from server.results import services as results
from server.results.models import InspectionResult
from server.review import services
from server.review.models import ReviewComment
from tests.integration.review.conftest import Review
from tests.support import factories


def _code(exc: pytest.ExceptionInfo[ApiError]) -> str:
    return exc.value.code


def _events(inspection_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "inspection", AuditEvent.object_id == str(inspection_id))
            .order_by(AuditEvent.seq)
        )
    )


def test_return_writes_comments_and_changes_state(submitted: Review) -> None:
    inspection = submitted.inspection
    cp1, cp2 = (c.id for c in submitted.world.checkpoints)
    version = services.return_inspection(
        inspection,
        1,
        submitted.supervisor,
        comment="  请补充现场照片  ",
        items=[
            {"checkpoint_id": cp2, "comment": "住所与实际不一致，请核实"},
            {"checkpoint_id": cp1, "comment": "   "},  # blank: ignored
        ],
    )
    db.session.commit()
    assert inspection.state == "returned"
    assert version.status == "returned" and version.decided_by_id == submitted.supervisor.id
    assert version.decided_at is not None and version.decision_comment == "请补充现场照片"
    rows = list(db.session.scalars(select(ReviewComment).where(ReviewComment.version_id == version.id)))
    assert {(r.checkpoint_id, r.text) for r in rows} == {
        (None, "请补充现场照片"),
        (cp2, "住所与实际不一致，请核实"),
    }
    assert _events(inspection.id)[-1] == "inspection.returned"
    assert verify_chain() == []


def test_return_needs_a_comment_and_known_checkpoints(submitted: Review) -> None:
    inspection = submitted.inspection
    with pytest.raises(ApiError) as exc:
        services.return_inspection(inspection, 1, submitted.supervisor, comment=" ", items=[])
    assert _code(exc) == "review_comment_required"
    with pytest.raises(ApiError) as exc:
        services.return_inspection(
            inspection, 1, submitted.supervisor, items=[{"checkpoint_id": 999999, "comment": "?"}]
        )
    assert _code(exc) == "validation_failed" and "items" in exc.value.errors
    with pytest.raises(ApiError) as exc:
        services.return_inspection(inspection, 1, submitted.supervisor, comment="x" * 2001)
    assert _code(exc) == "validation_failed"
    db.session.rollback()
    assert submitted.inspection.state == "submitted"
    assert db.session.scalar(select(ReviewComment.id)) is None


def test_approve_enters_the_result_and_freezes(submitted: Review) -> None:
    inspection = submitted.inspection
    result = services.approve_inspection(
        inspection, 1, submitted.supervisor, categories=["no_problem"], summary="", publish=True
    )
    db.session.commit()
    assert inspection.state == "approved" and inspection.approved_at is not None
    version = inspection.latest_version
    assert version is not None and version.status == "approved"
    assert result.version_id == version.id and result.publish and result.withhold_status == "none"
    assert [c.code for c in result.categories] == ["no_problem"]
    assert result.summary == "未发现问题"  # the categories' names when no summary was written
    assert _events(inspection.id)[-1] == "inspection.approved"

    # Approval froze it: every later decision is refused with the same code, nothing changes.
    for attempt in (
        lambda: services.approve_inspection(inspection, 1, submitted.leader, categories=["pending"]),
        lambda: services.return_inspection(inspection, 1, submitted.leader, comment="重新检查"),
    ):
        with pytest.raises(ApiError) as exc:
            attempt()
        assert _code(exc) == "inspection_frozen"
        db.session.rollback()
    # Even a direct edit of the approved version is refused at flush.
    version = db.session.get(InspectionVersion, version.id)
    assert version is not None
    version.decision_comment = "事后修改"
    with pytest.raises(ApiError) as exc:
        db.session.flush()
    assert _code(exc) == "inspection_frozen"
    db.session.rollback()
    assert [c.code for c in results.result_for(submitted.inspection).categories] == ["no_problem"]  # type: ignore[union-attr]


def test_approve_refusals(submitted: Review) -> None:
    inspection = submitted.inspection
    cases = [
        ({"categories": []}, "result_category_required"),
        ({"categories": ["no_such_code"]}, "result_category_invalid"),
        (
            {"categories": ["no_problem"], "publish": False, "withhold_reason": "  "},
            "withhold_reason_required",
        ),
    ]
    for kwargs, code in cases:
        with pytest.raises(ApiError) as exc:
            services.approve_inspection(inspection, 1, submitted.supervisor, **kwargs)  # type: ignore[arg-type]
        assert _code(exc) == code
        db.session.rollback()
    submitted.categories["pending"].active = False
    db.session.commit()
    with pytest.raises(ApiError) as exc:
        services.approve_inspection(inspection, 1, submitted.supervisor, categories=["pending"])
    assert _code(exc) == "result_category_invalid"
    db.session.rollback()
    assert submitted.inspection.state == "submitted"
    assert db.session.scalar(select(InspectionResult.id)) is None


def test_decisions_name_the_latest_version(submitted: Review) -> None:
    with pytest.raises(ApiError) as exc:
        services.approve_inspection(submitted.inspection, 2, submitted.supervisor, categories=["no_problem"])
    assert _code(exc) == "review_version_stale"
    db.session.rollback()


def test_only_a_submitted_inspection_is_reviewed(review: Review) -> None:
    with pytest.raises(ApiError) as exc:
        services.return_inspection(review.inspection, 1, review.supervisor, comment="?")
    assert _code(exc) == "inspection_not_submitted"
    db.session.rollback()


def test_archived_inspection_is_read_only(submitted: Review) -> None:
    inspection = submitted.inspection
    inspection.state = "archived"
    db.session.commit()
    with pytest.raises(ApiError) as exc:
        services.approve_inspection(inspection, 1, submitted.supervisor, categories=["no_problem"])
    assert _code(exc) == "inspection_archived"
    db.session.rollback()


def test_nobody_reviews_their_own_inspection(submitted: Review) -> None:
    member = submitted.world.users["a"]
    from server.accounts.models import UserRole

    member.role_rows.append(UserRole(role="supervisor"))
    db.session.commit()
    assert not services.can_review(member, submitted.inspection)
    with pytest.raises(ApiError) as exc:
        services.approve_inspection(submitted.inspection, 1, member, categories=["no_problem"])
    assert _code(exc) == "review_own_inspection"
    db.session.rollback()


def test_a_second_decision_on_the_same_version_loses(submitted: Review) -> None:
    """The compare-and-set: a reviewer acting on a stale in-memory state changes nothing."""
    inspection = submitted.inspection
    assert inspection.state == "submitted"
    # Another reviewer's approval lands in the database behind this session's back (plain Core,
    # so the ORM object still says "submitted").
    db.session.execute(
        Inspection.__table__.update()
        .where(Inspection.__table__.c.id == inspection.id)
        .values(state="approved")
    )
    assert inspection.state == "submitted"
    with pytest.raises(ApiError) as exc:
        services.return_inspection(inspection, 1, submitted.supervisor, comment="退回")
    assert _code(exc) == "inspection_frozen"
    db.session.rollback()
    assert db.session.scalar(select(ReviewComment.id)) is None


def test_withholding_needs_a_leader_who_did_not_ask(submitted: Review) -> None:
    inspection = submitted.inspection
    result = services.approve_inspection(
        inspection,
        1,
        submitted.leader,
        categories=["pending"],
        publish=False,
        withhold_reason="涉及正在办理的案件，公示可能影响调查",
    )
    db.session.commit()
    assert not result.publish and result.withhold_status == "requested"
    assert result.withhold_reason == "涉及正在办理的案件，公示可能影响调查"
    with pytest.raises(ApiError) as exc:
        results.decide_withholding(result, inspection, True, "", submitted.leader)
    assert _code(exc) == "withhold_own_request"
    db.session.rollback()

    results.decide_withholding(result, inspection, True, "同意", submitted.leader2)
    db.session.commit()
    assert result.withhold_status == "approved" and not result.publish
    assert result.withhold_decided_by_id == submitted.leader2.id and result.withhold_decision_note == "同意"
    with pytest.raises(ApiError) as exc:
        results.decide_withholding(result, inspection, False, "", submitted.leader2)
    assert _code(exc) == "withhold_not_requested"
    db.session.rollback()
    assert _events(inspection.id)[-3:] == [
        "inspection.approved",
        "result.withholding_requested",
        "result.withholding_approved",
    ]


def test_rejected_withholding_means_publish(submitted: Review) -> None:
    inspection = submitted.inspection
    result = services.approve_inspection(
        inspection, 1, submitted.supervisor, categories=["no_problem"], publish=False, withhold_reason="理由"
    )
    results.decide_withholding(result, inspection, False, "应当公示", submitted.leader)
    db.session.commit()
    assert result.withhold_status == "rejected" and result.publish
    assert "result.withholding_rejected" in _events(inspection.id)


def test_queue_orders_by_due_date_and_counts_states(submitted: Review) -> None:
    from tests.support.field import field_world

    today = dt.date(2025, 6, 20)
    first = submitted.inspection
    first.result_due_on = dt.date(2025, 7, 1)
    # More inspections of the same department's tasks in other states and with other deadlines.
    world2 = field_world(name="高平市第二商贸有限公司")
    second = world2.inspection
    second.state, second.result_due_on = "submitted", dt.date(2025, 6, 10)  # overdue
    second.submitted_at = dt.datetime(2025, 6, 1)
    world2.task.initiating_department_id = submitted.world.department.id
    world3 = field_world(name="高平市无期限商店")
    third = world3.inspection
    third.state, third.submitted_at = "submitted", dt.datetime(2025, 6, 2)
    world3.task.initiating_department_id = submitted.world.department.id
    db.session.commit()

    stmt = services.review_queue(submitted.supervisor, "submitted", services.QueueFilters(), today)
    ids = [i.id for i in db.session.scalars(stmt)]
    assert ids == [second.id, first.id, third.id]  # soonest deadline first, none last
    rows = [services.queue_row(i, today) for i in db.session.scalars(stmt)]
    assert [r["overdue"] for r in rows] == [True, False, False]

    overdue = services.QueueFilters(overdue=True)
    assert [
        i.id
        for i in db.session.scalars(services.review_queue(submitted.supervisor, "submitted", overdue, today))
    ] == [second.id]
    by_name = services.QueueFilters(q="第二商贸")
    assert [
        i.id
        for i in db.session.scalars(services.review_queue(submitted.supervisor, "submitted", by_name, today))
    ] == [second.id]
    by_code = services.QueueFilters(q=first.target.code[:12].lower())
    assert first.id in [
        i.id
        for i in db.session.scalars(services.review_queue(submitted.supervisor, "submitted", by_code, today))
    ]
    by_task = services.QueueFilters(task_id=world3.task.id)
    assert [
        i.id
        for i in db.session.scalars(services.review_queue(submitted.supervisor, "submitted", by_task, today))
    ] == [third.id]

    services.return_inspection(first, 1, submitted.supervisor, comment="补充")
    db.session.commit()
    assert services.queue_counts(submitted.supervisor, services.QueueFilters(), today) == {
        "submitted": 2,
        "returned": 1,
        "approved": 0,
    }
    # Another department's supervisor sees none of it; an admin sees all.
    assert services.queue_counts(submitted.outsider, services.QueueFilters(), today) == {
        "submitted": 0,
        "returned": 0,
        "approved": 0,
    }
    assert services.queue_counts(submitted.admin, services.QueueFilters(), today)["submitted"] == 2
    inspector_only = factories.user(roles=["inspector"], department=submitted.world.department)
    assert services.visible_inspection(inspector_only, first.id) is None
