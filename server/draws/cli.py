"""The `flask draws …` commands."""

from __future__ import annotations

from flask.cli import AppGroup

cli = AppGroup("draws", help="draws commands")
