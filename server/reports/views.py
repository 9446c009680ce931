"""The KPI dashboard (staff) with SVG charts, and its CSV export."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Blueprint, Response, render_template, request
from sqlalchemy import select

from server.accounts.auth import current_user, page_auth
from server.accounts.services import visible_department_ids
from server.directory.models import Department
from server.errors import ApiError
from server.extensions import db
from server.i18n import today_local, translate
from server.reports import charts, services
from server.reports.services import GOALS, METRICS, KpiReport, KpiRow

bp = Blueprint("reports", __name__)

STAFF = ("admin", "supervisor", "leader")
METRIC_NAMES = {
    "coverage": "企业抽查覆盖率",
    "risk_draws": "运用信用风险分类的抽取占比",
    "on_time": "检查结果按时录入率",
    "publication": "检查结果公示率",
    "follow_up": "后续处置完结率",
    "problems": "问题发现率",
}
METRIC_NOTES = {
    "coverage": "本年度检查过的企业 / 名录库中存续的企业",
    "risk_draws": "按信用风险分类抽取的抽取次数 / 有效抽取次数",
    "on_time": "在期限内审核通过的检查 / 已到期或已录入结果的检查",
    "publication": "已公示 / 已审核（经批准不予公示的除外）",
    "follow_up": "已完结 / 全部后续处置",
    "problems": "结果类别为发现问题的检查 / 已审核的检查",
}


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.2f}%"


def _params() -> tuple[int, int | None]:
    today = today_local()
    year = request.args.get("year", type=int) or services.default_year(current_user(), today)
    department_id = request.args.get("department_id", type=int)
    if department_id is not None:
        visible = visible_department_ids(current_user())
        if visible is not None and department_id not in visible:
            raise ApiError("not_found")
    return year, department_id


def _charts(report: KpiReport, rows: list[KpiRow], level: str) -> dict[str, Any]:
    out = {}
    for metric in METRICS:
        data = [
            (
                row.label,
                row.ratios[metric].rate,
                f"({row.ratios[metric].num}/{row.ratios[metric].den})",
            )
            for row in rows
        ]
        out[metric] = charts.bar_chart(
            data, GOALS[metric], title=f"{translate(METRIC_NAMES[metric])} · {translate(level)}"
        )
    return out


@bp.route("/reports/kpi")
@page_auth(*STAFF)
def kpi() -> str:
    user = current_user()
    year, department_id = _params()
    report = services.report_for(user, year, today_local(), department_id)
    visible = visible_department_ids(user)
    stmt = select(Department).order_by(Department.code)
    if visible is not None:
        stmt = stmt.where(Department.id.in_(visible or {-1}))
    # Trends: the selected department, the only one a user sees, or (admins) the total.
    trend_department = department_id or (next(iter(visible)) if visible and len(visible) == 1 else None)
    trend = []
    if trend_department is not None or visible is None:
        history = services.snapshots(year, trend_department)
        trend = (
            [
                (
                    metric,
                    charts.line_chart(
                        [(s.taken_on, s.metrics.get(metric, {}).get("rate")) for s in history],
                        GOALS[metric],
                        title=translate(METRIC_NAMES[metric]),
                    ),
                )
                for metric in ("coverage", "on_time", "publication")
            ]
            if history
            else []
        )
    return render_template(
        "reports/kpi.html",
        report=report,
        year=year,
        years=sorted(set(services.available_years(user)) | {year}, reverse=True),
        department_id=department_id,
        departments=list(db.session.scalars(stmt)),
        department_charts=_charts(report, report.departments, "按部门")
        if len(report.departments) > 1
        else {},
        task_charts=_charts(report, report.tasks, "按任务") if report.tasks else {},
        trend=trend,
        METRICS=METRICS,
        METRIC_NAMES=METRIC_NAMES,
        METRIC_NOTES=METRIC_NOTES,
        GOALS=GOALS,
        percent=_percent,
    )


@bp.route("/reports/kpi.csv")
@page_auth(*STAFF)
def kpi_csv() -> Response:
    """One row per department and per task (and the total); numerator, denominator and rate of each."""
    year, department_id = _params()
    report = services.report_for(current_user(), year, today_local(), department_id)
    out = io.StringIO()
    out.write("\ufeff")  # so spreadsheet programs read the Chinese text as UTF-8
    writer = csv.writer(out)
    header = [
        translate("年度"),
        translate("层级"),
        translate("部门"),
        translate("抽查任务"),
        translate("检查数"),
    ]
    header.append(translate("视为未完成"))
    for metric in METRICS:
        name = translate(METRIC_NAMES[metric])
        header += [
            f"{name}·{translate('分子')}",
            f"{name}·{translate('分母')}",
            f"{name}·{translate('比率')}",
        ]
    writer.writerow(header)

    def write(level: str, department: str, task: str, row: KpiRow) -> None:
        line: list[Any] = [year, translate(level), department, task, row.inspections, row.late]
        for metric in METRICS:
            ratio = row.ratios[metric]
            line += [ratio.num, ratio.den, _percent(ratio.rate)]
        writer.writerow(line)

    write("合计", "", "", report.total)
    for row in report.departments:
        write("部门", row.label, "", row)
    for row in report.tasks:
        write("任务", row.department, row.label, row)
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="spotcheck-kpi-{year}.csv"'},
    )
