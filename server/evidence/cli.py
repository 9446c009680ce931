"""``flask --app server evidence sweep``: remove stray upload temporaries, never evidence."""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import AppGroup

from server.db import utcnow
from server.evidence.sweep import sweep_stray_files
from server.storage import blob_store

cli = AppGroup("evidence", help="evidence files")


@cli.command("sweep")
@click.option("--older-than-hours", type=click.IntRange(min=1), default=24, show_default=True)
@click.option("--dry-run", is_flag=True, help="list what would be removed; change nothing")
def sweep_command(older_than_hours: int, dry_run: bool) -> None:
    """Remove stray temporary files of interrupted uploads. Any file whose SHA-256 a photo,
    signature, version record or follow-up step names is kept (or moved into the store)."""
    report = sweep_stray_files(blob_store(), utcnow(), dt.timedelta(hours=older_than_hours), dry_run=dry_run)
    verb = "would remove" if dry_run else "removed"
    for path in report.removed:
        click.echo(f"{verb} {path}")
    for path, why in report.kept:
        click.echo(f"kept {path}: referenced by {why}")
    for path, sha in report.recovered:
        click.echo(f"recovered {path} into the store as {sha}")
    click.echo(f"{verb} {len(report.removed)}, kept {len(report.kept)}, recovered {len(report.recovered)}")
