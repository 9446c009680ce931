"""``flask --app server jobs list | run-once <id> | run``."""

from __future__ import annotations

import datetime as dt
import json
import signal
import threading

import click
from flask import current_app
from flask.cli import AppGroup

from server.errors import ApiError
from server.i18n import format_datetime
from server.scheduler import services
from server.scheduler.runner import coordinator_for, heartbeat_seconds, run_loop

cli = AppGroup("jobs", help="scheduled jobs")


@cli.command("list")
def list_command() -> None:
    """Every job of the table: schedule, availability, next and last run."""
    for status in services.job_statuses():
        last = status.last_run
        last_text = f"{last.status} {format_datetime(last.started_at)}" if last else "never"
        click.echo(
            f"{status.definition.id:20} {status.trigger_text:38} "
            f"{'available' if status.available else 'UNAVAILABLE':11} "
            f"next {status.next_run:%Y-%m-%d %H:%M}  last {last_text}"
            if status.next_run
            else f"{status.definition.id:20} {status.trigger_text}"
        )
        if not status.available:
            click.echo(f"{'':20} {status.definition.func} not found: not scheduled")


@cli.command("run-once")
@click.argument("job_id")
@click.option("--now", "now_text", help="pretend it is this instant (ISO 8601; naive means UTC)")
def run_once_command(job_id: str, now_text: str | None) -> None:
    """Run one job now, whether or not a scheduler runs elsewhere (every job is idempotent)."""
    now = None
    if now_text:
        try:
            parsed = dt.datetime.fromisoformat(now_text)
        except ValueError as exc:
            raise click.BadParameter(f"not an ISO 8601 instant: {now_text}", param_hint="--now") from exc
        now = parsed.astimezone(dt.UTC).replace(tzinfo=None) if parsed.tzinfo else parsed
    try:
        run = services.run_job(job_id, now, trigger="cli")
    except ApiError as exc:
        raise click.ClickException(f"{exc.code}: {exc.detail}") from exc
    click.echo(json.dumps({"job": job_id, "status": run.status, "summary": run.summary}, ensure_ascii=False))
    if run.status != "ok":
        click.echo(run.error, err=True)
        raise SystemExit(1)


@cli.command("run")
def run_command() -> None:
    """Run the scheduler in the foreground: stand by until this process holds the lock, then run
    the jobs until interrupted (Ctrl-C). Safe to start on several machines: one runs the jobs."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    coordinator = coordinator_for(app)
    stop = threading.Event()
    click.echo(f"scheduler {coordinator.lock.holder}: standing by for the lock")
    # A service manager stops us with SIGTERM: finish the tick, stop the jobs, release the lock
    # so a standby takes over at once instead of after the lease expires.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        run_loop(coordinator, stop, heartbeat_seconds(app))
    except KeyboardInterrupt:
        stop.set()
        coordinator.stop()
    click.echo("scheduler stopped")
