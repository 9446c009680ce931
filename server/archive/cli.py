"""``flask --app server archive verify``: recompute every archive manifest and compare."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from server.archive.services import check_archives

cli = AppGroup("archive", help="the archive of finished inspections")


@cli.command("verify")
@click.option("--inspection", "inspection_ids", type=int, multiple=True, help="only these inspections")
def verify_command(inspection_ids: tuple[int, ...]) -> None:
    """Exit 1 naming each archived inspection whose material changed since it was archived."""
    checks = check_archives(inspection_ids or None)
    broken = [c for c in checks if not c.intact]
    for check in broken:
        click.echo(f"inspection {check.record.inspection_id}: changed: {', '.join(check.changed)}")
    if broken:
        click.echo(f"FAILED: {len(broken)} of {len(checks)} archived inspections changed")
        raise SystemExit(1)
    click.echo(f"OK: {len(checks)} archived inspections intact")
