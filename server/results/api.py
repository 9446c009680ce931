"""Result categories over the API: staff read them, admins add, edit, deactivate or delete unused ones."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from server.accounts.auth import api_auth, current_user
from server.errors import ApiError
from server.extensions import db
from server.results import services
from server.results.models import ResultCategory
from server.results.schemas import (
    ResultCategoryCreateSchema,
    ResultCategoryEntrySchema,
    ResultCategoryQuerySchema,
    ResultCategoryUpdateSchema,
)

blp = Blueprint("results_api", __name__, url_prefix="/api/v1", description="Result categories")

STAFF = ("admin", "supervisor", "leader")


def _category(category_id: int) -> ResultCategory:
    category = db.session.get(ResultCategory, category_id)
    if category is None:
        raise ApiError("not_found")
    return category


@blp.route("/result-categories")
class Categories(MethodView):
    @api_auth(*STAFF)
    @blp.arguments(ResultCategoryQuerySchema, location="query")
    @blp.response(200, ResultCategoryEntrySchema(many=True))
    def get(self, args: dict[str, Any]) -> list[ResultCategory]:
        """Every category in display order (``active`` filters)."""
        rows = services.list_categories()
        if args["active"] is not None:
            rows = [c for c in rows if c.active is args["active"]]
        return rows

    @api_auth("admin")
    @blp.arguments(ResultCategoryCreateSchema)
    @blp.response(201, ResultCategoryEntrySchema)
    def post(self, data: dict[str, Any]) -> ResultCategory:
        """Add a category (its code is permanent)."""
        category = services.create_category(data, current_user())
        db.session.commit()
        return category


@blp.route("/result-categories/<int:category_id>")
class Category(MethodView):
    @api_auth(*STAFF)
    @blp.response(200, ResultCategoryEntrySchema)
    def get(self, category_id: int) -> ResultCategory:
        """One result category."""
        return _category(category_id)

    @api_auth("admin")
    @blp.arguments(ResultCategoryUpdateSchema)
    @blp.response(200, ResultCategoryEntrySchema)
    def patch(self, data: dict[str, Any], category_id: int) -> ResultCategory:
        """Edit name, English name, flags, position; ``active: false`` deactivates."""
        category = services.update_category(_category(category_id), data, current_user())
        db.session.commit()
        return category

    @api_auth("admin")
    @blp.response(204)
    def delete(self, category_id: int) -> None:
        """Delete a category nothing refers to (``category_in_use`` otherwise: deactivate it)."""
        services.delete_category(_category(category_id), current_user())
        db.session.commit()
