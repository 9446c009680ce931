"""Directory operations: keep targets, inspectors, departments and inspection items.

Each change takes validated data (see ``schemas.py``), checks what a schema cannot (credit-code
check digits, unique codes, a department tree without loops), flushes and appends an audit
event. Nothing here commits: the request or command that called it does, once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, cast, exists, func, literal, or_, select
from sqlalchemy.dialects.postgresql import JSONB

from server.accounts.models import User
from server.accounts.services import visible_department_ids
from server.audit.services import record_event
from server.directory import creditcode
from server.directory import search as _search  # noqa: F401  (registers the name → search_grams listener)
from server.directory.models import (
    LEVELS,
    MARKET_KINDS,
    Checkpoint,
    Conflict,
    Department,
    Inspector,
    Item,
    Target,
    TargetTag,
)
from server.errors import ApiError
from server.extensions import db
from server.i18n import today_local, translate

# Chinese labels of the stored values; pages translate them like any other source string.
TARGET_KIND_LABELS = {
    "enterprise": "企业",
    "individual": "个体工商户",
    "cooperative": "农民专业合作社",
    "product": "产品",
    "project": "项目",
    "behaviour": "行为",
}
TARGET_STATUS_LABELS = {
    "active": "存续",
    "liquidating": "清算中",
    "deregistered": "已注销",
    "revoked": "已吊销",
    "moved": "已迁出",
}
RISK_LABELS = {"A": "低风险", "B": "一般风险", "C": "较高风险", "D": "高风险"}
INSPECTOR_KIND_LABELS = {"general": "普通", "professional": "专业", "expert": "专家"}
INSPECTOR_STATUS_LABELS = {"active": "在岗", "leave": "请假", "transferred": "调离", "retired": "退休"}
LEVEL_LABELS = {"province": "省级", "city": "市级", "county": "县级", "station": "基层所"}
# The trades of directory/models.TRADES, as the pages and imports name them.
TRADE_LABELS = {
    "market": "市场监管",
    "drugs": "药品监管",
    "housing": "住房和城乡建设",
    "health": "卫生健康",
    "emergency": "应急管理",
    "culture": "文化和旅游",
    "education": "教育",
    "ecology": "生态环境",
    "transport": "交通运输",
    "agriculture": "农业农村",
    "natural_resources": "自然资源",
    "water": "水利",
    "commerce": "商务",
    "human_resources": "人力资源和社会保障",
    "public_security": "公安",
    "fire": "消防救援",
    "tax": "税务",
}
ITEM_KIND_LABELS = {"general": "一般检查事项", "key": "重点检查事项"}


def _field_error(code: str, field: str, message: str) -> ApiError:
    return ApiError(code, errors={field: [translate(message)]})


def _apply(obj: Any, data: dict[str, Any], names: Iterable[str]) -> dict[str, list[Any]]:
    """Set the named fields that are in ``data``; returns {field: [old, new]} for the audit log."""
    changes: dict[str, list[Any]] = {}
    for name in names:
        if name in data and getattr(obj, name) != data[name]:
            changes[name] = [getattr(obj, name), data[name]]
            setattr(obj, name, data[name])
    return changes


def _taken(model: Any, code: str, own_id: int | None) -> bool:
    query = select(model.id).where(model.code == code)
    if own_id is not None:
        query = query.where(model.id != own_id)
    return db.session.scalar(query.limit(1)) is not None


# --- targets ---------------------------------------------------------------------------------

_TARGET_FIELDS = (
    "code",
    "name",
    "kind",
    "industry",
    "district",
    "address",
    "legal_rep",
    "status",
    "risk_class",
    "risk_assessed_on",
)


def normalize_code(code: str) -> str:
    """Codes are stored trimmed and upper-case, so a prefix search can rely on the case."""
    return code.strip().upper()


def check_target_code(code: str, kind: str) -> None:
    """A market entity's code must be a valid 统一社会信用代码 (GB 32100-2015)."""
    if kind in MARKET_KINDS:
        reason = creditcode.problem(code)
        if reason is not None:
            raise ApiError(
                "invalid_credit_code",
                detail=reason,
                errors={"code": [translate("统一社会信用代码校验失败")]},
            )


def _set_tags(target: Target, tags: list[str]) -> list[str] | None:
    """Replace the tags; returns the old ones if anything changed."""
    new = sorted({t.strip() for t in tags if t.strip()})
    old = target.tag_names
    if new == old:
        return None
    keep = set(new)
    target.tags = [t for t in target.tags if t.tag in keep] + [
        TargetTag(tag=t) for t in new if t not in set(old)
    ]
    return old


def create_target(data: dict[str, Any], actor: User) -> Target:
    data = dict(data)
    data["code"] = normalize_code(data["code"])
    check_target_code(data["code"], data["kind"])
    if _taken(Target, data["code"], None):
        raise _field_error("duplicate_code", "code", "代码已存在")
    target = Target(**{k: v for k, v in data.items() if k in _TARGET_FIELDS})
    if target.risk_class and not target.risk_assessed_on:
        target.risk_assessed_on = today_local()
    _set_tags(target, data.get("tags", []))
    db.session.add(target)
    db.session.flush()
    record_event(
        "target.created",
        "target",
        target.id,
        actor_id=actor.id,
        details={"code": target.code, "name": target.name, "kind": target.kind, "tags": target.tag_names},
    )
    return target


def update_target(target: Target, data: dict[str, Any], actor: User) -> Target:
    data = dict(data)
    if "code" in data:
        data["code"] = normalize_code(data["code"])
    code, kind = data.get("code", target.code), data.get("kind", target.kind)
    if code != target.code or kind != target.kind:
        check_target_code(code, kind)
    if code != target.code and _taken(Target, code, target.id):
        raise _field_error("duplicate_code", "code", "代码已存在")
    if (
        data.get("risk_class") != target.risk_class
        and "risk_class" in data
        and "risk_assessed_on" not in data
    ):
        # A new class is assessed today unless the caller says when.
        data["risk_assessed_on"] = today_local() if data["risk_class"] else None
    changes = _apply(target, data, _TARGET_FIELDS)  # setting name refreshes search_grams (search.py)
    if "tags" in data:
        old_tags = _set_tags(target, data["tags"])
        if old_tags is not None:
            changes["tags"] = [old_tags, target.tag_names]
    if changes:
        db.session.flush()
        record_event("target.updated", "target", target.id, actor_id=actor.id, details=changes)
    return target


def get_target(target_id: int) -> Target:
    target = db.session.get(Target, target_id)
    if target is None:
        raise ApiError("not_found")
    return target


@dataclass
class TargetDetail:
    """A target plus the conflicts this user may see; reads through to the target otherwise."""

    target: Target
    conflicts: list[Conflict]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.target, name)


def target_detail(target: Target, user: User) -> TargetDetail:
    return TargetDetail(target, target_conflicts(target, user))


def target_conflicts(target: Target, user: User) -> list[Conflict]:
    """Declared conflicts with this target, limited to inspectors the user may see."""
    query = select(Conflict).join(Inspector).where(Conflict.target_id == target.id).order_by(Conflict.id)
    visible = visible_department_ids(user)
    if visible is not None:
        query = query.where(Inspector.department_id.in_(visible))
    return list(db.session.scalars(query))


# --- inspectors ------------------------------------------------------------------------------

_INSPECTOR_FIELDS = (
    "code",
    "name",
    "department_id",
    "credential_no",
    "credential_valid_until",
    "kind",
    "post",
    "specialties",
    "status",
    "user_id",
)


def _specialty_filter(specialty: str) -> ColumnElement[bool]:
    # specialties is a JSON list; each database has its own way to look inside one.
    if db.session.get_bind().dialect.name == "postgresql":
        return cast(Inspector.specialties, JSONB).contains([specialty])
    each = func.json_each(Inspector.specialties).table_valued("value")
    return exists(select(literal(1)).select_from(each).where(each.c.value == specialty))


def inspector_query(filters: dict[str, Any], user: User) -> Select[Inspector]:
    """Inspectors the user may see, filtered by department, status, kind, specialty or q."""
    query = select(Inspector).order_by(Inspector.department_id, Inspector.code)
    visible = visible_department_ids(user)
    if visible is not None:
        query = query.where(Inspector.department_id.in_(visible))
    for key in ("department_id", "status", "kind"):
        if filters.get(key):
            query = query.where(getattr(Inspector, key) == filters[key])
    if filters.get("specialty"):
        query = query.where(_specialty_filter(filters["specialty"]))
    q = (filters.get("q") or "").strip()
    if q:
        # The inspector directory is thousands of rows, not millions: a scan is fine.
        query = query.where(
            or_(Inspector.name.contains(q, autoescape=True), Inspector.code.startswith(q.upper()))
        )
    return query


def get_inspector(inspector_id: int, user: User) -> Inspector:
    """The inspector, or not_found if it does not exist or is in a department the user cannot see."""
    inspector = db.session.get(Inspector, inspector_id)
    visible = visible_department_ids(user)
    if inspector is None or (visible is not None and inspector.department_id not in visible):
        raise ApiError("not_found")
    return inspector


def _check_inspector_refs(data: dict[str, Any], inspector_id: int | None) -> None:
    if "department_id" in data and db.session.get(Department, data["department_id"]) is None:
        raise _field_error("validation_failed", "department_id", "部门不存在")
    user_id = data.get("user_id")
    if user_id is not None:
        if db.session.get(User, user_id) is None:
            raise _field_error("validation_failed", "user_id", "账号不存在")
        query = select(Inspector.id).where(Inspector.user_id == user_id)
        if inspector_id is not None:
            query = query.where(Inspector.id != inspector_id)
        if db.session.scalar(query.limit(1)) is not None:
            raise _field_error("validation_failed", "user_id", "该账号已关联其他执法人员")


def _clean_specialties(data: dict[str, Any]) -> None:
    if "specialties" in data:
        seen: dict[str, None] = {}
        for s in data["specialties"]:
            if s.strip():
                seen.setdefault(s.strip(), None)
        data["specialties"] = list(seen)


def create_inspector(data: dict[str, Any], actor: User) -> Inspector:
    data = dict(data)
    data["code"] = data["code"].strip()
    _clean_specialties(data)
    if _taken(Inspector, data["code"], None):
        raise _field_error("duplicate_code", "code", "代码已存在")
    _check_inspector_refs(data, None)
    inspector = Inspector(**{k: v for k, v in data.items() if k in _INSPECTOR_FIELDS})
    db.session.add(inspector)
    db.session.flush()
    record_event(
        "inspector.created",
        "inspector",
        inspector.id,
        actor_id=actor.id,
        details={"code": inspector.code, "name": inspector.name, "department_id": inspector.department_id},
    )
    return inspector


def update_inspector(inspector: Inspector, data: dict[str, Any], actor: User) -> Inspector:
    data = dict(data)
    if "code" in data:
        data["code"] = data["code"].strip()
        if _taken(Inspector, data["code"], inspector.id):
            raise _field_error("duplicate_code", "code", "代码已存在")
    _clean_specialties(data)
    _check_inspector_refs(data, inspector.id)
    changes = _apply(inspector, data, _INSPECTOR_FIELDS)
    if changes:
        db.session.flush()
        record_event("inspector.updated", "inspector", inspector.id, actor_id=actor.id, details=changes)
    return inspector


def add_conflict(inspector: Inspector, target_id: int, reason: str, actor: User) -> Conflict:
    """Declare a conflict of interest (回避): draws never put this inspector on this target."""
    if db.session.get(Target, target_id) is None:
        raise _field_error("validation_failed", "target_id", "检查对象不存在")
    taken = select(Conflict.id).where(Conflict.inspector_id == inspector.id, Conflict.target_id == target_id)
    if db.session.scalar(taken) is not None:
        raise _field_error("duplicate_conflict", "target_id", "该回避关系已登记")
    conflict = Conflict(inspector_id=inspector.id, target_id=target_id, reason=reason.strip())
    db.session.add(conflict)
    db.session.flush()
    record_event(
        "inspector.conflict_added",
        "inspector",
        inspector.id,
        actor_id=actor.id,
        details={"conflict_id": conflict.id, "target_id": target_id, "reason": conflict.reason},
    )
    return conflict


def remove_conflict(inspector: Inspector, conflict_id: int, actor: User) -> None:
    conflict = db.session.get(Conflict, conflict_id)
    if conflict is None or conflict.inspector_id != inspector.id:
        raise ApiError("not_found")
    details = {"conflict_id": conflict.id, "target_id": conflict.target_id, "reason": conflict.reason}
    db.session.delete(conflict)
    db.session.flush()
    record_event("inspector.conflict_removed", "inspector", inspector.id, actor_id=actor.id, details=details)


# --- departments -----------------------------------------------------------------------------


def department_tree(user: User) -> list[dict[str, Any]]:
    """Visible departments as nested nodes; one whose parent is hidden shows as a root."""
    visible = visible_department_ids(user)
    query = select(Department)
    if visible is not None:
        query = query.where(Department.id.in_(visible))
    departments = sorted(db.session.scalars(query), key=lambda d: (LEVELS.index(d.level), d.code))
    nodes: dict[int, dict[str, Any]] = {
        d.id: {
            "id": d.id,
            "code": d.code,
            "name": d.name,
            "level": d.level,
            "parent_id": d.parent_id,
            "trade": d.trade,
            "created_at": d.created_at,
            "children": [],
        }
        for d in departments
    }
    roots: list[dict[str, Any]] = []
    for d in departments:
        parent = nodes.get(d.parent_id) if d.parent_id is not None else None
        (parent["children"] if parent else roots).append(nodes[d.id])
    return roots


def get_department(department_id: int, user: User) -> Department:
    department = db.session.get(Department, department_id)
    visible = visible_department_ids(user)
    if department is None or (visible is not None and department.id not in visible):
        raise ApiError("not_found")
    return department


def _check_parent(department: Department | None, level: str, parent_id: int | None) -> None:
    """The parent exists, sits at a higher level, and is not the department or below it."""
    if parent_id is None:
        return
    parent = db.session.get(Department, parent_id)
    if parent is None:
        raise _field_error("validation_failed", "parent_id", "上级部门不存在")
    if LEVELS.index(parent.level) >= LEVELS.index(level):
        raise _field_error("validation_failed", "parent_id", "上级部门的层级必须高于本部门")
    node: Department | None = parent
    while node is not None:
        if department is not None and node.id == department.id:
            raise _field_error("validation_failed", "parent_id", "上级部门不能是本部门或其下级")
        node = node.parent


def create_department(data: dict[str, Any], actor: User) -> Department:
    data = dict(data, code=data["code"].strip())
    if _taken(Department, data["code"], None):
        raise _field_error("duplicate_code", "code", "代码已存在")
    _check_parent(None, data["level"], data.get("parent_id"))
    department = Department(
        code=data["code"],
        name=data["name"],
        level=data["level"],
        parent_id=data.get("parent_id"),
        trade=data.get("trade"),
    )
    db.session.add(department)
    db.session.flush()
    record_event(
        "department.created",
        "department",
        department.id,
        actor_id=actor.id,
        details={
            "code": department.code,
            "name": department.name,
            "level": department.level,
            "trade": department.trade,
        },
    )
    return department


def update_department(department: Department, data: dict[str, Any], actor: User) -> Department:
    data = dict(data)
    if "code" in data:
        data["code"] = data["code"].strip()
        if _taken(Department, data["code"], department.id):
            raise _field_error("duplicate_code", "code", "代码已存在")
    level = data.get("level", department.level)
    parent_id = data.get("parent_id", department.parent_id)
    _check_parent(department, level, parent_id)
    if "level" in data:
        # Children must stay below their parent.
        children = db.session.scalars(select(Department).where(Department.parent_id == department.id))
        if any(LEVELS.index(c.level) <= LEVELS.index(level) for c in children):
            raise _field_error("validation_failed", "level", "下级部门的层级必须低于本部门")
    changes = _apply(department, data, ("code", "name", "level", "parent_id", "trade"))
    if changes:
        db.session.flush()
        record_event("department.updated", "department", department.id, actor_id=actor.id, details=changes)
    return department


# --- items -----------------------------------------------------------------------------------

_ITEM_FIELDS = ("code", "name", "kind", "department_id", "legal_basis", "specialty", "active")


def item_query(filters: dict[str, Any]) -> Select[Item]:
    query = select(Item).order_by(Item.department_id, Item.code)
    for key in ("department_id", "kind"):
        if filters.get(key):
            query = query.where(getattr(Item, key) == filters[key])
    if filters.get("active") is not None:
        query = query.where(Item.active.is_(filters["active"]))
    q = (filters.get("q") or "").strip()
    if q:
        query = query.where(
            or_(Item.name.contains(q, autoescape=True), Item.code.startswith(q, autoescape=True))
        )
    return query


def get_item(item_id: int) -> Item:
    item = db.session.get(Item, item_id)
    if item is None:
        raise ApiError("not_found")
    return item


def replace_checkpoints(item: Item, checkpoints: list[dict[str, Any]]) -> bool:
    """Make the item's checklist exactly ``checkpoints``, in order; True if anything changed.

    Rows are reused by position instead of deleted and re-added: the unit of work inserts
    before it deletes, which would clash with the unique (item_id, position).
    """
    wanted = [(c["text"].strip(), (c.get("method") or "").strip()) for c in checkpoints if c["text"].strip()]
    current = [(c.text, c.method) for c in item.checkpoints]
    if wanted == current:
        return False
    existing = list(item.checkpoints)
    for position, (text_, method) in enumerate(wanted, start=1):
        if position <= len(existing):
            existing[position - 1].text = text_
            existing[position - 1].method = method
        else:
            item.checkpoints.append(Checkpoint(position=position, text=text_, method=method))
    for surplus in existing[len(wanted) :]:
        item.checkpoints.remove(surplus)
    return True


def _check_item_department(data: dict[str, Any]) -> None:
    if "department_id" in data and db.session.get(Department, data["department_id"]) is None:
        raise _field_error("validation_failed", "department_id", "部门不存在")


def create_item(data: dict[str, Any], actor: User) -> Item:
    data = dict(data, code=data["code"].strip())
    if _taken(Item, data["code"], None):
        raise _field_error("duplicate_code", "code", "代码已存在")
    _check_item_department(data)
    item = Item(**{k: v for k, v in data.items() if k in _ITEM_FIELDS})
    db.session.add(item)
    replace_checkpoints(item, data.get("checkpoints", []))
    db.session.flush()
    record_event(
        "item.created",
        "item",
        item.id,
        actor_id=actor.id,
        details={"code": item.code, "name": item.name, "checkpoints": len(item.checkpoints)},
    )
    return item


def update_item(item: Item, data: dict[str, Any], actor: User) -> Item:
    data = dict(data)
    if "code" in data:
        data["code"] = data["code"].strip()
        if _taken(Item, data["code"], item.id):
            raise _field_error("duplicate_code", "code", "代码已存在")
    _check_item_department(data)
    changes: dict[str, Any] = _apply(item, data, _ITEM_FIELDS)
    if "checkpoints" in data:
        before = [c.text for c in item.checkpoints]
        if replace_checkpoints(item, data["checkpoints"]):
            changes["checkpoints"] = [before, [c.text for c in item.checkpoints]]
    if changes:
        db.session.flush()
        record_event("item.updated", "item", item.id, actor_id=actor.id, details=changes)
    return item
