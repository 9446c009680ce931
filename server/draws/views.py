"""The draws pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("draws", __name__)
