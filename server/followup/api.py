"""The follow-up API: the ledger, problems awaiting a disposition, opening, steps and closing.

"谁监管、谁负责": staff (admin, supervisor, leader) of the departments of the inspection's tasks
read and write; anything else answers not_found. Evidence files are uploaded first with
``PUT /api/v1/blobs/<sha256>`` and then named in a step's ``evidence``.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters
from sqlalchemy import func, select

from server.accounts.auth import api_auth, current_user
from server.errors import ApiError
from server.extensions import db
from server.followup import services
from server.followup.models import FollowUp, FollowUpEvent
from server.followup.schemas import (
    AwaitingSchema,
    FollowUpCloseSchema,
    FollowUpDetailSchema,
    FollowUpEventSchema,
    FollowUpInSchema,
    FollowUpQuerySchema,
    FollowUpSchema,
    FollowUpStepInSchema,
)
from server.inspections.models import Inspection

blp = Blueprint("followup_api", __name__, url_prefix="/api/v1", description="Follow-up of problems found")


def _inspection(inspection_id: int) -> Inspection:
    inspection = db.session.get(Inspection, inspection_id)
    if (
        inspection is None
        or inspection.state == "cancelled"
        or not services.can_handle(current_user(), inspection)
    ):
        raise ApiError("not_found")
    return inspection


def _follow_up(follow_up_id: int) -> FollowUp:
    follow_up = db.session.get(FollowUp, follow_up_id)
    if follow_up is None:
        raise ApiError("not_found")
    _inspection(follow_up.inspection_id)
    return follow_up


@blp.route("/follow-ups")
@api_auth(*services.STAFF)
@blp.arguments(FollowUpQuerySchema, location="query")
@blp.response(200, FollowUpSchema(many=True))
@blp.paginate()
def ledger(args: dict[str, Any], pagination_parameters: PaginationParameters) -> list[FollowUp]:
    """The ledger (台账): open first, soonest deadline first; filter by status, kind, overdue, deadline."""
    query = services.ledger_query(current_user(), args)
    pagination_parameters.item_count = db.session.scalar(
        select(func.count()).select_from(query.order_by(None).subquery())
    )
    return list(
        db.session.scalars(
            query.offset(pagination_parameters.first_item).limit(pagination_parameters.page_size)
        )
    )


@blp.route("/follow-ups/awaiting")
@api_auth(*services.STAFF)
@blp.response(200, AwaitingSchema(many=True))
def awaiting() -> list[services.Problem]:
    """Problems found on approved inspections that have no disposition yet."""
    return services.awaiting_disposition(current_user())


@blp.route("/inspections/<int:inspection_id>/follow-ups")
@api_auth(*services.STAFF)
@blp.response(200, FollowUpSchema(many=True))
def inspection_follow_ups(inspection_id: int) -> list[FollowUp]:
    """The follow-ups opened for one inspection."""
    inspection = _inspection(inspection_id)
    return list(
        db.session.scalars(
            select(FollowUp).where(FollowUp.inspection_id == inspection.id).order_by(FollowUp.id)
        )
    )


@blp.route("/inspections/<int:inspection_id>/follow-ups", methods=["POST"])
@api_auth(*services.STAFF)
@blp.arguments(FollowUpInSchema)
@blp.response(201, FollowUpDetailSchema)
def open_follow_up(data: dict[str, Any], inspection_id: int) -> FollowUp:
    """Record the disposition of a problem (409 ``inspection_not_approved``, ``inspection_archived``,
    ``follow_up_open_exists``; 422 for a missing deadline, transfer department…)."""
    follow_up = services.open_follow_up(_inspection(inspection_id), current_user(), data)
    db.session.commit()
    return follow_up


@blp.route("/follow-ups/<int:follow_up_id>")
@api_auth(*services.STAFF)
@blp.response(200, FollowUpDetailSchema)
def get_follow_up(follow_up_id: int) -> FollowUp:
    """One follow-up with its steps, evidence and events."""
    return _follow_up(follow_up_id)


@blp.route("/follow-ups/<int:follow_up_id>/steps", methods=["POST"])
@api_auth(*services.STAFF)
@blp.arguments(FollowUpStepInSchema)
@blp.response(201, FollowUpEventSchema)
def add_step(data: dict[str, Any], follow_up_id: int) -> FollowUpEvent:
    """A step with a note and evidence files already uploaded (409 ``follow_up_closed``)."""
    event = services.add_follow_up_step(
        _follow_up(follow_up_id), current_user(), data["kind"], data["note"], data["evidence"]
    )
    db.session.commit()
    return event


@blp.route("/follow-ups/<int:follow_up_id>/close", methods=["POST"])
@api_auth(*services.STAFF)
@blp.arguments(FollowUpCloseSchema)
@blp.response(200, FollowUpDetailSchema)
def close(data: dict[str, Any], follow_up_id: int) -> FollowUp:
    """Close with the date it ended and the outcome, both public (409 ``follow_up_step_missing``
    when a correction has no re-check or a transfer no feedback)."""
    follow_up = services.close_follow_up(
        _follow_up(follow_up_id), current_user(), data["closed_on"], data["outcome"]
    )
    db.session.commit()
    return follow_up
