"""The publication API: approved results waiting for publication, and publishing by hand.

Staff (admin, supervisor, leader) of the inspection's initiating department publish ("谁检查、谁录入、
谁公开"); an inspection the caller may not see answers not_found. The public read side is the
feed at ``/results/feed.json`` (no login; see ``views.py``).
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from server.accounts.auth import api_auth, current_user
from server.errors import ApiError
from server.extensions import db
from server.inspections.models import Inspection
from server.inspections.services import inspections_visible_to
from server.publication import services
from server.publication.schemas import (
    PendingQuerySchema,
    PendingResultSchema,
    PublishResponseSchema,
    PublishSchema,
)

blp = Blueprint("publication_api", __name__, url_prefix="/api/v1/publication", description="Publication")


@blp.route("/pending")
@api_auth(*services.STAFF)
@blp.arguments(PendingQuerySchema, location="query")
@blp.response(200, PendingResultSchema(many=True))
def pending(args: dict[str, Any]) -> list[dict[str, Any]]:
    """Approved results not yet public, oldest approval first, with the day the job publishes them."""
    out = []
    for inspection in db.session.scalars(services.awaiting_publication(current_user()).limit(1000)):
        result = services.result_of(inspection)
        assert result is not None
        publishable = services.why_not_publishable(inspection, result) is None
        if "publishable" in args and args["publishable"] != publishable:
            continue
        out.append(
            {
                "inspection_id": inspection.id,
                "target_code": inspection.target.code,
                "target_name": inspection.target.name,
                "state": inspection.state,
                "approved_at": inspection.approved_at,
                "result_due_on": inspection.result_due_on,
                "publication_due_on": services.publication_due_on(inspection) if publishable else None,
                "withhold_status": result.withhold_status,
                "publishable": publishable,
                "categories": [c.code for c in result.categories],
            }
        )
    return out


@blp.route("/publish", methods=["POST"])
@api_auth(*services.STAFF)
@blp.arguments(PublishSchema)
@blp.response(200, PublishResponseSchema)
def publish(data: dict[str, Any]) -> dict[str, Any]:
    """Publish the selected approved results, all or none (409 ``result_not_publishable`` names the
    ones that cannot be, ``inspection_archived`` for an archived one); already published ones are
    reported, not published twice."""
    user = current_user()
    ids = sorted(set(data["inspection_ids"]))
    found = list(db.session.scalars(inspections_visible_to(user).where(Inspection.id.in_(ids))))
    if len(found) != len(ids):
        missing = sorted(set(ids) - {i.id for i in found})
        raise ApiError("not_found", detail=f"no inspection {', '.join(map(str, missing))}")
    already = [i.id for i in found if i.state == "published"]
    published = services.publish_results(found, user)
    db.session.commit()
    return {"published": published, "already_published": already}
