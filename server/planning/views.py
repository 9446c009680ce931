"""The planning pages."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("planning", __name__)
