"""Who is asking: a session cookie on pages, a bearer token on the API; and role guards."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import current_app, g, redirect, request, session, url_for

from server.accounts.models import User
from server.accounts.services import user_for_token
from server.errors import ApiError
from server.extensions import db

F = TypeVar("F", bound=Callable[..., Any])


def no_login(view: F) -> F:
    """Mark an API view that needs no token (the logins themselves); every other ``/api/v1`` view
    answers ``auth_required`` before it reads its input, so a caller without a token learns
    nothing of what the endpoint expects. Pair it with ``@blp.doc(security=[])`` for OpenAPI."""
    view.no_login = True  # type: ignore[attr-defined]  # copied onto the wrappers by functools.wraps
    return view


def _needs_login(endpoint: str | None) -> bool:
    view = current_app.view_functions.get(endpoint or "")
    # No view: a 404 or 405 is the answer, whoever asks.
    return view is not None and not getattr(view, "no_login", False)


def load_user() -> None:
    """before_request: sets g.user from the bearer token (API) or the session (pages)."""
    g.user = None
    g.token = None
    if request.path.startswith("/api/"):
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            g.user, g.token = user_for_token(header[7:].strip())
            if db.session.dirty:  # last_used_at moved: its own short write, whatever the request does
                db.session.commit()
        elif request.path.startswith("/api/v1/") and _needs_login(request.endpoint):
            raise ApiError("auth_required")
        return
    user_id = session.get("user_id")
    if user_id is not None:
        user = db.session.get(User, user_id)
        if user is not None and user.is_active and session.get("auth_epoch") == user.password_hash[-16:]:
            g.user = user
        else:
            session.clear()


def current_user() -> User:
    user = g.get("user")
    if user is None:
        raise ApiError("auth_required")
    return cast(User, user)


def api_auth(*roles: str) -> Callable[[F], F]:
    """Guard an API view: a valid token, and one of ``roles`` if any are given."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if roles and not user.has_role(*roles):
                raise ApiError("forbidden")
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator


def page_auth(*roles: str) -> Callable[[F], F]:
    """Guard a page: redirect to the login page, or 403 for a missing role."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if g.get("user") is None:
                return redirect(url_for("accounts.login", next=request.full_path))
            if roles and not g.user.has_role(*roles):
                raise ApiError("forbidden")
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorator
