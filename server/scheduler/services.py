"""Run one job and record the run; what the jobs page and ``flask jobs list`` show."""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from flask import current_app
from sqlalchemy import func, select

from server import jobs as job_table
from server.db import utcnow
from server.errors import ApiError
from server.extensions import db
from server.jobs import JobDefinition, job, resolve
from server.scheduler.lock import LEASE_NAME
from server.scheduler.models import JobRun, SchedulerLease

log = logging.getLogger(__name__)
ERROR_CHARS = 4000  # the end of a traceback is what names the failure


def tz() -> ZoneInfo:
    return ZoneInfo(current_app.config.get("TIMEZONE", "Asia/Shanghai"))


def make_trigger(definition: JobDefinition) -> BaseTrigger:
    if definition.trigger == "cron":
        return CronTrigger(timezone=tz(), **definition.schedule)
    if definition.trigger == "interval":
        return IntervalTrigger(timezone=tz(), **definition.schedule)
    raise ValueError(f"unknown trigger {definition.trigger!r}")


def run_job(job_id: str, now: dt.datetime | None = None, trigger: str = "manual", holder: str = "") -> JobRun:
    """Run a job body once and record it; the body's changes and the record commit together.

    A failing body changes nothing (rolled back) and leaves a ``failed`` run with the traceback's
    end. Raises ``not_found`` for an unknown id and ``conflict`` for a job whose code is missing.
    """
    definition = job(job_id)
    if definition is None:
        raise ApiError("not_found", detail=f"no job {job_id!r}")
    body = resolve(definition)
    if body is None:
        raise ApiError("conflict", detail=f"job {job_id} is not available: {definition.func} not found")
    as_of = now or utcnow()
    run = JobRun(
        job_id=job_id, trigger=trigger, as_of=as_of, started_at=utcnow(), status="running", holder=holder
    )
    db.session.add(run)
    db.session.commit()  # visible as running while it runs
    run_id = run.id
    try:
        run.summary = _summary(body(as_of), definition)
        run.status = "ok"
        run.finished_at = utcnow()
        db.session.commit()
    except Exception:
        db.session.rollback()
        log.exception("job %s failed", job_id)
        failed = db.session.get(JobRun, run_id)
        assert failed is not None
        failed.status = "failed"
        failed.error = traceback.format_exc()[-ERROR_CHARS:]
        failed.finished_at = utcnow()
        db.session.commit()
        return failed
    return run


def _summary(result: Any, definition: JobDefinition) -> dict[str, Any]:
    """The run's summary: the body's dict (JSON-safe), or the length of the list it returned."""
    if isinstance(result, list | tuple | set):
        return {definition.counts: len(result)}
    if not isinstance(result, dict):
        return {} if result is None else {"result": str(result)}
    return {
        str(k): v if isinstance(v, int | float | str | bool | type(None) | list | dict) else str(v)
        for k, v in result.items()
    }


@dataclass(frozen=True)
class JobStatus:
    definition: JobDefinition
    available: bool
    trigger_text: str
    next_run: dt.datetime | None  # local time
    last_run: JobRun | None


def job_statuses(now: dt.datetime | None = None) -> list[JobStatus]:
    now_local = (now or utcnow()).replace(tzinfo=dt.UTC).astimezone(tz())
    latest = {
        run.job_id: run
        for run in db.session.scalars(
            select(JobRun).where(JobRun.id.in_(select(func.max(JobRun.id)).group_by(JobRun.job_id)))
        )
    }
    out = []
    for definition in job_table.JOBS:
        trigger = make_trigger(definition)
        out.append(
            JobStatus(
                definition,
                resolve(definition) is not None,
                str(trigger),
                trigger.get_next_fire_time(None, now_local),
                latest.get(definition.id),
            )
        )
    return out


def recent_runs(job_id: str | None = None, limit: int = 50) -> list[JobRun]:
    stmt = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if job_id:
        stmt = stmt.where(JobRun.job_id == job_id)
    return list(db.session.scalars(stmt))


def current_lease() -> SchedulerLease | None:
    return db.session.get(SchedulerLease, LEASE_NAME)
