"""The archive pages (staff): archived inspections with retention, and one record's manifest check."""

from __future__ import annotations

import json

from flask import Blueprint, current_app, render_template, request
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from server.accounts.auth import current_user, page_auth
from server.archive.models import ArchiveRecord
from server.archive.services import check_archive
from server.errors import ApiError
from server.extensions import db
from server.i18n import today_local
from server.inspections.models import Inspection
from server.inspections.services import inspections_visible_to

bp = Blueprint("archive", __name__)

STAFF = ("admin", "supervisor", "leader")
PER_PAGE = 50


@bp.route("/archive")
@page_auth(*STAFF)
def archive_list() -> str:
    visible = inspections_visible_to(current_user()).where(Inspection.state == "archived")
    q = request.args.get("q", "").strip()
    if q:
        from server.directory.models import Target

        visible = visible.join(Target, Target.id == Inspection.target_id).where(
            Target.name.contains(q, autoescape=True) | Target.code.startswith(q.upper(), autoescape=True)
        )
    ids = visible.with_only_columns(Inspection.id)
    total = db.session.scalar(select(func.count()).select_from(ids.subquery())) or 0
    page = max(1, request.args.get("page", type=int) or 1)
    records = list(
        db.session.scalars(
            select(ArchiveRecord)
            .where(ArchiveRecord.inspection_id.in_(ids))
            .order_by(ArchiveRecord.archived_at.desc(), ArchiveRecord.id.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        )
    )
    inspections = {
        i.id: i
        for i in db.session.scalars(
            select(Inspection)
            .where(Inspection.id.in_([r.inspection_id for r in records]))
            .options(selectinload(Inspection.target))
        )
    }
    return render_template(
        "archive/list.html",
        records=records,
        archive_after_days=int(current_app.config["ARCHIVE_AFTER_DAYS"]),
        inspections=inspections,
        today=today_local(),
        q=q,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        total=total,
    )


@bp.route("/archive/<int:inspection_id>")
@page_auth(*STAFF)
def archive_detail(inspection_id: int) -> str:
    inspection = db.session.scalar(
        inspections_visible_to(current_user()).where(Inspection.id == inspection_id)
    )
    record = db.session.scalar(select(ArchiveRecord).where(ArchiveRecord.inspection_id == inspection_id))
    if inspection is None or record is None:
        raise ApiError("not_found")
    return render_template(
        "archive/detail.html",
        inspection=inspection,
        record=record,
        check=check_archive(record),
        today=today_local(),
        manifest_text=json.dumps(record.manifest, ensure_ascii=False, indent=1, sort_keys=True),
    )
