"""The `flask directory …` commands."""

from __future__ import annotations

from flask.cli import AppGroup

cli = AppGroup("directory", help="directory commands")
