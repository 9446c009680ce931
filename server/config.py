"""Configuration: defaults for the embedded setup, overridable by SPOTCHECK_* environment variables."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

BASE_DIR = Path(__file__).resolve().parent.parent


def _env(name: str, default: str) -> str:
    return os.environ.get(f"SPOTCHECK_{name}", default)


def _int_list(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.replace(" ", "").split(",") if part)


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
    # One upload of a phone's exported unsynced data (server/recovery): photos in base64 make it large.
    RECOVERY_MAX_BYTES = int(_env("RECOVERY_MAX_BYTES", str(200 * 1024 * 1024)))
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
    API_SPEC_OPTIONS: ClassVar[dict[str, Any]] = {
        "info": {
            "description": (
                "Send `Authorization: Bearer <token>` (from `POST /api/v1/auth/token`; phones: "
                "`POST /api/v1/sync/devices`). Every error is an `application/problem+json` document "
                "with a stable `code`; the catalogue of codes is `GET /api/problems`. The field-sync "
                "protocol is specified in sync/PROTOCOL.md. The public results feed needs no login: "
                "`GET /results/feed.json`."
            )
        }
    }

    # Draw defaults (DOMAIN.md §3); a task may override each.
    DRAW_MIN_ONE = True
    IMPORT_MAX_ROWS = 2_000_000
    # Rows of one XLSX export of published results (a spreadsheet holds about a million; the CSV
    # export streams and has no cap).
    PUBLICATION_EXPORT_MAX_ROWS = int(_env("PUBLICATION_EXPORT_MAX_ROWS", "100000"))

    # Result deadlines (DOMAIN.md §5): working days after the anchor, check_end (003 第二十条(三))
    # or task_end (002 §五); reminders this many working days before the due date.
    RESULT_DEADLINE_WORKING_DAYS = int(_env("RESULT_DEADLINE_WORKING_DAYS", "20"))
    RESULT_DEADLINE_ANCHOR = _env("RESULT_DEADLINE_ANCHOR", "check_end")
    RESULT_REMINDER_WORKING_DAYS = _int_list(_env("RESULT_REMINDER_WORKING_DAYS", "5,1"))
    # The deadlines page warns this many calendar days before a task window or a plan's completion date.
    TASK_WINDOW_WARNING_DAYS = int(_env("TASK_WINDOW_WARNING_DAYS", "14"))

    # Jobs: the scheduler runs only where enabled (``make run`` enables it); several processes may
    # enable it, a database lock lets exactly one run jobs. A holder silent this long is taken over.
    SCHEDULER_ENABLED = _env("SCHEDULER_ENABLED", "0") == "1"
    SCHEDULER_LEASE_SECONDS = int(_env("SCHEDULER_LEASE_SECONDS", "60"))

    # Archive (003 第二十五条): archived this many days after publication, kept at least this many years.
    ARCHIVE_AFTER_DAYS = int(_env("ARCHIVE_AFTER_DAYS", "30"))
    ARCHIVE_RETENTION_YEARS = int(_env("ARCHIVE_RETENTION_YEARS", "2"))


class TestConfig(Config):
    """Tests always pass their own database and directories through create_app's overrides."""

    TESTING = True
    SECRET_KEY = "test-secret-not-for-production"  # noqa: S105 (tests only)
    # Cheap on purpose: tests hash many passwords.
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # noqa: S105


# The legal minimum of archive retention (003 第二十五条: at least two years).
MIN_RETENTION_YEARS = 2


def check_config(config: Mapping[str, Any]) -> None:
    """Refuse to start with settings that would break the rules; the message names the variable."""
    problems = []
    if int(config["RESULT_DEADLINE_WORKING_DAYS"]) < 1:
        problems.append("SPOTCHECK_RESULT_DEADLINE_WORKING_DAYS must be at least 1")
    if config["RESULT_DEADLINE_ANCHOR"] not in ("check_end", "task_end"):
        problems.append("SPOTCHECK_RESULT_DEADLINE_ANCHOR must be check_end or task_end")
    if any(int(n) < 1 for n in config["RESULT_REMINDER_WORKING_DAYS"]):
        problems.append("SPOTCHECK_RESULT_REMINDER_WORKING_DAYS must list positive numbers")
    if int(config["ARCHIVE_AFTER_DAYS"]) < 0:
        problems.append("SPOTCHECK_ARCHIVE_AFTER_DAYS must not be negative")
    # Only a test configuration may go below the legal minimum (to exercise the rule itself).
    if int(config["ARCHIVE_RETENTION_YEARS"]) < MIN_RETENTION_YEARS and not config.get("TESTING"):
        problems.append(f"SPOTCHECK_ARCHIVE_RETENTION_YEARS must be at least {MIN_RETENTION_YEARS}")
    if int(config["SCHEDULER_LEASE_SECONDS"]) < 5:
        problems.append("SPOTCHECK_SCHEDULER_LEASE_SECONDS must be at least 5")
    if problems:
        raise ValueError("; ".join(problems))
