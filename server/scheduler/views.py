"""The jobs page (admins): the job table, who runs the scheduler, recent runs, and "run now"."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from server.accounts.auth import page_auth
from server.db import utcnow
from server.errors import ApiError
from server.i18n import translate
from server.scheduler import services

bp = Blueprint("jobs", __name__)

STATUS_NAMES = {"running": "运行中", "ok": "成功", "failed": "失败"}
TRIGGER_NAMES = {"schedule": "定时", "manual": "手动", "cli": "命令行"}


@bp.route("/admin/jobs")
@page_auth("admin")
def jobs() -> str:
    job_id = request.args.get("job", "").strip() or None
    now = utcnow()
    lease = services.current_lease()
    return render_template(
        "jobs/jobs.html",
        statuses=services.job_statuses(now),
        runs=services.recent_runs(job_id),
        job_filter=job_id or "",
        lease=lease,
        lease_live=lease is not None and lease.expires_at > now,
        STATUS_NAMES=STATUS_NAMES,
        TRIGGER_NAMES=TRIGGER_NAMES,
    )


@bp.route("/admin/jobs/<job_id>/run", methods=["POST"])
@page_auth("admin")
def run_now(job_id: str) -> Response:
    """Run a job at once in this request (every job is idempotent, so a concurrent scheduled run
    of the same job does no harm)."""
    try:
        run = services.run_job(job_id, trigger="manual")
    except ApiError as exc:
        if exc.code == "not_found":
            raise
        flash(translate("任务暂不可用：{detail}", detail=exc.detail or ""), "error")
        return redirect(url_for("jobs.jobs"))
    if run.status == "ok":
        flash(translate("已运行：{job}", job=job_id))
    else:
        flash(translate("运行失败：{job}", job=job_id), "error")
    return redirect(url_for("jobs.jobs", job=job_id))
