"""The follow-up pages: the ledger (台账), an inspection's dispositions with the form to open one,
a follow-up with its steps and evidence, and the evidence images (session-authenticated).

Only staff of the inspection's task departments see any of it ("谁监管、谁负责"); others get 404.
A refused form is shown again with what was typed and a message per field, never dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from server.accounts.auth import current_user, page_auth
from server.errors import CATALOGUE, ApiError
from server.evidence.services import blob_file, can_view_blob, held_blob, is_sha256, receive_blob
from server.extensions import db
from server.followup import services
from server.followup.models import FOLLOW_UP_KINDS, FollowUp
from server.i18n import current_locale, today_local, translate
from server.inspections.models import Inspection
from server.results.models import InspectionResult

bp = Blueprint("followup", __name__)

PER_PAGE = 30
# What each field's problem means to the person filling in the form (the API's messages are English).
FIELD_MESSAGES = {
    "kind": "请选择处置方式",
    "category_id": "请选择本次检查结果中的问题类别",
    "description": "未选择问题类别时，请描述问题",
    "deadline": "责令改正须填写整改期限，且不早于检查日期",
    "transfer_to": "移送其他部门须填写接收部门",
    "note": "请填写说明或上传证据文件",
    "evidence": "证据文件无效或过多",
    "outcome": "请填写处置结果",
    "closed_on": "完结日期不能晚于今天，也不能早于作出处置决定的日期",
}


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "FOLLOW_UP_KINDS": services.KIND_NAMES,
        "FOLLOW_UP_STATUS": services.STATUS_NAMES,
        "STEP_NAMES": services.STEP_NAMES,
        "EVENT_NAMES": services.EVENT_NAMES,
        "REQUIRED_STEPS": services.REQUIRED_STEPS,
        "is_overdue": services.is_overdue,
    }


def _problem(exc: ApiError) -> tuple[str, dict[str, str]]:
    """The message for the top of the form and one per refused field."""
    entry = CATALOGUE[exc.code]
    text = entry.en if current_locale() == "en" else entry.zh
    fields = {}
    if isinstance(exc.errors, dict):
        fields = {name: translate(FIELD_MESSAGES.get(name, "请检查此项")) for name in exc.errors}
    return text, fields


def _inspection(inspection_id: int) -> Inspection:
    inspection = db.session.get(Inspection, inspection_id)
    if (
        inspection is None
        or inspection.state == "cancelled"
        or not services.can_handle(current_user(), inspection)
    ):
        abort(404)
    return inspection


def _follow_up(follow_up_id: int) -> FollowUp:
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None:
        abort(404)
    _inspection(follow_up.inspection_id)
    return follow_up


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


# -- the ledger ------------------------------------------------------------------------------------


@bp.route("/follow-ups")
@page_auth(*services.STAFF)
def ledger() -> str:
    user = current_user()
    status = request.args.get("status", "")
    kind = request.args.get("kind", "")
    overdue = request.args.get("overdue") == "1"
    deadline_from = _date(request.args.get("deadline_from", ""))
    deadline_to = _date(request.args.get("deadline_to", ""))
    filters = {
        "status": status if status in services.STATUS_NAMES else None,
        "kind": kind if kind in FOLLOW_UP_KINDS else None,
        "overdue": overdue,
        "deadline_from": deadline_from,
        "deadline_to": deadline_to,
    }
    query = services.ledger_query(user, filters)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    page_arg = request.args.get("page", "")
    page = max(1, int(page_arg)) if page_arg.isdigit() and len(page_arg) < 6 else 1
    rows = list(db.session.scalars(query.offset((page - 1) * PER_PAGE).limit(PER_PAGE)))
    args = {
        "status": filters["status"],
        "kind": filters["kind"],
        "overdue": "1" if overdue else None,
        "deadline_from": deadline_from.isoformat() if deadline_from else None,
        "deadline_to": deadline_to.isoformat() if deadline_to else None,
    }
    args = {k: v for k, v in args.items() if v}
    return render_template(
        "followup/ledger.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, (total + PER_PAGE - 1) // PER_PAGE),
        filters=filters,
        args=args,
        awaiting=services.awaiting_disposition(user, limit=100),
        today=today_local(),
    )


# -- an inspection's dispositions ------------------------------------------------------------------


def _inspection_page(
    inspection: Inspection,
    form: dict[str, str] | None = None,
    error: str | None = None,
    errors: dict[str, str] | None = None,
) -> str:
    result = db.session.scalar(
        select(InspectionResult).where(InspectionResult.inspection_id == inspection.id)
    )
    follow_ups = list(
        db.session.scalars(
            select(FollowUp).where(FollowUp.inspection_id == inspection.id).order_by(FollowUp.id)
        )
    )
    problems = services.follow_up_categories(result) if result is not None else []
    open_categories = {f.category_id for f in follow_ups if f.status == "open"}
    return render_template(
        "followup/inspection.html",
        inspection=inspection,
        result=result,
        follow_ups=follow_ups,
        problems=problems,
        choosable=[c for c in problems if c.id not in open_categories],
        handled={f.category_id for f in follow_ups},
        may_open=inspection.state in services.FOLLOW_UP_STATES
        and result is not None
        and result.version_id is not None,
        form=form or {},
        error=error,
        errors=errors or {},
    )


@bp.route("/inspections/<int:inspection_id>/follow-ups", methods=["GET", "POST"])
@page_auth(*services.STAFF)
def inspection_follow_ups(inspection_id: int) -> str | Response | tuple[str, int]:
    """The problems found on an inspection, their dispositions, and the form to open one."""
    inspection = _inspection(inspection_id)
    if request.method == "GET":
        return _inspection_page(inspection)
    form = {
        k: request.form.get(k, "").strip()
        for k in ("kind", "category_id", "description", "deadline", "transfer_to")
    }
    deadline = _date(form["deadline"])
    if form["deadline"] and deadline is None:
        return _inspection_page(
            inspection,
            form,
            translate("请检查标出的内容"),
            {"deadline": translate(FIELD_MESSAGES["deadline"])},
        ), 422
    category = form["category_id"]
    data = {
        "kind": form["kind"],
        "category_id": int(category) if category.isdigit() and len(category) < 10 else None,
        "description": form["description"][:4000],
        "deadline": deadline,
        "transfer_to": form["transfer_to"][:200],
    }
    try:
        follow_up = services.open_follow_up(inspection, current_user(), data)
    except ApiError as exc:
        db.session.rollback()
        message, fields = _problem(exc)
        return _inspection_page(inspection, form, message, fields), exc.status
    db.session.commit()
    flash(translate("已记录后续处置：{kind}", kind=translate(services.KIND_NAMES[follow_up.kind])))
    return redirect(url_for("followup.detail", follow_up_id=follow_up.id))


# -- one follow-up ---------------------------------------------------------------------------------


def _detail_page(
    follow_up: FollowUp,
    step_form: dict[str, str] | None = None,
    close_form: dict[str, str] | None = None,
    error: str | None = None,
    errors: dict[str, str] | None = None,
) -> str:
    return render_template(
        "followup/detail.html",
        f=follow_up,
        inspection=follow_up.inspection,
        step_form=step_form or {},
        close_form=close_form or {"closed_on": today_local().isoformat()},
        error=error,
        errors=errors or {},
        today=today_local(),
    )


@bp.route("/follow-ups/<int:follow_up_id>")
@page_auth(*services.STAFF)
def detail(follow_up_id: int) -> str:
    return _detail_page(_follow_up(follow_up_id))


def _receive_uploads(files: list[Any]) -> list[str]:
    """Store each uploaded evidence image (validated, renditions made); their SHA-256s."""
    limit = int(current_app.config["EVIDENCE_MAX_BYTES"])
    shas = []
    for upload in files:
        if not upload or not upload.filename:
            continue
        data = upload.stream.read(limit + 1)
        if len(data) > limit:
            raise ApiError("payload_too_large", detail=f"{upload.filename}: at most {limit} bytes")
        sha = hashlib.sha256(data).hexdigest()
        try:
            receive_blob(sha, [data], current_user(), "photo", max_bytes=limit)
        except ApiError as exc:
            raise ApiError(exc.code, detail=f"{upload.filename}: {exc.detail or ''}".rstrip(": ")) from exc
        shas.append(sha)
    return shas


@bp.route("/follow-ups/<int:follow_up_id>/steps", methods=["POST"])
@page_auth(*services.STAFF)
def add_step(follow_up_id: int) -> str | Response | tuple[str, int]:
    follow_up = _follow_up(follow_up_id)
    form = {k: request.form.get(k, "").strip() for k in ("kind", "note")}
    try:
        shas = _receive_uploads(request.files.getlist("evidence"))
        services.add_follow_up_step(follow_up, current_user(), form["kind"], form["note"][:4000], shas)
    except ApiError as exc:
        db.session.rollback()
        message, fields = _problem(exc)
        if exc.detail and not fields:
            message = f"{message} ({exc.detail})"
        return _detail_page(
            _follow_up(follow_up_id), step_form=form, error=message, errors=fields
        ), exc.status
    db.session.commit()
    flash(translate("已记录处置步骤"))
    return redirect(url_for("followup.detail", follow_up_id=follow_up.id))


@bp.route("/follow-ups/<int:follow_up_id>/close", methods=["POST"])
@page_auth(*services.STAFF)
def close(follow_up_id: int) -> str | Response | tuple[str, int]:
    follow_up = _follow_up(follow_up_id)
    form = {k: request.form.get(k, "").strip() for k in ("closed_on", "outcome")}
    closed_on = _date(form["closed_on"])
    if closed_on is None:
        fields = {"closed_on": translate(FIELD_MESSAGES["closed_on"])}
        return _detail_page(
            follow_up, close_form=form, error=translate("请检查标出的内容"), errors=fields
        ), 422
    try:
        services.close_follow_up(follow_up, current_user(), closed_on, form["outcome"][:4000])
    except ApiError as exc:
        db.session.rollback()
        message, fields = _problem(exc)
        return _detail_page(
            _follow_up(follow_up_id), close_form=form, error=message, errors=fields
        ), exc.status
    db.session.commit()
    flash(translate("后续处置已完结"))
    return redirect(url_for("followup.detail", follow_up_id=follow_up.id))


@bp.route("/follow-ups/evidence/<sha256>")
@page_auth(*services.STAFF)
def evidence(sha256: str) -> Response:
    """An evidence image for the staff pages (the API's GET /blobs/<sha256> needs a bearer token)."""
    rendition = request.args.get("rendition", "thumb")
    if not is_sha256(sha256) or rendition not in ("thumb", "review", "original"):
        abort(404)
    blob = held_blob(sha256)
    if blob is None or not can_view_blob(current_user(), blob):
        abort(404)
    path, content_type, etag = blob_file(blob, rendition)
    db.session.commit()  # a rendition made on first view keeps its hash
    resp = send_file(path, mimetype=content_type, etag=etag, conditional=True, max_age=None)
    resp.headers["Cache-Control"] = "private, max-age=31536000, immutable"
    return resp
