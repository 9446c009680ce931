"""The working-day calendar's admin overrides and the years an admin declared by hand."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow


class CalendarOverride(Base):
    """One day declared a working day or a holiday, overriding the package (a note says why)."""

    __tablename__ = "calendar_override"
    __table_args__ = (CheckConstraint("kind IN ('workday', 'holiday')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class CalendarYear(Base):
    """A year the holiday package does not know yet, declared by an admin: its days follow the
    weekday rule except for the overrides the admin entered (the State Council's notice)."""

    __tablename__ = "calendar_year"

    year: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    note: Mapped[str] = mapped_column(String(200))
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    declared_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
