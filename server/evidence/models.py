"""One row per evidence file (photo, signature image), keyed by the SHA-256 of its original bytes.

The bytes live in the blob store (``server/storage.py``), never in the database. An evidence file is
never deleted while anything refers to it (``BlobRef``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow

BLOB_KINDS = ("photo", "signature", "other")


class Blob(Base):
    __tablename__ = "blob"
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in BLOB_KINDS)})", name="kind"),
        CheckConstraint("orientation BETWEEN 1 AND 8", name="orientation"),
    )

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)
    content_type: Mapped[str] = mapped_column(String(32))  # from the decoded format, not the client
    kind: Mapped[str] = mapped_column(String(16), default="photo")
    # As displayed: after the EXIF orientation is applied (a portrait phone photo is taller than wide).
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    # Capture metadata from EXIF, kept as claimed by the device (evidence, not verified facts).
    taken_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    gps_lat: Mapped[float | None] = mapped_column(Float)
    gps_lon: Mapped[float | None] = mapped_column(Float)
    device: Mapped[str | None] = mapped_column(String(100))
    orientation: Mapped[int] = mapped_column(SmallInteger, default=1)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # {"thumb": sha256, "review": sha256}: derived JPEGs in the same blob store, without metadata.
    renditions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class BlobRef(Base):
    """Something that refers to an evidence file: a photo or signature record of an inspection, a
    follow-up step. Written when the reference arrives (often before the bytes: records sync first),
    so there is no foreign key to ``blob``. An evidence file is never deleted while a row names it,
    and the team of the inspection may open it."""

    __tablename__ = "blob_ref"
    __table_args__ = (UniqueConstraint("sha256", "source", "source_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspection.id"), index=True)
    source: Mapped[str] = mapped_column(String(16))  # photo | signature | followup
    source_id: Mapped[str] = mapped_column(String(36))  # the sync record id, or the follow-up event id
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
