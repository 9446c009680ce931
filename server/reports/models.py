"""Daily KPI snapshots, so the dashboard can show how the year's figures moved."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, DateTime, ForeignKey, Index
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow


class KpiSnapshot(Base):
    """One day's figures for one plan year, for one department or (``department_id`` NULL) in total.
    ``metrics`` is ``KpiRow.as_dict()`` plus the coverage denominator."""

    __tablename__ = "kpi_snapshot"
    __table_args__ = (
        Index("ix_kpi_snapshot_year_department_id_taken_on", "year", "department_id", "taken_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    taken_on: Mapped[dt.date] = mapped_column(Date)  # local date
    year: Mapped[int]
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    taken_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
