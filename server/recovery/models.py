"""One import of a field app export (``pwa/app/export.js``): its dry run and, once applied, its results."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, CheckConstraint, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from server.db import Base, utcnow

if TYPE_CHECKING:
    from server.accounts.models import User

# checked: a dry run that can be applied; blocked: the file was altered or damaged (a file's bytes do
# not hash to their name), so it is never applied; applied: the changes went through the push path.
RECOVERY_STATUSES = ("checked", "blocked", "applied")


class RecoveryImport(Base):
    """An uploaded export, checked against the server's state, and what applying it did.

    The file itself is in the blob store under ``file_sha256`` (as bulk imports keep theirs), so
    "apply" reads exactly the bytes that were checked; ``plan`` is the dry run's report and
    ``results`` the applied one (both the structure ``services.recovery_report`` builds). ``owner``
    is the account the export names and the changes are applied as; ``uploaded_by`` the person who
    uploaded it (that account or an admin).
    """

    __tablename__ = "recovery_import"
    __table_args__ = (
        CheckConstraint(f"status IN ({', '.join(repr(s) for s in RECOVERY_STATUSES)})", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    file_sha256: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(Integer)
    owner_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    device_id: Mapped[str] = mapped_column(String(64))
    exported_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    status: Mapped[str] = mapped_column(String(16), default="checked")
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("account.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    applied_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    applied_at: Mapped[dt.datetime | None] = mapped_column(DateTime)

    owner: Mapped[User] = relationship(foreign_keys=[owner_id])
    uploaded_by: Mapped[User] = relationship(foreign_keys=[uploaded_by_id])
    applied_by: Mapped[User | None] = relationship(foreign_keys=[applied_by_id])
