"""The `flask draws …` commands: run a task's draw, and verify stored draws against their snapshots."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import select

from server.draws.models import Draw
from server.draws.services import perform_draw, verify_draw
from server.errors import ApiError
from server.extensions import db
from server.planning.models import Task

cli = AppGroup("draws", help="draws commands")


@cli.command("run")
@click.argument("task_id", type=int)
@click.option("--witness", default=None, help="text typed by a witness, mixed into the seed")
def run_command(task_id: int, witness: str | None) -> None:
    """Draw TASK_ID's targets and teams (refused while the task has an active draw)."""
    task = db.session.get(Task, task_id)
    if task is None:
        raise click.ClickException(f"no task {task_id}")
    try:
        draw = perform_draw(task, witness=witness)
    except ApiError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.code}: {exc.detail or ''}".rstrip(": ")) from exc
    db.session.commit()
    counts = ", ".join(f"{s}={v['count']}/{v['pool']}" for s, v in draw.strata.items())
    click.echo(f"draw {draw.id} task {task_id} attempt {draw.attempt}: {counts}")
    click.echo(f"seed {draw.seed}")
    click.echo(f"snapshot {draw.snapshot_hash} ({draw.snapshot_rows} rows)")


@cli.command("verify")
@click.option("--all", "all_", is_flag=True, help="verify every draw")
@click.option("--draw", "draw_id", type=int, help="verify one draw")
def verify_command(all_: bool, draw_id: int | None) -> None:
    """Recompute draws from their snapshots; one line per draw, exit status 1 on any difference."""
    if all_ == (draw_id is not None):
        raise click.UsageError("give exactly one of --all or --draw ID")
    if draw_id is not None:
        draw = db.session.get(Draw, draw_id)
        if draw is None:
            raise click.ClickException(f"no draw {draw_id}")
        draws = [draw]
    else:
        draws = list(db.session.scalars(select(Draw).order_by(Draw.id)))
    failed = 0
    for draw in draws:
        problems = verify_draw(draw)
        label = f"draw {draw.id} task {draw.task_id} attempt {draw.attempt} ({draw.status})"
        if problems:
            failed += 1
            click.echo(f"DIFF {label}: " + "; ".join(problems))
        else:
            click.echo(f"OK   {label}")
    click.echo(f"{len(draws)} draw(s) checked, {failed} with differences")
    if failed:
        sys.exit(1)
