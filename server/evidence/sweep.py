"""Removing stray temporary files of the blob store — and refusing anything evidence still names.

An upload interrupted by a crash can leave ``.incoming-*`` files (``BlobStore.put_chunks``) or a
``.staging/<dir>/…`` copy (``receive_blob``) behind. They are not evidence yet, but a crash between
staging and the final move may have left the *only* copy of a photo whose record already synced. So
before removing a stray file the sweep hashes it and refuses it if that SHA-256 (or the file's name)
is named by anything: a ``BlobRef``, a version record, a follow-up step, a blob row or rendition, or
a draw snapshot. Such a file is moved into the store if the store lacks it, else left alone.

Nothing in the store proper is ever touched: there is no deletion path for evidence files.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from server.draws.models import Draw
from server.evidence.models import Blob, BlobRef
from server.extensions import db
from server.followup.models import FollowUpEvent
from server.inspections.models import InspectionVersion
from server.storage import CHUNK, BlobStore

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass
class SweepReport:
    removed: list[Path] = field(default_factory=list)
    kept: list[tuple[Path, str]] = field(default_factory=list)  # (file, why)
    recovered: list[tuple[Path, str]] = field(default_factory=list)  # (file, sha256 now in the store)


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _hashes_in(value: Any) -> Iterator[str]:
    """Every SHA-256-looking string anywhere in a JSON value (records name photos and signatures)."""
    if isinstance(value, str):
        if _SHA256.fullmatch(value):
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _hashes_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _hashes_in(item)


def referenced(candidates: set[str]) -> dict[str, str]:
    """Which of ``candidates`` something names, and what (only these hashes are looked up; version
    records are scanned once for all of them)."""
    found: dict[str, str] = {}
    if not candidates:
        return found
    wanted = sorted(candidates)
    for sha in db.session.scalars(select(BlobRef.sha256).where(BlobRef.sha256.in_(wanted))):
        found.setdefault(sha, "blob_ref")
    for sha in db.session.scalars(select(Blob.sha256).where(Blob.sha256.in_(wanted))):
        found.setdefault(sha, "blob")
    for sha in db.session.scalars(select(Draw.snapshot_hash).where(Draw.snapshot_hash.in_(wanted))):
        found.setdefault(sha, "draw snapshot")
    for renditions in db.session.scalars(select(Blob.renditions)):
        for sha in _hashes_in(renditions):
            if sha in candidates:
                found.setdefault(sha, "rendition")
    for record in db.session.scalars(select(InspectionVersion.record).execution_options(yield_per=500)):
        for sha in _hashes_in(record):
            if sha in candidates:
                found.setdefault(sha, "inspection version")
    for evidence in db.session.scalars(select(FollowUpEvent.evidence)):
        for sha in _hashes_in(evidence):
            if sha in candidates:
                found.setdefault(sha, "follow-up step")
    return found


def stray_files(store: BlobStore) -> Iterator[Path]:
    yield from sorted(store.root.glob(".incoming-*"))
    staging = store.root / ".staging"
    if staging.is_dir():
        yield from sorted(p for p in staging.rglob("*") if p.is_file())


def sweep_stray_files(
    store: BlobStore, now: dt.datetime, older_than: dt.timedelta, *, dry_run: bool = False
) -> SweepReport:
    """Remove stray temporary files older than ``older_than`` (a running upload's are younger),
    refusing any whose content or name is evidence something refers to."""
    report = SweepReport()
    cutoff = (now - older_than).replace(tzinfo=dt.UTC).timestamp()
    files: list[tuple[Path, set[str]]] = []
    for path in stray_files(store):
        if path.stat().st_mtime > cutoff:
            continue
        names = {_file_sha256(path)}
        if _SHA256.fullmatch(path.name):
            names.add(path.name)
        files.append((path, names))
    refs = referenced({sha for _path, names in files for sha in names})
    for path, names in files:
        why = sorted({refs[sha] for sha in names if sha in refs})
        if not why:
            report.removed.append(path)
            if not dry_run:
                path.unlink(missing_ok=True)
            continue
        content = _file_sha256(path)
        if content in refs and not store.exists(content) and not dry_run:
            final = store.path_for(content)
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, final)  # the only copy of referenced evidence: into the store
            report.recovered.append((path, content))
        else:
            report.kept.append((path, ", ".join(why)))
    if not dry_run:
        _remove_empty_dirs(store.root / ".staging")
    return report


def _remove_empty_dirs(root: Path) -> None:
    if not root.is_dir():
        return
    for path in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):
            path.rmdir()  # only succeeds when empty
