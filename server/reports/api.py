"""The KPI report over the API (the same figures as the dashboard and its CSV)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from server.accounts.auth import api_auth, current_user
from server.accounts.services import visible_department_ids
from server.errors import ApiError
from server.i18n import today_local
from server.reports import services
from server.reports.schemas import KpiQuerySchema, KpiReportSchema

blp = Blueprint("reports_api", __name__, url_prefix="/api/v1", description="KPIs")


@blp.route("/reports/kpi")
@blp.arguments(KpiQuerySchema, location="query")
@blp.response(200, KpiReportSchema)
@api_auth("admin", "supervisor", "leader")
def kpi(args: dict[str, Any]) -> Any:
    """The year's KPIs per department and per task, for the departments the caller may see."""
    user = current_user()
    today = today_local()
    department_id = args.get("department_id")
    visible = visible_department_ids(user)
    if department_id is not None and visible is not None and department_id not in visible:
        raise ApiError("not_found")
    return services.report_for(user, args.get("year") or today.year, today, department_id)
