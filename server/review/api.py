"""The review API: the queue, versions with their differences, return, approve, withholding decisions.

Staff (admin, supervisor, leader) who may see the inspection use it; an inspection they may not
see answers 404. The same services as the pages (``server/review/views.py``).
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters
from sqlalchemy import func, select

from server.accounts.auth import api_auth, current_user
from server.errors import ApiError
from server.extensions import db
from server.i18n import today_local
from server.inspections.models import Inspection
from server.results import services as results
from server.results.models import InspectionResult
from server.results.schemas import ReviewedResultSchema, WithholdingDecisionSchema, WithholdingQuerySchema
from server.review import services
from server.review.schemas import (
    ApproveInspectionSchema,
    ReturnInspectionSchema,
    ReviewCountsSchema,
    ReviewQueueItemSchema,
    ReviewQueueQuerySchema,
    ReviewVersionSchema,
    ReviewVersionSummarySchema,
    version_view,
)

blp = Blueprint("review_api", __name__, url_prefix="/api/v1", description="Supervisor review and results")

STAFF = services.STAFF


def _inspection(inspection_id: int) -> Inspection:
    inspection = services.visible_inspection(current_user(), inspection_id)
    if inspection is None:
        raise ApiError("not_found")
    return inspection


def _filters(args: dict[str, Any]) -> services.QueueFilters:
    return services.QueueFilters(
        department_id=args["department_id"], task_id=args["task_id"], q=args["q"], overdue=args["overdue"]
    )


@blp.route("/review/queue")
@api_auth(*STAFF)
@blp.arguments(ReviewQueueQuerySchema, location="query")
@blp.response(200, ReviewQueueItemSchema(many=True))
@blp.paginate()
def queue(args: dict[str, Any], pagination_parameters: PaginationParameters) -> list[dict[str, Any]]:
    """Inspections in one state (submitted by default) the caller may see, soonest deadline first."""
    today = today_local()
    stmt = services.review_queue(current_user(), args["state"], _filters(args), today)
    pagination_parameters.item_count = db.session.scalar(
        select(func.count()).select_from(stmt.order_by(None).subquery())
    )
    rows = db.session.scalars(
        stmt.offset(pagination_parameters.first_item).limit(pagination_parameters.page_size)
    )
    return [services.queue_row(inspection, today) for inspection in rows]


@blp.route("/review/counts")
@api_auth(*STAFF)
@blp.arguments(ReviewQueueQuerySchema, location="query")
@blp.response(200, ReviewCountsSchema)
def counts(args: dict[str, Any]) -> dict[str, int]:
    """How many inspections are submitted, returned and approved under the same filters."""
    return services.queue_counts(current_user(), _filters(args), today_local())


@blp.route("/inspections/<int:inspection_id>/versions")
@api_auth(*STAFF)
@blp.response(200, ReviewVersionSummarySchema(many=True))
def versions(inspection_id: int) -> Any:
    """Every version of the inspection, oldest first (each one is kept)."""
    return _inspection(inspection_id).versions


@blp.route("/inspections/<int:inspection_id>/versions/<int:number>")
@api_auth(*STAFF)
@blp.response(200, ReviewVersionSchema)
def version(inspection_id: int, number: int) -> dict[str, Any]:
    """One version: the frozen record, the reviewer's comments on it, the differences from the
    previous version and the result categories to preselect."""
    inspection = _inspection(inspection_id)
    found = services.version_by_number(inspection, number)
    if found is None:
        raise ApiError("not_found")
    comments = services.version_comments([found.id])[found.id]
    suggested = results.suggested_categories(found.record, results.list_categories())
    return version_view(found, comments, services.version_diff(inspection, found), suggested)


@blp.route("/inspections/<int:inspection_id>/return", methods=["POST"])
@api_auth(*STAFF)
@blp.arguments(ReturnInspectionSchema)
@blp.response(200, ReviewVersionSummarySchema)
def return_(data: dict[str, Any], inspection_id: int) -> Any:
    """Return the submitted version to the inspectors with a general comment and/or per checkpoint."""
    inspection = _inspection(inspection_id)
    returned = services.return_inspection(
        inspection, data["version"], current_user(), comment=data["comment"], items=data["items"]
    )
    db.session.commit()
    return returned


@blp.route("/inspections/<int:inspection_id>/approve", methods=["POST"])
@api_auth(*STAFF)
@blp.arguments(ApproveInspectionSchema)
@blp.response(200, ReviewedResultSchema)
def approve(data: dict[str, Any], inspection_id: int) -> InspectionResult:
    """Approve the submitted version with its result; freezes the version and the categories."""
    inspection = _inspection(inspection_id)
    result = services.approve_inspection(
        inspection,
        data["version"],
        current_user(),
        categories=data["categories"],
        summary=data["summary"],
        publish=data["publish"],
        withhold_reason=data["withhold_reason"],
    )
    db.session.commit()
    return result


@blp.route("/inspections/<int:inspection_id>/result")
@api_auth(*STAFF)
@blp.response(200, ReviewedResultSchema)
def result(inspection_id: int) -> InspectionResult:
    """The inspection's result (404 until it is approved)."""
    found = results.result_for(_inspection(inspection_id))
    if found is None:
        raise ApiError("not_found")
    return found


@blp.route("/inspections/<int:inspection_id>/result/withholding", methods=["POST"])
@api_auth("leader")
@blp.arguments(WithholdingDecisionSchema)
@blp.response(200, ReviewedResultSchema)
def decide_withholding(data: dict[str, Any], inspection_id: int) -> InspectionResult:
    """A leader approves (never published) or rejects (published) a request not to publish."""
    inspection = _inspection(inspection_id)
    found = results.result_for(inspection)
    if found is None:
        raise ApiError("not_found")
    results.decide_withholding(found, inspection, data["approve"], data["note"], current_user())
    db.session.commit()
    return found


@blp.route("/withholdings")
@api_auth(*STAFF)
@blp.arguments(WithholdingQuerySchema, location="query")
@blp.response(200, ReviewedResultSchema(many=True))
@blp.paginate()
def withholdings(args: dict[str, Any], pagination_parameters: PaginationParameters) -> list[InspectionResult]:
    """Results whose withholding is requested (default), approved or rejected, newest first."""
    stmt = results.withholdings_visible_to(current_user(), args["status"])
    pagination_parameters.item_count = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    return list(
        db.session.scalars(
            stmt.order_by(InspectionResult.entered_at.desc(), InspectionResult.id.desc())
            .offset(pagination_parameters.first_item)
            .limit(pagination_parameters.page_size)
        )
    )
