"""One archive record per archived inspection: the manifest of what was archived and its hash."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow


class ArchiveRecord(Base):
    """``manifest`` lists every part of the archived material (versions with the hashes of their
    records, the result, follow-ups with their steps, evidence hashes); ``manifest_hash`` is its
    SHA-256, also written to the audit log, so a later change to any part shows when the manifest is
    recomputed (``flask archive verify``)."""

    __tablename__ = "archive_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), unique=True)
    archived_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    retain_until: Mapped[dt.date] = mapped_column(Date)
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    manifest_hash: Mapped[str] = mapped_column(String(64))
