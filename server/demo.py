"""``flask demo``: a realistic county for trying Spotcheck out."""

from __future__ import annotations

import click


@click.command("demo")
@click.option("--targets", default=3000, show_default=True, help="number of targets to create")
@click.option("--if-empty", is_flag=True, help="do nothing if the database already has data")
def demo_command(targets: int, if_empty: bool) -> None:
    """Load demo data."""
    click.echo("demo data is not available yet")
