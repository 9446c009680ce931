"""Inspections (one visit per target and window, 进一次门、查多项事) and their teams."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, utcnow
from server.directory.models import Department, Inspector, Target
from server.planning.models import Task

TEAM_ROLES = ("leader", "member", "expert")
# assigned → in_progress (a phone wrote to it) → submitted (finalized) → returned ↔ submitted → approved
# → published → archived; cancelled when its draw is voided before field work started.
STATES = (
    "assigned",
    "in_progress",
    "submitted",
    "returned",
    "approved",
    "published",
    "archived",
    "cancelled",
)
# States in which phones may still write to the inspection (PROTOCOL.md §5, sync_inspection_locked).
FIELD_EDITABLE_STATES = ("assigned", "in_progress", "returned")
VERSION_STATUSES = ("submitted", "returned", "approved")


class Inspection(Base):
    """A visit to one target, linked to every task that drew it in the same window."""

    __tablename__ = "inspection"
    __table_args__ = (CheckConstraint(f"state IN ({', '.join(repr(s) for s in STATES)})", name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("target.id"), index=True)
    window_start: Mapped[dt.date] = mapped_column(Date)
    window_end: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="assigned", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # The id phones know it by (PROTOCOL.md: record ids are UUIDs). Given when it is first sent to a
    # phone, not at the draw, so a draw of a million targets writes no sync rows.
    sync_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    # The local (Asia/Shanghai) date the check ended: its first successful finalize. The result
    # deadline counts working days from here (003 第二十条(三)).
    checked_on: Mapped[dt.date | None] = mapped_column(Date)
    result_due_on: Mapped[dt.date | None] = mapped_column(Date)
    # The result was not entered by result_due_on: 视为未完成 (003 第二十条(三); 001 §三).
    # A server default, not a Python one: draws insert inspections with a bare executemany.
    late: Mapped[bool] = mapped_column(server_default=false())
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    archived_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    # Archived material is kept at least until this date (003 第二十五条: two years unless longer).
    retain_until: Mapped[dt.date | None] = mapped_column(Date)

    target: Mapped[Target] = relationship()
    task_links: Mapped[list[InspectionTask]] = relationship(cascade="all, delete-orphan")
    team: Mapped[list[TeamMember]] = relationship(
        back_populates="inspection", order_by="TeamMember.id", cascade="all, delete-orphan"
    )

    versions: Mapped[list[InspectionVersion]] = relationship(
        back_populates="inspection", order_by="InspectionVersion.number"
    )

    @property
    def active_team(self) -> list[TeamMember]:
        return [m for m in self.team if m.removed_at is None]

    @property
    def latest_version(self) -> InspectionVersion | None:
        return self.versions[-1] if self.versions else None


class InspectionTask(Base):
    __tablename__ = "inspection_task"

    inspection_id: Mapped[int] = mapped_column(
        ForeignKey("inspection.id", ondelete="CASCADE"), primary_key=True
    )
    task_id: Mapped[int] = mapped_column(ForeignKey("task.id"), primary_key=True, index=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("draw.id"), index=True)

    task: Mapped[Task] = relationship()


class TeamMember(Base):
    __tablename__ = "team_member"
    __table_args__ = (CheckConstraint("role IN ('leader', 'member', 'expert')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id", ondelete="CASCADE"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("inspector.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))  # the inspector's own
    # The task department this member was drawn for when drawn from a peer department of the same
    # trade because that department had nobody eligible left (003 第十七条); NULL otherwise.
    acting_for_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("draw.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    inspection: Mapped[Inspection] = relationship(back_populates="team")
    inspector: Mapped[Inspector] = relationship()
    department: Mapped[Department] = relationship(foreign_keys=[department_id])
    acting_for: Mapped[Department | None] = relationship(foreign_keys=[acting_for_department_id])


class InspectionVersion(Base):
    """One submission of an inspection, frozen: what the phones had when it was finalized.

    ``record`` is self-contained (target, team, checklist as they were, answers, findings, photos with
    their metadata, signatures, refusals, check-ins) so review, the PDF and the archive never depend on
    later edits of the directory. ``content_hash`` is the hash the signatures bind (sync/content.py).
    A returned version stays as it was; the fix is the next version. Approval freezes the version.
    """

    __tablename__ = "inspection_version"
    __table_args__ = (
        UniqueConstraint("inspection_id", "number"),
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in VERSION_STATUSES)})", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), index=True)
    number: Mapped[int]  # 1, 2, … per inspection
    content_hash: Mapped[str] = mapped_column(String(64))
    record: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="submitted")
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    device_id: Mapped[str | None] = mapped_column(String(100))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    decision_comment: Mapped[str] = mapped_column(Text, default="")

    inspection: Mapped[Inspection] = relationship(back_populates="versions")
