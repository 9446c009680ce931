"""The bulk-import pages (admin only): upload, recent jobs, a job's progress, errors or summary.

An upload becomes an ``ImportJob`` that a background thread processes; the job page polls
``import_status`` every second while it runs, then shows the error table or the summary. A clean
dry run offers "apply this file", which imports exactly the stored bytes that were checked.
"""

from __future__ import annotations

import csv
import io
from pathlib import PurePath
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response as BaseResponse

from server.accounts.auth import current_user, page_auth
from server.directory.import_formats import (
    COLUMNS,
    KEY_COLUMNS,
    KIND_LABELS,
    MODE_LABELS,
    error_message,
    template_csv,
)
from server.directory.importer import (
    FINAL_STATUSES,
    STATUS_LABELS,
    SUMMARY_LABELS,
    copy_import_job,
    create_import_job,
    job_progress,
    rerun_import_job,
    start_import,
)
from server.directory.models import IMPORT_KINDS, IMPORT_MODES, ImportJob
from server.directory.views import bp
from server.errors import ApiError
from server.extensions import db
from server.i18n import translate

PER_PAGE = 20
ALLOWED_SUFFIXES = (".csv", ".txt", ".tsv", ".xlsx", ".xlsm")


def _inert(value: object) -> object:
    """A cell Excel will not run as a formula: messages quote the user's own cell values."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def _job_or_404(job_id: int) -> ImportJob:
    job = db.session.get(ImportJob, job_id)
    if job is None:
        raise ApiError("import_not_found")
    return job


def _page_context(**extra: Any) -> dict[str, Any]:
    return {
        "kinds": IMPORT_KINDS,
        "modes": IMPORT_MODES,
        "kind_labels": KIND_LABELS,
        "mode_labels": MODE_LABELS,
        "status_labels": STATUS_LABELS,
        "columns": COLUMNS,
        "key_columns": KEY_COLUMNS,
        **extra,
    }


def _jobs_page() -> tuple[list[ImportJob], dict[str, Any]]:
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    total = db.session.scalar(select(func.count()).select_from(ImportJob)) or 0
    jobs = list(
        db.session.scalars(
            select(ImportJob).order_by(ImportJob.id.desc()).limit(PER_PAGE).offset((page - 1) * PER_PAGE)
        )
    )
    last = max(1, -(-total // PER_PAGE))
    pager = {
        "page": page,
        "last": last,
        "prev": url_for("directory.imports", page=page - 1) if page > 1 else None,
        "next": url_for("directory.imports", page=page + 1) if page < last else None,
    }
    return jobs, pager


@bp.route("/directory/imports", methods=["GET", "POST"])
@page_auth("admin")
def imports() -> str | BaseResponse | tuple[str, int]:
    """Upload form (dry run on by default) and the list of recent jobs."""
    kind = request.args.get("kind", "targets")
    mode, dry_run = "create", True
    errors: dict[str, str] = {}
    if request.method == "POST":
        kind, mode = request.form.get("kind", ""), request.form.get("mode", "")
        dry_run = request.form.get("dry_run") == "1"  # an unticked checkbox sends nothing
        upload = request.files.get("file")
        if kind not in IMPORT_KINDS:
            errors["kind"] = translate("请选择导入类型")
        if mode not in IMPORT_MODES:
            errors["mode"] = translate("请选择导入方式")
        data = b""
        if upload is None or not upload.filename:
            errors["file"] = translate("请选择要上传的文件")
        elif PurePath(upload.filename).suffix.lower() not in ALLOWED_SUFFIXES:
            errors["file"] = translate("只支持 CSV 或 XLSX 文件")
        else:
            data = upload.read()
            if not data:
                errors["file"] = translate("文件是空的")
        if not errors and upload is not None:
            job = create_import_job(
                kind,
                data,
                upload.filename or "upload",
                mode=mode,
                dry_run=dry_run,
                actor_id=current_user().id,
            )
            db.session.commit()
            start_import(job)
            flash(translate("文件已上传，正在校验"))
            return redirect(url_for("directory.import_job", job_id=job.id))
    form = {"kind": kind, "mode": mode, "dry_run": dry_run}
    jobs, pager = _jobs_page()
    html = render_template(
        "directory/imports.html", **_page_context(form=form, errors=errors, jobs=jobs, pager=pager)
    )
    return (html, 422) if errors else html


@bp.route("/directory/imports/<int:job_id>")
@page_auth("admin")
def import_job(job_id: int) -> str:
    """One job: a progress bar while it runs, then its errors or its summary."""
    job = _job_or_404(job_id)
    status, processed = job_progress(job)
    errors = [{**e, "text": error_message(e)} for e in job.errors or []]
    summary_rows = [
        (translate(label), job.summary[key])
        for key, label in SUMMARY_LABELS.items()
        if key in (job.summary or {})
    ]
    return render_template(
        "directory/imports_job.html",
        **_page_context(
            job=job,
            status=status,
            processed=processed,
            running=status not in FINAL_STATUSES,
            errors=errors,
            summary_rows=summary_rows,
        ),
    )


@bp.route("/directory/imports/<int:job_id>/status")
@page_auth("admin")
def import_status(job_id: int) -> dict[str, Any]:
    """Polled by the job page: the live status and progress."""
    job = _job_or_404(job_id)
    status, processed = job_progress(job)
    return {
        "id": job.id,
        "status": status,
        "status_label": translate(STATUS_LABELS[status]),
        "processed_rows": processed,
        "total_rows": job.total_rows,
        "error_count": job.error_count,
        "finished": status in FINAL_STATUSES,
    }


@bp.route("/directory/imports/<int:job_id>/rerun", methods=["POST"])
@page_auth("admin")
def import_rerun(job_id: int) -> BaseResponse:
    """Run a failed job's file again (after a restart interrupted it, or an internal error)."""
    source = _job_or_404(job_id)
    try:
        job = rerun_import_job(source, current_user().id)
    except ApiError:
        db.session.rollback()
        flash(translate("只有失败的导入才能重新运行"), "error")
        return redirect(url_for("directory.import_job", job_id=source.id))
    db.session.commit()
    start_import(job)
    flash(translate("正在重新运行导入"))
    return redirect(url_for("directory.import_job", job_id=job.id))


@bp.route("/directory/imports/<int:job_id>/apply", methods=["POST"])
@page_auth("admin")
def import_apply(job_id: int) -> BaseResponse:
    """Import the file of a clean dry run for real (it is checked again first)."""
    source = _job_or_404(job_id)
    try:
        job = copy_import_job(source, current_user().id)
    except ApiError as exc:
        db.session.rollback()
        message = (
            "只有校验通过的试导入才能正式导入"
            if exc.code == "import_not_ready"
            else "导入文件有错误，未导入任何数据"
        )
        flash(translate(message), "error")
        return redirect(url_for("directory.import_job", job_id=source.id))
    db.session.commit()
    start_import(job)
    flash(translate("正在正式导入"))
    return redirect(url_for("directory.import_job", job_id=job.id))


@bp.route("/directory/imports/<int:job_id>/errors.csv")
@page_auth("admin")
def import_errors_csv(job_id: int) -> Response:
    """The error list as CSV (UTF-8 with BOM, so Excel opens it) to fix the file row by row."""
    job = _job_or_404(job_id)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([translate("行号"), translate("列"), translate("原因代码"), translate("说明")])
    for entry in job.errors or []:
        cells = [entry.get("line") or "", entry.get("column") or "", entry["code"], error_message(entry)]
        writer.writerow([_inert(c) for c in cells])
    body = "\ufeff" + buf.getvalue()
    return Response(
        body.encode("utf-8"),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="import-{job.id}-errors.csv"'},
    )


@bp.route("/directory/imports/templates/<kind>.csv")
@page_auth("admin")
def import_template(kind: str) -> Response:
    """An empty template (the header row) for one kind of import."""
    if kind not in IMPORT_KINDS:
        abort(404)
    return Response(
        template_csv(kind),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="spotcheck-{kind}-template.csv"'},
    )
