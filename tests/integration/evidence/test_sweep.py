"""The stray-file sweep removes upload leftovers and refuses every file that evidence names."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

from flask import Flask

from server.db import utcnow
from server.evidence.models import BlobRef
from server.evidence.sweep import sweep_stray_files
from server.extensions import db
from server.followup.models import FollowUpEvent
from server.storage import blob_store
from tests.support.field import field_world
from tests.support.ops import follow_up, submit

OLD = 48 * 3600


def _write(path: Path, data: bytes, age_seconds: int = OLD) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    when = (utcnow().replace(tzinfo=dt.UTC).timestamp()) - age_seconds
    os.utime(path, (when, when))
    return path


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_sweep_removes_leftovers_and_refuses_referenced_evidence(app: Flask) -> None:
    store = blob_store()
    root = store.root
    world = field_world()
    # Referenced three ways, each only present as a stray copy: a photo record's BlobRef, a frozen
    # version record, and a follow-up step.
    photo, in_version, in_followup = b"photo bytes", b"signature png bytes", b"re-check photo"
    db.session.add(
        BlobRef(sha256=_sha(photo), source="photo", source_id="rec-1", inspection_id=world.inspection.id)
    )
    version = submit(world.inspection, dt.date(2025, 10, 9), None)
    version.record = {**version.record, "signatures": [{"png_sha256": _sha(in_version)}]}
    item = follow_up(world.inspection, closed=False)
    db.session.add(FollowUpEvent(follow_up_id=item.id, kind="recheck", evidence=[_sha(in_followup)]))
    db.session.commit()

    staged_photo = _write(
        root / ".staging" / "tmpa" / _sha(photo)[:2] / _sha(photo)[2:4] / _sha(photo), photo
    )
    incoming_sig = _write(root / ".incoming-abc123", in_version)  # random name: found by its content
    staged_fu = _write(root / ".staging" / "tmpb" / "x" / "y" / _sha(in_followup), in_followup)
    junk = _write(root / ".incoming-dead", b"half an upload")
    junk_staged = _write(root / ".staging" / "tmpc" / "aa" / "bb" / ("ab" * 32), b"wrong bytes, unreferenced")
    young = _write(root / ".incoming-young", b"an upload in progress", age_seconds=60)
    # The store itself is never swept, referenced or not.
    unreferenced_in_store = store.put_bytes(b"some stored blob nobody names")

    dry = sweep_stray_files(store, utcnow(), dt.timedelta(hours=24), dry_run=True)
    assert sorted(dry.removed) == sorted([junk, junk_staged])
    assert junk.exists() and junk_staged.exists()

    report = sweep_stray_files(store, utcnow(), dt.timedelta(hours=24))
    assert sorted(report.removed) == sorted([junk, junk_staged])
    assert not junk.exists() and not junk_staged.exists()
    # Referenced files the store lacks were moved into it, never deleted.
    recovered = {sha for _path, sha in report.recovered}
    assert recovered == {_sha(photo), _sha(in_version), _sha(in_followup)}
    for data in (photo, in_version, in_followup):
        assert store.read(_sha(data)) == data
    assert not staged_photo.exists() and not incoming_sig.exists() and not staged_fu.exists()
    assert young.exists()
    assert store.exists(unreferenced_in_store)
    assert not (root / ".staging" / "tmpc").exists()  # emptied staging dirs go

    # A referenced stray copy of a file the store already holds is kept as it is.
    again = _write(root / ".staging" / "tmpd" / _sha(photo), photo)
    report = sweep_stray_files(store, utcnow(), dt.timedelta(hours=24))
    assert report.removed == [] and report.kept == [(again, "blob_ref")]
    assert again.exists()


def test_sweep_command(app: Flask) -> None:
    root = blob_store().root
    junk = _write(root / ".incoming-old", b"junk")
    runner = app.test_cli_runner()
    dry = runner.invoke(args=["evidence", "sweep", "--dry-run"])
    assert dry.exit_code == 0 and f"would remove {junk}" in dry.output and junk.exists()
    done = runner.invoke(args=["evidence", "sweep", "--older-than-hours", "1"])
    assert done.exit_code == 0 and "removed 1, kept 0, recovered 0" in done.output
    assert not junk.exists()
