"""The result-category admin pages: list, add, edit, deactivate / reactivate, delete an unused one."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from server.accounts.auth import current_user, page_auth
from server.errors import CATALOGUE, ApiError
from server.extensions import db
from server.i18n import current_locale, field_message, translate
from server.results import services
from server.results.models import ResultCategory

bp = Blueprint("results", __name__)

FLAGS = {
    "is_problem": "发现问题",
    "needs_follow_up": "需要后续处置",
    "ends_without_inspection": "未实施检查即结束",
}


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"FLAGS": FLAGS, "field_outcome": services.is_field_outcome}


def _problem_message(exc: ApiError) -> str:
    entry = CATALOGUE[exc.code]
    text = entry.en if current_locale() == "en" else entry.zh
    if isinstance(exc.errors, dict):
        text += ": " + "; ".join(
            "; ".join(map(field_message, v)) if isinstance(v, list) else field_message(v)
            for v in exc.errors.values()
        )
    elif exc.detail:
        text += f" ({exc.detail})"
    return text


def _form() -> dict[str, Any]:
    """The posted fields, kept as typed so a refused form is shown again with them."""
    data: dict[str, Any] = {
        "code": request.form.get("code", "").strip(),
        "name": request.form.get("name", "").strip(),
        "name_en": request.form.get("name_en", "").strip(),
        "position": request.form.get("position", "").strip(),
    }
    for flag in FLAGS:
        data[flag] = request.form.get(flag) == "1"
    return data


def _validated(form: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    if not form["name"] or len(form["name"]) > 100:
        errors["name"] = [translate("名称须为1至100个字符")]
    if len(form["name_en"]) > 200:
        errors["name_en"] = [translate("英文名称最多200个字符")]
    data = {k: form[k] for k in ("name", "name_en", *FLAGS)}
    if form["position"]:
        if not form["position"].isdigit() or int(form["position"]) > 1_000_000:
            errors["position"] = [translate("排序须为0至1000000的整数")]
        else:
            data["position"] = int(form["position"])
    if errors:
        raise ApiError("validation_failed", errors=errors)
    return data


def _list_page(form: dict[str, Any] | None = None, error: str = "", status: int = 200) -> tuple[str, int]:
    categories = services.list_categories()
    return (
        render_template(
            "results/categories.html",
            categories=categories,
            usage=services.category_usage(),
            form=form
            or {"code": "", "name": "", "name_en": "", "position": "", **dict.fromkeys(FLAGS, False)},
            error=error,
        ),
        status,
    )


@bp.route("/admin/result-categories", methods=["GET", "POST"])
@page_auth("admin")
def categories() -> tuple[str, int] | Response:
    """Every category with how often it is used, and the form to add one."""
    if request.method == "GET":
        return _list_page()
    form = _form()
    try:
        category = services.create_category({"code": form["code"], **_validated(form)}, current_user())
    except ApiError as exc:
        db.session.rollback()
        return _list_page(form, _problem_message(exc), exc.status)
    db.session.commit()
    flash(translate("已新增结果类别：{name}", name=category.name))
    return redirect(url_for("results.categories"))


def _category_or_404(category_id: int) -> ResultCategory:
    category = db.session.get(ResultCategory, category_id)
    if category is None:
        abort(404)
    return category


@bp.route("/admin/result-categories/<int:category_id>", methods=["GET", "POST"])
@page_auth("admin")
def category_edit(category_id: int) -> tuple[str, int] | Response:
    category = _category_or_404(category_id)
    usage = services.category_usage([category.id]).get(category.id, 0)
    if request.method == "GET":
        form = {
            "code": category.code,
            "name": category.name,
            "name_en": category.name_en,
            "position": str(category.position),
            **{flag: getattr(category, flag) for flag in FLAGS},
        }
        return render_template("results/category_form.html", category=category, form=form, usage=usage), 200
    form = {**_form(), "code": category.code}
    try:
        services.update_category(category, _validated(form), current_user())
    except ApiError as exc:
        db.session.rollback()
        page = render_template(
            "results/category_form.html",
            category=category,
            form=form,
            usage=usage,
            error=_problem_message(exc),
        )
        return page, exc.status
    db.session.commit()
    flash(translate("已保存"))
    return redirect(url_for("results.categories"))


@bp.route("/admin/result-categories/<int:category_id>/active", methods=["POST"])
@page_auth("admin")
def category_active(category_id: int) -> Response:
    """Deactivate (no longer offered when approving; results keep it) or reactivate."""
    category = _category_or_404(category_id)
    active = request.form.get("active") == "1"
    services.update_category(category, {"active": active}, current_user())
    db.session.commit()
    flash(
        translate("已启用：{name}", name=category.name)
        if active
        else translate("已停用：{name}", name=category.name)
    )
    return redirect(url_for("results.categories"))


@bp.route("/admin/result-categories/<int:category_id>/delete", methods=["POST"])
@page_auth("admin")
def category_delete(category_id: int) -> Response:
    category = _category_or_404(category_id)
    name = category.name
    try:
        services.delete_category(category, current_user())
    except ApiError as exc:
        db.session.rollback()
        flash(_problem_message(exc), "error")
        return redirect(url_for("results.categories"))
    db.session.commit()
    flash(translate("已删除：{name}", name=name))
    return redirect(url_for("results.categories"))
