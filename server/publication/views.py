"""The publication pages.

Public (no login, DOMAIN.md §9): ``/results`` lists published results by task, department and
target, searchable by a Chinese name fragment or a credit-code prefix; ``/results/<id>`` is one
result; ``/results/feed.json`` is the paged JSON feed with ``updated_since``; ``/results/export.csv``
and ``.xlsx`` are the files shaped for the national enterprise credit publicity system.
Staff: ``/publication`` lists approved results waiting for publication and publishes a selection.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from marshmallow import ValidationError
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from sqlalchemy import select
from werkzeug.wrappers import Response as BaseResponse

from server.accounts.auth import current_user, page_auth
from server.errors import CATALOGUE, ApiError, problem_body, render_problem
from server.extensions import count_rows, db
from server.i18n import current_locale, today_local, translate
from server.inspections.models import Inspection
from server.inspections.services import inspections_visible_to
from server.publication import services
from server.publication.schemas import FeedQuerySchema
from server.publication.services import TASK_TYPE_NAMES, PublicResult

bp = Blueprint("publication", __name__)

PER_PAGE = 20
STAFF = services.STAFF
KIND_NAMES = {
    "enterprise": "企业",
    "individual": "个体工商户",
    "cooperative": "农民专业合作社",
    "product": "产品",
    "project": "项目",
    "behaviour": "行为",
}
WITHHOLD_NAMES = {
    "none": "公示",
    "requested": "申请不予公示，待领导决定",
    "approved": "不予公示（领导已批准）",
    "rejected": "公示（不予公示申请未获批准）",
}
# The national enterprise credit publicity system's columns (检查实施机关 | 类型 | 日期 | 结果), after
# the entity they are recorded under, then our task and the public page of its draw.
EXPORT_COLUMNS = (
    "统一社会信用代码",
    "市场主体名称",
    "检查实施机关",
    "类型",
    "日期",
    "结果",
    "抽查任务",
    "抽取结果公示",
)
EXPORT_WIDTHS = (22, 36, 24, 12, 12, 30, 36, 40)  # characters, per column above
# The feed and the exports change only when results are published or follow-ups close: a minute of
# caching (browsers, proxies) spares the database repeated downloads and delays nobody much.
PUBLIC_CACHE = "public, max-age=60"
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {"KIND_NAMES": KIND_NAMES, "TASK_TYPE_NAMES": TASK_TYPE_NAMES, "WITHHOLD_NAMES": WITHHOLD_NAMES}


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _filters() -> dict[str, Any]:
    return {
        "q": request.args.get("q", "").strip()[:100],
        "task_id": _int_arg("task"),
        "department_id": _int_arg("department"),
    }


def _args(filters: dict[str, Any], **more: Any) -> dict[str, Any]:
    """Query-string arguments for links that keep the current filters."""
    args = {"q": filters["q"] or None, "task": filters["task_id"], "department": filters["department_id"]}
    args.update(more)
    return {k: v for k, v in args.items() if v}


def _category_names(result: PublicResult) -> list[str]:
    english = current_locale() == "en"
    return [(en or name) if english else name for _code, name, en in result.categories]


# -- public pages --------------------------------------------------------------------------------------


@bp.route("/results")
def public_results() -> str:
    filters = _filters()
    page = max(1, _int_arg("page") or 1)
    results, total = services.public_page(filters, (page - 1) * PER_PAGE, PER_PAGE)
    pages = max(1, (total + PER_PAGE - 1) // PER_PAGE)
    if page > pages:  # past the end (an old link, fewer results now): the last page, not "nothing"
        page = pages
        results, total = services.public_page(filters, (page - 1) * PER_PAGE, PER_PAGE)
    return render_template(
        "publication/results.html",
        results=results,
        total=total,
        page=page,
        pages=pages,
        filters=filters,
        args=_args(filters),
        tasks=services.public_tasks(),
        departments=services.public_departments(),
        category_names=_category_names,
    )


@bp.route("/results/<int:inspection_id>")
def public_result(inspection_id: int) -> str:
    result = services.public_result(inspection_id)
    if result is None:
        abort(404)
    return render_template("publication/result.html", r=result, category_names=_category_names)


def _problem_json(code: str, errors: Any = None) -> Response:
    resp = jsonify(problem_body(code, errors=errors))
    resp.mimetype = "application/problem+json"
    resp.status_code = CATALOGUE[code].status
    return resp


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() + "Z" if moment is not None else None


def feed_item(r: PublicResult) -> dict[str, Any]:
    """One published result in the feed: only what DOMAIN.md §9 makes public."""
    target: dict[str, Any] = {"name": r.target_name, "code": r.target_code, "kind": r.target_kind}
    if r.address is not None:
        target["address"] = r.address
    if r.legal_rep is not None:
        target["legal_representative"] = r.legal_rep
    return {
        "id": r.inspection_id,
        "url": url_for("publication.public_result", inspection_id=r.inspection_id, _external=True),
        "target": target,
        "inspection_date": r.inspection_date.isoformat() if r.inspection_date else None,
        "published_at": _iso(r.published_at),
        "updated_at": _iso(r.updated_at),
        "result": {
            "categories": [{"code": code, "name": name, "name_en": en} for code, name, en in r.categories],
            "summary": r.summary,
        },
        "departments": r.departments,
        "tasks": [
            {
                "id": t.id,
                "name": t.name,
                "type": t.task_type,
                "type_name": TASK_TYPE_NAMES.get(t.task_type, ""),
                "year": t.year,
                "departments": t.departments,
                "draw_id": t.draw_id,
                "draw_url": url_for("draws.public_draw", draw_id=t.draw_id, _external=True),
            }
            for t in r.tasks
        ],
        "follow_ups": [
            {
                "kind": f.kind,
                "kind_name": f.kind_name,
                "closed_on": f.closed_on.isoformat() if f.closed_on else None,
                "outcome": f.outcome,
            }
            for f in r.follow_ups
        ],
        "follow_up_open": r.follow_up_open,
    }


@bp.route("/results/feed.json")
def feed() -> Response:
    """Published results, least recently changed first; ``updated_since`` for incremental pulls,
    and a ``next`` link (keyset: ``updated_since`` + ``after``) until nothing is left."""
    try:
        args = FeedQuerySchema().load(request.args)
    except ValidationError as exc:
        return _problem_json("validation_failed", exc.messages)
    if "after" in args and "updated_since" not in args:
        return _problem_json("validation_failed", {"after": ["Only together with updated_since."]})
    filters = {
        "q": args.get("q", ""),
        "task_id": args.get("task"),
        "department_id": args.get("department"),
        "updated_since": args.get("updated_since"),
    }
    per_page = args["per_page"]
    results, remaining = services.public_feed_page(filters, args.get("after"), per_page)
    next_url = None
    if remaining > len(results) and results:
        last = results[-1]
        query = {k: v for k, v in request.args.items() if k not in ("updated_since", "after")}
        next_url = url_for(
            "publication.feed",
            _external=True,
            **query,
            updated_since=_iso(last.updated_at),
            after=last.inspection_id,
        )
    body = {
        "generated_at": _iso(dt.datetime.now(dt.UTC).replace(tzinfo=None)),
        "per_page": per_page,
        "remaining": remaining,
        "next": next_url,
        "items": [feed_item(r) for r in results],
    }
    resp = jsonify(body)
    resp.headers["Cache-Control"] = PUBLIC_CACHE
    return resp


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def export_rows(filters: dict[str, Any]) -> Iterator[list[str]]:
    """One line per result and task, market entities only: what the publicity system records."""
    for r in services.iter_public({**filters, "market_only": True}):
        for task in r.tasks:
            yield [
                r.target_code,
                r.target_name,
                "、".join(task.departments),
                TASK_TYPE_NAMES.get(task.task_type, ""),
                r.inspection_date.isoformat() if r.inspection_date else "",
                r.result_text,
                task.name,
                url_for("draws.public_draw", draw_id=task.draw_id, _external=True),
            ]


def _filename(ext: str) -> str:
    return f"spotcheck-results-{today_local():%Y%m%d}.{ext}"


@bp.route("/results/export.csv")
def export_csv() -> Response:
    filters = _filters()

    def generate() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        out.write("\ufeff")  # a BOM, so spreadsheet programs read the Chinese as UTF-8
        writer.writerow(EXPORT_COLUMNS)
        for n, row in enumerate(export_rows(filters), 1):
            writer.writerow([_cell(v) for v in row])
            if n % 500 == 0:
                yield out.getvalue()
                out.seek(0)
                out.truncate()
        yield out.getvalue()

    # stream_with_context keeps the request (its database session, url_for) alive while streaming.
    resp = Response(stream_with_context(generate()), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{_filename("csv")}"'
    resp.headers["Cache-Control"] = PUBLIC_CACHE
    return resp


@bp.route("/results/export.xlsx")
def export_xlsx() -> Response:
    filters = _filters()
    limit = int(current_app.config["PUBLICATION_EXPORT_MAX_ROWS"])
    if services.export_count(filters) > limit:
        return render_problem(
            "export_too_large",
            detail=translate("最多{limit}行：请按抽查任务或部门筛选，或下载CSV", limit=limit),
        )
    book = Workbook(write_only=True)
    sheet = book.create_sheet("抽查检查结果")
    # Wide enough to read a credit code, a company name and a link without resizing; the header
    # stays in view while scrolling.
    for letter, width in zip("ABCDEFGH", EXPORT_WIDTHS, strict=True):
        sheet.column_dimensions[letter].width = width
    sheet.freeze_panes = "A2"
    sheet.append(list(EXPORT_COLUMNS))
    for row in export_rows(filters):
        cells = []
        for value in row:
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text, never a formula, whatever it starts with
            cells.append(cell)
        sheet.append(cells)
    out = io.BytesIO()
    book.save(out)
    resp = Response(
        out.getvalue(), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    resp.headers["Content-Disposition"] = f'attachment; filename="{_filename("xlsx")}"'
    resp.headers["Cache-Control"] = PUBLIC_CACHE
    return resp


# -- staff: publication by hand --------------------------------------------------------------------------


def _problem_message(exc: ApiError) -> str:
    entry = CATALOGUE[exc.code]
    text = entry.en if current_locale() == "en" else entry.zh
    return f"{text} ({exc.detail})" if exc.detail else text


# The oldest approvals first; publishing them brings the next ones onto the page.
WAITING_SHOWN = 500


@bp.route("/publication")
@page_auth(*STAFF)
def staff_pending() -> str:
    user = current_user()
    pending = services.awaiting_publication(user)
    waiting = list(db.session.scalars(pending.limit(WAITING_SHOWN)))
    waiting_total = count_rows(pending)
    results = {i.id: services.result_of(i) for i in waiting}
    visible = inspections_visible_to(user).with_only_columns(Inspection.id)
    recent = list(
        db.session.scalars(
            select(Inspection)
            .where(Inspection.state == "published", Inspection.id.in_(visible))
            .order_by(Inspection.published_at.desc(), Inspection.id.desc())
            .limit(20)
        )
    )
    return render_template(
        "publication/staff.html",
        waiting=waiting,
        waiting_total=waiting_total,
        results=results,
        due={i.id: services.publication_due_on(i) for i in waiting},
        publishable={i.id: services.why_not_publishable(i, results[i.id]) is None for i in waiting},
        recent=recent,
    )


@bp.route("/publication/publish", methods=["POST"])
@page_auth(*STAFF)
def staff_publish() -> BaseResponse:
    user = current_user()
    raw = request.form.getlist("inspection_id")
    ids = sorted({int(v) for v in raw if v.isdigit() and len(v) < 10})
    if not ids:
        flash(translate("请选择要公示的检查结果"), "error")
        return redirect(url_for("publication.staff_pending"))
    visible = inspections_visible_to(user).where(Inspection.id.in_(ids))
    inspections = list(db.session.scalars(visible))
    if len(inspections) != len(ids):
        abort(404)
    try:
        published = services.publish_results(inspections, user)
    except ApiError as exc:
        db.session.rollback()
        flash(_problem_message(exc), "error")
        return redirect(url_for("publication.staff_pending"))
    db.session.commit()
    flash(translate("已公示{n}项检查结果", n=len(published)))
    return redirect(url_for("publication.staff_pending"))
