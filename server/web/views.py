"""The home page, the public entrance, the problem catalogue and the field app's mount at /app/."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from werkzeug.wrappers import Response

from server.web.pwa import serve_shell_file

bp = Blueprint("web", __name__)


@bp.route("/")
def home() -> str:
    return render_template("home.html")


@bp.route("/app/")
def pwa_index() -> Response:
    """The field app's shell (pwa/dist/index.html); the app routes by #hash from here."""
    return serve_shell_file("index.html")


@bp.route("/app/<path:name>")
def pwa_file(name: str) -> Response:
    """A file of the built field app, including the service worker at /app/sw.js (scope /app/)."""
    return serve_shell_file(name)


@bp.route("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@bp.route("/public/")
def public_index() -> str:
    """The public entrance: published results and the draws that selected them."""
    return render_template("public/index.html")


@bp.route("/api/problems")
def problems() -> dict[str, object] | str:
    """The problem catalogue: every stable code an API error may carry. JSON for programs; a
    browser gets a page with an anchor per code, so a problem's ``type`` (``/api/problems#code``)
    opens on its entry."""
    from server.errors import CATALOGUE

    entries = [
        {"code": code, "status": p.status, "title_zh": p.zh, "title_en": p.en}
        for code, p in sorted(CATALOGUE.items())
    ]
    accept = request.accept_mimetypes
    if accept.quality("text/html") > accept.quality("application/json"):
        return render_template("public/problems.html", problems=entries)
    return {"problems": entries}
