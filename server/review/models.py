"""A reviewer's comments on one submitted version, per checkpoint or on the whole inspection;
and the guard that keeps an approved version frozen."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Text, event, inspect
from sqlalchemy.orm import Mapped, mapped_column

from server.db import Base, utcnow
from server.errors import ApiError
from server.inspections.models import InspectionVersion


class ReviewComment(Base):
    __tablename__ = "review_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("inspection_version.id"), index=True)
    # A checkpoint of the version's checklist, or None for a comment on the inspection as a whole.
    checkpoint_id: Mapped[int | None]
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


# Approval freezes a version (the shared interface of issue 4): whatever code path tries to change an
# approved version's content or decision afterwards, the flush is refused with a stable code.
_FROZEN_FIELDS = (
    "inspection_id",
    "number",
    "content_hash",
    "record",
    "status",
    "submitted_at",
    "submitted_by_id",
    "device_id",
    "decided_at",
    "decided_by_id",
    "decision_comment",
)


@event.listens_for(InspectionVersion, "before_update")
def _refuse_edit_of_approved_version(_mapper: Any, _connection: Any, version: InspectionVersion) -> None:
    state = inspect(version)
    status = state.attrs.status.history
    was = status.deleted[0] if status.deleted else version.status
    if was == "approved" and any(state.attrs[name].history.has_changes() for name in _FROZEN_FIELDS):
        raise ApiError("inspection_frozen", detail=f"version {version.number} is approved")
