"""The `flask review …` commands."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from server.extensions import db
from server.review.demo import demo_decisions, demo_submissions, has_decisions, has_submissions

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


@cli.command("demo-decisions")
@click.option("--keep", default=4, show_default=True, type=click.IntRange(0, 500), help="left for review")
@click.option("--if-none", is_flag=True, help="do nothing if any version was already approved")
def demo_decisions_command(keep: int, if_none: bool) -> None:
    """Approve, publish and follow up the demo's submissions but KEEP of them (for the demo)."""
    if if_none and has_decisions():
        click.echo("review: decisions were already made; nothing done")
        return
    try:
        done = demo_decisions(keep)
    except Exception:
        db.session.rollback()
        raise
    db.session.commit()
    click.echo(
        f"review: {done.approved} approved, {done.published} published, {done.withheld} awaiting the "
        f"leader's decision not to publish, {done.follow_ups} follow-ups opened"
    )
