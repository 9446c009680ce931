"""Command-line entry points: ``flask --app server <command>``; each area owns its group."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    from server.demo import demo_command
    from server.directory.cli import cli as directory_cli
    from server.draws.cli import cli as draws_cli
    from server.planning.cli import cli as planning_cli
    from server.publication.cli import cli as publication_cli
    from server.review.cli import cli as review_cli

    for group in (directory_cli, planning_cli, draws_cli, review_cli, publication_cli):
        app.cli.add_command(group)
    app.cli.add_command(demo_command)
