"""Admin pages for accounts: create users, set roles and department, disable, reset passwords,
grant one department sight of another's data, and revoke device tokens."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response

from server.accounts.auth import current_user, page_auth
from server.accounts.models import ROLES, ApiToken, DepartmentGrant, User, UserRole
from server.accounts.services import create_user, hash_password, revoke_token
from server.accounts.views import bp
from server.audit.services import record_event
from server.directory.models import Department
from server.errors import ApiError
from server.extensions import db
from server.i18n import translate as _

ROLE_LABELS = {
    "admin": "系统管理员",
    "inspector": "执法检查人员",
    "supervisor": "审核人员",
    "leader": "审批领导",
}
MIN_PASSWORD = 10


def _form_errors(form: dict[str, str], roles: list[str], new: bool) -> list[str]:
    errors = []
    if new and not form.get("username", "").strip():
        errors.append(_("请填写用户名"))
    if not form.get("display_name", "").strip():
        errors.append(_("请填写姓名"))
    if any(r not in ROLES for r in roles) or not roles:
        errors.append(_("请至少选择一个角色"))
    password = form.get("password", "")
    if (new or password) and len(password) < MIN_PASSWORD:
        errors.append(_("密码至少 {n} 位", n=MIN_PASSWORD))
    return errors


USERS_PER_PAGE = 100


@bp.route("/admin/users")
@page_auth("admin")
def users() -> str:
    q = request.args.get("q", "").strip()
    query = select(User)
    if q:
        query = query.where(User.username.contains(q) | User.display_name.contains(q))
    # Every user reachable page by page (a county has hundreds of inspector accounts).
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // USERS_PER_PAGE))
    page = min(max(1, request.args.get("page", 1, type=int) or 1), pages)
    rows = db.session.scalars(
        query.order_by(User.username).offset((page - 1) * USERS_PER_PAGE).limit(USERS_PER_PAGE)
    ).all()
    return render_template(
        "accounts/users.html", users=rows, q=q, role_labels=ROLE_LABELS, page=page, pages=pages, total=total
    )


@bp.route("/admin/users/new", methods=["GET", "POST"])
@bp.route("/admin/users/<int:user_id>", methods=["GET", "POST"])
@page_auth("admin")
def user_edit(user_id: int | None = None) -> str | Response:
    account = db.session.get(User, user_id) if user_id else None
    if user_id and account is None:
        raise ApiError("not_found")
    departments = db.session.scalars(select(Department).order_by(Department.code)).all()
    errors: list[str] = []
    if request.method == "POST":
        form = request.form.to_dict()
        roles = request.form.getlist("roles")
        errors = _form_errors(form, roles, new=account is None)
        department_id = int(form["department_id"]) if form.get("department_id") else None
        if account is None and not errors:
            username = form["username"].strip()
            if db.session.scalar(select(User).where(User.username == username)):
                errors.append(_("用户名已存在"))
            else:
                account = create_user(
                    username, form["password"], form["display_name"].strip(), roles, department_id
                )
                record_event(
                    "account.created",
                    "account",
                    account.id,
                    actor_id=current_user().id,
                    details={"roles": sorted(roles)},
                )
        elif account is not None and not errors:
            if account.id == current_user().id and "admin" not in roles:
                errors.append(_("不能取消自己的管理员角色"))
            else:
                account.display_name = form["display_name"].strip()
                account.department_id = department_id
                account.is_active = form.get("is_active") == "on" or account.id == current_user().id
                account.role_rows = [UserRole(role=r) for r in sorted(set(roles))]
                if form.get("password"):
                    account.password_hash = hash_password(form["password"])  # ends its sessions
                    account.failed_logins = 0
                    account.locked_until = None
                record_event(
                    "account.updated",
                    "account",
                    account.id,
                    actor_id=current_user().id,
                    details={
                        "roles": sorted(roles),
                        "active": account.is_active,
                        "password_reset": bool(form.get("password")),
                    },
                )
        if not errors and account is not None:
            db.session.commit()
            flash(_("已保存"), "ok")
            return redirect(url_for("accounts.user_edit", user_id=account.id))
        db.session.rollback()
    tokens = (
        db.session.scalars(select(ApiToken).where(ApiToken.user_id == account.id).order_by(ApiToken.id)).all()
        if account
        else []
    )
    return render_template(
        "accounts/user_edit.html",
        account=account,
        departments=departments,
        roles=ROLES,
        role_labels=ROLE_LABELS,
        errors=errors,
        tokens=tokens,
        form=request.form,
    )


@bp.route("/admin/tokens/<int:token_id>/revoke", methods=["POST"])
@page_auth("admin")
def token_revoke(token_id: int) -> Response:
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise ApiError("not_found")
    if token.revoked_at is None:
        revoke_token(token, current_user())
        db.session.commit()
    flash(_("设备令牌已吊销"), "ok")
    return redirect(url_for("accounts.user_edit", user_id=token.user_id))


@bp.route("/admin/grants", methods=["GET", "POST"])
@page_auth("admin")
def grants() -> str | Response:
    departments = db.session.scalars(select(Department).order_by(Department.code)).all()
    if request.method == "POST":
        grantee = db.session.get(Department, request.form.get("grantee_id", type=int) or 0)
        target = db.session.get(Department, request.form.get("department_id", type=int) or 0)
        if grantee is None or target is None or grantee.id == target.id:
            flash(_("请选择两个不同的部门"), "error")
        elif request.form.get("action") == "remove":
            grant = db.session.scalar(
                select(DepartmentGrant).where(
                    DepartmentGrant.grantee_id == grantee.id, DepartmentGrant.department_id == target.id
                )
            )
            if grant is not None:
                db.session.delete(grant)
                record_event(
                    "grant.removed",
                    "department",
                    grantee.id,
                    actor_id=current_user().id,
                    details={"department_id": target.id},
                )
                db.session.commit()
                flash(_("已取消授权"), "ok")
        else:
            exists = db.session.scalar(
                select(DepartmentGrant).where(
                    DepartmentGrant.grantee_id == grantee.id, DepartmentGrant.department_id == target.id
                )
            )
            if exists is None:
                db.session.add(DepartmentGrant(grantee_id=grantee.id, department_id=target.id))
                record_event(
                    "grant.added",
                    "department",
                    grantee.id,
                    actor_id=current_user().id,
                    details={"department_id": target.id},
                )
                db.session.commit()
            flash(_("已授权"), "ok")
        return redirect(url_for("accounts.grants"))
    rows = db.session.execute(select(DepartmentGrant).order_by(DepartmentGrant.id)).scalars().all()
    names = {d.id: d.name for d in departments}
    return render_template("accounts/grants.html", grants=rows, departments=departments, names=names)
