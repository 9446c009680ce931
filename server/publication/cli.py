"""The `flask publication …` commands: the scheduled publication, runnable by hand or by cron."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup

from server.extensions import db
from server.publication.services import publish_due_results

cli = AppGroup("publication", help="publication commands")


def _naive_utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


@cli.command("publish-due")
@click.option(
    "--now",
    "now",
    default=None,
    help="the moment to act as of, ISO 8601 (an offset, or UTC); default: the clock",
)
def publish_due_command(now: str | None) -> None:
    """Publish every approved, publishable result whose publication due date has come.

    Idempotent: run it as often as you like (the job table runs it every few minutes).
    """
    moment = None
    if now is not None:
        try:
            moment = _naive_utc(dt.datetime.fromisoformat(now.replace("Z", "+00:00")))
        except ValueError as exc:
            raise click.BadParameter(f"not an ISO 8601 date-time: {now}", param_hint="--now") from exc
    published = publish_due_results(moment)
    db.session.commit()
    for inspection in published:
        click.echo(
            f"published inspection {inspection.id} ({inspection.target.code} {inspection.target.name})"
        )
    click.echo(f"{len(published)} result(s) published")
