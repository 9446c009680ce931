"""Passwords, login throttling, device tokens and who-may-see-what."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from flask import current_app
from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from server.accounts.models import ApiToken, DepartmentGrant, User, UserRole
from server.audit.services import record_event
from server.db import utcnow
from server.errors import ApiError
from server.extensions import db

LAST_USED_RESOLUTION = dt.timedelta(minutes=1)
# Verifying against this keeps the timing of unknown and known usernames alike.
_DUMMY_HASH = generate_password_hash("not-a-password", method="pbkdf2:sha256:1000")


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def create_user(
    username: str,
    password: str,
    display_name: str,
    roles: list[str] | tuple[str, ...],
    department_id: int | None = None,
) -> User:
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        department_id=department_id,
    )
    user.role_rows = [UserRole(role=r) for r in sorted(set(roles))]
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(username: str, password: str) -> User:
    """Check a password; after LOGIN_MAX_FAILURES failures the account is locked for a while.

    The failure counter is committed even though the login fails, so it runs in its own commit.
    """
    user = db.session.scalar(select(User).where(User.username == username))
    now = utcnow()
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        raise ApiError("invalid_credentials")
    if user.locked_until and user.locked_until > now:
        raise ApiError("login_throttled", detail=f"locked until {user.locked_until.isoformat()}Z")
    if not check_password_hash(user.password_hash, password):
        user.failed_logins += 1
        if user.failed_logins >= current_app.config["LOGIN_MAX_FAILURES"]:
            user.locked_until = now + dt.timedelta(seconds=current_app.config["LOGIN_LOCK_SECONDS"])
            user.failed_logins = 0
            record_event("account.locked", "account", user.id, actor_id=user.id)
        db.session.commit()
        raise ApiError("invalid_credentials")
    if not user.is_active:
        raise ApiError("account_disabled")
    if user.failed_logins or user.locked_until:
        user.failed_logins = 0
        user.locked_until = None
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def issue_token(user: User, device_id: str, device_name: str = "") -> str:
    """A new token for one device; an earlier token of the same device is revoked."""
    now = utcnow()
    for old in db.session.scalars(
        select(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.device_id == device_id, ApiToken.revoked_at.is_(None)
        )
    ):
        old.revoked_at = now
    raw = secrets.token_urlsafe(32)
    db.session.add(
        ApiToken(user_id=user.id, device_id=device_id, device_name=device_name, token_hash=_digest(raw))
    )
    db.session.flush()
    record_event("token.issued", "account", user.id, actor_id=user.id, details={"device_id": device_id})
    return raw


def user_for_token(raw: str) -> tuple[User, ApiToken]:
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(raw)))
    if token is None or token.revoked_at is not None:
        raise ApiError("token_invalid")
    if not token.user.is_active:
        raise ApiError("account_disabled")
    now = utcnow()
    # At most one write a minute per token: every API call writing the token row would take
    # SQLite's write lock on each request (a phone uploading photos makes many in a row).
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_RESOLUTION:
        token.last_used_at = now
    return token.user, token


def revoke_token(token: ApiToken, actor: User) -> None:
    token.revoked_at = utcnow()
    record_event(
        "token.revoked", "account", token.user_id, actor_id=actor.id, details={"device_id": token.device_id}
    )


def visible_department_ids(user: User) -> set[int] | None:
    """Departments whose data the user may see; None means all (admins)."""
    if user.has_role("admin"):
        return None
    ids = {user.department_id} if user.department_id else set()
    if ids:
        ids |= set(
            db.session.scalars(
                select(DepartmentGrant.department_id).where(DepartmentGrant.grantee_id.in_(ids))
            )
        )
    return ids


def can_see_department(user: User, department_id: int | None) -> bool:
    visible = visible_department_ids(user)
    return visible is None or department_id in visible
