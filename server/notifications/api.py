"""One's own notifications over the API: list, and mark read."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from server.accounts.auth import api_auth, current_user
from server.extensions import db
from server.notifications import services
from server.notifications.schemas import (
    MarkedSchema,
    MarkReadSchema,
    NotificationQuerySchema,
    NotificationSchema,
)

blp = Blueprint("notifications_api", __name__, url_prefix="/api/v1", description="Notifications")


@blp.route("/notifications")
@blp.arguments(NotificationQuerySchema, location="query")
@blp.response(200, NotificationSchema(many=True))
@api_auth()
def list_notifications(args: dict[str, Any]) -> Any:
    """The caller's notifications, newest first, 50 a page."""
    return services.notifications_for(current_user(), unread_only=args["unread"], page=args["page"])


@blp.route("/notifications/read", methods=["POST"])
@blp.arguments(MarkReadSchema)
@blp.response(200, MarkedSchema)
@api_auth()
def mark_read(args: dict[str, Any]) -> Any:
    """Mark the caller's notifications read (``ids``, or all unread); others' ids are ignored."""
    marked = services.mark_read(current_user(), args.get("ids"))
    db.session.commit()
    return {"marked": marked}
