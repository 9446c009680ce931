"""The `flask directory …` commands."""

from __future__ import annotations

from flask.cli import AppGroup

cli = AppGroup("directory", help="directory commands")

# `flask directory import` registers on this group (server/directory/import_cli.py).
from server.directory import import_cli  # noqa: E402,F401
