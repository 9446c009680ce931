"""Inspections as the field sees them: an inspector's assignments, one inspection."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy.orm import selectinload

from server.accounts.auth import api_auth, current_user
from server.errors import ApiError
from server.extensions import db
from server.inspections.models import Inspection, TeamMember
from server.inspections.schemas import InspectionSummarySchema
from server.inspections.services import inspections_visible_to, my_assignments

blp = Blueprint("inspections_api", __name__, url_prefix="/api/v1", description="Inspections")

_LOAD = (
    selectinload(Inspection.target),
    selectinload(Inspection.task_links),
    selectinload(Inspection.team).selectinload(TeamMember.inspector),
)


@blp.route("/assignments")
@blp.response(200, InspectionSummarySchema(many=True))
@api_auth("inspector")
def assignments() -> Any:
    """The caller's open inspections (only those the caller is on)."""
    return db.session.scalars(my_assignments(current_user()).options(*_LOAD)).unique().all()


@blp.route("/inspections/<int:inspection_id>")
@blp.response(200, InspectionSummarySchema)
@api_auth()
def get_inspection(inspection_id: int) -> Any:
    """One inspection; 404 for one the caller may not see (existence is not disclosed)."""
    query = inspections_visible_to(current_user()).where(Inspection.id == inspection_id).options(*_LOAD)
    inspection = db.session.scalar(query)
    if inspection is None:
        raise ApiError("not_found")
    return inspection
