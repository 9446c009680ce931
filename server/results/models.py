"""Result categories (editable reference data, DOMAIN.md §5) and the result of each inspection.

Several categories may apply to one inspection. A result is published unless a leader approved
withholding it (003 第二十条(三)): ``withhold_status`` goes none → requested → approved | rejected,
and the reason stays on record (internal, never public).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, utcnow

WITHHOLD_STATUSES = ("none", "requested", "approved", "rejected")


class ResultCategory(Base):
    __tablename__ = "result_category"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))  # as the publicity system shows it (Chinese)
    name_en: Mapped[str] = mapped_column(String(200), default="")
    is_problem: Mapped[bool] = mapped_column(default=False)
    needs_follow_up: Mapped[bool] = mapped_column(default=False)
    # The check ended without inspecting (003 第二十一条): deregistered, no contact, …
    ends_without_inspection: Mapped[bool] = mapped_column(default=False)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class InspectionResult(Base):
    __tablename__ = "inspection_result"
    __table_args__ = (
        CheckConstraint(
            f"withhold_status IN ({', '.join(repr(s) for s in WITHHOLD_STATUSES)})", name="withhold_status"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[int] = mapped_column(ForeignKey("inspection.id"), unique=True)
    # The approved version the result rests on (None while the inspection is still under review).
    version_id: Mapped[int | None] = mapped_column(ForeignKey("inspection_version.id"))
    summary: Mapped[str] = mapped_column(Text, default="")  # the public 检查结果 text
    publish: Mapped[bool] = mapped_column(default=True)
    withhold_status: Mapped[str] = mapped_column(String(16), default="none")
    withhold_reason: Mapped[str] = mapped_column(Text, default="")
    withhold_decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    withhold_decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    withhold_decision_note: Mapped[str] = mapped_column(Text, default="")
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    entered_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    # Indexed for the public feed's ``updated_since`` (publication and a closed follow-up touch it).
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow, index=True)
    # Indexed: the public results list is newest publication first.
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime, index=True)

    category_links: Mapped[list[InspectionResultCategory]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def categories(self) -> list[ResultCategory]:
        return sorted((link.category for link in self.category_links), key=lambda c: (c.position, c.id))


class InspectionResultCategory(Base):
    __tablename__ = "inspection_result_category"

    result_id: Mapped[int] = mapped_column(
        ForeignKey("inspection_result.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[int] = mapped_column(ForeignKey("result_category.id"), primary_key=True)

    category: Mapped[ResultCategory] = relationship(lazy="joined")
