"""Plans and tasks: create, edit while draft, publish, revise; who may see and change them.

A published plan is never edited in place (003 第十三条: adjustable, changes re-filed): ``revise_plan``
copies it into version n+1 as a draft, and publishing that draft marks the older version superseded.
Tasks of superseded plans stay, with their draws. Services flush and audit; the caller commits.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, func, or_, select

from server.accounts.models import User
from server.accounts.services import visible_department_ids
from server.audit.services import record_event
from server.db import utcnow
from server.directory.models import Department, Item
from server.errors import ApiError
from server.extensions import db
from server.i18n import translate
from server.planning.models import MODES, TASK_TYPES, Plan, Task, TaskCooperation, TaskItem
from server.planning.parsing import (
    FULL_BP,
    STRATA,
    PlanTextError,
    default_class_ratios,
    parse_items,
    parse_mode,
    parse_ratio,
    parse_scope,
    parse_window,
    validate_scope,
)

WRITERS = ("admin", "supervisor")
PUBLISHERS = ("admin", "supervisor", "leader")
READERS = ("admin", "supervisor", "leader")

# Task columns copied by a revision and compared by an update (everything but keys and links).
TASK_FIELDS = (
    "seq",
    "name",
    "task_type",
    "items_text",
    "scope",
    "scope_text",
    "ratio_text",
    "base_ratio_bp",
    "class_ratios_bp",
    "fixed_count",
    "min_one",
    "frequency_per_year",
    "risk_text",
    "use_risk_classes",
    "window_start",
    "window_end",
    "window_text",
    "initiating_department_id",
    "inspection_body",
    "mode",
    "mode_text",
    "team_size",
)
PLAN_FIELDS = ("title", "document_no", "completion_date")


def _invalid(field: str, message: str) -> ApiError:
    return ApiError("validation_failed", errors={field: [message]})


# ------------------------------------------------------------------------------------ visibility


def visible_plans(user: User) -> Select[Plan]:
    """Plans the user may read: their departments' own, and joint plans they initiate or cooperate in."""
    stmt = select(Plan)
    ids = visible_department_ids(user)
    if ids is None:
        return stmt
    joint = select(Task.plan_id).where(
        or_(
            Task.initiating_department_id.in_(ids),
            Task.id.in_(select(TaskCooperation.task_id).where(TaskCooperation.department_id.in_(ids))),
        )
    )
    return stmt.where(or_(Plan.department_id.in_(ids), Plan.id.in_(joint)))


def get_plan_for(user: User, plan_id: int) -> Plan:
    """The plan, or not_found when it does not exist or the user may not see it (no existence leak)."""
    plan = db.session.scalar(visible_plans(user).where(Plan.id == plan_id))
    if plan is None:
        raise ApiError("not_found")
    return plan


def get_task_for(user: User, task_id: int) -> Task:
    task = db.session.get(Task, task_id)
    if task is None:
        raise ApiError("not_found")
    get_plan_for(user, task.plan_id)
    return task


def owns_department(user: User, department_id: int) -> bool:
    """Plans are written by their own department (admins: any). A DepartmentGrant lets a department
    read another's data, not change it."""
    return visible_department_ids(user) is None or user.department_id == department_id


def owns_plan(user: User, plan: Plan) -> bool:
    return owns_department(user, plan.department_id)


def can_edit(user: User, plan: Plan) -> bool:
    return user.has_role(*WRITERS) and owns_plan(user, plan)


def can_publish(user: User, plan: Plan) -> bool:
    return user.has_role(*PUBLISHERS) and owns_plan(user, plan)


def require_edit(user: User, plan: Plan) -> None:
    """Writers of the owning department only, and only while the plan is a draft."""
    if not can_edit(user, plan):
        raise ApiError("forbidden")
    if plan.status != "draft":
        raise ApiError("plan_locked")


def require_department(user: User, department_id: int) -> Department:
    """A department the user may plan for: their own (admins: any)."""
    dept = db.session.get(Department, department_id)
    if dept is None:
        raise _invalid("department_id", translate("部门不存在"))
    if not owns_department(user, dept.id):
        raise ApiError("forbidden")
    return dept


def plan_versions(plan: Plan) -> list[Plan]:
    """Every version of the plan's department and year, newest first."""
    return list(
        db.session.scalars(
            select(Plan)
            .where(Plan.department_id == plan.department_id, Plan.year == plan.year)
            .order_by(Plan.version.desc())
        )
    )


# -------------------------------------------------------------------------------------- plans


def create_plan(
    department: Department,
    year: int,
    title: str,
    *,
    document_no: str = "",
    completion_date: dt.date | None = None,
    actor_id: int | None = None,
) -> Plan:
    """A new draft, version 1. A department has one plan per year; later changes are revisions."""
    if not 2000 <= year <= 2100:
        raise _invalid("year", translate("年度应在2000到2100之间"))
    if not title.strip():
        raise _invalid("title", translate("必填"))
    if completion_date is not None and completion_date.year != year:
        raise _invalid("completion_date", translate("应在计划年度内"))
    existing = db.session.scalar(
        select(Plan.id).where(Plan.department_id == department.id, Plan.year == year).limit(1)
    )
    if existing is not None:
        raise ApiError("plan_exists", detail=f"plan {existing}")
    plan = Plan(
        department_id=department.id,
        department=department,
        year=year,
        title=title.strip(),
        version=1,
        status="draft",
        document_no=document_no.strip(),
        completion_date=completion_date,
    )
    db.session.add(plan)
    db.session.flush()
    record_event(
        "plan.created",
        "plan",
        plan.id,
        actor_id=actor_id,
        details={"department_id": department.id, "year": year, "title": plan.title},
    )
    return plan


def update_plan(plan: Plan, data: dict[str, Any], actor_id: int | None = None) -> Plan:
    """Title, 文号 and completion date of a draft."""
    if plan.status != "draft":
        raise ApiError("plan_locked")
    if "title" in data and not str(data["title"]).strip():
        raise _invalid("title", translate("必填"))
    completion = data.get("completion_date", plan.completion_date)
    if completion is not None and completion.year != plan.year:
        raise _invalid("completion_date", translate("应在计划年度内"))
    changed: dict[str, list[Any]] = {}
    for field in PLAN_FIELDS:
        if field in data:
            value = data[field].strip() if isinstance(data[field], str) else data[field]
            if getattr(plan, field) != value:
                changed[field] = [getattr(plan, field), value]
                setattr(plan, field, value)
    if changed:
        db.session.flush()
        record_event("plan.updated", "plan", plan.id, actor_id=actor_id, details={"changed": changed})
    return plan


def publish_plan(plan: Plan, actor_id: int | None = None) -> Plan:
    """Publish a draft; an older published version of the same department and year is superseded."""
    if plan.status != "draft":
        raise ApiError("plan_locked", detail=f"status {plan.status}")
    if not plan.tasks:
        raise ApiError("plan_empty")
    now = utcnow()
    for older in db.session.scalars(
        select(Plan).where(
            Plan.department_id == plan.department_id,
            Plan.year == plan.year,
            Plan.status == "published",
            Plan.id != plan.id,
        )
    ):
        older.status = "superseded"
        record_event(
            "plan.superseded", "plan", older.id, actor_id=actor_id, details={"superseded_by": plan.id}
        )
    plan.status = "published"
    plan.published_at = now
    db.session.flush()
    record_event(
        "plan.published",
        "plan",
        plan.id,
        actor_id=actor_id,
        details={"version": plan.version, "tasks": len(plan.tasks)},
    )
    return plan


def revise_plan(plan: Plan, actor_id: int | None = None) -> Plan:
    """Copy a published plan, with all its tasks, into the next version as a draft."""
    if plan.status != "published":
        raise ApiError("plan_not_published", detail=f"status {plan.status}")
    newest = db.session.scalar(
        select(func.max(Plan.version)).where(Plan.department_id == plan.department_id, Plan.year == plan.year)
    )
    if newest is not None and newest > plan.version:
        raise ApiError("plan_exists", detail=f"version {newest} already exists")
    copy = Plan(
        department_id=plan.department_id,
        year=plan.year,
        title=plan.title,
        version=plan.version + 1,
        status="draft",
        document_no=plan.document_no,
        completion_date=plan.completion_date,
    )
    db.session.add(copy)
    for task in plan.tasks:
        clone = Task(**{field: _copy_value(getattr(task, field)) for field in TASK_FIELDS})
        clone.item_links = [
            TaskItem(item_id=link.item_id, position=link.position) for link in task.item_links
        ]
        clone.cooperating = [TaskCooperation(department_id=c.department_id) for c in task.cooperating]
        copy.tasks.append(clone)
    db.session.flush()
    record_event(
        "plan.revised",
        "plan",
        copy.id,
        actor_id=actor_id,
        details={"from_plan_id": plan.id, "version": copy.version, "tasks": len(copy.tasks)},
    )
    return copy


def _copy_value(value: Any) -> Any:
    # JSON columns hold dicts and lists: never share one object between two rows.
    if isinstance(value, dict):
        return {k: _copy_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy_value(v) for v in value]
    return value


def delete_plan(plan: Plan, actor_id: int | None = None) -> None:
    """Delete a draft (a first version or an unwanted revision); published plans are kept forever."""
    if plan.status != "draft":
        raise ApiError("plan_locked")
    for task in plan.tasks:
        _refuse_if_drawn(task)
    details = {"department_id": plan.department_id, "year": plan.year, "version": plan.version}
    record_event("plan.deleted", "plan", plan.id, actor_id=actor_id, details=details)
    db.session.delete(plan)
    db.session.flush()


# -------------------------------------------------------------------------------------- tasks


def next_seq(plan: Plan) -> int:
    return max((t.seq for t in plan.tasks), default=0) + 1


def create_item(name: str, department: Department, actor_id: int | None = None) -> Item:
    """A general item (一般检查事项) named in a plan but missing from the item list."""
    base = "AUTO-" + hashlib.sha256(f"{department.id}|{name}".encode()).hexdigest()[:12].upper()
    code, n = base, 1
    while db.session.scalar(select(Item.id).where(Item.code == code)) is not None:
        n += 1
        code = f"{base}-{n}"
    item = Item(code=code, name=name[:200], kind="general", department_id=department.id)
    db.session.add(item)
    db.session.flush()
    record_event(
        "item.created",
        "item",
        item.id,
        actor_id=actor_id,
        details={"code": code, "name": item.name, "department_id": department.id, "source": "plan"},
    )
    return item


def match_items(names: Iterable[str], department_ids: list[int]) -> dict[str, Item]:
    """Active items by exact name; an item of the earliest listed department wins, then the oldest."""
    names = list(names)
    if not names:
        return {}
    rank = {dept_id: i for i, dept_id in enumerate(department_ids)}
    found: dict[str, Item] = {}
    candidates = db.session.scalars(
        select(Item).where(Item.active.is_(True), Item.name.in_(names)).order_by(Item.id)
    )
    for item in candidates:
        best = found.get(item.name)
        if best is None or rank.get(item.department_id, len(rank)) < rank.get(best.department_id, len(rank)):
            found[item.name] = item
    return found


def resolve_items(
    names: list[str], initiating: Department, cooperating_ids: list[int], actor_id: int | None = None
) -> tuple[list[Item], list[str]]:
    """Item rows for names in order; unknown names become general items of the initiating department.

    Returns the items and the names that were created.
    """
    found = match_items(names, [initiating.id, *cooperating_ids])
    created: list[str] = []
    items: list[Item] = []
    for name in names:
        item = found.get(name)
        if item is None:
            item = found[name] = create_item(name, initiating, actor_id)
            created.append(name)
        items.append(item)
    return items, created


def _department(dept_id: int, field: str) -> Department:
    dept = db.session.get(Department, dept_id)
    if dept is None:
        raise _invalid(field, translate("部门不存在：{id}", id=dept_id))
    return dept


def _apply_texts(data: dict[str, Any], plan: Plan, task: Task | None) -> dict[str, Any]:
    """A plan-table text given without its structured value sets that value (as the importer does)."""
    data = dict(data)
    try:
        if data.get("ratio_text") and not {"base_ratio_bp", "fixed_count"} & set(data):
            spec = parse_ratio(data["ratio_text"])
            data["base_ratio_bp"] = spec.base_ratio_bp
            data["fixed_count"] = spec.fixed_count
            data.setdefault("frequency_per_year", spec.frequency_per_year)
        if data.get("window_text") and not {"window_start", "window_end"} & set(data):
            data["window_start"], data["window_end"] = parse_window(data["window_text"], plan.year)
        if data.get("mode_text") and "mode" not in data:
            data["mode"] = parse_mode(data["mode_text"])
        if "scope_text" in data and "scope" not in data:
            name = data.get("name") or (task.name if task else "")
            data["scope"] = parse_scope(data["scope_text"], name)
        if data.get("items_text") and "item_ids" not in data and "item_names" not in data:
            data["item_names"] = parse_items(data["items_text"])
    except PlanTextError as exc:
        field = {"bad_ratio": "ratio_text", "bad_window": "window_text", "bad_mode": "mode_text"}
        raise _invalid(field.get(exc.code, "task"), exc.message) from exc
    # A new base ratio without explicit per-class ratios resets them to the defaults.
    if data.get("base_ratio_bp") is not None and "class_ratios_bp" not in data:
        data["class_ratios_bp"] = default_class_ratios(int(data["base_ratio_bp"]))
    if "base_ratio_bp" in data and data["base_ratio_bp"] is None and "class_ratios_bp" not in data:
        data["class_ratios_bp"] = {}
    return data


def _validate_task(values: dict[str, Any], plan: Plan, task: Task | None) -> None:
    """Whole-row checks on the merged values (the stored task plus the change)."""
    if not str(values.get("name") or "").strip():
        raise _invalid("name", translate("必填"))
    if values.get("task_type") not in TASK_TYPES:
        raise _invalid("task_type", translate("抽查类型应为“定向”或“不定向”"))
    if values.get("mode") not in MODES:
        raise _invalid("mode", translate("未知的抽查检查模式"))
    seq = values.get("seq")
    if not isinstance(seq, int) or seq < 1:
        raise _invalid("seq", translate("序号应为正整数"))
    if any(t.seq == seq and t is not task for t in plan.tasks):
        raise _invalid("seq", translate("序号{seq}已被本计划的其他任务使用", seq=seq))
    start, end = values.get("window_start"), values.get("window_end")
    if start is None or end is None:
        raise _invalid("window_start", translate("必填"))
    if start.year != plan.year or end.year != plan.year:
        raise _invalid("window_start", translate("抽查时间应在计划年度{year}年内", year=plan.year))
    if end < start:
        raise _invalid("window_end", translate("结束时间早于开始时间"))
    base = values.get("base_ratio_bp")
    if base is not None and not 1 <= base <= FULL_BP:
        raise _invalid("base_ratio_bp", translate("比例应在0.01%到100%之间"))
    fixed = values.get("fixed_count")
    if fixed is not None and fixed < 1:
        raise _invalid("fixed_count", translate("抽查数量应至少为1"))
    ratios = values.get("class_ratios_bp") or {}
    if not isinstance(ratios, dict) or set(ratios) - set(STRATA):
        raise _invalid("class_ratios_bp", translate("分类只能是A、B、C、D、U"))
    for cls, bp in ratios.items():
        if not isinstance(bp, int) or isinstance(bp, bool) or not 0 <= bp <= FULL_BP:
            raise _invalid("class_ratios_bp", translate("{cls}类比例应在0%到100%之间", cls=cls))
    if not 1 <= int(values.get("frequency_per_year") or 0) <= 366:
        raise _invalid("frequency_per_year", translate("每年抽查次数应在1到366之间"))
    if int(values.get("team_size") or 0) < 2:
        raise _invalid("team_size", translate("现场检查至少2名执法人员"))


def _set_links(
    task: Task, data: dict[str, Any], initiating: Department, actor_id: int | None
) -> dict[str, Any]:
    """Apply item and cooperating-department changes; returns what changed, for the audit."""
    changed: dict[str, Any] = {}
    if "cooperating_department_ids" in data:
        ids = list(dict.fromkeys(int(i) for i in data["cooperating_department_ids"]))
        for dept_id in ids:
            _department(dept_id, "cooperating_department_ids")
        if initiating.id in ids:
            raise _invalid("cooperating_department_ids", translate("配合部门不能与发起部门相同"))
        before = sorted(c.department_id for c in task.cooperating)
        if before != sorted(ids):
            task.cooperating = [TaskCooperation(department_id=i) for i in ids]
            changed["cooperating_department_ids"] = [before, sorted(ids)]
    coop_ids = [c.department_id for c in task.cooperating]
    item_ids: list[int] | None = None
    if "item_ids" in data:
        item_ids = list(dict.fromkeys(int(i) for i in data["item_ids"]))
        for item_id in item_ids:
            if db.session.get(Item, item_id) is None:
                raise _invalid("item_ids", translate("抽查事项不存在：{id}", id=item_id))
    elif "item_names" in data:
        names = list(dict.fromkeys(n.strip() for n in data["item_names"] if n.strip()))
        items, created = resolve_items(names, initiating, coop_ids, actor_id)
        item_ids = [i.id for i in items]
        if created:
            changed["items_created"] = created
    if item_ids is not None:
        if not item_ids:
            raise _invalid("item_ids", translate("至少需要一个抽查事项（主项）"))
        before_ids = [link.item_id for link in task.item_links]
        if before_ids != item_ids:
            # Replace the links in one go; the flush deletes the old rows before inserting the new.
            task.item_links = []
            db.session.flush()
            task.item_links = [TaskItem(item_id=i, position=n) for n, i in enumerate(item_ids)]
            changed["item_ids"] = [before_ids, item_ids]
    return changed


def add_task(plan: Plan, data: dict[str, Any], actor_id: int | None = None) -> Task:
    """Add a row to a draft plan. ``data`` holds Task columns plus ``item_ids`` or ``item_names`` and
    ``cooperating_department_ids``; plan-table texts given alone are parsed (see ``_apply_texts``)."""
    if plan.status != "draft":
        raise ApiError("plan_locked")
    data = _apply_texts(data, plan, None)
    values: dict[str, Any] = {
        "seq": next_seq(plan),
        "task_type": "directed",
        "mode": "county_county",
        "min_one": True,
        "frequency_per_year": 1,
        "use_risk_classes": True,
        "team_size": 2,
        "initiating_department_id": plan.department_id,
        "class_ratios_bp": {},
        "scope": {},
    }
    values.update({k: v for k, v in data.items() if k in TASK_FIELDS})
    try:
        values["scope"] = validate_scope(values.get("scope"))
    except PlanTextError as exc:
        raise _invalid("scope", exc.message) from exc
    _validate_task(values, plan, None)
    if not data.get("item_ids") and not data.get("item_names"):
        raise _invalid("item_ids", translate("至少需要一个抽查事项（主项）"))
    initiating = _department(values["initiating_department_id"], "initiating_department_id")
    task = Task(**values)
    plan.tasks.append(task)
    db.session.flush()
    extra = _set_links(task, data, initiating, actor_id)
    db.session.flush()
    record_event(
        "task.created",
        "task",
        task.id,
        actor_id=actor_id,
        details={"plan_id": plan.id, "seq": task.seq, "name": task.name, **extra},
    )
    return task


def update_task(task: Task, data: dict[str, Any], actor_id: int | None = None) -> Task:
    """Change a row of a draft plan; only the fields given change (PATCH semantics)."""
    plan = task.plan
    if plan.status != "draft":
        raise ApiError("plan_locked")
    data = _apply_texts(data, plan, task)
    values = {field: getattr(task, field) for field in TASK_FIELDS}
    values.update({k: v for k, v in data.items() if k in TASK_FIELDS})
    try:
        values["scope"] = validate_scope(values.get("scope"))
    except PlanTextError as exc:
        raise _invalid("scope", exc.message) from exc
    _validate_task(values, plan, task)
    initiating = _department(values["initiating_department_id"], "initiating_department_id")
    changed: dict[str, Any] = {}
    for field in TASK_FIELDS:
        if getattr(task, field) != values[field]:
            changed[field] = [getattr(task, field), values[field]]
            setattr(task, field, values[field])
    changed.update(_set_links(task, data, initiating, actor_id))
    db.session.flush()
    if changed:
        record_event(
            "task.updated",
            "task",
            task.id,
            actor_id=actor_id,
            details={"plan_id": plan.id, "changed": changed},
        )
    return task


def _refuse_if_drawn(task: Task) -> None:
    from server.draws.models import Draw  # draws depend on planning, not the other way round

    if db.session.scalar(select(Draw.id).where(Draw.task_id == task.id).limit(1)) is not None:
        raise ApiError("task_has_draws", detail=f"task {task.id}")


def delete_task(task: Task, actor_id: int | None = None) -> None:
    plan = task.plan
    if plan.status != "draft":
        raise ApiError("plan_locked")
    _refuse_if_drawn(task)
    record_event(
        "task.deleted",
        "task",
        task.id,
        actor_id=actor_id,
        details={"plan_id": plan.id, "seq": task.seq, "name": task.name},
    )
    plan.tasks.remove(task)
    db.session.flush()


# ------------------------------------------------------------------------------- plan advice

ENTERPRISE_COVERAGE_BP = 300  # enterprise coverage of at least 3 % a year (000 §二; 004 §一)


def plan_advisories(plan: Plan) -> list[str]:
    """What the seeds ask of a plan that this one may miss; shown on the plan page, never blocking."""
    notes: list[str] = []

    def seqs(tasks: list[Task]) -> str:
        return "、".join(str(t.seq) for t in tasks)

    undecided = [t for t in plan.tasks if t.fixed_count is None and t.base_ratio_bp is None]
    if undecided:
        notes.append(translate("序号{seqs}的任务比例未定，抽取前需设定比例或数量", seqs=seqs(undecided)))
    second_half = [t for t in plan.tasks if t.window_start >= dt.date(plan.year, 7, 1)]
    if second_half:
        notes.append(
            translate("序号{seqs}的任务抽查时间全部在下半年；应避免检查集中在下半年", seqs=seqs(second_half))
        )
    # A task over all enterprises (no domain tag) at ≥ 3 % gives the yearly coverage by itself.
    covering = [
        t
        for t in plan.tasks
        if (t.base_ratio_bp or 0) >= ENTERPRISE_COVERAGE_BP
        and not (t.scope or {}).get("tags")
        and "enterprise" in ((t.scope or {}).get("kinds") or ["enterprise"])
    ]
    if plan.tasks and not covering:
        notes.append(translate("没有面向全部企业、比例不低于3%的任务；企业年度抽查覆盖率应不低于3%"))
    if plan.completion_date is None:
        notes.append(translate("未填写完成期限"))
    return notes


# ------------------------------------------------------------------------- for the draws engine


def class_ratio_bp(task: Task, risk_class: str | None) -> int | None:
    """The ratio a draw uses for one stratum: the task's per-class ratio, else its base ratio.

    ``risk_class`` None (unclassified) reads stratum "U". Returns None for a fixed-count or dynamic task.
    """
    stratum = risk_class or "U"
    if not task.use_risk_classes:
        stratum = "U"
    ratios = task.class_ratios_bp or {}
    if stratum in ratios:
        return int(ratios[stratum])
    return task.base_ratio_bp


def draw_problems(task: Task) -> list[str]:
    """Why a task cannot be drawn yet (empty when it can): codes ``plan_not_published``, ``no_numbers``."""
    problems = []
    if task.plan.status != "published":
        problems.append("plan_not_published")
    if (
        task.fixed_count is None
        and task.base_ratio_bp is None
        and not any((task.class_ratios_bp or {}).values())
    ):
        problems.append("no_numbers")
    return problems
