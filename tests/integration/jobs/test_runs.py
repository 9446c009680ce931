"""Running jobs: the record of each run, failures rolled back, the CLI and the jobs page."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from server import jobs
from server.deadlines.models import CalendarYear
from server.errors import ApiError
from server.extensions import db
from server.scheduler.models import JobRun
from server.scheduler.services import run_job
from tests.support.factories import csrf_from, login_page
from tests.support.field import field_world
from tests.support.ops import staff, submit, utc

D = dt.date


@pytest.fixture
def test_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    extra = (
        jobs.JobDefinition(
            "flaky", "tests.support.ops:job_writes_then_fails", "interval", {"hours": 1}, "测试"
        ),
        jobs.JobDefinition("missing", "server.nowhere.services:nothing", "interval", {"hours": 1}, "测试"),
    )
    monkeypatch.setattr(jobs, "JOBS", jobs.JOBS + extra)


def test_a_run_is_recorded_with_its_summary_and_is_idempotent(app: Flask) -> None:
    world = field_world()
    staff(world)
    submit(world.inspection, D(2025, 9, 26), D(2025, 10, 30))
    first = run_job("mark_late", utc("2025-10-31 09:00"), trigger="cli")
    assert first.status == "ok"
    assert first.summary == {"deadlines_set": 0, "marked_late": 1, "notified": 1, "calendar_warned": 0}
    assert first.as_of == utc("2025-10-31 09:00") and first.finished_at is not None
    db.session.expire_all()
    assert world.inspection.late is True
    second = run_job("mark_late", utc("2025-10-31 10:00"))
    assert second.summary == {"deadlines_set": 0, "marked_late": 0, "notified": 0, "calendar_warned": 0}
    assert [r.trigger for r in db.session.scalars(select(JobRun).order_by(JobRun.id))] == ["cli", "manual"]


def test_a_failing_job_changes_nothing_and_records_why(app: Flask, test_jobs: None) -> None:
    run = run_job("flaky", dt.datetime(2025, 10, 31, 1, 0))
    assert run.status == "failed" and "RuntimeError: boom at 2025-10-31T01:00:00" in run.error
    assert db.session.get(CalendarYear, 2099) is None
    with pytest.raises(ApiError) as missing:
        run_job("missing")
    assert missing.value.code == "conflict"
    with pytest.raises(ApiError) as unknown:
        run_job("no_such_job")
    assert unknown.value.code == "not_found"


def test_cli_list_and_run_once(app: Flask, test_jobs: None) -> None:
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["jobs", "list"])
    assert listing.exit_code == 0, listing.output
    assert "mark_late" in listing.output and "cron[minute='5']" in listing.output
    assert "server.nowhere.services:nothing not found" in listing.output
    done = runner.invoke(args=["jobs", "run-once", "mark_late", "--now", "2025-10-31T09:00:00+08:00"])
    assert done.exit_code == 0, done.output
    body = json.loads(done.output)
    assert body["status"] == "ok" and body["summary"]["marked_late"] == 0
    run = db.session.scalar(select(JobRun))
    assert run is not None and run.as_of == dt.datetime(2025, 10, 31, 1, 0)
    failed = runner.invoke(args=["jobs", "run-once", "flaky"])
    assert failed.exit_code == 1 and "RuntimeError" in failed.output
    bad = runner.invoke(args=["jobs", "run-once", "mark_late", "--now", "yesterday"])
    assert bad.exit_code == 2 and "ISO 8601" in bad.output
    unknown = runner.invoke(args=["jobs", "run-once", "nope"])
    assert unknown.exit_code == 1 and "not_found" in unknown.output


def test_jobs_page_lists_jobs_and_runs_one(app: Flask, client: FlaskClient, make: Any) -> None:
    admin = make.user(roles=["admin"])
    login_page(client, admin)
    html = client.get("/admin/jobs").get_data(as_text=True)
    for definition in jobs.JOBS:
        assert definition.id in html
    assert "server.publication.services:publish_due_results" in html or "publish_due_results" in html
    csrf = csrf_from(client, "/admin/jobs")
    resp = client.post("/admin/jobs/mark_late/run", data={"csrf_token": csrf}, follow_redirects=True)
    assert resp.status_code == 200 and "已运行：mark_late" in resp.get_data(as_text=True)
    run = db.session.scalar(select(JobRun))
    assert run is not None and run.trigger == "manual" and run.status == "ok"
    assert client.post("/admin/jobs/nope/run", data={"csrf_token": csrf}).status_code == 404
    assert client.post("/admin/jobs/mark_late/run").status_code == 400  # no CSRF token


def test_jobs_page_is_for_admins(app: Flask, client: FlaskClient, make: Any) -> None:
    login_page(client, make.user(roles=["supervisor"], department=make.department()))
    assert client.get("/admin/jobs").status_code == 403
    assert (
        client.post("/admin/jobs/mark_late/run", data={"csrf_token": csrf_from(client, "/")}).status_code
        == 403
    )
    assert db.session.scalar(select(JobRun)) is None


def test_publication_job_runs_from_the_table_on_the_admin_calendar(app: Flask) -> None:
    """Publication's body, registered in the job table, counts working days on the calendar with its
    overrides: an extra holiday moves the scheduled publication by a day."""
    from server.deadlines.services import add_calendar_override
    from server.inspections.models import Inspection
    from server.publication.services import publication_due_on
    from tests.support.ops import approve

    world = field_world()
    admin = staff(world, "admin")
    submit(world.inspection, D(2025, 9, 26), D(2025, 10, 30))
    approve(world.inspection, utc("2025-09-30 10:00"))
    assert publication_due_on(world.inspection) == D(2025, 10, 9)  # the first working day after the holiday
    add_calendar_override(D(2025, 10, 9), "holiday", "test: one more day off", admin)
    db.session.commit()
    assert publication_due_on(world.inspection) == D(2025, 10, 10)
    waiting = run_job("publish_due_results", utc("2025-10-09 09:00"))
    assert waiting.status == "ok" and waiting.summary == {"published": 0}
    done = run_job("publish_due_results", utc("2025-10-10 09:00"))
    assert done.status == "ok" and done.summary == {"published": 1}
    inspection = db.session.get(Inspection, world.inspection.id)
    assert inspection is not None and inspection.state == "published"
    assert run_job("publish_due_results", utc("2025-10-10 10:00")).summary == {"published": 0}
