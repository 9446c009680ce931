"""The `flask planning …` commands: import a plan table, load the bundled 高平 plan, publish."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from server.directory.models import Department
from server.errors import ApiError
from server.extensions import db
from server.planning import services
from server.planning.importing import import_plan, load_seed_plan
from server.planning.models import Plan

cli = AppGroup("planning", help="planning commands")


def _department(code: str) -> Department:
    dept = db.session.scalar(select(Department).where(Department.code == code))
    if dept is None:
        raise click.ClickException(f"no department with code {code!r}")
    return dept


@cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--department", "department_code", required=True, help="code of the planning department")
@click.option("--year", type=int, required=True)
@click.option("--title", required=True)
@click.option("--dry-run", is_flag=True, help="check the file and list every issue; change nothing")
def import_command(path: Path, department_code: str, year: int, title: str, dry_run: bool) -> None:
    """Import a plan table (CSV or XLSX) as a new draft plan; all-or-nothing."""
    dept = _department(department_code)
    plan, issues = import_plan(path, path.name, dept, year, title, dry_run=dry_run)
    for issue in issues:
        line = issue["line"] or "-"
        click.echo(
            f"{issue['level']:6} line {line:>4}  {issue['column']}  {issue['code']}: {issue['message']}"
        )
    if any(i["level"] == "error" for i in issues):
        db.session.rollback()
        raise click.ClickException("the file has errors; nothing was imported")
    if plan is None:
        click.echo("dry run: the file is fine, nothing was changed")
        return
    db.session.commit()
    click.echo(f"imported plan {plan.id} with {len(plan.tasks)} tasks (draft)")


@cli.command("load-seed")
@click.option("--department", "department_code", required=True, help="code of the department that owns it")
@click.option("--year", type=int, default=2025, show_default=True)
def load_seed_command(department_code: str, year: int) -> None:
    """Load the bundled 高平市 2025 plan (16 tasks) as a draft."""
    try:
        plan = load_seed_plan(_department(department_code), year)
    except ApiError as exc:
        db.session.rollback()
        raise click.ClickException(f"{exc.code}: {exc.errors or exc.detail or ''}") from exc
    db.session.commit()
    click.echo(f"loaded plan {plan.id} with {len(plan.tasks)} tasks (draft)")


@cli.command("publish")
@click.argument("plan_id", type=int)
def publish_command(plan_id: int) -> None:
    """Publish a draft plan (an older published version becomes superseded)."""
    plan = db.session.get(Plan, plan_id)
    if plan is None:
        raise click.ClickException(f"no plan {plan_id}")
    try:
        services.publish_plan(plan)
    except ApiError as exc:
        db.session.rollback()
        raise click.ClickException(exc.code) from exc
    db.session.commit()
    click.echo(f"published plan {plan.id} version {plan.version}")
