"""``flask --app server audit verify | head``: check the hash chain; print its head to keep elsewhere."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from server.audit.services import chain_head, check_chain

cli = AppGroup("audit", help="the hash-chained audit log")


def _anchor(_ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]) -> list[tuple[int, str]]:
    anchors = []
    for value in values:
        seq, _, hash_ = value.partition(":")
        if not seq.isdigit() or len(hash_) != 64:
            raise click.BadParameter(f"{value!r} is not SEQ:SHA256 (as printed by `audit head`)")
        anchors.append((int(seq), hash_.lower()))
    return anchors


@cli.command("verify")
@click.option(
    "--anchor",
    "anchors",
    multiple=True,
    callback=_anchor,
    help="SEQ:HASH printed earlier by `audit head` and kept outside the database (repeatable)",
)
def verify_command(anchors: list[tuple[int, str]]) -> None:
    """Recompute the whole chain; exit 1 naming each modified, inserted or deleted row."""
    report = check_chain(anchors)
    for problem in report.problems:
        click.echo(problem)
    head = f"head seq {report.head[0]} {report.head[1]}" if report.head else "empty log"
    summary = f"{report.events} events, {report.checkpoints} checkpoints/anchors compared, {head}"
    if report.problems:
        click.echo(f"FAILED: {len(report.problems)} problems; {summary}")
        raise SystemExit(1)
    click.echo(f"OK: {summary}")


@cli.command("head")
def head_command() -> None:
    """Print SEQ:HASH of the last event: keep it elsewhere and pass it to `verify --anchor` later."""
    head = chain_head()
    if head is None:
        raise click.ClickException("the audit log is empty")
    click.echo(f"{head[0]}:{head[1]}")
