"""Helpers for the evidence API tests: people with tokens, uploads, a look into the blob store."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from server.accounts.models import User
from tests.support import factories


@dataclass
class Person:
    user: User
    headers: dict[str, str]


def person(*roles: str) -> Person:
    u = factories.user(roles=roles)
    return Person(u, factories.auth_header(u, device_id=f"device-{u.id}"))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def put(client: FlaskClient, who: Person, data: bytes, sha256: str | None = None, **kw: Any) -> Any:
    headers = {**who.headers, **kw.pop("headers", {})}
    return client.put(f"/api/v1/blobs/{sha256 or sha(data)}", data=data, headers=headers, **kw)


def get(client: FlaskClient, path: str, who: Person | None = None, **kw: Any) -> Any:
    """GET, read whole: file responses hold the file open until the body is consumed and closed."""
    headers = {**(who.headers if who else {}), **kw.pop("headers", {})}
    return client.get(path, headers=headers, buffered=True, **kw)


def stored_files(app: Flask) -> list[Path]:
    """Every file in the blob store (temporary and staging files included)."""
    root = Path(app.config["BLOB_DIR"])
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []
