"""Configuration: defaults for the embedded setup, overridable by SPOTCHECK_* environment variables."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(f"SPOTCHECK_{name}", default)


class Config:
    """Production-shaped defaults: SQLite and local files under ./var unless told otherwise."""

    VAR_DIR = Path(_env("VAR_DIR", str(BASE_DIR / "var")))
    SQLALCHEMY_DATABASE_URI = _env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'spotcheck.db'}")
    BLOB_DIR = Path(_env("BLOB_DIR", str(VAR_DIR / "blobs")))
    # A random key per process is safe (sessions just end on restart); set one to keep sessions.
    SECRET_KEY = _env("SECRET_KEY", "") or secrets.token_hex(32)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _env("COOKIE_SECURE", "0") == "1"
    MAX_CONTENT_LENGTH = int(_env("MAX_UPLOAD_BYTES", str(64 * 1024 * 1024)))
    # One evidence file (photo, signature image): a 48 MP phone photo is ~15 MB, so 25 MiB is ample.
    EVIDENCE_MAX_BYTES = int(_env("EVIDENCE_MAX_BYTES", str(25 * 1024 * 1024)))
    # The built field app (``node pwa/build.mjs``; ``make run`` builds it) served at /app/.
    PWA_DIR = Path(_env("PWA_DIR", str(BASE_DIR / "pwa" / "dist")))
    WTF_CSRF_TIME_LIMIT = None  # tie the token to the session, not the clock

    TIMEZONE = "Asia/Shanghai"
    DEFAULT_LOCALE = "zh_CN"
    PASSWORD_HASH_METHOD = "scrypt"  # noqa: S105 (a method name, not a password)
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_SECONDS = 15 * 60

    API_TITLE = "Spotcheck API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"

    # Draw defaults (DOMAIN.md §3); a task may override each.
    DRAW_MIN_ONE = True
    IMPORT_MAX_ROWS = 2_000_000
    # Rows of one XLSX export of published results (a spreadsheet holds about a million; the CSV
    # export streams and has no cap).
    PUBLICATION_EXPORT_MAX_ROWS = int(_env("PUBLICATION_EXPORT_MAX_ROWS", "100000"))


class TestConfig(Config):
    """Tests always pass their own database and directories through create_app's overrides."""

    TESTING = True
    SECRET_KEY = "test-secret-not-for-production"  # noqa: S105 (tests only)
    # Cheap on purpose: tests hash many passwords.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105
