"""The audit log page (admins): browse with filters, newest first, and verify the chain."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Blueprint, render_template, request, url_for
from sqlalchemy import select

from server.accounts.auth import page_auth
from server.accounts.models import User
from server.audit.services import browse_events, check_chain
from server.extensions import db
from server.i18n import local_tz

bp = Blueprint("audit", __name__)
PAGE = 100


# The page showing each kind of audited object, so an entry links to what it is about (admins, who
# read the log, may open every one of them). Kinds without a page of their own are shown as text.
OBJECT_PAGES = {
    "account": ("accounts.user_edit", "user_id"),
    "department": ("directory.department_edit", "department_id"),
    "draw": ("draws.draw_detail", "draw_id"),
    "follow_up": ("followup.detail", "follow_up_id"),
    "import_job": ("directory.import_job", "job_id"),
    "inspection": ("review.inspection_page", "inspection_id"),
    "inspector": ("directory.inspector_detail", "inspector_id"),
    "item": ("directory.item_detail", "item_id"),
    "plan": ("planning.plan_detail", "plan_id"),
    "recovery_import": ("recovery.detail", "import_id"),
    "target": ("directory.target_detail", "target_id"),
    "task": ("planning.task_detail", "task_id"),
}


def object_url(object_type: str, object_id: str | None) -> str | None:
    page = OBJECT_PAGES.get(object_type)
    if page is None or not object_id or not object_id.isdigit():
        return None
    endpoint, arg = page
    values: dict[str, Any] = {arg: int(object_id)}
    return url_for(endpoint, **values)


def _local_day_start(text: str) -> dt.datetime | None:
    """A local (Asia/Shanghai) date from the form as the naive-UTC instant its day starts."""
    try:
        day = dt.date.fromisoformat(text.strip())
    except ValueError:
        return None
    start = dt.datetime.combine(day, dt.time(), tzinfo=local_tz())
    return start.astimezone(dt.UTC).replace(tzinfo=None)


@bp.route("/admin/audit")
@page_auth("admin")
def audit_log() -> str:
    args = request.args
    filters: dict[str, Any] = {
        "action": args.get("action", "").strip(),
        "object_type": args.get("object_type", "").strip(),
        "object_id": args.get("object_id", "").strip(),
        "actor": args.get("actor", "").strip(),
        "since": args.get("since", "").strip(),
        "until": args.get("until", "").strip(),
    }
    errors = []
    actor_id = None
    if filters["actor"]:
        actor = db.session.scalar(select(User).where(User.username == filters["actor"]))
        if actor is None:
            errors.append("actor")
        actor_id = actor.id if actor else -1
    since = _local_day_start(filters["since"]) if filters["since"] else None
    until_start = _local_day_start(filters["until"]) if filters["until"] else None
    until = until_start + dt.timedelta(days=1) if until_start else None  # through the end of that day
    errors += [k for k, v in (("since", since), ("until", until)) if filters[k] and v is None]
    before = args.get("before", type=int)
    events = browse_events(
        action=filters["action"],
        object_type=filters["object_type"],
        object_id=filters["object_id"],
        actor_id=actor_id,
        since=since,
        until=until,
        before_seq=before,
        limit=PAGE,
    )
    actors = {
        u.id: u
        for u in db.session.scalars(
            select(User).where(User.id.in_({e.actor_id for e in events if e.actor_id}))
        )
    }
    report = check_chain() if args.get("verify") == "1" else None
    return render_template(
        "audit/log.html",
        events=events,
        actors=actors,
        filters=filters,
        errors=errors,
        next_before=events[-1].seq if len(events) == PAGE else None,
        report=report,
        pretty=lambda d: json.dumps(d, ensure_ascii=False, indent=1, sort_keys=True),
        object_url=object_url,
    )
