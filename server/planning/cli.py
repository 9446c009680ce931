"""The `flask planning …` commands."""

from __future__ import annotations

from flask.cli import AppGroup

cli = AppGroup("planning", help="planning commands")
