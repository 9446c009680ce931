"""Send, list and mark notifications. Sending is idempotent: one notification per user and key."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select, update

from server.accounts.models import User, UserRole
from server.db import utcnow
from server.extensions import db
from server.notifications.models import Notification

PAGE_SIZE = 50


def notify(
    users: Iterable[User],
    kind: str,
    key: str,
    text: str,
    params: dict[str, Any] | None = None,
    link: str = "",
) -> int:
    """Give each user the notification ``key`` unless they already have it; returns how many were new.

    ``text`` is a Chinese source string (translated when shown) and ``params`` fill its placeholders.
    Jobs call this on every run, so a reminder reaches each person once however often the job runs.
    """
    wanted = {u.id for u in users}
    if not wanted:
        return 0
    have = set(
        db.session.scalars(
            select(Notification.user_id).where(Notification.key == key, Notification.user_id.in_(wanted))
        )
    )
    new = sorted(wanted - have)
    for user_id in new:
        db.session.add(
            Notification(user_id=user_id, kind=kind, key=key, text=text, params=params or {}, link=link)
        )
    db.session.flush()
    return len(new)


def users_with_role(role: str, department_ids: Iterable[int] | None = None) -> list[User]:
    """Active users with ``role``, in the given departments (None: any department)."""
    stmt = (
        select(User).join(UserRole, UserRole.user_id == User.id).where(UserRole.role == role, User.is_active)
    )
    if department_ids is not None:
        stmt = stmt.where(User.department_id.in_(list(department_ids)))
    return list(db.session.scalars(stmt.order_by(User.id)))


def unread_count(user: User) -> int:
    return int(
        db.session.scalar(
            select(func.count()).where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def notifications_for(user: User, *, unread_only: bool = False, page: int = 1) -> list[Notification]:
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    stmt = stmt.order_by(Notification.created_at.desc(), Notification.id.desc())
    return list(db.session.scalars(stmt.offset((max(page, 1) - 1) * PAGE_SIZE).limit(PAGE_SIZE)))


def mark_read(user: User, notification_ids: Iterable[int] | None = None) -> int:
    """Mark the user's own notifications read (all unread ones when ids is None); returns how many.

    Filtering on ``user_id`` is the object-level check: ids of other users' notifications do nothing.
    """
    stmt = (
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    if notification_ids is not None:
        stmt = stmt.where(Notification.id.in_(list(notification_ids)))
    result = db.session.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
