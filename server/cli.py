"""Command-line entry points: ``flask --app server <command>``."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    pass
