"""Export files for the recovery tests: shaped as ``pwa/app/export.js`` builds them, or built by it.

``build_export`` writes the same JSON as ``buildExport`` from a phone's queued changes and files (see
that function for the shape). ``js_export`` runs the field app's own code (``tests/pwa/make_export.mjs``
on fake-indexeddb) and returns its file; it skips, naming what is missing, when node or the npm
packages are absent — except under CI=true, where that fails.
"""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support.field import Phone

ROOT = Path(__file__).resolve().parents[3]


def build_export(
    phone: Phone,
    user_id: int,
    changes: Sequence[dict[str, Any]],
    files: Iterable[tuple[bytes, str, str]] = (),
    *,
    rejected: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """``files``: (bytes, kind, inspection sync id) of the photos and signature images not uploaded."""
    return {
        "format": "spotcheck-unsynced-v1",
        "exported_at": "2025-06-03T02:30:00.000Z",
        "device_id": phone.device_id,
        "user": {"id": user_id, "username": phone.username, "inspector_id": phone.inspector_id},
        "outbox": [
            {"device_id": phone.device_id, "queued_at": "2025-06-03T01:00:00.000Z", "change": c}
            for c in changes
        ],
        "rejected": list(rejected),
        "blobs": [
            {
                "sha256": _sha(data),
                "kind": kind,
                "content_type": "image/png" if kind == "signature" else "image/jpeg",
                "inspection_id": sync_id,
                "state": "pending",
                "error": None,
                "base64": base64.b64encode(data).decode(),
            }
            for data, kind, sync_id in files
        ],
    }


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def as_file(export: dict[str, Any] | bytes) -> bytes:
    return export if isinstance(export, bytes) else json.dumps(export, ensure_ascii=False, indent=1).encode()


def upload(
    client: FlaskClient, headers: dict[str, str], export: dict[str, Any] | bytes, name: str = "unsynced.json"
) -> Any:
    return client.post(
        "/api/v1/recovery/imports",
        data={"file": (io.BytesIO(as_file(export)), name)},
        headers=headers,
        content_type="multipart/form-data",
    )


def apply(client: FlaskClient, headers: dict[str, str], import_id: int) -> Any:
    return client.post(f"/api/v1/recovery/imports/{import_id}/apply", headers=headers)


def changes_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Every change row of a report, in outbox order."""
    rows = [c for g in report["inspections"] for c in g["changes"]]
    return sorted(rows, key=lambda c: c["index"])


def files_of(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for g in report["inspections"] for f in g["files"]]


def js_export(script: dict[str, Any]) -> dict[str, Any]:
    """The export file the field app's own code makes from ``script`` (see make_export.mjs)."""
    node = shutil.which("node")
    if node is None or not (ROOT / "node_modules" / "fake-indexeddb").is_dir():
        reason = "node or node_modules (fake-indexeddb) is missing: run `npm ci`"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    done = subprocess.run(
        [node, str(ROOT / "tests" / "pwa" / "make_export.mjs")],
        input=json.dumps(script).encode(),
        capture_output=True,
        check=True,
        cwd=ROOT,
        timeout=60,
    )
    return dict(json.loads(done.stdout))
