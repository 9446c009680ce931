"""The planning pages: the plan list with create and import (dry run first), a plan's full table,
the task form, and the publish / revise / delete actions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from server.accounts.auth import current_user, page_auth
from server.accounts.models import User
from server.accounts.services import visible_department_ids
from server.directory.models import TARGET_KINDS, TARGET_STATUSES, Department, TargetTag
from server.errors import CATALOGUE, ApiError
from server.extensions import db
from server.i18n import current_locale, field_message, today_local, translate
from server.planning import services
from server.planning.importing import import_plan, preview_plan, problem_code
from server.planning.models import MODES, PLAN_STATUSES, Plan, Task
from server.planning.parsing import (
    KIND_LABELS,
    SCOPE_TAGS,
    STATUS_LABELS,
    STRATA,
    PlanTextError,
    default_class_ratios,
    format_bp,
    parse_items,
    percent_to_bp,
    scope_description,
    split_names,
)
from server.storage import blob_store

bp = Blueprint("planning", __name__)

STAFF = services.READERS
PER_PAGE = 20
STATUS_NAMES = {"draft": "草稿", "published": "已发布", "superseded": "已被替代"}
TYPE_NAMES = {"directed": "定向", "undirected": "不定向"}
STRATUM_NAMES = {"A": "A 低风险", "B": "B 一般风险", "C": "C 较高风险", "D": "D 高风险", "U": "U 未分类"}
_IMPORT_KEY = "planning_import"  # the session slot holding the checked file between check and import


@bp.app_template_filter("bp_percent")
def _bp_percent(bp: int | None) -> str:
    return format_bp(bp)


@bp.app_template_filter("scope_text")
def _scope_text(scope: dict[str, Any] | None) -> str:
    return scope_description(scope)


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "MODES": MODES,
        "STATUS_NAMES": STATUS_NAMES,
        "TYPE_NAMES": TYPE_NAMES,
        "STRATA": STRATA,
        "STRATUM_NAMES": STRATUM_NAMES,
        "can_edit": services.can_edit,
        "can_publish": services.can_publish,
    }


def _problem_message(exc: ApiError) -> str:
    entry = CATALOGUE[exc.code]
    text = entry.en if current_locale() == "en" else entry.zh
    if isinstance(exc.errors, dict):
        details = "; ".join(
            f"{'; '.join(map(field_message, v)) if isinstance(v, list) else field_message(v)}"
            for v in exc.errors.values()
        )
        text = f"{text}: {details}"
    elif exc.detail:
        text = f"{text} ({exc.detail})"
    return text


def _departments(user: User, *, writable: bool) -> list[Department]:
    """Departments for a filter (those the user may read) or a form (those the user plans for)."""
    ids = visible_department_ids(user)
    stmt = select(Department).order_by(Department.code)
    if ids is not None:
        if writable:
            ids = {user.department_id} if user.department_id else set()
        stmt = stmt.where(Department.id.in_(ids or {-1}))
    return list(db.session.scalars(stmt))


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "").strip()
    return int(value) if value.isdigit() else None


# --------------------------------------------------------------------------------- plan list


@bp.route("/planning/plans")
@page_auth(*STAFF)
def plans() -> str:
    user = current_user()
    stmt = services.visible_plans(user)
    year, dept_id = _int_arg("year"), _int_arg("department_id")
    status = request.args.get("status", "")
    q = request.args.get("q", "").strip()
    if year:
        stmt = stmt.where(Plan.year == year)
    if dept_id:
        stmt = stmt.where(Plan.department_id == dept_id)
    if status in PLAN_STATUSES:
        stmt = stmt.where(Plan.status == status)
    if q:
        stmt = stmt.where(Plan.title.contains(q, autoescape=True))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = max(1, _int_arg("page") or 1)
    rows = list(
        db.session.scalars(
            stmt.order_by(Plan.year.desc(), Plan.department_id, Plan.version.desc())
            .offset((page - 1) * PER_PAGE)
            .limit(PER_PAGE)
        )
    )
    years = sorted(
        set(db.session.scalars(services.visible_plans(user).with_only_columns(Plan.year))), reverse=True
    )
    return render_template(
        "planning/plans.html",
        plans=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        years=years,
        departments=_departments(user, writable=False),
        own_departments=_departments(user, writable=True),
        filters={"year": year, "department_id": dept_id, "status": status, "q": q},
        this_year=today_local().year,
        may_write=user.has_role(*services.WRITERS),
        form={},
        errors={},
    )


def _plan_form(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    errors: dict[str, str] = {}
    data: dict[str, Any] = {
        "title": form.get("title", "").strip(),
        "document_no": form.get("document_no", "").strip(),
    }
    for field in ("year", "department_id"):
        raw = form.get(field, "").strip()
        if not raw.isdigit():
            errors[field] = translate("必填")
        else:
            data[field] = int(raw)
    if not data["title"]:
        errors["title"] = translate("必填")
    raw_date = form.get("completion_date", "").strip()
    data["completion_date"] = None
    if raw_date:
        try:
            data["completion_date"] = dt.date.fromisoformat(raw_date)
        except ValueError:
            errors["completion_date"] = translate("日期格式应为YYYY-MM-DD")
    return data, errors


@bp.route("/planning/plans", methods=["POST"])
@page_auth(*services.WRITERS)
def create_plan() -> Response | tuple[str, int]:
    user = current_user()
    data, errors = _plan_form(request.form)
    if not errors:
        try:
            dept = services.require_department(user, data["department_id"])
            plan = services.create_plan(
                dept,
                data["year"],
                data["title"],
                document_no=data["document_no"],
                completion_date=data["completion_date"],
                actor_id=user.id,
            )
        except ApiError as exc:
            db.session.rollback()
            errors["form"] = _problem_message(exc)
        else:
            db.session.commit()
            flash(translate("已创建计划草稿：{title}", title=plan.title))
            return redirect(url_for("planning.plan_detail", plan_id=plan.id))
    return _plans_with_form(user, data, errors, "create")


def _plans_with_form(
    user: User, form: dict[str, Any], errors: dict[str, str], which: str, **extra: Any
) -> tuple[str, int]:
    """Re-show the list page with a form's values and messages (status 422 so tests and tools see it)."""
    return (
        render_template(
            "planning/plans.html",
            plans=list(
                db.session.scalars(
                    services.visible_plans(user)
                    .order_by(Plan.year.desc(), Plan.version.desc())
                    .limit(PER_PAGE)
                )
            ),
            total=None,
            page=1,
            pages=1,
            years=[],
            departments=_departments(user, writable=False),
            own_departments=_departments(user, writable=True),
            filters={},
            this_year=today_local().year,
            may_write=True,
            form=form,
            errors=errors,
            open_form=which,
            **extra,
        ),
        422,
    )


# ------------------------------------------------------------------------------------ import


@bp.route("/planning/plans/import", methods=["POST"])
@page_auth(*services.WRITERS)
def import_plans() -> Response | tuple[str, int] | str:
    """Two steps: "check" stores the file and shows the dry run; "import" imports the checked file."""
    user = current_user()
    data, errors = _plan_form(request.form)
    upload = request.files.get("file")
    action = request.form.get("action", "check")
    content: bytes | None = None
    filename = ""
    if upload is not None and upload.filename:
        content, filename = upload.read(), upload.filename
    elif action == "import" and session.get(_IMPORT_KEY):
        stored = session[_IMPORT_KEY]
        content, filename = blob_store().read(stored["sha256"]), stored["filename"]
    if content is None:
        errors["file"] = translate("请选择CSV或XLSX文件")
    if errors:
        return _plans_with_form(user, data, errors, "import")
    assert content is not None
    try:
        dept = services.require_department(user, data["department_id"])
    except ApiError as exc:
        return _plans_with_form(user, data, {"form": _problem_message(exc)}, "import")
    if action != "import":
        preview = preview_plan(content, filename, dept, data["year"])
        session[_IMPORT_KEY] = {"sha256": blob_store().put_bytes(content), "filename": filename}
        return render_template(
            "planning/import_check.html", preview=preview, form=data, department=dept, filename=filename
        )
    plan, issues = import_plan(
        content,
        filename,
        dept,
        data["year"],
        data["title"],
        actor_id=user.id,
        document_no=data["document_no"],
        completion_date=data["completion_date"],
    )
    if plan is None:
        db.session.rollback()
        errors_only = [i for i in issues if i["level"] == "error"]
        flash(_problem_message(ApiError(problem_code({i["code"] for i in errors_only}))), "error")
        preview = preview_plan(content, filename, dept, data["year"])
        return render_template(
            "planning/import_check.html", preview=preview, form=data, department=dept, filename=filename
        ), 422
    db.session.commit()
    session.pop(_IMPORT_KEY, None)
    notices = sum(1 for i in issues if i["level"] == "notice")
    flash(translate("已导入{count}项任务（{notices}条提示）", count=len(plan.tasks), notices=notices))
    return redirect(url_for("planning.plan_detail", plan_id=plan.id))


# ------------------------------------------------------------------------------------- a plan


@bp.route("/planning/plans/<int:plan_id>")
@page_auth(*STAFF)
def plan_detail(plan_id: int) -> str:
    user = current_user()
    plan = services.get_plan_for(user, plan_id)
    return render_template(
        "planning/plan.html",
        plan=plan,
        versions=services.plan_versions(plan),
        may_edit=services.can_edit(user, plan),
        may_publish=services.can_publish(user, plan),
        advisories=services.plan_advisories(plan),
    )


def _action(plan_id: int, verb: str) -> Response:
    """Run one plan action from a button, flash the outcome and go back to a plan page."""
    user = current_user()
    plan = services.get_plan_for(user, plan_id)
    target = plan.id
    try:
        if verb == "publish":
            if not services.can_publish(user, plan):
                raise ApiError("forbidden")
            services.publish_plan(plan, actor_id=user.id)
            message = translate("计划已发布")
        elif verb == "revise":
            if not services.can_edit(user, plan):
                raise ApiError("forbidden")
            target = services.revise_plan(plan, actor_id=user.id).id
            message = translate("已创建修订草稿，发布后替代当前版本")
        elif verb == "delete":
            services.require_edit(user, plan)
            services.delete_plan(plan, actor_id=user.id)
            message = translate("计划草稿已删除")
        else:
            abort(404)
    except ApiError as exc:
        db.session.rollback()
        flash(_problem_message(exc), "error")
        return redirect(url_for("planning.plan_detail", plan_id=plan_id))
    db.session.commit()
    flash(message)
    if verb == "delete":
        return redirect(url_for("planning.plans"))
    return redirect(url_for("planning.plan_detail", plan_id=target))


@bp.route("/planning/plans/<int:plan_id>/publish", methods=["POST"])
@page_auth(*services.PUBLISHERS)
def publish_plan(plan_id: int) -> Response:
    return _action(plan_id, "publish")


@bp.route("/planning/plans/<int:plan_id>/revise", methods=["POST"])
@page_auth(*services.WRITERS)
def revise_plan(plan_id: int) -> Response:
    return _action(plan_id, "revise")


@bp.route("/planning/plans/<int:plan_id>/delete", methods=["POST"])
@page_auth(*services.WRITERS)
def delete_plan(plan_id: int) -> Response:
    return _action(plan_id, "delete")


@bp.route("/planning/plans/<int:plan_id>/edit", methods=["POST"])
@page_auth(*services.WRITERS)
def edit_plan(plan_id: int) -> Response:
    user = current_user()
    plan = services.get_plan_for(user, plan_id)
    data, errors = _plan_form(
        {**request.form, "year": str(plan.year), "department_id": str(plan.department_id)}
    )
    if errors:
        flash("; ".join(errors.values()), "error")
        return redirect(url_for("planning.plan_detail", plan_id=plan.id))
    try:
        services.require_edit(user, plan)
        services.update_plan(
            plan,
            {k: data[k] for k in ("title", "document_no", "completion_date")},
            actor_id=user.id,
        )
    except ApiError as exc:
        db.session.rollback()
        flash(_problem_message(exc), "error")
    else:
        db.session.commit()
        flash(translate("已保存"))
    return redirect(url_for("planning.plan_detail", plan_id=plan.id))


# -------------------------------------------------------------------------------------- tasks


def _lines(text: str) -> list[str]:
    return split_names(text.replace("\n", "、"))


def _task_form(form: Any, plan: Plan, task: Task | None) -> tuple[dict[str, Any], dict[str, str]]:
    """Read the task form into service data; per-field messages for what cannot even be read."""
    errors: dict[str, str] = {}
    data: dict[str, Any] = {}
    for field in (
        "name",
        "items_text",
        "scope_text",
        "ratio_text",
        "risk_text",
        "window_text",
        "inspection_body",
        "mode_text",
    ):
        data[field] = form.get(field, "").strip()
    data["task_type"] = form.get("task_type", "")
    data["mode"] = form.get("mode", "")
    for field, minimum in (("seq", 1), ("frequency_per_year", 1), ("team_size", 2)):
        raw = form.get(field, "").strip()
        if raw.isdigit() and int(raw) >= minimum:
            data[field] = int(raw)
        elif raw or field != "seq":
            errors[field] = translate("应为不小于{n}的整数", n=minimum)
    raw_fixed = form.get("fixed_count", "").strip()
    if raw_fixed:
        if raw_fixed.isdigit() and int(raw_fixed) >= 1:
            data["fixed_count"] = int(raw_fixed)
        else:
            errors["fixed_count"] = translate("抽查数量应至少为1")
    else:
        data["fixed_count"] = None
    data["min_one"] = form.get("min_one") == "on"
    data["use_risk_classes"] = form.get("use_risk_classes") == "on"
    base: int | None = None
    raw_base = form.get("base_ratio", "").strip()
    if raw_base:
        try:
            base = percent_to_bp(raw_base)
        except PlanTextError as exc:
            errors["base_ratio"] = exc.message
    data["base_ratio_bp"] = base
    classes: dict[str, int] = {}
    for stratum in STRATA:
        raw = form.get(f"ratio_{stratum}", "").strip()
        if raw:
            try:
                classes[stratum] = percent_to_bp(raw)
            except PlanTextError as exc:
                errors[f"ratio_{stratum}"] = exc.message
    if form.get("reset_classes") == "on" or not classes:
        classes = default_class_ratios(base) if base is not None else {}
    data["class_ratios_bp"] = classes
    if base is None and data["fixed_count"] is None and data["ratio_text"]:
        # Neither number typed: read them from the ratio text, as the importer does.
        for key in ("base_ratio_bp", "fixed_count", "class_ratios_bp"):
            data.pop(key)
    for field in ("window_start", "window_end"):
        raw = form.get(field, "").strip()
        if raw:
            try:
                data[field] = dt.date.fromisoformat(raw)
            except ValueError:
                errors[field] = translate("日期格式应为YYYY-MM-DD")
    if "window_start" not in data and "window_end" not in data and not data["window_text"]:
        errors["window_start"] = translate("请填写起止日期或抽取检查起至时间")
    raw_dept = form.get("initiating_department_id", "").strip()
    data["initiating_department_id"] = int(raw_dept) if raw_dept.isdigit() else plan.department_id
    data["cooperating_department_ids"] = [
        int(v) for v in form.getlist("cooperating_department_ids") if v.isdigit()
    ]
    names = parse_items(data["items_text"])
    if not names:
        errors["items_text"] = translate("至少需要一个抽查事项（主项）")
    data["item_names"] = names
    scope: dict[str, list[str]] = {
        "kinds": [k for k in form.getlist("kinds") if k in TARGET_KINDS],
        "statuses": [s for s in form.getlist("statuses") if s in TARGET_STATUSES],
        "districts": _lines(form.get("districts", "")),
        "industries": _lines(form.get("industries", "")),
        "tags": _lines(form.get("tags", "")),
    }
    if form.get("reparse_scope") == "on":
        pass  # the scope text alone is given: the service reads the filter from it
    else:
        data["scope"] = {k: v for k, v in scope.items() if v}
    return data, errors


def _task_form_context(
    plan: Plan, task: Task | None, form: dict[str, Any] | None, errors: dict[str, str]
) -> dict[str, Any]:
    departments = list(db.session.scalars(select(Department).order_by(Department.code)))
    known_tags = sorted(
        set(SCOPE_TAGS) | set(db.session.scalars(select(TargetTag.tag).distinct().limit(500)))
    )
    if form is None:
        form = _form_from_task(task) if task else _blank_form(plan)
    return {
        "plan": plan,
        "task": task,
        "form": form,
        "errors": errors,
        "departments": departments,
        "known_tags": known_tags,
        "kind_labels": KIND_LABELS,
        "status_labels": STATUS_LABELS,
        "parsed_items": parse_items(form.get("items_text", "")),
    }


def _blank_form(plan: Plan) -> dict[str, Any]:
    return {
        "seq": services.next_seq(plan),
        "task_type": "directed",
        "mode": "county_county",
        "min_one": True,
        "use_risk_classes": True,
        "frequency_per_year": 1,
        "team_size": 2,
        "initiating_department_id": plan.department_id,
        "cooperating_department_ids": [],
        "statuses": ["active"],
    }


def _form_from_task(task: Task) -> dict[str, Any]:
    scope = task.scope or {}
    items_text = task.items_text or "；".join(f"{n}.{i.name}" for n, i in enumerate(task.items, start=1))
    form: dict[str, Any] = {
        field: getattr(task, field)
        for field in services.TASK_FIELDS
        if field not in ("scope", "class_ratios_bp", "base_ratio_bp")
    }
    form.update(
        {
            "items_text": items_text,
            "base_ratio": format_bp(task.base_ratio_bp).rstrip("%"),
            "cooperating_department_ids": [c.department_id for c in task.cooperating],
            "kinds": scope.get("kinds", []),
            "statuses": scope.get("statuses", []),
            "districts": "、".join(scope.get("districts", [])),
            "industries": "、".join(scope.get("industries", [])),
            "tags": "、".join(scope.get("tags", [])),
        }
    )
    for stratum in STRATA:
        bp = (task.class_ratios_bp or {}).get(stratum)
        form[f"ratio_{stratum}"] = format_bp(bp).rstrip("%") if bp is not None else ""
    return form


def _echo_form(form: Any) -> dict[str, Any]:
    """What the user typed, to re-show the form after an error."""
    echo: dict[str, Any] = {k: form.get(k) for k in form}
    for key in ("kinds", "statuses", "cooperating_department_ids"):
        echo[key] = form.getlist(key)
    echo["cooperating_department_ids"] = [int(v) for v in echo["cooperating_department_ids"] if v.isdigit()]
    for key in ("min_one", "use_risk_classes"):
        echo[key] = form.get(key) == "on"
    raw = echo.get("initiating_department_id") or ""
    echo["initiating_department_id"] = int(raw) if str(raw).isdigit() else None
    return echo


def _save_task(plan: Plan, task: Task | None) -> Response | tuple[str, int]:
    user = current_user()
    data, errors = _task_form(request.form, plan, task)
    if not errors:
        try:
            services.require_edit(user, plan)
            if task is None:
                task = services.add_task(plan, data, actor_id=user.id)
            else:
                services.update_task(task, data, actor_id=user.id)
        except ApiError as exc:
            db.session.rollback()
            if exc.code == "validation_failed" and isinstance(exc.errors, dict):
                errors = {k: "; ".join(map(field_message, v)) for k, v in exc.errors.items()}
            else:
                errors = {"form": _problem_message(exc)}
        else:
            db.session.commit()
            flash(translate("任务“{name}”已保存", name=task.name))
            return redirect(url_for("planning.plan_detail", plan_id=plan.id, _anchor=f"task-{task.id}"))
    # Map service field names onto the form's inputs.
    renamed = {
        "base_ratio_bp": "base_ratio",
        "item_ids": "items_text",
        "class_ratios_bp": "ratio_A",
        "scope": "kinds",
    }
    errors = {renamed.get(k, k): v for k, v in errors.items()}
    context = _task_form_context(plan, task, _echo_form(request.form), errors)
    return render_template("planning/task_form.html", **context), 422


@bp.route("/planning/plans/<int:plan_id>/tasks/new", methods=["GET", "POST"])
@page_auth(*services.WRITERS)
def new_task(plan_id: int) -> Response | tuple[str, int] | str:
    user = current_user()
    plan = services.get_plan_for(user, plan_id)
    services.require_edit(user, plan)
    if request.method == "POST":
        return _save_task(plan, None)
    return render_template("planning/task_form.html", **_task_form_context(plan, None, None, {}))


@bp.route("/planning/tasks/<int:task_id>")
@page_auth(*STAFF)
def task_detail(task_id: int) -> str:
    user = current_user()
    task = services.get_task_for(user, task_id)
    return render_template(
        "planning/task.html",
        task=task,
        plan=task.plan,
        may_edit=services.can_edit(user, task.plan) and task.plan.status == "draft",
        problems=services.draw_problems(task),
    )


@bp.route("/planning/tasks/<int:task_id>/edit", methods=["GET", "POST"])
@page_auth(*services.WRITERS)
def edit_task(task_id: int) -> Response | tuple[str, int] | str:
    user = current_user()
    task = services.get_task_for(user, task_id)
    services.require_edit(user, task.plan)
    if request.method == "POST":
        return _save_task(task.plan, task)
    return render_template("planning/task_form.html", **_task_form_context(task.plan, task, None, {}))


@bp.route("/planning/tasks/<int:task_id>/delete", methods=["POST"])
@page_auth(*services.WRITERS)
def delete_task(task_id: int) -> Response:
    user = current_user()
    task = services.get_task_for(user, task_id)
    plan_id = task.plan_id
    try:
        services.require_edit(user, task.plan)
        name = task.name
        services.delete_task(task, actor_id=user.id)
    except ApiError as exc:
        db.session.rollback()
        flash(_problem_message(exc), "error")
    else:
        db.session.commit()
        flash(translate("任务“{name}”已删除", name=name))
    return redirect(url_for("planning.plan_detail", plan_id=plan_id))
