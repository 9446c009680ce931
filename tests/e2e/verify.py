"""What the server holds after a browser test, read straight from its database and blob store."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from server import TestConfig, create_app
from server.evidence.services import blob_file, held_blob
from server.extensions import db
from server.fieldsync.models import SyncChange
from server.fieldsync.store import SqlStore
from server.inspections.models import Inspection
from sync.content import Snapshot, content_hash, inspection_snapshot


@dataclass
class Held:
    inspections: int
    state: str
    sync_id: str
    latest_hash: str | None
    snapshot: Snapshot
    current_hash: str
    changes: int
    files: dict[str, bytes]  # sha256 -> the stored original's bytes, for every photo and signature image


def server_view(var_dir: Path) -> Held:
    app = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{var_dir / 'e2e.db'}",
            "VAR_DIR": var_dir,
            "BLOB_DIR": var_dir / "blobs",
        },
    )
    with app.app_context():
        inspections = db.session.scalars(select(Inspection)).all()
        inspection = inspections[0]
        assert inspection.sync_id is not None
        snap = inspection_snapshot(SqlStore(db.session), inspection.sync_id)
        files: dict[str, bytes] = {}
        shas = [str(p["sha256"]) for p in snap.photos] + [str(s["png_sha256"]) for _, s in snap.signatures]
        for sha in shas:
            blob = held_blob(sha)
            if blob is not None:
                path, _type, _name = blob_file(blob, "original")
                files[sha] = path.read_bytes()
        latest = inspection.latest_version
        held = Held(
            inspections=len(inspections),
            state=inspection.state,
            sync_id=inspection.sync_id,
            latest_hash=latest.content_hash if latest else None,
            snapshot=snap,
            current_hash=content_hash(snap),
            changes=db.session.scalar(select(func.count()).select_from(SyncChange)) or 0,
            files=files,
        )
        db.session.remove()
        db.engine.dispose()
    return held


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
