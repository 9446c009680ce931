"""The record of every job run, and the lease naming the process whose scheduler runs the jobs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow

RUN_STATUSES = ("running", "ok", "failed")
RUN_TRIGGERS = ("schedule", "manual", "cli")


class JobRun(Base):
    __tablename__ = "job_run"
    __table_args__ = (
        CheckConstraint("status IN ('running', 'ok', 'failed')", name="status"),
        CheckConstraint("trigger IN ('schedule', 'manual', 'cli')", name="trigger"),
        Index("ix_job_run_job_id_started_at", "job_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(16))  # who started it: the scheduler, a page, the CLI
    # The instant the job body was told it is (tests and `jobs run-once --now` move it; else the clock).
    as_of: Mapped[dt.datetime] = mapped_column(DateTime)
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # what the job body returned
    error: Mapped[str] = mapped_column(Text, default="")
    holder: Mapped[str] = mapped_column(String(100), default="")  # host:pid of the process that ran it


class SchedulerLease(Base):
    """Who runs the scheduler. On SQLite this row *is* the lock (a lease renewed by heartbeats and
    taken over once expired); on PostgreSQL a session-level advisory lock is, and the row only says
    who holds it, for the jobs page."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    acquired_at: Mapped[dt.datetime] = mapped_column(DateTime)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(DateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
