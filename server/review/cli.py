"""The `flask review …` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from server.extensions import db
from server.review.demo import demo_submissions, has_submissions

cli = AppGroup("review", help="review commands")


@cli.command("demo-submissions")
@click.option("--count", default=12, show_default=True, type=click.IntRange(1, 500))
@click.option("--if-none", is_flag=True, help="do nothing if any inspection was already submitted")
@click.option("--seed", default=2025, show_default=True)
def demo_submissions_command(count: int, if_none: bool, seed: int) -> None:
    """Submit COUNT of the demo's assigned inspections through the field-sync services (for the demo)."""
    if if_none and has_submissions():
        click.echo("review: inspections were already submitted; nothing done")
        return
    try:
        done = demo_submissions(count, seed)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    click.echo(f"review: {done} inspections submitted for review (log in as supervisor, open 结果审核)")
