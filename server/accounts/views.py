"""Login, logout and the language switch for the pages."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from server.errors import ApiError
from server.extensions import db
from server.i18n import LOCALES, translate

bp = Blueprint("accounts", __name__)


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths: never redirect a login to another host."""
    if not target:
        return url_for("web.home")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return url_for("web.home")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    from server.accounts.services import authenticate

    error = None
    if request.method == "POST":
        try:
            user = authenticate(request.form.get("username", ""), request.form.get("password", ""))
        except ApiError as exc:
            error = (
                translate("用户名或密码错误")
                if exc.code == "invalid_credentials"
                else translate("登录失败次数过多，请稍后再试")
                if exc.code == "login_throttled"
                else translate("账号已停用")
            )
        else:
            db.session.commit()
            session.clear()
            session["user_id"] = user.id
            session["auth_epoch"] = user.password_hash[-16:]
            return redirect(_safe_next(request.args.get("next")))
    return render_template("login.html", error=error), (401 if error else 200)  # type: ignore[return-value]


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    session.clear()
    return redirect(url_for("accounts.login"))


@bp.route("/lang/<code>")
def set_language(code: str) -> Response:
    resp = redirect(
        _safe_next(request.args.get("next") or (request.referrer and urlsplit(request.referrer).path))
    )
    if code in LOCALES:
        resp.set_cookie("lang", code, max_age=365 * 86400, samesite="Lax", httponly=True)
    return resp


from server.accounts import admin_views  # noqa: E402,F401  (routes on bp)
