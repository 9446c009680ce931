"""A reviewer's comments on one submitted version, per checkpoint or on the whole inspection."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow


class ReviewComment(Base):
    __tablename__ = "review_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("inspection_version.id"), index=True)
    # A checkpoint of the version's checklist, or None for a comment on the inspection as a whole.
    checkpoint_id: Mapped[int | None]
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
