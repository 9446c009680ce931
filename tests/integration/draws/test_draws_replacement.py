"""Replacing a drawn inspector (003 第十七条): request, a leader's decision, a random redraw."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from server.directory.models import Conflict
from server.draws import algorithm as algo
from server.draws.models import Draw, DrawnTarget
from server.draws.services import decide_replacement, perform_draw, request_replacement, verify_draw
from server.errors import ApiError
from server.extensions import db
from server.inspections.models import Inspection, TeamMember
from tests.integration.draws.conftest import DRAW_DAY, Builder


@pytest.fixture
def drawn(build: Builder, make: Any) -> dict[str, Any]:
    """One target drawn with a team of two from a bureau of five (one expired, one expert)."""
    bureau = build.department()
    staff = build.inspectors(bureau, 3)
    expired = build.inspector(bureau, credential_valid_until=DRAW_DAY.replace(year=2024))
    expert = build.inspector(bureau, kind="expert")
    target = build.target(risk_class="D")
    task = build.task(bureau)
    build.commit()
    draw = perform_draw(task, today=DRAW_DAY)
    db.session.commit()
    row = db.session.scalars(select(DrawnTarget).where(DrawnTarget.draw_id == draw.id)).one()
    inspection = db.session.get(Inspection, row.inspection_id)
    assert inspection is not None
    return {
        "bureau": bureau,
        "staff": staff,
        "expired": expired,
        "expert": expert,
        "target": target,
        "draw": draw,
        "inspection": inspection,
        "supervisor": make.user(roles=["supervisor"], department=bureau),
        "leader": make.user(roles=["leader"], department=bureau),
    }


def test_an_approved_replacement_is_drawn_at_random_from_eligible_colleagues(drawn: dict[str, Any]) -> None:
    inspection: Inspection = drawn["inspection"]
    leaving = inspection.team[1]
    on_team = {m.inspector_id for m in inspection.team}
    (free,) = [s for s in drawn["staff"] if s.id not in on_team]
    replacement = request_replacement(leaving, "conflict", "与法定代表人系亲属", drawn["supervisor"])
    db.session.commit()
    assert replacement.status == "requested" and replacement.in_member_id is None

    decide_replacement(replacement, True, drawn["leader"], "同意回避", today=DRAW_DAY)
    db.session.commit()
    assert replacement.status == "approved" and replacement.decided_by_id == drawn["leader"].id
    # Only the one eligible colleague: not on the team, not expired, not an expert.
    assert replacement.candidates == [free.code]
    assert len(bytes.fromhex(replacement.seed or "")) == 32
    assert algo.pick_replacement(bytes.fromhex(replacement.seed or ""), replacement.candidates) == free.code
    incoming = db.session.get(TeamMember, replacement.in_member_id)
    assert incoming is not None
    assert (incoming.inspector_id, incoming.role, incoming.draw_id) == (free.id, leaving.role, None)
    assert leaving.removed_at is not None
    assert len(inspection.active_team) == 2
    conflict = db.session.scalar(
        select(Conflict).where(
            Conflict.inspector_id == leaving.inspector_id, Conflict.target_id == drawn["target"].id
        )
    )
    assert conflict is not None and conflict.reason == "与法定代表人系亲属"
    # The draw itself is unchanged: its initial team still verifies.
    assert verify_draw(drawn["draw"]) == []


def test_a_leader_may_reject_and_others_may_not_decide(drawn: dict[str, Any]) -> None:
    member = drawn["inspection"].team[0]
    replacement = request_replacement(member, "illness", "住院", drawn["supervisor"])
    with pytest.raises(ApiError) as exc:
        decide_replacement(replacement, True, drawn["supervisor"])
    assert exc.value.code == "forbidden"
    decide_replacement(replacement, False, drawn["leader"], "可以坚持")
    assert (replacement.status, replacement.decision_note) == ("rejected", "可以坚持")
    assert member.removed_at is None and replacement.seed is None
    with pytest.raises(ApiError) as exc:
        decide_replacement(replacement, True, drawn["leader"])
    assert exc.value.code == "replacement_not_allowed"


def test_requests_are_validated(drawn: dict[str, Any]) -> None:
    member = drawn["inspection"].team[0]
    with pytest.raises(ApiError) as exc:
        request_replacement(member, "bored", "", drawn["supervisor"])
    assert exc.value.code == "validation_failed"
    request_replacement(member, "post_change", "", drawn["supervisor"])
    with pytest.raises(ApiError) as exc:
        request_replacement(member, "post_change", "", drawn["supervisor"])
    assert exc.value.code == "replacement_not_allowed"  # one pending request per member
    drawn["inspection"].state = "submitted"
    with pytest.raises(ApiError) as exc:
        request_replacement(drawn["inspection"].team[1], "illness", "", drawn["supervisor"])
    assert exc.value.code == "replacement_not_allowed"


def test_no_candidate_changes_nothing(drawn: dict[str, Any], build: Builder) -> None:
    inspection: Inspection = drawn["inspection"]
    on_team = {m.inspector_id for m in inspection.team}
    (free,) = [s for s in drawn["staff"] if s.id not in on_team]
    build.conflict(free, drawn["target"])
    build.commit()
    member = inspection.team[0]
    replacement = request_replacement(member, "work_conflict", "另有专项任务", drawn["supervisor"])
    db.session.commit()
    with pytest.raises(ApiError) as exc:
        decide_replacement(replacement, True, drawn["leader"], today=DRAW_DAY)
    assert exc.value.code == "replacement_no_candidate"
    db.session.rollback()
    assert replacement.status == "requested" and member.removed_at is None
    assert len(db.session.get(Inspection, inspection.id).team) == 2  # type: ignore[union-attr]
    assert db.session.get(Draw, drawn["draw"].id) is not None
