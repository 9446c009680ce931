"""The draws pages.

Public (no login, DOMAIN.md §9): the list of draws, each draw with its seed, entropy, witness input,
snapshot hash and drawn targets (team departments only, never inspectors' names), the snapshot file,
and the algorithm with a standalone script that reproduces any draw.
Staff: recent draws, a task's draws with the form to draw, a draw's detail with teams, voiding, and
replacement requests and decisions.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response as BaseResponse

from server.accounts.auth import current_user, page_auth
from server.directory.models import Department, Target
from server.draws import algorithm as algo
from server.draws import services
from server.draws.models import REPLACEMENT_REASONS, Draw, DrawnTarget, Replacement
from server.errors import CATALOGUE, ApiError
from server.extensions import db
from server.i18n import current_locale, field_message, translate
from server.inspections.labels import ROLE_NAMES
from server.inspections.models import TeamMember
from server.planning.models import Plan, Task
from server.planning.services import draw_problems
from server.storage import blob_store

bp = Blueprint("draws", __name__)

STAFF = services.STAFF
PER_PAGE = 20
WAITING_SHOWN = 50  # tasks waiting for a draw shown at once; the search narrows them
TARGETS_PER_PAGE = 100
SCRIPT = Path(__file__).with_name("verify_draw.py")
# A draw's snapshot and drawn targets never change once drawn (voiding or replacing an inspector
# leaves both as they are), so caches may keep them.
FROZEN_CACHE = "public, max-age=86400"
STRATUM_NAMES = {"A": "A 低风险", "B": "B 一般风险", "C": "C 较高风险", "D": "D 高风险", "U": "U 未分类"}
STATUS_NAMES = {"active": "有效", "voided": "已作废"}
REASON_NAMES = {
    "conflict": "回避",
    "illness": "身体原因",
    "post_change": "岗位变动",
    "work_conflict": "工作冲突",
}
REPLACEMENT_STATUS = {"requested": "待审批", "approved": "已批准", "rejected": "已驳回"}
PROBLEM_NAMES = {"plan_not_published": "计划未发布", "no_numbers": "未设定抽查比例或数量"}


@bp.context_processor
def _labels() -> dict[str, Any]:
    return {
        "STRATA": algo.STRATA,
        "STRATUM_NAMES": STRATUM_NAMES,
        "DRAW_STATUS": STATUS_NAMES,
        "ROLE_NAMES": ROLE_NAMES,
        "REASON_NAMES": REASON_NAMES,
        "REPLACEMENT_STATUS": REPLACEMENT_STATUS,
        "PROBLEM_NAMES": PROBLEM_NAMES,
        "pct": _percent,
    }


def _percent(bp: int | None) -> str:
    if bp is None:
        return "—"
    return f"{bp / 100:.2f}".rstrip("0").rstrip(".") + "%"


def _problem_message(exc: ApiError) -> str:
    entry = CATALOGUE[exc.code]
    text = entry.en if current_locale() == "en" else entry.zh
    if isinstance(exc.errors, dict):
        text += ": " + "; ".join(
            "; ".join(map(field_message, v)) if isinstance(v, list) else field_message(v)
            for v in exc.errors.values()
        )
    elif exc.detail:
        text += f" ({exc.detail})"
    return text


def _peer_summary(draw: Draw) -> dict[str, Any] | None:
    """How a draw used peer departments of the same trade (003 第十七条), by department names:
    the departments that were short, how many places peers filled, and the peers considered in
    their tiers of preference; None when the draw needed none."""
    peers = (draw.parameters.get("team") or {}).get("peers")
    if not peers:
        return None
    ids = {int(d) for d in peers["tiers"]} | {d for t in peers["tiers"].values() for tier in t for d in tier}
    names = dict(
        db.session.execute(select(Department.id, Department.name).where(Department.id.in_(ids))).all()
    )
    return {
        "short": [names.get(d, str(d)) for d in peers["short"]],
        "places": sum(len(v) for v in peers["stand_ins"].values()),
        "targets": len(peers["stand_ins"]),
        "tiers": [
            (names.get(int(d), d), [[names.get(p, str(p)) for p in tier] for tier in tiers])
            for d, tiers in peers["tiers"].items()
            if int(d) in peers["short"]
        ],
    }


def _page() -> int:
    value = request.args.get("page", "")
    # A page number beyond any real one would overflow the database's OFFSET.
    return max(1, int(value)) if value.isdigit() and len(value) < 7 else 1


def _pages(total: int, per_page: int) -> int:
    return max(1, (total + per_page - 1) // per_page)


def _get_or_404(model: Any, ident: int) -> Any:
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj


def _counts(draw_ids: list[int]) -> dict[int, int]:
    if not draw_ids:
        return {}
    return dict(
        db.session.execute(
            select(DrawnTarget.draw_id, func.count())
            .where(DrawnTarget.draw_id.in_(draw_ids))
            .group_by(DrawnTarget.draw_id)
        ).all()
    )


# -- public -------------------------------------------------------------------------------------------


@bp.route("/public/draws")
def public_draws() -> str:
    """Every draw, newest first, searchable by task name; voided ones included."""
    q = request.args.get("q", "").strip()
    stmt = select(Draw).join(Task, Task.id == Draw.task_id)
    if q:
        stmt = stmt.where(Task.name.contains(q, autoescape=True))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = min(_page(), _pages(total, PER_PAGE))
    draws = list(
        db.session.scalars(
            stmt.order_by(Draw.drawn_at.desc(), Draw.id.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE)
        )
    )
    return render_template(
        "draws/public_list.html",
        draws=draws,
        counts=_counts([d.id for d in draws]),
        q=q,
        page=page,
        pages=_pages(total, PER_PAGE),
        total=total,
    )


@bp.route("/public/draws/<int:draw_id>")
def public_draw(draw_id: int) -> str:
    draw: Draw = _get_or_404(Draw, draw_id)
    q = request.args.get("q", "").strip()
    page = _page()
    rows, total = services.drawn_rows(draw, (page - 1) * TARGETS_PER_PAGE, TARGETS_PER_PAGE, q or None)
    if page > _pages(total, TARGETS_PER_PAGE):  # past the end: the last page, not "nothing"
        page = _pages(total, TARGETS_PER_PAGE)
        rows, total = services.drawn_rows(draw, (page - 1) * TARGETS_PER_PAGE, TARGETS_PER_PAGE, q or None)
    for row in rows:
        # DOMAIN.md §9: inspectors' personal details are not public; their departments are, and
        # for whom a peer department's inspector stands in (003 第十七条).
        names = {
            (m["department_name"], m["acting_for_department_name"] or "")
            for m in row["team"]
            if m["removed_at"] is None
        }
        row["departments"] = sorted(names)
        row["team"] = None
    return render_template(
        "draws/public_draw.html",
        draw=draw,
        task=draw.task,
        rows=rows,
        q=q,
        page=page,
        pages=_pages(total, TARGETS_PER_PAGE),
        total=total,
        counts_arg=",".join(f"{s}={v['count']}" for s, v in draw.strata.items()),
        seed_command=_seed_command(draw),
        peers=_peer_summary(draw),
    )


# The seed is SHA-256(server entropy ‖ UTF-8(witness input)): a command anyone can paste to check it.
_SEED_SCRIPT = (
    "import hashlib,sys; print(hashlib.sha256(bytes.fromhex(sys.argv[1]) + sys.argv[2].encode()).hexdigest())"
)


def _shell_arg(text: str) -> str:
    """Quote for both a POSIX shell and Windows cmd when the text allows (double quotes, nothing
    either would expand inside them); otherwise POSIX quoting."""
    if not any(c in text for c in '"$`\\!%^&|<>\n'):
        return f'"{text}"'
    return shlex.quote(text)


def _seed_command(draw: Draw) -> str:
    return f'python3 -c "{_SEED_SCRIPT}" {draw.server_entropy} {_shell_arg(draw.witness_input or "")}'


@bp.route("/public/draws/<int:draw_id>/snapshot.csv")
def public_snapshot(draw_id: int) -> Response:
    """The exact stored bytes of the snapshot: its SHA-256 is the published snapshot hash."""
    draw: Draw = _get_or_404(Draw, draw_id)
    try:
        data = blob_store().read(draw.snapshot_hash)
    except FileNotFoundError:
        abort(404)
    resp = Response(data, mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="draw-{draw.id}-snapshot.csv"'
    resp.headers["X-Content-SHA256"] = draw.snapshot_hash
    resp.headers["Cache-Control"] = FROZEN_CACHE
    return resp


@bp.route("/public/draws/<int:draw_id>/drawn.csv")
def public_drawn_list(draw_id: int) -> Response:
    """The drawn targets exactly as verify_draw.py prints them (``rank,stratum,code``, LF, no
    header), so an outsider compares the two files line by line (the script does, given this one)."""
    draw: Draw = _get_or_404(Draw, draw_id)
    rows = db.session.execute(
        select(DrawnTarget.rank, DrawnTarget.stratum, Target.code)
        .join(Target, Target.id == DrawnTarget.target_id)
        .where(DrawnTarget.draw_id == draw.id)
        .order_by(DrawnTarget.rank)
    )
    body = "".join(f"{rank},{stratum},{code}\n" for rank, stratum, code in rows)
    resp = Response(body, mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="draw-{draw.id}-drawn.csv"'
    resp.headers["Cache-Control"] = FROZEN_CACHE
    return resp


@bp.route("/public/draws/algorithm")
def algorithm() -> str:
    return render_template(
        "draws/algorithm.html",
        script=SCRIPT.read_text("utf-8"),
        algo=algo,
        default_ratios=algo.DEFAULT_CLASS_RATIOS_BP,
    )


@bp.route("/public/draws/verify_draw.py")
def verify_script() -> Response:
    resp = Response(SCRIPT.read_bytes(), mimetype="text/x-python")
    resp.headers["Content-Disposition"] = 'attachment; filename="verify_draw.py"'
    return resp


# -- staff ----------------------------------------------------------------------------------------------


@bp.route("/draws")
@page_auth(*STAFF)
def draw_list() -> str:
    """Recent draws the user may see, and the tasks of published plans still waiting for one."""
    user = current_user()
    q = request.args.get("q", "").strip()
    status = request.args.get("status", "")
    stmt = services.visible_draws(user)
    if q:
        stmt = stmt.where(Task.name.contains(q, autoescape=True))
    if status in STATUS_NAMES:
        stmt = stmt.where(Draw.status == status)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = min(_page(), _pages(total, PER_PAGE))
    draws = list(
        db.session.scalars(
            stmt.order_by(Draw.drawn_at.desc(), Draw.id.desc()).offset((page - 1) * PER_PAGE).limit(PER_PAGE)
        )
    )
    has_active = select(Draw.id).where(Draw.task_id == Task.id, Draw.status == "active").exists()
    waiting_stmt = (
        select(Task)
        .join(Plan, Plan.id == Task.plan_id)
        .where(Plan.status == "published", ~has_active)
        .order_by(Plan.year.desc(), Task.plan_id, Task.seq)
    )
    if q:
        waiting_stmt = waiting_stmt.where(Task.name.contains(q, autoescape=True))
    # Filtered in Python (who may manage a task is not one SQL condition), so over all of them: a
    # limit before the filter could hide the user's own tasks behind others'.
    waiting = [t for t in db.session.scalars(waiting_stmt) if services.can_manage_task(user, t)]
    return render_template(
        "draws/list.html",
        draws=draws,
        counts=_counts([d.id for d in draws]),
        waiting=waiting[:WAITING_SHOWN],
        waiting_total=len(waiting),
        q=q,
        status=status,
        page=page,
        pages=_pages(total, PER_PAGE),
        total=total,
    )


def _task_page(task: Task, form: dict[str, str] | None = None, error: str | None = None) -> str:
    user = current_user()
    draws = list(
        db.session.scalars(select(Draw).where(Draw.task_id == task.id).order_by(Draw.attempt.desc()))
    )
    return render_template(
        "draws/task.html",
        task=task,
        draws=draws,
        counts=_counts([d.id for d in draws]),
        active=next((d for d in draws if d.status == "active"), None),
        may_draw=services.can_manage_task(user, task),
        problems=draw_problems(task),
        form=form or {},
        error=error,
    )


@bp.route("/draws/tasks/<int:task_id>", methods=["GET", "POST"])
@page_auth(*STAFF)
def task_draws(task_id: int) -> str | BaseResponse | tuple[str, int]:
    """A task's draws (voided ones too) and the form to draw it."""
    task: Task = _get_or_404(Task, task_id)
    user = current_user()
    if not services.can_see_task(user, task):
        abort(404)
    if request.method == "GET":
        return _task_page(task)
    if not services.can_manage_task(user, task):
        raise ApiError("forbidden", detail="only the initiating department draws")
    form = {k: request.form.get(k, "") for k in ("witness", "low_risk_override")}
    if len(form["witness"]) > 200:
        return _task_page(task, form, translate("见证输入最多200个字符")), 422
    try:
        draw = services.perform_draw(
            task, user, witness=form["witness"], low_risk_override=form["low_risk_override"]
        )
    except ApiError as exc:
        db.session.rollback()
        return _task_page(task, form, _problem_message(exc)), exc.status
    db.session.commit()
    flash(translate("抽取完成：抽中{n}个检查对象", n=sum(v["count"] for v in draw.strata.values())))
    return redirect(url_for("draws.draw_detail", draw_id=draw.id))


def _staff_draw(draw_id: int) -> Draw:
    draw: Draw = _get_or_404(Draw, draw_id)
    if not services.can_see_task(current_user(), draw.task):
        abort(404)
    return draw


@bp.route("/draws/<int:draw_id>")
@page_auth(*STAFF)
def draw_detail(draw_id: int) -> str:
    """A draw with its drawn targets and teams; void, replacement requests and decisions."""
    draw = _staff_draw(draw_id)
    user = current_user()
    q = request.args.get("q", "").strip()
    page = _page()
    rows, total = services.drawn_rows(draw, (page - 1) * PER_PAGE * 2, PER_PAGE * 2, q or None)
    drawn_inspections = select(DrawnTarget.inspection_id).where(DrawnTarget.draw_id == draw.id)
    replacements = list(
        db.session.scalars(
            select(Replacement)
            .where(Replacement.inspection_id.in_(drawn_inspections))
            .order_by(Replacement.status != "requested", Replacement.requested_at.desc())
            .limit(100)
        )
    )
    members = {
        m.id: m
        for m in db.session.scalars(
            select(TeamMember).where(
                TeamMember.id.in_(
                    [r.out_member_id for r in replacements]
                    + [r.in_member_id for r in replacements if r.in_member_id]
                )
            )
        )
    }
    pending_members = {r.out_member_id for r in replacements if r.status == "requested"}
    verify = services.verify_draw(draw) if request.args.get("verify") else None
    team_params = draw.parameters.get("team", {})
    return render_template(
        "draws/draw.html",
        draw=draw,
        task=draw.task,
        rows=rows,
        q=q,
        page=page,
        pages=_pages(total, PER_PAGE * 2),
        total=total,
        replacements=replacements,
        members=members,
        pending_members=pending_members,
        may_manage=services.can_manage_task(user, draw.task),
        may_decide=user.has_role("leader"),
        reasons=REPLACEMENT_REASONS,
        verify=verify,
        pool_size=len(team_params.get("pool", [])),
        excluded_inspectors=len(team_params.get("excluded", [])),
        merged=len(team_params.get("merged", {})),
        peers=_peer_summary(draw),
        departments={d.id: d.name for d in db.session.scalars(select(Department))},
    )


@bp.route("/draws/<int:draw_id>/void", methods=["POST"])
@page_auth(*STAFF)
def void(draw_id: int) -> BaseResponse:
    draw = _staff_draw(draw_id)
    if not services.can_manage_task(current_user(), draw.task):
        raise ApiError("forbidden", detail="only the initiating department voids a draw")
    reason = request.form.get("reason", "").strip()
    if not reason:
        flash(translate("作废必须填写原因"), "error")
        return redirect(url_for("draws.draw_detail", draw_id=draw.id, _anchor="void"))
    try:
        services.void_draw(draw, current_user(), reason)
    except ApiError as exc:
        db.session.rollback()
        flash(_problem_message(exc), "error")
        return redirect(url_for("draws.draw_detail", draw_id=draw.id))
    db.session.commit()
    flash(translate("抽取结果已作废，可以重新抽取"))
    return redirect(url_for("draws.task_draws", task_id=draw.task_id))


def _back(default_draw_id: int | None) -> BaseResponse:
    target = request.form.get("next", "")
    if target.startswith("/draws/") and not target.startswith("//"):
        return redirect(target)
    if default_draw_id is not None:
        return redirect(url_for("draws.draw_detail", draw_id=default_draw_id))
    return redirect(url_for("draws.draw_list"))


@bp.route("/draws/members/<int:member_id>/replacements", methods=["POST"])
@page_auth()
def request_replacement(member_id: int) -> BaseResponse:
    member: TeamMember = _get_or_404(TeamMember, member_id)
    user = current_user()
    if not services.can_request_replacement(user, member):
        abort(404)
    draw_id = member.draw_id
    reason = request.form.get("reason", "")
    if reason not in REPLACEMENT_REASONS:
        flash(translate("请选择更换原因"), "error")
        return _back(draw_id)
    try:
        services.request_replacement(member, reason, request.form.get("reason_text", ""), user)
    except ApiError as exc:
        db.session.rollback()
        flash(_problem_message(exc), "error")
        return _back(draw_id)
    db.session.commit()
    flash(translate("已提交更换申请，等待领导审批"))
    return _back(draw_id)


@bp.route("/draws/replacements/<int:replacement_id>/decision", methods=["POST"])
@page_auth("leader")
def decide_replacement(replacement_id: int) -> BaseResponse:
    replacement: Replacement = _get_or_404(Replacement, replacement_id)
    member: TeamMember = _get_or_404(TeamMember, replacement.out_member_id)
    user = current_user()
    if not services.can_decide_replacement(user, member):
        abort(404)
    decision = request.form.get("decision", "")
    if decision not in ("approve", "reject"):
        flash(translate("请选择批准或驳回"), "error")
        return _back(member.draw_id)
    try:
        services.decide_replacement(replacement, decision == "approve", user, request.form.get("note", ""))
    except ApiError as exc:
        db.session.rollback()
        flash(_problem_message(exc), "error")
        return _back(member.draw_id)
    db.session.commit()
    if decision == "approve":
        incoming = db.session.get(TeamMember, replacement.in_member_id)
        name = incoming.inspector.name if incoming else ""
        flash(translate("已批准，随机抽取的替换人员：{name}", name=name))
    else:
        flash(translate("已驳回更换申请"))
    return _back(member.draw_id)
