"""The planning API: annual plans, their tasks, and plan-table imports with a dry run.

Staff (admin, supervisor, leader) read the plans of their departments; admins and supervisors write;
leaders may also publish. A plan the caller may not see answers not_found.
"""

from __future__ import annotations

from typing import Any

from flask import request
from flask_smorest import Blueprint
from flask_smorest.pagination import PaginationParameters
from sqlalchemy import func, select

from server.accounts.auth import api_auth, current_user
from server.errors import ApiError
from server.extensions import db
from server.planning import services
from server.planning.importing import import_plan, preview_plan, problem_code
from server.planning.models import Plan, Task
from server.planning.schemas import (
    PlanCreateSchema,
    PlanDetailSchema,
    PlanImportFormSchema,
    PlanImportResultSchema,
    PlanQuerySchema,
    PlanSchema,
    PlanTaskCreateSchema,
    PlanTaskSchema,
    PlanTaskWriteSchema,
    PlanUpdateSchema,
)

blp = Blueprint("planning_api", __name__, url_prefix="/api/v1", description="planning")

READERS = services.READERS
WRITERS = services.WRITERS


@blp.route("/plans")
@api_auth(*READERS)
@blp.arguments(PlanQuerySchema, location="query")
@blp.response(200, PlanSchema(many=True))
@blp.paginate()
def list_plans(args: dict[str, Any], pagination_parameters: PaginationParameters) -> list[Plan]:
    """Plans visible to the caller, newest year first; filter by year, department_id, status."""
    stmt = services.visible_plans(current_user())
    if "year" in args:
        stmt = stmt.where(Plan.year == args["year"])
    if "department_id" in args:
        stmt = stmt.where(Plan.department_id == args["department_id"])
    if "status" in args:
        stmt = stmt.where(Plan.status == args["status"])
    pagination_parameters.item_count = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    return list(
        db.session.scalars(
            stmt.order_by(Plan.year.desc(), Plan.department_id, Plan.version.desc())
            .offset(pagination_parameters.first_item)
            .limit(pagination_parameters.page_size)
        )
    )


@blp.route("/plans", methods=["POST"])
@api_auth(*WRITERS)
@blp.arguments(PlanCreateSchema)
@blp.response(201, PlanDetailSchema)
def create_plan(data: dict[str, Any]) -> Plan:
    """Create an empty draft plan (version 1) for a department and year."""
    user = current_user()
    dept = services.require_department(user, data["department_id"])
    plan = services.create_plan(
        dept,
        data["year"],
        data["title"],
        document_no=data["document_no"],
        completion_date=data["completion_date"],
        actor_id=user.id,
    )
    db.session.commit()
    return plan


@blp.route("/plans/<int:plan_id>")
@api_auth(*READERS)
@blp.response(200, PlanDetailSchema)
def get_plan(plan_id: int) -> Plan:
    """A plan with every task row."""
    return services.get_plan_for(current_user(), plan_id)


@blp.route("/plans/<int:plan_id>", methods=["PATCH"])
@api_auth(*WRITERS)
@blp.arguments(PlanUpdateSchema)
@blp.response(200, PlanDetailSchema)
def update_plan(data: dict[str, Any], plan_id: int) -> Plan:
    """Change a draft's title, 文号 or completion date."""
    user = current_user()
    plan = services.get_plan_for(user, plan_id)
    services.require_edit(user, plan)
    services.update_plan(plan, data, actor_id=user.id)
    db.session.commit()
    return plan


@blp.route("/plans/<int:plan_id>", methods=["DELETE"])
@api_auth(*WRITERS)
@blp.response(204)
def delete_plan(plan_id: int) -> None:
    """Delete a draft plan (published plans are kept)."""
    user = current_user()
    plan = services.get_plan_for(user, plan_id)
    services.require_edit(user, plan)
    services.delete_plan(plan, actor_id=user.id)
    db.session.commit()


@blp.route("/plans/<int:plan_id>/publish", methods=["POST"])
@api_auth(*services.PUBLISHERS)
@blp.response(200, PlanDetailSchema)
def publish_plan(plan_id: int) -> Plan:
    """Publish a draft; the previously published version becomes superseded."""
    user = current_user()
    plan = services.get_plan_for(user, plan_id)
    if not services.can_publish(user, plan):
        raise ApiError("forbidden")
    services.publish_plan(plan, actor_id=user.id)
    db.session.commit()
    return plan


@blp.route("/plans/<int:plan_id>/revise", methods=["POST"])
@api_auth(*WRITERS)
@blp.response(201, PlanDetailSchema)
def revise_plan(plan_id: int) -> Plan:
    """Copy a published plan into the next version, as a draft with all its tasks."""
    user = current_user()
    plan = services.get_plan_for(user, plan_id)
    if not services.can_edit(user, plan):
        raise ApiError("forbidden")
    revision = services.revise_plan(plan, actor_id=user.id)
    db.session.commit()
    return revision


@blp.route("/plans/<int:plan_id>/tasks", methods=["POST"])
@api_auth(*WRITERS)
@blp.arguments(PlanTaskCreateSchema)
@blp.response(201, PlanTaskSchema)
def create_task(data: dict[str, Any], plan_id: int) -> Task:
    """Add a task row to a draft plan."""
    user = current_user()
    plan = services.get_plan_for(user, plan_id)
    services.require_edit(user, plan)
    task = services.add_task(plan, data, actor_id=user.id)
    db.session.commit()
    return task


@blp.route("/tasks/<int:task_id>")
@api_auth(*READERS)
@blp.response(200, PlanTaskSchema)
def get_task(task_id: int) -> Task:
    """One task of a plan, as its department sees it."""
    return services.get_task_for(current_user(), task_id)


@blp.route("/tasks/<int:task_id>", methods=["PATCH"])
@api_auth(*WRITERS)
@blp.arguments(PlanTaskWriteSchema)
@blp.response(200, PlanTaskSchema)
def update_task(data: dict[str, Any], task_id: int) -> Task:
    """Change the given fields of a task of a draft plan."""
    user = current_user()
    task = services.get_task_for(user, task_id)
    services.require_edit(user, task.plan)
    services.update_task(task, data, actor_id=user.id)
    db.session.commit()
    return task


@blp.route("/tasks/<int:task_id>", methods=["DELETE"])
@api_auth(*WRITERS)
@blp.response(204)
def delete_task(task_id: int) -> None:
    """Delete a task of a draft plan (one without draws)."""
    user = current_user()
    task = services.get_task_for(user, task_id)
    services.require_edit(user, task.plan)
    services.delete_task(task, actor_id=user.id)
    db.session.commit()


@blp.route("/plans/import", methods=["POST"])
@api_auth(*WRITERS)
@blp.arguments(PlanImportFormSchema, location="form", content_type="multipart/form-data")
@blp.response(200, PlanImportResultSchema)
def import_plan_table(form: dict[str, Any]) -> dict[str, Any]:
    """Import a plan table (CSV or XLSX) as a new draft plan; all-or-nothing.

    With ``dry_run`` nothing is created and the answer lists every issue by line. A file with errors
    answers 422 ``import_invalid`` with the same list in ``errors``.
    """
    user = current_user()
    dept = services.require_department(user, form["department_id"])
    upload = request.files.get("file")
    if upload is None:
        raise ApiError("validation_failed", errors={"files": {"file": ["Missing data for required field."]}})
    data, filename = upload.read(), upload.filename or ""
    if form["dry_run"]:
        preview = preview_plan(data, filename, dept, form["year"])
        plan, issues, count = None, preview.issues, len(preview.tasks)
    else:
        plan, issues = import_plan(
            data,
            filename,
            dept,
            form["year"],
            form["title"],
            actor_id=user.id,
            document_no=form["document_no"],
        )
        count = len(plan.tasks) if plan else 0
    codes = {i["code"] for i in issues if i["level"] == "error"}
    if codes:
        raise ApiError(problem_code(codes), errors=issues)
    db.session.commit()
    return {"dry_run": form["dry_run"], "plan": plan, "tasks": count, "issues": issues}
