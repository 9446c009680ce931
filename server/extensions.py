"""Extension instances, bound to the app only in create_app."""

import http
from typing import Any

from apispec import BasePlugin
from flask_migrate import Migrate
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import Select, func, select

from server.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
csrf = CSRFProtect()


def count_rows(stmt: Select[Any]) -> int:
    """How many rows ``stmt`` returns (its ORDER BY dropped): the total a shortened list names."""
    return db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


PROBLEM_CONTENT_TYPE = "application/problem+json"


class SpotcheckApi(Api):  # type: ignore[misc]  # flask-smorest ships no type hints
    """flask-smorest's Api, documenting every error as what the app really sends: a problem
    document (server/errors.py) as ``application/problem+json``, not flask-smorest's own Error."""

    def init_app(self, app: Any, *, spec_kwargs: dict[str, Any] | None = None) -> None:
        super().init_app(app, spec_kwargs=spec_kwargs)
        # Every operation takes the device-bound bearer token unless it says otherwise (the logins).
        self.spec.components.security_scheme(
            "bearerAuth",
            {
                "type": "http",
                "scheme": "bearer",
                "description": "POST /api/v1/auth/token (username, password, device_id) returns it",
            },
        )
        self.spec.options["security"] = [{"bearerAuth": []}]

    def _register_responses(self) -> None:
        # Replaces flask-smorest's version (same response names, so its decorators' references hold),
        # which would give every status its Error schema in the success content type.
        from server.errors import ProblemDocumentSchema

        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = ProblemDocumentSchema
            prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Any error: a problem document", "schema": ProblemDocumentSchema}
        prepare_response(response, self.spec, PROBLEM_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


class ProblemResponsesPlugin(BasePlugin):
    """Gives an error response documented only by its description (``@blp.doc(responses=…)``,
    ``alt_response`` without a schema) the problem document it really carries. HEAD answers have
    no body and keep none."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            if method == "head" or not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                is_error = status == "default" or str(status)[:1] in ("4", "5")
                if is_error and isinstance(response, dict) and "$ref" not in response:
                    response.setdefault(
                        "content",
                        {PROBLEM_CONTENT_TYPE: {"schema": {"$ref": "#/components/schemas/ProblemDocument"}}},
                    )


api = SpotcheckApi(spec_kwargs={"extra_plugins": [ProblemResponsesPlugin()]})
