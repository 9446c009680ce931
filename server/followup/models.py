"""Follow-up of problems found (DOMAIN.md §6): one disposition per problem, its steps and evidence.

Kinds (003 第二十二条–第二十三条; the picklist of a real provincial system): ``none`` no follow-up
needed, ``routine`` hand to routine supervision, ``correction`` order to correct by a deadline and
re-check, ``case`` file a case (立案), ``transfer`` transfer the lead to the competent department,
``judicial`` to the judiciary, ``discipline`` to discipline inspection, ``other``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, utcnow
from server.inspections.models import Inspection
from server.results.models import ResultCategory

FOLLOW_UP_KINDS = ("none", "routine", "correction", "case", "transfer", "judicial", "discipline", "other")
FOLLOW_UP_STATUSES = ("open", "closed")  # 未完结 / 已完结


class FollowUp(Base):
    __tablename__ = "follow_up"
    __table_args__ = (
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in FOLLOW_UP_KINDS)})", name="kind"),
        CheckConstraint("status IN ('open', 'closed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), index=True)
    # The problem this disposes of: a result category flagged needs_follow_up, if any.
    category_id: Mapped[int | None] = mapped_column(ForeignKey("result_category.id"))
    kind: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    # Correction deadline (责令限期改正) or re-check date; an open follow-up past it is overdue.
    deadline: Mapped[dt.date | None] = mapped_column(Date, index=True)
    transfer_to: Mapped[str] = mapped_column(String(200), default="")  # department or authority
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    opened_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)  # when the closing was recorded
    # The local date the matter ended (已完结日期), as the person closing it states it; public.
    closed_on: Mapped[dt.date | None] = mapped_column(Date)
    outcome: Mapped[str] = mapped_column(Text, default="")  # how it ended (public: DOMAIN.md §9)

    inspection: Mapped[Inspection] = relationship()
    category: Mapped[ResultCategory | None] = relationship()
    events: Mapped[list[FollowUpEvent]] = relationship(
        back_populates="follow_up", order_by="FollowUpEvent.id", cascade="all, delete-orphan"
    )


class FollowUpEvent(Base):
    """One step of a follow-up (a re-check, a correction seen, a case filed, feedback received…)."""

    __tablename__ = "follow_up_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    follow_up_id: Mapped[int] = mapped_column(ForeignKey("follow_up.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[list[str]] = mapped_column(JSON, default=list)  # blob SHA-256s
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    follow_up: Mapped[FollowUp] = relationship(back_populates="events")
