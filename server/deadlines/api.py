"""The working-day calendar over the API: "the N-th working day after a date"."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from server.accounts.auth import api_auth
from server.deadlines import services
from server.deadlines.schemas import WorkingDaysQuerySchema, WorkingDaysSchema

blp = Blueprint("calendar_api", __name__, url_prefix="/api/v1", description="Working-day calendar")


@blp.route("/calendar/working-days")
@blp.arguments(WorkingDaysQuerySchema, location="query")
@blp.response(200, WorkingDaysSchema)
@blp.alt_response(422, description="`calendar_year_unknown`: the calendar does not cover that year")
@api_auth()
def working_days(args: dict[str, Any]) -> Any:
    """Statutory holidays, make-up workdays and admin overrides counted; the start day is not."""
    due = services.add_working_days(args["start"], args["days"])
    return {**args, "due": due, "calendar_days": (due - args["start"]).days}
