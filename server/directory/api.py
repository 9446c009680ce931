"""The directory API."""

from __future__ import annotations

from flask_smorest import Blueprint

blp = Blueprint("directory_api", __name__, url_prefix="/api/v1", description="directory")
