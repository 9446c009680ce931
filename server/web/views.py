"""The home page and the placeholder for the field app."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, render_template, send_from_directory
from werkzeug.wrappers import Response

bp = Blueprint("web", __name__)
PWA_DIR = Path(__file__).resolve().parent.parent.parent / "pwa"


@bp.route("/")
def home() -> str:
    return render_template("home.html")


@bp.route("/app/")
def pwa_index() -> Response:
    return send_from_directory(PWA_DIR, "index.html")


@bp.route("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@bp.route("/public/")
def public_index() -> str:
    """The public entrance: published results and the draws that selected them."""
    return render_template("public/index.html")


@bp.route("/api/problems")
def problems() -> dict[str, object]:
    """The problem catalogue: every stable code an API error may carry (the ``type`` links here)."""
    from server.errors import CATALOGUE

    return {
        "problems": [
            {"code": code, "status": p.status, "title_zh": p.zh, "title_en": p.en}
            for code, p in sorted(CATALOGUE.items())
        ]
    }
