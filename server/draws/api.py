"""The draws API: perform, list, read and void draws; request and decide inspector replacements.

Staff (admin, supervisor, leader) of the task's departments read; the initiating department draws
and voids; replacements are requested by staff or the inspector concerned and decided by a leader.
Anything the caller may not see answers not_found, so ids leak nothing.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters
from sqlalchemy import func, select

from server.accounts.auth import api_auth, current_user
from server.draws import services
from server.draws.models import Draw, Replacement
from server.draws.schemas import (
    DrawDetailSchema,
    DrawQuerySchema,
    DrawReplacementDecisionSchema,
    DrawReplacementRequestSchema,
    DrawReplacementSchema,
    DrawSchema,
    PerformDrawSchema,
    VoidDrawSchema,
)
from server.errors import ApiError
from server.extensions import db
from server.inspections.models import TeamMember
from server.planning.models import Task

blp = Blueprint("draws_api", __name__, url_prefix="/api/v1", description="draws")

STAFF = services.STAFF


def _task_for(task_id: int, manage: bool = False) -> Task:
    task = db.session.get(Task, task_id)
    user = current_user()
    if task is None or not services.can_see_task(user, task):
        raise ApiError("not_found")
    if manage and not services.can_manage_task(user, task):
        raise ApiError("forbidden", detail="only the initiating department draws and voids")
    return task


def _draw_for(draw_id: int, manage: bool = False) -> Draw:
    draw = db.session.get(Draw, draw_id)
    if draw is None:
        raise ApiError("not_found")
    _task_for(draw.task_id, manage)
    return draw


@blp.route("/tasks/<int:task_id>/draws", methods=["POST"])
@api_auth(*STAFF)
@blp.arguments(PerformDrawSchema)
@blp.response(201, DrawSchema)
def perform(data: dict[str, Any], task_id: int) -> Draw:
    """Draw the task's targets and inspector teams (refused while an active draw exists)."""
    task = _task_for(task_id, manage=True)
    draw = services.perform_draw(
        task, current_user(), witness=data["witness"], low_risk_override=data["low_risk_override"]
    )
    db.session.commit()
    return draw


@blp.route("/draws")
@api_auth(*STAFF)
@blp.arguments(DrawQuerySchema, location="query")
@blp.response(200, DrawSchema(many=True))
@blp.paginate()
def list_draws(args: dict[str, Any], pagination_parameters: PaginationParameters) -> list[Draw]:
    """Draws the caller may see, newest first; filter by task_id and status."""
    stmt = services.visible_draws(current_user())
    if "task_id" in args:
        stmt = stmt.where(Draw.task_id == args["task_id"])
    if "status" in args:
        stmt = stmt.where(Draw.status == args["status"])
    pagination_parameters.item_count = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    return list(
        db.session.scalars(
            stmt.order_by(Draw.drawn_at.desc(), Draw.id.desc())
            .offset(pagination_parameters.first_item)
            .limit(pagination_parameters.page_size)
        )
    )


@blp.route("/draws/<int:draw_id>")
@api_auth(*STAFF)
@blp.response(200, DrawDetailSchema)
def get_draw(draw_id: int) -> dict[str, Any]:
    """One draw with its parameters, drawn targets in rank order and each visit's team."""
    draw = _draw_for(draw_id)
    rows, _ = services.drawn_rows(draw)
    view = {column.key: getattr(draw, column.key) for column in Draw.__table__.columns}
    return {**view, "task": draw.task, "drawn": rows}


@blp.route("/draws/<int:draw_id>/void", methods=["POST"])
@api_auth(*STAFF)
@blp.arguments(VoidDrawSchema)
@blp.response(200, DrawSchema)
def void(data: dict[str, Any], draw_id: int) -> Draw:
    """Void an active draw with a reason; it stays visible and the task may be drawn again."""
    draw = _draw_for(draw_id, manage=True)
    services.void_draw(draw, current_user(), data["reason"])
    db.session.commit()
    return draw


def _member_for(member_id: int) -> TeamMember:
    member = db.session.get(TeamMember, member_id)
    if member is None or not services.can_request_replacement(current_user(), member):
        raise ApiError("not_found")
    return member


@blp.route("/team-members/<int:member_id>/replacements", methods=["POST"])
@api_auth()
@blp.arguments(DrawReplacementRequestSchema)
@blp.response(201, DrawReplacementSchema)
def request_replacement(data: dict[str, Any], member_id: int) -> Replacement:
    """Ask to replace a drawn inspector (conflict, illness, post_change, work_conflict)."""
    member = _member_for(member_id)
    replacement = services.request_replacement(member, data["reason"], data["reason_text"], current_user())
    db.session.commit()
    return replacement


@blp.route("/replacements/<int:replacement_id>/decision", methods=["POST"])
@api_auth("leader")
@blp.arguments(DrawReplacementDecisionSchema)
@blp.response(200, DrawReplacementSchema)
def decide(data: dict[str, Any], replacement_id: int) -> Replacement:
    """A leader approves (the replacement is drawn at random) or rejects a request."""
    replacement = db.session.get(Replacement, replacement_id)
    user = current_user()
    member = db.session.get(TeamMember, replacement.out_member_id) if replacement else None
    if replacement is None or member is None or not services.can_decide_replacement(user, member):
        raise ApiError("not_found")
    services.decide_replacement(replacement, data["approve"], user, data["note"])
    db.session.commit()
    return replacement
