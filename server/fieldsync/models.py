"""Tables behind ``sync.store.Store``: synced records, the change log of push results, and the seq counter.

A record is stored as the protocol sees it (``sync.store.StoredRecord``): its per-field claims, its
version and the seq of its latest write. These tables are the sync log the phones read and write; the
review pages and the finalize step read inspections through ``sync`` from here.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow


class SyncRecord(Base):
    """One synced record in its latest state; ``seq`` moves forward with every write."""

    __tablename__ = "sync_record"
    __table_args__ = (
        # A pull filtered by assignment, and the content of one inspection (finalize, review).
        Index("ix_sync_record_inspection_id_seq", "inspection_id", "seq"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    # The store is keyed by (type, id) like MemoryStore: a device cannot clobber a record of another
    # type by reusing its UUID.
    record_type: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    inspection_id: Mapped[str] = mapped_column(String(36))
    version: Mapped[int] = mapped_column(Integer)
    # Each seq is handed out once and written by one record, so it is unique; the unique index is
    # also what an unfiltered pull pages through.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    # {field: [{"device_id", "value", "version"}, ...]} in claim order, values exactly as sent.
    claims: Mapped[dict[str, Any]] = mapped_column(JSON)


class SyncChange(Base):
    """The stored result of a device's change: a replay of ``change_id`` returns ``result_json`` as is."""

    __tablename__ = "sync_change"

    change_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    device_id: Mapped[str] = mapped_column(String(100))
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    # Text, not JSON: the canonical bytes are the contract, and a JSON column may re-serialise them.
    result_json: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class SyncCounter(Base):
    """The single row whose ``next_seq`` is the seq the next write will take.

    Incremented with ``UPDATE ... RETURNING`` inside the push transaction: the row lock is held until
    commit, so seqs become visible in commit order (a SEQUENCE would not guarantee this).
    """

    __tablename__ = "sync_counter"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    next_seq: Mapped[int] = mapped_column(BigInteger)
