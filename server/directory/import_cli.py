"""``flask directory import KIND FILE``: a bulk import from the command line.

Runs synchronously and prints every problem by line; exits 1 on any error (nothing is imported).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from server.directory.cli import cli
from server.directory.import_formats import KIND_LABELS, error_message
from server.directory.importer import run_import
from server.directory.models import IMPORT_KINDS, IMPORT_MODES


@cli.command("import")
@click.argument("kind", type=click.Choice(IMPORT_KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--mode", type=click.Choice(IMPORT_MODES), default="create", show_default=True)
@click.option("--dry-run", is_flag=True, help="validate only; write nothing")
def import_command(kind: str, file: Path, mode: str, dry_run: bool) -> None:
    """Import FILE (CSV or XLSX) into the KIND directory: all rows or none."""
    job = run_import(kind, file, file.name, mode=mode, dry_run=dry_run)
    for entry in job.errors:
        where = f"line {entry['line']}" if entry.get("line") else "file"
        column = f" [{entry['column']}]" if entry.get("column") else ""
        click.echo(f"{where}{column} {entry['code']}: {error_message(entry)}", err=True)
    if job.error_count > len(job.errors):
        click.echo(f"… {job.error_count - len(job.errors)} more errors not listed", err=True)
    if job.status not in ("done", "ready"):
        click.echo(f"import #{job.id} {job.status}: {job.error_count} errors; nothing was imported", err=True)
        sys.exit(1)
    summary = job.summary
    verb = "would create" if dry_run else "created"
    click.echo(
        f"import #{job.id} ({KIND_LABELS[kind]}) {job.status}: {summary.get('rows', 0)} rows, "
        f"{verb} {summary.get('created', 0)}, {'would update' if dry_run else 'updated'} "
        f"{summary.get('updated', 0)}, unchanged {summary.get('unchanged', 0)}"
    )
    if summary.get("unknown_columns"):
        click.echo(f"ignored columns: {', '.join(summary['unknown_columns'])}")
