"""The review pages: the queue, an inspection's review page, return / approve, the leader's
withholding decisions and the evidence images staff pages show.

Staff only (admin, supervisor, leader); an inspection the user may not see answers 404. Forms post
with CSRF; on any refusal the page is shown again with what the reviewer typed and the problem.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from server.accounts.auth import current_user, page_auth
from server.accounts.models import User
from server.accounts.services import visible_department_ids
from server.directory.models import Department
from server.errors import CATALOGUE, ApiError
from server.evidence.api import CACHE_CONTROL
from server.evidence.services import blob_file, can_view_blob, held_blob, is_sha256
from server.extensions import count_rows, db
from server.i18n import current_locale, field_message, to_local, today_local, translate
from server.inspections.labels import ANSWER_NAMES, OUTCOME_NAMES, ROLE_NAMES, STATE_NAMES
from server.inspections.models import Inspection, InspectionTask
from server.inspections.services import inspections_visible_to
from server.planning.models import Task
from server.results import services as results
from server.results.models import InspectionResult, ResultCategory
from server.review import services
from server.review.photos import photo_checks
from server.review.services import QUEUE_STATES, STAFF

bp = Blueprint("review", __name__)

PER_PAGE = 25
RENDITIONS = ("thumb", "review", "original")

TAB_NAMES = {"submitted": "待审核", "returned": "已退回修改", "approved": "已通过待公示"}
VERSION_STATUS = {"submitted": "待审核", "returned": "已退回", "approved": "已通过"}
WITHHOLD_NAMES = {
    "none": "予以公示",
    "requested": "不予公示，待领导审批",
    "approved": "领导已批准不予公示",
    "rejected": "领导未批准不予公示，予以公示",
}
SIGNER_ROLES = {"inspector": "执法检查人员", "representative": "被检查对象代表"}
KIND_NAMES = {"general": "一般检查事项", "key": "重点检查事项"}
EVENT_NAMES = {
    "inspection.submitted": "提交检查记录",
    "inspection.returned": "已退回修改",
    "inspection.approved": "已审核通过",
    "inspection.published": "公示",
    "inspection.archived": "归档",
    "result.withholding_requested": "申请不予公示",
    "result.withholding_approved": "领导批准不予公示",
    "result.withholding_rejected": "领导驳回不予公示申请",
}


def _answer_label(value: str | None) -> str:
    return translate(ANSWER_NAMES[value]) if value in ANSWER_NAMES else translate("未作答")


def _category_label(category: ResultCategory) -> str:
    return category.name_en if current_locale() == "en" and category.name_en else category.name


def _iso_local(value: Any, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A device's ISO 8601 time (with its offset) shown in Asia/Shanghai; unparseable text as is."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    local = to_local(parsed)
    return local.strftime(fmt) if local else value


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "STATE_NAMES": STATE_NAMES,
        "TAB_NAMES": TAB_NAMES,
        "VERSION_STATUS": VERSION_STATUS,
        "WITHHOLD_NAMES": WITHHOLD_NAMES,
        "ROLE_NAMES": ROLE_NAMES,
        "SIGNER_ROLES": SIGNER_ROLES,
        "KIND_NAMES": KIND_NAMES,
        "EVENT_NAMES": EVENT_NAMES,
        "OUTCOME_NAMES": OUTCOME_NAMES,
        "answer_label": _answer_label,
        "category_label": _category_label,
        "iso_local": _iso_local,
    }


def _problem_message(exc: ApiError) -> str:
    entry = CATALOGUE[exc.code]
    text = entry.en if current_locale() == "en" else entry.zh
    if isinstance(exc.errors, dict):
        details = "; ".join(
            "; ".join(map(field_message, v)) if isinstance(v, list) else field_message(v)
            for v in exc.errors.values()
        )
        text = f"{text}: {details}"
    elif exc.detail:
        text = f"{text} ({exc.detail})"
    return text


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


def _page() -> int:
    return max(1, _int_arg("page") or 1)


def _inspection_or_404(inspection_id: int) -> Inspection:
    inspection = services.visible_inspection(current_user(), inspection_id)
    if inspection is None:
        abort(404)
    return inspection


# -- the queue -------------------------------------------------------------------------------------


@bp.route("/review")
@page_auth(*STAFF)
def queue() -> str:
    """Submitted inspections (and the returned and approved tabs), soonest result deadline first."""
    user = current_user()
    today = today_local()
    state = request.args.get("state", "submitted")
    if state not in QUEUE_STATES:
        state = "submitted"
    filters = services.QueueFilters(
        department_id=_int_arg("department_id"),
        task_id=_int_arg("task_id"),
        q=request.args.get("q", "").strip()[:100],
        overdue=request.args.get("overdue") == "1",
    )
    stmt = services.review_queue(user, state, filters, today)
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, math.ceil(total / PER_PAGE))
    page = min(_page(), pages)
    inspections = list(db.session.scalars(stmt.offset((page - 1) * PER_PAGE).limit(PER_PAGE)))
    rows = [services.queue_row(i, today) for i in inspections]
    result_rows = {
        r.inspection_id: r
        for r in db.session.scalars(
            select(InspectionResult).where(InspectionResult.inspection_id.in_([i.id for i in inspections]))
        )
    }
    args = {
        "department_id": filters.department_id,
        "task_id": filters.task_id,
        "q": filters.q or None,
        "overdue": 1 if filters.overdue else None,
    }
    return render_template(
        "review/queue.html",
        state=state,
        rows=rows,
        result_rows=result_rows,
        counts=services.queue_counts(user, filters, today),
        filters=filters,
        args=args,
        departments=_departments(user),
        tasks=_tasks(user, filters.department_id),
        page=page,
        pages=pages,
        total=total,
        today=today,
    )


def _departments(user: User) -> list[Department]:
    visible = visible_department_ids(user)
    stmt = select(Department).order_by(Department.code)
    if visible is not None:
        stmt = stmt.where(Department.id.in_(visible or {-1}))
    return list(db.session.scalars(stmt))


def _tasks(user: User, department_id: int | None) -> list[Task]:
    """Tasks with inspections in the queue the user may see (for the task filter)."""
    visible = (
        inspections_visible_to(user)
        .where(Inspection.state.in_(QUEUE_STATES))
        .with_only_columns(Inspection.id)
    )
    stmt = (
        select(Task)
        .where(
            Task.id.in_(
                select(InspectionTask.task_id).where(
                    InspectionTask.inspection_id.in_(visible.scalar_subquery())
                )
            )
        )
        .order_by(Task.window_start.desc(), Task.id)
        .limit(200)
    )
    if department_id is not None:
        stmt = stmt.where(Task.initiating_department_id == department_id)
    return list(db.session.scalars(stmt))


# -- one inspection --------------------------------------------------------------------------------


def _review_page(
    inspection: Inspection,
    number: int | None = None,
    *,
    form: dict[str, Any] | None = None,
    form_kind: str = "",
    error: str = "",
    status: int = 200,
) -> tuple[str, int]:
    user = current_user()
    version = services.version_by_number(inspection, number) if number else inspection.latest_version
    if number and version is None:
        abort(404)
    comments = services.version_comments([version.id])[version.id] if version else []
    record: dict[str, Any] = version.record if version else {}
    frozen = record.get("inspection") or {}
    team = {m.get("inspector_id"): m for m in frozen.get("team") or []}
    answers = {a.get("checkpoint_id"): a for a in record.get("answers") or []}
    photos = [{**p, "checks": photo_checks(p)} for p in record.get("photos") or []]
    photos_by_checkpoint: dict[int, list[tuple[int, dict[str, Any]]]] = {}
    for n, p in enumerate(photos, start=1):
        if isinstance(p.get("checkpoint_id"), int):
            photos_by_checkpoint.setdefault(p["checkpoint_id"], []).append((n, p))
    categories = results.list_categories()
    result = results.result_for(inspection)
    reviewable = (
        version is not None
        and version is inspection.latest_version
        and version.status == "submitted"
        and inspection.state == "submitted"
    )
    may_review = reviewable and services.can_review(user, inspection)
    suggested = results.suggested_categories(record, categories) if version else []
    if form is None or form_kind != "approve":
        approve_form = {
            "categories": suggested,
            "summary": "",
            "publish": True,
            "withhold_reason": "",
        }
    else:
        approve_form = form
    return_form = form if form is not None and form_kind == "return" else {"comment": "", "items": {}}
    history = services.decision_history(inspection)
    people = _people(
        [e.actor_id for e in history]
        + [v.submitted_by_id for v in inspection.versions]
        + [v.decided_by_id for v in inspection.versions]
        + [c.author_id for c in comments]
        + ([result.entered_by_id, result.withhold_decided_by_id] if result else [])
    )
    return (
        render_template(
            "review/inspection.html",
            inspection=inspection,
            version=version,
            record=record,
            frozen=frozen,
            team=team,
            answers=answers,
            photos=photos,
            photos_by_checkpoint=photos_by_checkpoint,
            checkpoint_labels=_checkpoint_labels(frozen),
            comments_by_checkpoint={c.checkpoint_id: c for c in comments if c.checkpoint_id is not None},
            general_comments=[c for c in comments if c.checkpoint_id is None],
            diff=services.version_diff(inspection, version) if version else None,
            result=result,
            categories=[c for c in categories if c.active],
            may_review=may_review,
            reviewing_own=reviewable and not services.can_review(user, inspection),
            may_decide=_may_decide(user, result),
            approve_form=approve_form,
            return_form=return_form,
            form_kind=form_kind,
            error=error,
            history=history,
            people=people,
            today=today_local(),
            overdue=services.is_overdue(inspection, today_local()),
        ),
        status,
    )


def _checkpoint_labels(frozen: Mapping[str, Any]) -> dict[int, str]:
    """Checkpoint id → "item-position" as the checklist numbers it (1-2: item 1, checkpoint 2)."""
    labels: dict[int, str] = {}
    for n, item in enumerate(frozen.get("checklist") or [], start=1):
        for checkpoint in item.get("checkpoints") or []:
            labels[checkpoint["id"]] = f"{n}-{checkpoint.get('position', '')}"
    return labels


def _people(ids: list[int | None]) -> dict[int, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(wanted)))}


def _may_decide(user: User, result: InspectionResult | None) -> bool:
    return (
        result is not None
        and user.has_role("leader")
        and result.withhold_status == "requested"
        and result.entered_by_id != user.id
    )


@bp.route("/review/inspections/<int:inspection_id>")
@page_auth(*STAFF)
def inspection_page(inspection_id: int) -> tuple[str, int]:
    """The inspection as submitted (any version; the latest by default) with the review forms."""
    inspection = _inspection_or_404(inspection_id)
    return _review_page(inspection, _int_arg("version"))


def _form_version() -> int:
    value = request.form.get("version", "")
    return int(value) if value.isdigit() else 0


def _shown_after_error(inspection: Inspection, number: int) -> int | None:
    """The version to show again with a refused form: the one posted if it exists, else the latest."""
    return number if services.version_by_number(inspection, number) else None


@bp.route("/review/inspections/<int:inspection_id>/return", methods=["POST"])
@page_auth(*STAFF)
def return_inspection(inspection_id: int) -> Response | tuple[str, int]:
    inspection = _inspection_or_404(inspection_id)
    number = _form_version()
    comment = request.form.get("comment", "")
    items = {
        int(key.removeprefix("item_")): value
        for key, value in request.form.items()
        if key.startswith("item_") and key.removeprefix("item_").isdigit()
    }
    try:
        services.return_inspection(
            inspection,
            number,
            current_user(),
            comment=comment,
            items=[{"checkpoint_id": k, "comment": v} for k, v in items.items()],
        )
    except ApiError as exc:
        db.session.rollback()
        form = {"comment": comment, "items": items}
        return _review_page(
            inspection,
            _shown_after_error(inspection, number),
            form=form,
            form_kind="return",
            error=_problem_message(exc),
            status=exc.status,
        )
    db.session.commit()
    flash(translate("已退回修改：{name}", name=inspection.target.name))
    return redirect(url_for("review.queue"))


@bp.route("/review/inspections/<int:inspection_id>/approve", methods=["POST"])
@page_auth(*STAFF)
def approve_inspection(inspection_id: int) -> Response | tuple[str, int]:
    inspection = _inspection_or_404(inspection_id)
    number = _form_version()
    form: dict[str, Any] = {
        "categories": request.form.getlist("categories"),
        "summary": request.form.get("summary", ""),
        "publish": request.form.get("publish", "1") != "0",
        "withhold_reason": request.form.get("withhold_reason", ""),
    }
    try:
        services.approve_inspection(
            inspection,
            number,
            current_user(),
            categories=form["categories"],
            summary=form["summary"],
            publish=form["publish"],
            withhold_reason=form["withhold_reason"],
        )
    except ApiError as exc:
        db.session.rollback()
        return _review_page(
            inspection,
            _shown_after_error(inspection, number),
            form=form,
            form_kind="approve",
            error=_problem_message(exc),
            status=exc.status,
        )
    db.session.commit()
    if form["publish"]:
        flash(translate("已审核通过：{name}", name=inspection.target.name))
    else:
        flash(translate("已审核通过：{name}；不予公示的申请已提交领导审批", name=inspection.target.name))
    return redirect(url_for("review.queue"))


# -- withholding decisions (leaders) ---------------------------------------------------------------


@bp.route("/review/withholdings")
@page_auth(*STAFF)
def withholdings() -> str:
    """Requests not to publish a result, waiting for a leader; and the latest decisions."""
    user = current_user()
    load = (selectinload(InspectionResult.category_links),)
    requested = results.withholdings_visible_to(user, "requested")
    pending = list(
        db.session.scalars(
            requested.order_by(InspectionResult.entered_at, InspectionResult.id).options(*load).limit(200)
        )
    )
    pending_total = count_rows(requested)
    decided = list(
        db.session.scalars(
            results.withholdings_visible_to(user, None)
            .where(InspectionResult.withhold_status != "requested")
            .order_by(InspectionResult.withhold_decided_at.desc(), InspectionResult.id.desc())
            .options(*load)
            .limit(50)
        )
    )
    inspections = {
        i.id: i
        for i in db.session.scalars(
            select(Inspection)
            .where(Inspection.id.in_([r.inspection_id for r in pending + decided]))
            .options(selectinload(Inspection.target))
        )
    }
    people = _people(
        [r.entered_by_id for r in pending + decided] + [r.withhold_decided_by_id for r in decided]
    )
    return render_template(
        "review/withholdings.html",
        pending=pending,
        pending_total=pending_total,
        decided=decided,
        inspections=inspections,
        people=people,
        may_decide=lambda r: _may_decide(user, r),
    )


@bp.route("/review/inspections/<int:inspection_id>/withholding", methods=["POST"])
@page_auth("leader")
def decide_withholding(inspection_id: int) -> Response:
    inspection = _inspection_or_404(inspection_id)
    result = results.result_for(inspection)
    if result is None:
        abort(404)
    decision = request.form.get("decision", "")
    back = request.form.get("next", "")
    target = back if back in ("withholdings", "inspection") else "withholdings"
    destination = (
        url_for("review.withholdings")
        if target == "withholdings"
        else url_for("review.inspection_page", inspection_id=inspection.id)
    )
    if decision not in ("approve", "reject"):
        flash(translate("请选择批准或驳回"), "error")
        return redirect(destination)
    try:
        results.decide_withholding(
            result, inspection, decision == "approve", request.form.get("note", ""), current_user()
        )
    except ApiError as exc:
        db.session.rollback()
        flash(_problem_message(exc), "error")
        return redirect(destination)
    db.session.commit()
    if decision == "approve":
        flash(translate("已批准不予公示：{name}", name=inspection.target.name))
    else:
        flash(translate("已驳回不予公示申请，结果将予以公示：{name}", name=inspection.target.name))
    return redirect(destination)


# -- evidence images -------------------------------------------------------------------------------


@bp.route("/review/blobs/<sha256>")
@page_auth()
def blob(sha256: str) -> Response:
    """A photo or signature image (thumb, review or original) for the staff pages; 404 unless the
    user may see it (``can_view_blob``: for staff, an inspection of theirs refers to it)."""
    rendition = request.args.get("rendition", "thumb")
    if rendition not in RENDITIONS or not is_sha256(sha256):
        abort(404)
    user = current_user()
    found = held_blob(sha256)
    if found is None or not can_view_blob(user, found):
        abort(404)
    path, content_type, etag = blob_file(found, rendition)
    # blob_file may make the renditions on a file's first view (evidence services): keep them.
    db.session.commit()
    resp = send_file(path, mimetype=content_type, etag=etag, conditional=True, max_age=None)
    resp.headers["Cache-Control"] = CACHE_CONTROL
    return resp
