"""The bell in the header (unread count) and the page listing one's notifications."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from server.accounts.auth import current_user, page_auth
from server.extensions import db
from server.notifications import services

bp = Blueprint("notifications", __name__)


@bp.app_context_processor
def _bell() -> dict[str, Any]:
    """``unread_notifications()`` for base.html: counted only when a page asks for it."""

    def unread_notifications() -> int:
        user = g.get("user")
        return services.unread_count(user) if user is not None else 0

    return {"unread_notifications": unread_notifications}


@bp.route("/notifications")
@page_auth()
def notification_list() -> str:
    user = current_user()
    unread_only = request.args.get("unread") == "1"
    page = max(1, request.args.get("page", type=int) or 1)
    rows = services.notifications_for(user, unread_only=unread_only, page=page)
    return render_template(
        "notifications/list.html",
        notifications=rows,
        unread_only=unread_only,
        page=page,
        more=len(rows) == services.PAGE_SIZE,
    )


@bp.route("/notifications/read", methods=["POST"])
@page_auth()
def mark_read() -> Response:
    """Mark one notification (``id``) or all of one's unread notifications read, then follow ``next``."""
    user = current_user()
    one = request.form.get("id", type=int)
    services.mark_read(user, [one] if one is not None else None)
    db.session.commit()
    target = request.form.get("next", "")
    # Only local paths: never an open redirect to another site.
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("notifications.notification_list")
    return redirect(target)
