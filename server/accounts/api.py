"""Device login and token management for the API."""

from __future__ import annotations

from typing import Any

from flask import g
from flask_smorest import Blueprint
from sqlalchemy import select

from server.accounts.auth import api_auth, current_user, no_login
from server.accounts.models import ApiToken
from server.accounts.schemas import DeviceSchema, TokenRequestSchema, TokenSchema, UserSchema
from server.accounts.services import authenticate, issue_token, revoke_token
from server.errors import ApiError
from server.extensions import db

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="Login and device tokens")


@blp.route("/token", methods=["POST"])
@blp.arguments(TokenRequestSchema)
@blp.response(201, TokenSchema)
@blp.doc(security=[])  # the login itself: no token yet
@no_login
def login(data: dict[str, Any]) -> dict[str, Any]:
    """Log in on a device; returns a bearer token bound to that device."""
    user = authenticate(data["username"], data["password"])
    token = issue_token(user, data["device_id"], data["device_name"])
    db.session.commit()
    return {"token": token, "user": user}


@blp.route("/token", methods=["DELETE"])
@blp.response(204)
@api_auth()
def logout() -> None:
    """Revoke the token used for this request."""
    revoke_token(g.token, current_user())
    db.session.commit()


@blp.route("/me")
@blp.response(200, UserSchema)
@api_auth()
def me() -> Any:
    """The user this token belongs to, with roles and department."""
    return current_user()


@blp.route("/devices")
@blp.response(200, DeviceSchema(many=True))
@api_auth()
def devices() -> Any:
    """The caller's devices and their tokens' state."""
    return db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == current_user().id).order_by(ApiToken.id)
    ).all()


@blp.route("/devices/<int:token_id>", methods=["DELETE"])
@blp.response(204)
@api_auth()
def revoke_device(token_id: int) -> None:
    """Revoke one of the caller's device tokens (an admin may revoke anyone's)."""
    user = current_user()
    token = db.session.get(ApiToken, token_id)
    if token is None or (token.user_id != user.id and not user.has_role("admin")):
        raise ApiError("not_found")
    revoke_token(token, user)
    db.session.commit()
