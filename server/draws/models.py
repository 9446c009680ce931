"""Draws: the frozen snapshot, the seed, the drawn targets and every replacement of an inspector."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, utcnow
from server.directory.models import Target
from server.planning.models import Task

REPLACEMENT_REASONS = ("conflict", "illness", "post_change", "work_conflict")  # 003 第十七条


class Draw(Base):
    """One draw attempt for a task. Never redone in place: a voided draw stays with its reason."""

    __tablename__ = "draw"
    __table_args__ = (
        UniqueConstraint("task_id", "attempt"),
        CheckConstraint("status IN ('active', 'voided')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), index=True)
    attempt: Mapped[int] = mapped_column(default=1)
    status: Mapped[str] = mapped_column(String(16), default="active")
    algorithm: Mapped[str] = mapped_column(String(32))
    server_entropy: Mapped[str] = mapped_column(String(64))  # hex, from the OS's secure source
    witness_input: Mapped[str | None] = mapped_column(String(200))
    seed: Mapped[str] = mapped_column(String(64))  # hex; derived from the two above
    snapshot_hash: Mapped[str] = mapped_column(String(64))  # SHA-256 of the snapshot file
    snapshot_rows: Mapped[int]
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)  # everything the algorithm read
    strata: Mapped[dict[str, Any]] = mapped_column(JSON)  # per class: pool, ratio, count
    drawn_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    drawn_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    voided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    void_reason: Mapped[str | None] = mapped_column(Text)

    task: Mapped[Task] = relationship()
    drawn: Mapped[list[DrawnTarget]] = relationship(
        back_populates="draw", order_by="DrawnTarget.rank", cascade="all, delete-orphan"
    )


class DrawnTarget(Base):
    __tablename__ = "drawn_target"
    __table_args__ = (UniqueConstraint("draw_id", "target_id"), UniqueConstraint("draw_id", "rank"))

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draw.id", ondelete="CASCADE"))
    target_id: Mapped[int] = mapped_column(ForeignKey("target.id"), index=True)
    rank: Mapped[int]  # order of selection within the draw, 1-based
    stratum: Mapped[str] = mapped_column(String(1))  # risk class, or "U" (unclassified / not stratified)
    weight: Mapped[int]
    inspection_id: Mapped[int | None] = mapped_column(ForeignKey("inspection.id"), index=True)

    draw: Mapped[Draw] = relationship(back_populates="drawn")
    target: Mapped[Target] = relationship()


class Replacement(Base):
    """Swapping a drawn inspector (回避, illness, post change): requested, approved, redrawn."""

    __tablename__ = "replacement"
    __table_args__ = (
        CheckConstraint("status IN ('requested', 'approved', 'rejected')", name="status"),
        CheckConstraint("reason IN ('conflict', 'illness', 'post_change', 'work_conflict')", name="reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), index=True)
    out_member_id: Mapped[int] = mapped_column(ForeignKey("team_member.id"))
    in_member_id: Mapped[int | None] = mapped_column(ForeignKey("team_member.id"))
    reason: Mapped[str] = mapped_column(String(16))
    reason_text: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="requested")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    seed: Mapped[str | None] = mapped_column(String(64))  # fresh entropy for the redraw
    candidates: Mapped[list[str] | None] = mapped_column(JSON)  # inspector codes eligible at redraw
    # Set when the member's department had no eligible replacement and the candidates came from a
    # peer department of the same trade (003 第十七条): the department short, the peer tiers
    # considered, the tier the candidates came from, the specialties required.
    peers: Mapped[dict[str, Any] | None] = mapped_column(JSON)
