"""Result categories (admin-edited reference data) and entering each inspection's result.

``enter_result`` is called by review's ``approve_inspection`` inside the same transaction: the
result rests on the approved version, carries one or more categories, a public summary and whether
to publish. Not publishing needs a reason and goes to a leader (``decide_withholding``,
003 第二十条(三)); until the leader decides, the result is not published.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Select, func, select

from server.accounts.models import User
from server.audit.services import record_event
from server.db import utcnow
from server.errors import ApiError
from server.extensions import db
from server.followup.models import FollowUp
from server.inspections.models import Inspection, InspectionVersion
from server.inspections.services import inspections_visible_to
from server.results.models import InspectionResult, InspectionResultCategory, ResultCategory
from sync.records import OUTCOME_CODES

CODE = re.compile(r"[a-z][a-z0-9_]{1,39}")
# Fields an admin may edit; the code is fixed at creation (phones and exports refer to it).
EDITABLE = ("name", "name_en", "is_problem", "needs_follow_up", "ends_without_inspection", "position")
# Suggested when an answer is 否 or a finding was recorded: the problem still needs a disposition.
PROBLEM_SUGGESTION = "pending"
NO_PROBLEM = "no_problem"


# -- categories ------------------------------------------------------------------------------------


def list_categories(*, active_only: bool = False) -> list[ResultCategory]:
    stmt = select(ResultCategory).order_by(ResultCategory.position, ResultCategory.id)
    if active_only:
        stmt = stmt.where(ResultCategory.active.is_(True))
    return list(db.session.scalars(stmt))


def category_usage(category_ids: Iterable[int] | None = None) -> dict[int, int]:
    """How many results and follow-ups refer to each category (absent: none)."""
    results = select(InspectionResultCategory.category_id, func.count()).group_by(
        InspectionResultCategory.category_id
    )
    follow_ups = (
        select(FollowUp.category_id, func.count())
        .where(FollowUp.category_id.is_not(None))
        .group_by(FollowUp.category_id)
    )
    if category_ids is not None:
        ids = list(category_ids)
        results = results.where(InspectionResultCategory.category_id.in_(ids))
        follow_ups = follow_ups.where(FollowUp.category_id.in_(ids))
    usage: dict[int, int] = {}
    for stmt in (results, follow_ups):
        for category_id, n in db.session.execute(stmt):
            if category_id is not None:
                usage[category_id] = usage.get(category_id, 0) + n
    return usage


def _check_code(code: str) -> None:
    if not CODE.fullmatch(code):
        raise ApiError(
            "validation_failed", errors={"code": ["2-40 characters: a-z, 0-9 and _, starting with a letter."]}
        )
    if db.session.scalar(select(ResultCategory.id).where(ResultCategory.code == code)) is not None:
        raise ApiError("duplicate_code", detail=code)


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 100:
        raise ApiError("validation_failed", errors={"name": ["1-100 characters."]})
    return name


def create_category(data: Mapping[str, Any], actor: User) -> ResultCategory:
    """A new active category; ``data`` has code and name, optionally the other editable fields."""
    code = str(data["code"]).strip()
    _check_code(code)
    values = {key: data[key] for key in EDITABLE if key in data}
    values["name"] = _check_name(str(data["name"]))
    if "position" not in values:
        values["position"] = (db.session.scalar(select(func.max(ResultCategory.position))) or 0) + 10
    category = ResultCategory(code=code, active=True, **values)
    db.session.add(category)
    db.session.flush()
    record_event(
        "result_category.created", "result_category", category.id, actor_id=actor.id, details=_view(category)
    )
    return category


def update_category(category: ResultCategory, data: Mapping[str, Any], actor: User) -> ResultCategory:
    """Edit the name, English name, flags, position and whether it is offered (``active``)."""
    before = _view(category)
    for key in (*EDITABLE, "active"):
        if key in data:
            value = _check_name(str(data[key])) if key == "name" else data[key]
            setattr(category, key, value)
    db.session.flush()
    after = _view(category)
    changed = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
    if changed:
        record_event(
            "result_category.updated", "result_category", category.id, actor_id=actor.id, details=changed
        )
    return category


def is_field_outcome(category: ResultCategory) -> bool:
    """The field app records these codes as special outcomes (003 第二十一条): always in use."""
    return category.code in OUTCOME_CODES


def delete_category(category: ResultCategory, actor: User) -> None:
    """Only a category nothing refers to; one in use is deactivated instead (``category_in_use``)."""
    if is_field_outcome(category):
        raise ApiError("category_in_use", detail=f"{category.code} is a special outcome of the field app")
    if category_usage([category.id]).get(category.id):
        raise ApiError("category_in_use", detail=category.code)
    record_event(
        "result_category.deleted", "result_category", category.id, actor_id=actor.id, details=_view(category)
    )
    db.session.delete(category)
    db.session.flush()


def _view(category: ResultCategory) -> dict[str, Any]:
    return {
        "code": category.code,
        "active": category.active,
        **{key: getattr(category, key) for key in EDITABLE},
    }


def categories_by_code(codes: Sequence[str]) -> list[ResultCategory]:
    """The chosen categories, each active, in list order; any unknown or inactive one is refused."""
    wanted = list(dict.fromkeys(c.strip() for c in codes if c and c.strip()))
    if not wanted:
        raise ApiError("result_category_required")
    found = {
        c.code: c
        for c in db.session.scalars(
            select(ResultCategory).where(ResultCategory.code.in_(wanted), ResultCategory.active.is_(True))
        )
    }
    unknown = [code for code in wanted if code not in found]
    if unknown:
        raise ApiError("result_category_invalid", detail=", ".join(unknown))
    return sorted(found.values(), key=lambda c: (c.position, c.id))


# -- suggestions -----------------------------------------------------------------------------------


def suggested_codes(record: Mapping[str, Any]) -> list[str]:
    """Category codes to preselect for a version: its special outcome, else problem or no problem.

    The outcome codes the phone records are category codes (003 第二十一条). Without one, an answer
    否 or any finding suggests a problem still to be dealt with; otherwise 未发现问题.
    """
    outcome = record.get("outcome") or {}
    if isinstance(outcome, Mapping) and outcome.get("code"):
        return [str(outcome["code"])]
    answers = record.get("answers") or []
    if record.get("findings") or any(a.get("value") == "no" for a in answers):
        return [PROBLEM_SUGGESTION]
    return [NO_PROBLEM]


def suggested_categories(record: Mapping[str, Any], categories: Sequence[ResultCategory]) -> list[str]:
    """``suggested_codes`` limited to the active categories (falls back to any problem category)."""
    active = {c.code: c for c in categories if c.active}
    codes = [code for code in suggested_codes(record) if code in active]
    if not codes and suggested_codes(record) == [PROBLEM_SUGGESTION]:
        codes = [c.code for c in categories if c.active and c.is_problem][:1]
    return codes


def default_summary(categories: Sequence[ResultCategory]) -> str:
    """The public 检查结果 text when the reviewer writes none: the categories' names."""
    return "；".join(c.name for c in categories)


# -- the result of an inspection -------------------------------------------------------------------


def result_for(inspection: Inspection) -> InspectionResult | None:
    return db.session.scalar(select(InspectionResult).where(InspectionResult.inspection_id == inspection.id))


def enter_result(
    inspection: Inspection,
    version: InspectionVersion,
    categories: Sequence[ResultCategory],
    *,
    summary: str,
    publish: bool,
    withhold_reason: str,
    actor: User,
) -> InspectionResult:
    """Create or replace the inspection's result on ``version`` (review's approve calls this).

    ``publish=False`` needs a reason and asks a leader (withhold_status ``requested``); the result
    is not published while the request waits, nor after the leader approves it.
    """
    if not categories:
        raise ApiError("result_category_required")
    withhold_reason = withhold_reason.strip()
    if not publish and not withhold_reason:
        raise ApiError("withhold_reason_required")
    result = result_for(inspection)
    now = utcnow()
    if result is None:
        result = InspectionResult(inspection_id=inspection.id)
        db.session.add(result)
    result.version_id = version.id
    result.summary = summary.strip() or default_summary(categories)
    result.publish = publish
    result.withhold_status = "none" if publish else "requested"
    result.withhold_reason = "" if publish else withhold_reason
    result.withhold_decided_by_id = None
    result.withhold_decided_at = None
    result.withhold_decision_note = ""
    result.entered_by_id = actor.id
    result.entered_at = now
    result.category_links = [InspectionResultCategory(category_id=c.id) for c in categories]
    db.session.flush()
    if not publish:
        record_event(
            "result.withholding_requested",
            "inspection",
            inspection.id,
            actor_id=actor.id,
            details={"version": version.number, "reason": result.withhold_reason},
        )
    return result


def withholdings_visible_to(user: User, status: str | None = "requested") -> Select[InspectionResult]:
    """Results whose withholding was requested (or decided) on inspections the user may see."""
    visible = inspections_visible_to(user).with_only_columns(Inspection.id)
    stmt = select(InspectionResult).where(InspectionResult.inspection_id.in_(visible.scalar_subquery()))
    if status is None:
        return stmt.where(InspectionResult.withhold_status != "none")
    return stmt.where(InspectionResult.withhold_status == status)


def decide_withholding(
    result: InspectionResult, inspection: Inspection, approve: bool, note: str, actor: User
) -> None:
    """A leader approves withholding (never published) or rejects it (the result will be published)."""
    if inspection.state == "archived":
        raise ApiError("inspection_archived")
    if result.withhold_status != "requested":
        raise ApiError("withhold_not_requested", detail=f"withhold_status is {result.withhold_status}")
    if result.entered_by_id == actor.id:
        raise ApiError("withhold_own_request")
    result.withhold_status = "approved" if approve else "rejected"
    result.publish = not approve
    result.withhold_decided_by_id = actor.id
    result.withhold_decided_at = utcnow()
    result.withhold_decision_note = note.strip()
    db.session.flush()
    record_event(
        "result.withholding_approved" if approve else "result.withholding_rejected",
        "inspection",
        inspection.id,
        actor_id=actor.id,
        details={"reason": result.withhold_reason, "note": result.withhold_decision_note},
    )
