"""Pages: the working-day calendar (admins) and the deadlines overview (staff)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from server.accounts.auth import current_user, page_auth
from server.deadlines import services
from server.deadlines.calendar import package_years
from server.deadlines.models import CalendarOverride, CalendarYear
from server.errors import CATALOGUE, ApiError
from server.extensions import db
from server.i18n import current_locale, field_message, today_local, translate
from server.inspections.labels import STATE_NAMES

bp = Blueprint("deadlines", __name__)

STAFF = ("admin", "supervisor", "leader")
KIND_NAMES = {"workday": "工作日（调休上班）", "holiday": "休息日（节假日）"}
SOURCE_NAMES = {"override": "管理员调整", "declared": "管理员维护的年份", "package": "法定节假日数据包"}


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"STATE_NAMES": STATE_NAMES}


@bp.app_template_global()
def working_days_left(inspection: Any) -> int | None:
    """Working days from today to the inspection's due date (None when unknown); for templates."""
    if inspection.result_due_on is None:
        return None
    # One calendar per request: a list of inspections must not load the overrides once per row.
    calendar = g.get("working_calendar")
    if calendar is None:
        calendar = g.working_calendar = services.working_calendar()
    try:
        return services.working_days_between(today_local(), inspection.result_due_on, calendar)
    except ApiError:
        return None


def _message(exc: ApiError) -> str:
    entry = CATALOGUE[exc.code]
    text = entry.en if current_locale() == "en" else entry.zh
    if isinstance(exc.errors, dict):
        text += ": " + "; ".join(" ".join(map(field_message, v)) for v in exc.errors.values())
    elif exc.detail:
        text += f" ({exc.detail})"
    return text


def _date(value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None


def _recomputed(result: dict[str, Any]) -> None:
    flash(translate("已保存；重新计算了{n}个检查结果录入期限。", n=result["changed"]))
    if result["unknown"]:
        flash(translate("{n}个检查的期限仍无法计算（日历未覆盖）。", n=result["unknown"]), "error")


@bp.route("/admin/calendar", methods=["GET", "POST"])
@page_auth("admin")
def calendar() -> str | Response | tuple[str, int]:
    user = current_user()
    year = request.args.get("year", type=int) or today_local().year
    refused: dict[str, str] = {}  # a refused form comes back with what was typed in it
    if request.method == "POST":
        action = request.form.get("action", "")
        try:
            if action == "add":
                day = _date(request.form.get("day", ""))
                if day is None:
                    raise ApiError("validation_failed", errors={"day": ["A date like 2025-09-28."]})
                result = services.add_calendar_override(
                    day, request.form.get("kind", ""), request.form.get("note", ""), user
                )
                year = day.year
            elif action == "remove":
                override = db.session.get(CalendarOverride, request.form.get("id", type=int) or 0)
                if override is None:
                    raise ApiError("not_found")
                year = override.day.year
                result = services.remove_calendar_override(override, user)
            elif action == "declare":
                declared = request.form.get("year", type=int) or 0
                result = services.declare_calendar_year(declared, request.form.get("note", ""), user)
                year = declared
            elif action == "withdraw":
                entry = db.session.get(CalendarYear, request.form.get("year", type=int) or 0)
                if entry is None:
                    raise ApiError("not_found")
                year = entry.year
                result = services.withdraw_calendar_year(entry, user)
            else:
                raise ApiError("bad_request", detail="unknown action")
        except ApiError as exc:
            db.session.rollback()
            flash(_message(exc), "error")
            refused = request.form.to_dict()
            refused.pop("csrf_token", None)
        else:
            db.session.commit()
            _recomputed(result)
            return redirect(url_for("deadlines.calendar", year=year))

    overrides = list(
        db.session.scalars(
            select(CalendarOverride)
            .where(CalendarOverride.day >= dt.date(year, 1, 1), CalendarOverride.day <= dt.date(year, 12, 31))
            .order_by(CalendarOverride.day)
        )
    )
    check = _check_tool()
    first, last = package_years()
    html = render_template(
        "deadlines/calendar.html",
        year=year,
        overrides=overrides,
        declared=list(db.session.scalars(select(CalendarYear).order_by(CalendarYear.year))),
        package_first=first,
        package_last=last,
        check=check,
        KIND_NAMES=KIND_NAMES,
        deadline_days=services.deadline_days(),
        anchor=services.deadline_anchor(),
        form=refused,
        missing_years=services.calendar_years_missing(today_local(), services.working_calendar()),
    )
    return (html, 422) if refused else html


def _check_tool() -> dict[str, Any]:
    """The "count working days" form: start + N working days, with where each answer came from."""
    start = _date(request.args.get("start", ""))
    days = request.args.get("days", type=int)
    out: dict[str, Any] = {
        "start": request.args.get("start", ""),
        "days": days,
        "result": None,
        "error": None,
    }
    if start is None or days is None:
        return out
    if not 1 <= days <= 250:
        out["error"] = translate("工作日数应在1到250之间")
        return out
    calendar = services.working_calendar()
    try:
        due = services.add_working_days(start, days, calendar)
    except ApiError as exc:
        out["error"] = _message(exc)
        return out
    span = [start + dt.timedelta(days=i) for i in range(1, (due - start).days + 1)]
    out["result"] = due
    out["days_list"] = [
        (d, calendar.is_working_day(d), translate(SOURCE_NAMES[calendar.source(d)])) for d in span
    ]
    return out


@bp.route("/deadlines")
@page_auth(*STAFF)
def deadlines() -> str:
    today = today_local()
    year = request.args.get("year", type=int) or today.year
    overview = services.deadline_overview(current_user(), today, year)
    return render_template(
        "deadlines/deadlines.html",
        overview=overview,
        year=year,
        deadline_days=services.deadline_days(),
        anchor=services.deadline_anchor(),
        warn_days=current_app.config["TASK_WINDOW_WARNING_DAYS"],
    )
