"""Serving the built field app (``pwa/dist``, made by ``node pwa/build.mjs``) under ``/app/``.

Only the files the build lists in ``shell.json`` (plus ``sw.js``) are served, each with its own
content type, ``Cache-Control: no-cache`` (always revalidated, so a new service worker and shell are
seen at once; the service worker's versioned cache is what makes the app work offline, not the HTTP
cache) and a strict Content-Security-Policy: scripts, styles and connections from this origin only,
images also from ``blob:`` (photos held on the phone) and ``data:`` (signature previews).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from flask import current_app, request
from werkzeug.wrappers import Response

from server.errors import ApiError

CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
}

SCOPE = "/app/"


def dist_dir() -> Path:
    return Path(current_app.config["PWA_DIR"])


def shell_files(directory: Path) -> frozenset[str]:
    """The files the build produced (``shell.json``), plus the service worker itself."""
    try:
        manifest = json.loads((directory / "shell.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ApiError("pwa_not_built", f"{directory}/shell.json: {exc}") from exc
    return frozenset([*manifest["files"], "sw.js"])


def serve_shell_file(name: str) -> Response:
    directory = dist_dir()
    if name not in shell_files(directory):
        raise ApiError("not_found")
    # The shell is a few small files: read whole (no open file handed to the WSGI server) and
    # tagged by content, so a rebuilt file gets a new ETag even within the same second.
    data = (directory / name).read_bytes()
    resp = Response(data, content_type=CONTENT_TYPES.get(Path(name).suffix, "application/octet-stream"))
    resp.set_etag(hashlib.sha256(data).hexdigest()[:32])
    resp.make_conditional(request)
    resp.headers["Cache-Control"] = "no-cache"
    resp.headers["Content-Security-Policy"] = CSP
    if name == "sw.js":
        resp.headers["Service-Worker-Allowed"] = SCOPE
    return resp
