"""The directory API: targets (with search), inspectors and their conflicts, departments, items.

Staff (admin, supervisor, leader) read; only admins write. Targets and items are the shared
master directory; inspectors and departments are limited to the caller's visible departments.
"""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import func, select

from server.accounts.auth import api_auth, current_user
from server.directory import services
from server.directory.schemas import (
    ConflictInSchema,
    ConflictSchema,
    DepartmentInSchema,
    DepartmentNodeSchema,
    DepartmentSchema,
    InspectorArgsSchema,
    InspectorDetailSchema,
    InspectorInSchema,
    InspectorPageSchema,
    ItemArgsSchema,
    ItemDetailSchema,
    ItemInSchema,
    ItemPageSchema,
    TargetArgsSchema,
    TargetDetailSchema,
    TargetInSchema,
    TargetPageSchema,
    update_department_schema,
    update_inspector_schema,
    update_item_schema,
    update_target_schema,
)
from server.directory.search import COUNT_CAP, FILTER_KEYS, search_targets
from server.extensions import db

blp = Blueprint("directory_api", __name__, url_prefix="/api/v1", description="directory")

STAFF = ("admin", "supervisor", "leader")


def _count(query: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def _target_detail(target: Any) -> services.TargetDetail:
    return services.target_detail(target, current_user())


# --- targets ---------------------------------------------------------------------------------


@blp.route("/targets")
@blp.arguments(TargetArgsSchema, location="query")
@blp.response(200, TargetPageSchema)
@api_auth(*STAFF)
def list_targets(args: dict[str, Any]) -> dict[str, Any]:
    """Search targets by name fragment (中文) or credit-code prefix, with filters.

    ``total`` stops counting above the cap; ``total_capped`` says the real number is larger.
    """
    filters = {k: args[k] for k in FILTER_KEYS if args.get(k)}
    rows, total = search_targets(args["q"], filters, args["limit"], args["offset"])
    return {
        "items": rows,
        "total": min(total, COUNT_CAP),
        "total_capped": total > COUNT_CAP,
        "limit": args["limit"],
        "offset": args["offset"],
    }


@blp.route("/targets", methods=["POST"])
@blp.arguments(TargetInSchema)
@blp.response(201, TargetDetailSchema)
@api_auth("admin")
def create_target(data: dict[str, Any]) -> Any:
    """Add a target to the directory (admins); a market entity's credit code is checked."""
    target = services.create_target(data, current_user())
    db.session.commit()
    return _target_detail(target)


@blp.route("/targets/<int:target_id>")
@blp.response(200, TargetDetailSchema)
@api_auth(*STAFF)
def get_target(target_id: int) -> Any:
    """A target with its tags, inspection history (newest first) and declared conflicts."""
    return _target_detail(services.get_target(target_id))


@blp.route("/targets/<int:target_id>", methods=["PATCH"])
@blp.arguments(update_target_schema)
@blp.response(200, TargetDetailSchema)
@api_auth("admin")
def patch_target(data: dict[str, Any], target_id: int) -> Any:
    """Change some of a target's fields (admins)."""
    target = services.update_target(services.get_target(target_id), data, current_user())
    db.session.commit()
    return _target_detail(target)


# --- inspectors ------------------------------------------------------------------------------


@blp.route("/inspectors")
@blp.arguments(InspectorArgsSchema, location="query")
@blp.response(200, InspectorPageSchema)
@api_auth(*STAFF)
def list_inspectors(args: dict[str, Any]) -> dict[str, Any]:
    """Inspectors of the caller's visible departments, filtered."""
    query = services.inspector_query(args, current_user())
    rows = db.session.scalars(query.limit(args["limit"]).offset(args["offset"])).all()
    return {"items": rows, "total": _count(query), "limit": args["limit"], "offset": args["offset"]}


@blp.route("/inspectors", methods=["POST"])
@blp.arguments(InspectorInSchema)
@blp.response(201, InspectorDetailSchema)
@api_auth("admin")
def create_inspector(data: dict[str, Any]) -> Any:
    """Add an inspector to the directory (admins)."""
    inspector = services.create_inspector(data, current_user())
    db.session.commit()
    return inspector


@blp.route("/inspectors/<int:inspector_id>")
@blp.response(200, InspectorDetailSchema)
@api_auth(*STAFF)
def get_inspector(inspector_id: int) -> Any:
    """One inspector with credentials, specialties and declared conflicts of interest."""
    return services.get_inspector(inspector_id, current_user())


@blp.route("/inspectors/<int:inspector_id>", methods=["PATCH"])
@blp.arguments(update_inspector_schema)
@blp.response(200, InspectorDetailSchema)
@api_auth("admin")
def patch_inspector(data: dict[str, Any], inspector_id: int) -> Any:
    """Change some of an inspector's fields (admins)."""
    user = current_user()
    inspector = services.update_inspector(services.get_inspector(inspector_id, user), data, user)
    db.session.commit()
    return inspector


@blp.route("/inspectors/<int:inspector_id>/conflicts", methods=["POST"])
@blp.arguments(ConflictInSchema)
@blp.response(201, ConflictSchema)
@api_auth("admin")
def add_conflict(data: dict[str, Any], inspector_id: int) -> Any:
    """Declare a conflict of interest (回避) between the inspector and a target."""
    user = current_user()
    inspector = services.get_inspector(inspector_id, user)
    conflict = services.add_conflict(inspector, data["target_id"], data["reason"], user)
    db.session.commit()
    return conflict


@blp.route("/inspectors/<int:inspector_id>/conflicts/<int:conflict_id>", methods=["DELETE"])
@blp.response(204)
@api_auth("admin")
def remove_conflict(inspector_id: int, conflict_id: int) -> None:
    """Remove a declared conflict of interest (回避) of an inspector (admins)."""
    user = current_user()
    services.remove_conflict(services.get_inspector(inspector_id, user), conflict_id, user)
    db.session.commit()


# --- departments -----------------------------------------------------------------------------


@blp.route("/departments")
@blp.response(200, DepartmentNodeSchema(many=True))
@api_auth(*STAFF)
def list_departments() -> Any:
    """The visible departments as a tree (province → city → county → station)."""
    return services.department_tree(current_user())


@blp.route("/departments", methods=["POST"])
@blp.arguments(DepartmentInSchema)
@blp.response(201, DepartmentSchema)
@api_auth("admin")
def create_department(data: dict[str, Any]) -> Any:
    """Add a department (admins)."""
    department = services.create_department(data, current_user())
    db.session.commit()
    return department


@blp.route("/departments/<int:department_id>", methods=["PATCH"])
@blp.arguments(update_department_schema)
@blp.response(200, DepartmentSchema)
@api_auth("admin")
def patch_department(data: dict[str, Any], department_id: int) -> Any:
    """Change some of a department's fields (admins)."""
    user = current_user()
    department = services.update_department(services.get_department(department_id, user), data, user)
    db.session.commit()
    return department


# --- items -----------------------------------------------------------------------------------


@blp.route("/items")
@blp.arguments(ItemArgsSchema, location="query")
@blp.response(200, ItemPageSchema)
@api_auth(*STAFF)
def list_items(args: dict[str, Any]) -> dict[str, Any]:
    """The inspection item list (随机抽查事项清单), filtered."""
    query = services.item_query(args)
    rows = db.session.scalars(query.limit(args["limit"]).offset(args["offset"])).all()
    return {"items": rows, "total": _count(query), "limit": args["limit"], "offset": args["offset"]}


@blp.route("/items", methods=["POST"])
@blp.arguments(ItemInSchema)
@blp.response(201, ItemDetailSchema)
@api_auth("admin")
def create_item(data: dict[str, Any]) -> Any:
    """Add an inspection item with its checklist (admins)."""
    item = services.create_item(data, current_user())
    db.session.commit()
    return item


@blp.route("/items/<int:item_id>")
@blp.response(200, ItemDetailSchema)
@api_auth(*STAFF)
def get_item(item_id: int) -> Any:
    """An item with its ordered checkpoints (抽查工作指引)."""
    return services.get_item(item_id)


@blp.route("/items/<int:item_id>", methods=["PATCH"])
@blp.arguments(update_item_schema)
@blp.response(200, ItemDetailSchema)
@api_auth("admin")
def patch_item(data: dict[str, Any], item_id: int) -> Any:
    """Change an item; ``checkpoints``, when given, replaces the whole ordered list."""
    item = services.update_item(services.get_item(item_id), data, current_user())
    db.session.commit()
    return item


# The bulk-import endpoints register on this blueprint (server/directory/import_api.py).
from server.directory import import_api  # noqa: E402,F401
