"""Inspections (one visit per target and window, 进一次门、查多项事) and their teams."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, utcnow
from server.directory.models import Department, Inspector, Target
from server.planning.models import Task

TEAM_ROLES = ("leader", "member", "expert")


class Inspection(Base):
    """A visit to one target, linked to every task that drew it in the same window."""

    __tablename__ = "inspection"

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[int] = mapped_column(ForeignKey("target.id"), index=True)
    window_start: Mapped[dt.date] = mapped_column(Date)
    window_end: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16), default="assigned")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)

    target: Mapped[Target] = relationship()
    task_links: Mapped[list[InspectionTask]] = relationship(cascade="all, delete-orphan")
    team: Mapped[list[TeamMember]] = relationship(
        back_populates="inspection", order_by="TeamMember.id", cascade="all, delete-orphan"
    )

    @property
    def active_team(self) -> list[TeamMember]:
        return [m for m in self.team if m.removed_at is None]


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
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("draw.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    removed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    inspection: Mapped[Inspection] = relationship(back_populates="team")
    inspector: Mapped[Inspector] = relationship()
    department: Mapped[Department] = relationship()
