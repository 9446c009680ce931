"""The directory pages: search and keep targets, inspectors, inspection items and departments.

Staff browse; admins create and edit. Forms go through the same schemas and services as the API,
so a page and an API call can never disagree on what is valid.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from marshmallow import Schema, ValidationError
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from server.accounts.auth import current_user, page_auth
from server.accounts.services import visible_department_ids
from server.directory import services
from server.directory.models import (
    INSPECTOR_KINDS,
    INSPECTOR_STATUSES,
    ITEM_KINDS,
    LEVELS,
    RISK_CLASSES,
    TARGET_KINDS,
    TARGET_STATUSES,
    TRADES,
    Department,
    Target,
)
from server.directory.schemas import (
    department_in_schema,
    inspector_in_schema,
    item_in_schema,
    target_in_schema,
    update_department_schema,
    update_inspector_schema,
    update_item_schema,
    update_target_schema,
)
from server.directory.search import COUNT_CAP, MAX_OFFSET, search_targets
from server.errors import CATALOGUE, ApiError
from server.extensions import db
from server.i18n import current_locale, field_message, today_local, translate

bp = Blueprint("directory", __name__)

STAFF = ("admin", "supervisor", "leader")
PER_PAGE = 20
_LIST_SPLIT = re.compile(r"[,，、;；\s]+")


@bp.context_processor
def _labels() -> dict[str, Any]:
    user = g.get("user")
    return {
        "TARGET_KIND_LABELS": services.TARGET_KIND_LABELS,
        "TARGET_STATUS_LABELS": services.TARGET_STATUS_LABELS,
        "RISK_LABELS": services.RISK_LABELS,
        "INSPECTOR_KIND_LABELS": services.INSPECTOR_KIND_LABELS,
        "INSPECTOR_STATUS_LABELS": services.INSPECTOR_STATUS_LABELS,
        "LEVEL_LABELS": services.LEVEL_LABELS,
        "TRADE_LABELS": services.TRADE_LABELS,
        "ITEM_KIND_LABELS": services.ITEM_KIND_LABELS,
        "today": today_local(),
        "is_admin": user is not None and user.has_role("admin"),
    }


# --- helpers ---------------------------------------------------------------------------------


def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


def _pager(page: int, total: int, capped: bool = False) -> dict[str, Any]:
    """Links for the previous and next page, keeping the other query arguments."""
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page" and v}
    args.update(request.view_args or {})
    endpoint = request.endpoint or ""
    # Past the count cap the number of pages is unknown; allow paging as far as the offset limit.
    last = MAX_OFFSET // PER_PAGE + 1 if capped else max(1, -(-total // PER_PAGE))
    return {
        "page": page,
        "last": last,
        "total": total,
        "capped": capped,
        "prev": url_for(endpoint, **args, page=page - 1) if page > 1 else None,
        "next": url_for(endpoint, **args, page=page + 1) if page < last else None,
    }


def _choice(name: str, allowed: tuple[str, ...]) -> str:
    value = request.args.get(name, "")
    return value if value in allowed else ""


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() else None


def _form(names: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """The named form fields, trimmed; an empty optional field becomes None (a cleared value)."""
    data: dict[str, Any] = {}
    for name in names:
        value = request.form.get(name, "").strip()
        data[name] = None if (name in optional and value == "") else value
    return data


def _split(value: str) -> list[str]:
    return [v for v in _LIST_SPLIT.split(value) if v]


def _load(schema: Schema, data: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, list[str]]]:
    try:
        return schema.load(data), {}
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_": exc.messages}
        return None, {
            k: [field_message(m) for m in (v if isinstance(v, list) else [v])] for k, v in messages.items()
        }


def _problem_errors(exc: ApiError) -> dict[str, list[str]]:
    """A service refusal as form errors: its field messages, or its title at the top."""
    if isinstance(exc.errors, dict):
        return {k: [field_message(m) for m in v] for k, v in exc.errors.items()}
    entry = CATALOGUE[exc.code]
    return {"_": [entry.en if current_locale() == "en" else entry.zh]}


def _departments() -> list[Department]:
    """Departments the user may pick or filter by, highest level first."""
    visible = visible_department_ids(current_user())
    query = select(Department)
    if visible is not None:
        query = query.where(Department.id.in_(visible))
    return sorted(db.session.scalars(query), key=lambda d: (LEVELS.index(d.level), d.code))


def _save(create: Any, update: Any, obj: Any, data: dict[str, Any]) -> Any:
    """Create or update, commit once; the caller turns an ApiError into form errors."""
    user = current_user()
    result = update(obj, data, user) if obj is not None else create(data, user)
    db.session.commit()
    return result


# --- targets ---------------------------------------------------------------------------------


@bp.route("/directory/targets")
@page_auth(*STAFF)
def targets() -> str:
    """The master directory: search by name fragment or credit-code prefix, filter, page."""
    q = request.args.get("q", "").strip()[:100]
    filters = {
        "kind": _choice("kind", TARGET_KINDS),
        "status": _choice("status", TARGET_STATUSES),
        "risk_class": _choice("risk_class", RISK_CLASSES),
        "district": request.args.get("district", "").strip()[:100],
        "industry": request.args.get("industry", "").strip()[:100],
        "tag": request.args.get("tag", "").strip()[:50],
    }
    page = min(_page_number(), MAX_OFFSET // PER_PAGE + 1)
    rows, total = search_targets(q, {k: v for k, v in filters.items() if v}, PER_PAGE, (page - 1) * PER_PAGE)
    return render_template(
        "directory/targets.html",
        rows=rows,
        q=q,
        filters=filters,
        pager=_pager(page, total, capped=total > COUNT_CAP),
        kinds=TARGET_KINDS,
        statuses=TARGET_STATUSES,
        risk_classes=RISK_CLASSES,
        count_cap=COUNT_CAP,
    )


@bp.route("/directory/targets/<int:target_id>")
@page_auth(*STAFF)
def target_detail(target_id: int) -> str:
    detail = services.target_detail(services.get_target(target_id), current_user())
    return render_template("directory/target_detail.html", t=detail.target, conflicts=detail.conflicts)


_TARGET_FORM = (
    "code",
    "name",
    "kind",
    "industry",
    "district",
    "address",
    "legal_rep",
    "status",
    "risk_class",
    "risk_assessed_on",
)


@bp.route("/directory/targets/new", methods=["GET", "POST"], endpoint="target_new")
@bp.route("/directory/targets/new", methods=["GET", "POST"], defaults={"target_id": None})
@bp.route("/directory/targets/<int:target_id>/edit", methods=["GET", "POST"])
@page_auth("admin")
def target_edit(target_id: int | None = None) -> str | Response:
    target = services.get_target(target_id) if target_id is not None else None
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = _form(_TARGET_FORM, optional=("risk_class", "risk_assessed_on"))
        values["tags"] = _split(request.form.get("tags", ""))
        data, errors = _load(update_target_schema if target else target_in_schema, values)
        if data is not None:
            try:
                saved = _save(services.create_target, services.update_target, target, data)
            except ApiError as exc:
                errors = _problem_errors(exc)
            else:
                flash(translate("已保存检查对象 {name}", name=saved.name))
                return redirect(url_for("directory.target_detail", target_id=saved.id))
        values["tags"] = "、".join(values["tags"])
    elif target is not None:
        values = {name: getattr(target, name) for name in _TARGET_FORM}
        values["tags"] = "、".join(target.tag_names)
    else:
        values = {"kind": "enterprise", "status": "active"}
    return render_template(
        "directory/target_form.html",
        t=target,
        v=values,
        errors=errors,
        kinds=TARGET_KINDS,
        statuses=TARGET_STATUSES,
        risk_classes=RISK_CLASSES,
    ), (422 if errors else 200)  # type: ignore[return-value]


# --- inspectors ------------------------------------------------------------------------------


@bp.route("/directory/inspectors")
@page_auth(*STAFF)
def inspectors() -> str:
    filters = {
        "q": request.args.get("q", "").strip()[:100],
        "department_id": _int_arg("department_id"),
        "status": _choice("status", INSPECTOR_STATUSES),
        "kind": _choice("kind", INSPECTOR_KINDS),
        "specialty": request.args.get("specialty", "").strip()[:50],
    }
    query = services.inspector_query(filters, current_user())
    page = min(_page_number(), MAX_OFFSET // PER_PAGE + 1)
    rows = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    return render_template(
        "directory/inspectors.html",
        rows=rows,
        filters=filters,
        pager=_pager(page, total),
        departments=_departments(),
        kinds=INSPECTOR_KINDS,
        statuses=INSPECTOR_STATUSES,
    )


@bp.route("/directory/inspectors/<int:inspector_id>")
@page_auth(*STAFF)
def inspector_detail(inspector_id: int) -> str:
    inspector = services.get_inspector(inspector_id, current_user())
    return render_template("directory/inspector_detail.html", i=inspector, errors={}, v={})


_INSPECTOR_FORM = (
    "code",
    "name",
    "department_id",
    "credential_no",
    "credential_valid_until",
    "kind",
    "post",
    "status",
)


@bp.route("/directory/inspectors/new", methods=["GET", "POST"], endpoint="inspector_new")
@bp.route("/directory/inspectors/new", methods=["GET", "POST"], defaults={"inspector_id": None})
@bp.route("/directory/inspectors/<int:inspector_id>/edit", methods=["GET", "POST"])
@page_auth("admin")
def inspector_edit(inspector_id: int | None = None) -> str | Response:
    user = current_user()
    inspector = services.get_inspector(inspector_id, user) if inspector_id is not None else None
    errors: dict[str, list[str]] = {}
    values: dict[str, Any]
    if request.method == "POST":
        values = _form(_INSPECTOR_FORM, optional=("credential_valid_until",))
        values["specialties"] = _split(request.form.get("specialties", ""))
        data, errors = _load(update_inspector_schema if inspector else inspector_in_schema, values)
        if data is not None:
            try:
                saved = _save(services.create_inspector, services.update_inspector, inspector, data)
            except ApiError as exc:
                errors = _problem_errors(exc)
            else:
                flash(translate("已保存执法人员 {name}", name=saved.name))
                return redirect(url_for("directory.inspector_detail", inspector_id=saved.id))
        values["specialties"] = "、".join(values["specialties"])
    elif inspector is not None:
        values = {name: getattr(inspector, name) for name in _INSPECTOR_FORM}
        values["specialties"] = "、".join(inspector.specialties)
    else:
        values = {"kind": "general", "status": "active", "department_id": user.department_id}
    return render_template(
        "directory/inspector_form.html",
        i=inspector,
        v=values,
        errors=errors,
        departments=_departments(),
        kinds=INSPECTOR_KINDS,
        statuses=INSPECTOR_STATUSES,
    ), (422 if errors else 200)  # type: ignore[return-value]


@bp.route("/directory/inspectors/<int:inspector_id>/conflicts", methods=["POST"])
@page_auth("admin")
def inspector_conflict_add(inspector_id: int) -> str | Response:
    """Declare a conflict of interest (回避) with a target given by its code."""
    user = current_user()
    inspector = services.get_inspector(inspector_id, user)
    values = _form(("target_code", "reason"))
    errors: dict[str, list[str]] = {}
    target = db.session.scalar(
        select(Target).where(Target.code == services.normalize_code(values["target_code"]))
    )
    if target is None:
        errors["target_code"] = [translate("没有这个代码的检查对象")]
    if not values["reason"]:
        errors["reason"] = [translate("请填写回避原因")]
    elif len(values["reason"]) > 300:
        errors["reason"] = [translate("回避原因不能超过300字")]
    if not errors and target is not None:
        try:
            services.add_conflict(inspector, target.id, values["reason"], user)
            db.session.commit()
        except ApiError as exc:
            errors = {"target_code" if k == "target_id" else k: v for k, v in _problem_errors(exc).items()}
        else:
            flash(translate("已登记回避：{name}", name=target.name))
            return redirect(url_for("directory.inspector_detail", inspector_id=inspector.id))
    return render_template("directory/inspector_detail.html", i=inspector, errors=errors, v=values), 422  # type: ignore[return-value]


@bp.route("/directory/inspectors/<int:inspector_id>/conflicts/<int:conflict_id>/delete", methods=["POST"])
@page_auth("admin")
def inspector_conflict_remove(inspector_id: int, conflict_id: int) -> Response:
    user = current_user()
    services.remove_conflict(services.get_inspector(inspector_id, user), conflict_id, user)
    db.session.commit()
    flash(translate("已撤销回避登记"))
    return redirect(url_for("directory.inspector_detail", inspector_id=inspector_id))


# --- items -----------------------------------------------------------------------------------


@bp.route("/directory/items")
@page_auth(*STAFF)
def items() -> str:
    active = request.args.get("active", "")
    filters = {
        "q": request.args.get("q", "").strip()[:100],
        "department_id": _int_arg("department_id"),
        "kind": _choice("kind", ITEM_KINDS),
        "active": {"1": True, "0": False}.get(active),
    }
    query = services.item_query(filters)
    page = min(_page_number(), MAX_OFFSET // PER_PAGE + 1)
    rows = db.session.scalars(query.limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    all_departments = sorted(
        db.session.scalars(select(Department)), key=lambda d: (LEVELS.index(d.level), d.code)
    )
    return render_template(
        "directory/items.html",
        rows=rows,
        filters=filters,
        active=active,
        pager=_pager(page, total),
        departments=all_departments,
        kinds=ITEM_KINDS,
    )


@bp.route("/directory/items/<int:item_id>")
@page_auth(*STAFF)
def item_detail(item_id: int) -> str:
    return render_template("directory/item_detail.html", item=services.get_item(item_id))


_ITEM_FORM = ("code", "name", "kind", "department_id", "legal_basis", "specialty")


def parse_checkpoint_lines(text: str) -> list[dict[str, str]]:
    """One checkpoint per line, "text | method" (the method is optional), in order."""
    out = []
    for line in text.splitlines():
        body, _, method = line.replace("｜", "|").partition("|")
        if body.strip():
            out.append({"text": body.strip(), "method": method.strip()})
    return out


def checkpoint_lines(item: Any) -> str:
    return "\n".join(f"{c.text} | {c.method}" if c.method else c.text for c in item.checkpoints)


@bp.route("/directory/items/new", methods=["GET", "POST"], endpoint="item_new")
@bp.route("/directory/items/new", methods=["GET", "POST"], defaults={"item_id": None})
@bp.route("/directory/items/<int:item_id>/edit", methods=["GET", "POST"])
@page_auth("admin")
def item_edit(item_id: int | None = None) -> str | Response:
    item = services.get_item(item_id) if item_id is not None else None
    errors: dict[str, list[str]] = {}
    values: dict[str, Any]
    if request.method == "POST":
        values = _form(_ITEM_FORM, optional=("specialty",))
        values["active"] = request.form.get("active") == "1"
        lines = request.form.get("checkpoints", "")
        values["checkpoints"] = parse_checkpoint_lines(lines)
        data, errors = _load(update_item_schema if item else item_in_schema, values)
        if data is not None:
            try:
                saved = _save(services.create_item, services.update_item, item, data)
            except ApiError as exc:
                errors = _problem_errors(exc)
            else:
                flash(translate("已保存抽查事项 {name}", name=saved.name))
                return redirect(url_for("directory.item_detail", item_id=saved.id))
        values["checkpoints"] = lines
    elif item is not None:
        values = {name: getattr(item, name) for name in _ITEM_FORM}
        values["active"] = item.active
        values["checkpoints"] = checkpoint_lines(item)
    else:
        values = {"kind": "general", "active": True, "department_id": current_user().department_id}
    all_departments = sorted(
        db.session.scalars(select(Department)), key=lambda d: (LEVELS.index(d.level), d.code)
    )
    return render_template(
        "directory/item_form.html",
        item=item,
        v=values,
        errors=errors,
        departments=all_departments,
        kinds=ITEM_KINDS,
    ), (422 if errors else 200)  # type: ignore[return-value]


# --- departments -----------------------------------------------------------------------------


@bp.route("/directory/departments")
@page_auth(*STAFF)
def departments() -> str:
    """The department tree with each department's level and parent."""
    return render_template("directory/departments.html", tree=services.department_tree(current_user()))


@bp.route("/directory/departments/new", methods=["GET", "POST"], endpoint="department_new")
@bp.route("/directory/departments/new", methods=["GET", "POST"], defaults={"department_id": None})
@bp.route("/directory/departments/<int:department_id>/edit", methods=["GET", "POST"])
@page_auth("admin")
def department_edit(department_id: int | None = None) -> str | Response:
    user = current_user()
    department = services.get_department(department_id, user) if department_id is not None else None
    errors: dict[str, list[str]] = {}
    values: dict[str, Any]
    if request.method == "POST":
        values = _form(("code", "name", "level", "parent_id", "trade"), optional=("parent_id", "trade"))
        data, errors = _load(update_department_schema if department else department_in_schema, values)
        if data is not None:
            try:
                saved = _save(services.create_department, services.update_department, department, data)
            except ApiError as exc:
                errors = _problem_errors(exc)
            else:
                flash(translate("已保存部门 {name}", name=saved.name))
                return redirect(url_for("directory.departments"))
    elif department is not None:
        values = {"code": department.code, "name": department.name, "level": department.level}
        values["parent_id"] = department.parent_id
        values["trade"] = department.trade
    else:
        values = {"level": "county"}
    parents = [d for d in _departments() if department is None or d.id != department.id]
    return render_template(
        "directory/department_form.html",
        d=department,
        v=values,
        errors=errors,
        parents=parents,
        levels=LEVELS,
        trades=TRADES,
    ), (422 if errors else 200)  # type: ignore[return-value]


# The bulk-import pages register on this blueprint (server/directory/import_views.py).
from server.directory import import_views  # noqa: E402,F401
