"""Command-line entry points: ``flask --app server <command>``; each area owns its group."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    from server.archive.cli import cli as archive_cli
    from server.audit.cli import cli as audit_cli
    from server.demo import demo_command
    from server.directory.cli import cli as directory_cli
    from server.draws.cli import cli as draws_cli
    from server.evidence.cli import cli as evidence_cli
    from server.planning.cli import cli as planning_cli
    from server.publication.cli import cli as publication_cli
    from server.review.cli import cli as review_cli
    from server.scheduler.cli import cli as jobs_cli

    for group in (
        directory_cli,
        planning_cli,
        draws_cli,
        review_cli,
        publication_cli,
        jobs_cli,
        audit_cli,
        archive_cli,
        evidence_cli,
    ):
        app.cli.add_command(group)
    app.cli.add_command(demo_command)
