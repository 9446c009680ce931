"""Draw services: perform, void and verify a draw; request and decide an inspector's replacement.

A draw reads the directory once (one SQL query over the task's scope), freezes what it read into a
snapshot file and the draw's ``parameters``, and computes everything else with the pure functions
of ``algorithm``. ``verify_draw`` recomputes from those frozen inputs alone, so a later change to
the directory never makes an honest draw look tampered with.

Large draws (a million targets, tens of thousands drawn) never build per-row objects where they can
avoid it: the eligible rows come back as one aggregated string per column, hashing overlaps that
read, the snapshot and the selection run in numpy and the results are written with multi-row
inserts. ``bench/README.md`` says where the time of a million-target draw goes.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import queue
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import chain, compress
from typing import Any, TypeVar

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    and_,
    case,
    cast,
    delete,
    exists,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import SingletonThreadPool
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.operators import custom_op

from server.accounts.models import User
from server.accounts.services import visible_department_ids
from server.audit.services import record_event
from server.db import utcnow
from server.directory.models import Conflict, Department, Inspector, Target, TargetTag
from server.draws import algorithm as algo
from server.draws.models import REPLACEMENT_REASONS, Draw, DrawnTarget, Replacement
from server.errors import ApiError
from server.extensions import db
from server.i18n import today_local
from server.inspections.models import Inspection, InspectionTask, TeamMember
from server.planning.models import Task, TaskCooperation
from server.planning.services import draw_problems
from server.storage import blob_store

# Inspections that still occupy their team: the load used to balance workload counts these.
OPEN_STATES = ("assigned", "in_progress", "returned")
# Replacements are possible until the inspection is handed in.
REPLACEABLE_STATES = ("assigned", "in_progress")
SCOPE_KEYS = ("kinds", "statuses", "districts", "industries", "tags")
CHUNK = 5000  # IN-list size: well under SQLite's and PostgreSQL's bound-parameter limits
# Bound parameters per multi-row INSERT: SQLite's historical limit (999; 32,766 since 3.32), far
# under PostgreSQL's 65,535. Larger statements were measured no faster.
BULK_PARAMS = 999
# The eligible targets of a large draw are read in this many id ranges, overlapping the reading of
# one with the hashing of the last (SQLite only; see _eligible_columns); a range of fewer ids than
# MIN_IDS_PER_PART is not worth a statement of its own.
READ_PARTS = 8
MIN_IDS_PER_PART = 20_000


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building millions of short-lived tuples.

    Those allocations trigger repeated full collections that cost more than the work itself
    (measured: 0.9 s → 0.2 s to split a million rows into columns). Cycles made meanwhile are
    collected once it is back on. The switch is process-wide: with two draws at once, whichever
    paused it first turns it back on, and the other merely finishes with collection enabled.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _chunks(values: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


# -- who may see and act ---------------------------------------------------------------------------

STAFF = ("admin", "supervisor", "leader")


def task_department_ids(task: Task) -> set[int]:
    return {task.initiating_department_id, *(c.department_id for c in task.cooperating)}


def can_see_task(user: User, task: Task) -> bool:
    """Staff of the initiating or a cooperating department (or with a grant) see the task's draws."""
    visible = visible_department_ids(user)
    return user.has_role(*STAFF) and (visible is None or bool(visible & task_department_ids(task)))


def can_manage_task(user: User, task: Task) -> bool:
    """Performing and voiding a draw belongs to the initiating department (发起部门)."""
    visible = visible_department_ids(user)
    return user.has_role(*STAFF) and (visible is None or task.initiating_department_id in visible)


def _sees_member(user: User, member: TeamMember) -> bool:
    if not user.has_role(*STAFF):
        return False
    visible = visible_department_ids(user)
    if visible is None or member.department_id in visible:
        return True
    return any(can_see_task(user, link.task) for link in member.inspection.task_links)


def can_request_replacement(user: User, member: TeamMember) -> bool:
    """Staff who see the member's department or one of the visit's tasks, or the inspector himself."""
    own = member.inspector.user_id is not None and member.inspector.user_id == user.id
    return own or _sees_member(user, member)


def can_decide_replacement(user: User, member: TeamMember) -> bool:
    """A leader (分管领导) who sees the member's department or one of the visit's tasks."""
    return user.has_role("leader") and _sees_member(user, member)


def visible_draws(user: User) -> Select[Draw]:
    """Draws of tasks whose initiating or cooperating department the user sees."""
    stmt = select(Draw).join(Task, Task.id == Draw.task_id)
    ids = visible_department_ids(user)
    if ids is not None:
        coop = select(TaskCooperation.task_id).where(TaskCooperation.department_id.in_(ids))
        stmt = stmt.where(or_(Task.initiating_department_id.in_(ids), Task.id.in_(coop)))
    return stmt


# -- what a draw reads ------------------------------------------------------------------------------


def normalize_scope(scope: dict[str, Any] | None) -> dict[str, list[str]]:
    """The task's scope as the filter actually applied: lists of strings, ``statuses`` defaulting
    to ["active"]; empty lists are dropped (no constraint)."""
    scope = scope or {}
    out: dict[str, list[str]] = {}
    for key in SCOPE_KEYS:
        value = scope.get(key)
        if isinstance(value, str):
            value = [value]
        values = sorted({str(v) for v in value or [] if str(v).strip()})
        if values:
            out[key] = values
    out.setdefault("statuses", ["active"])
    return out


def _scope_conditions(scope: dict[str, list[str]], rowid_scan: bool = False) -> list[ColumnElement[bool]]:
    """The task's scope as SQL conditions on ``Target``. With ``rowid_scan`` (SQLite only) each
    column gets SQLite's no-op unary ``+``, which keeps the value but makes an index on it unusable,
    so the planner walks the table by rowid; see ``_eligible_columns``."""
    columns: dict[str, Any] = {
        "kinds": Target.kind,
        "statuses": Target.status,
        "districts": Target.district,
        "industries": Target.industry,
    }
    if rowid_scan:
        columns = {k: UnaryExpression(c, operator=custom_op("+"), type_=c.type) for k, c in columns.items()}
    conds: list[ColumnElement[bool]] = [columns[k].in_(v) for k, v in scope.items() if k in columns]
    if scope.get("tags"):
        conds.append(exists().where(TargetTag.target_id == Target.id, TargetTag.tag.in_(scope["tags"])))
    return conds


def _year_bounds(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def effective_ratios(task: Task) -> dict[str, int]:
    """The ratio (bp) used per stratum, as planning reads it (``class_ratio_bp``): the task's ratio
    for that stratum, else its base ratio; else the DOMAIN.md §3 example, which only matters to share
    out a fixed count when the task gives no ratio at all."""
    own = task.class_ratios_bp or {}
    strata = algo.STRATA if task.use_risk_classes else ("U",)
    defaults = {**algo.DEFAULT_CLASS_RATIOS_BP, "U": algo.DEFAULT_BASE_RATIO_BP}
    ratios = {}
    for s in strata:
        value = own.get(s, task.base_ratio_bp)
        ratios[s] = int(value) if value is not None else defaults[s]
    return ratios


T = TypeVar("T")


def _pipelined(produce: Iterable[T], consume: Callable[[T], None], parallel: bool = True) -> None:
    """``consume`` every item of ``produce`` in order, here; with ``parallel``, a helper thread
    produces the next items meanwhile. The first exception on either side is raised here, once the
    helper has stopped (it finishes the item in hand, then looks no further).

    Worth it only where producing happens outside the GIL (a database working in C): the draw's
    reads run there while this thread hashes what was already read.
    """
    if not parallel:
        for item in produce:
            consume(item)
        return
    handed: queue.Queue[tuple[bool, Any]] = queue.Queue()
    stop = threading.Event()

    def run() -> None:
        try:
            for item in produce:
                handed.put((True, item))
                if stop.is_set():
                    return
        except BaseException as exc:  # handed over to the consuming thread as is
            handed.put((False, exc))
            return
        handed.put((False, None))

    thread = threading.Thread(target=run, name="spotcheck-reader", daemon=True)
    thread.start()
    try:
        while True:
            more, item = handed.get()
            if not more:
                if item is not None:
                    raise item
                return
            consume(item)
    finally:
        stop.set()
        thread.join()


def _thread_bound(conn: Connection) -> bool:
    """Whether the DBAPI connection may only be used by the thread that made it: SQLAlchemy's
    in-memory SQLite (``sqlite://``) keeps one such connection per thread (SingletonThreadPool)."""
    return conn.dialect.name == "sqlite" and isinstance(conn.engine.pool, SingletonThreadPool)


def _sqlite_transaction_open(conn: Connection) -> bool:
    driver = conn.connection.driver_connection
    return conn.dialect.name == "sqlite" and bool(getattr(driver, "in_transaction", False))


def _lock_for_draw(task: Task) -> None:
    """Make the draw one transaction that nobody else writes into until it commits.

    PostgreSQL: lock the task's row, so two simultaneous draws of one task queue up (reads there
    are one statement, see ``_id_ranges``). SQLite: take the database's write lock now (BEGIN
    IMMEDIATE) instead of at the first insert. The draw's reads, made in several statements, then
    see one state, and no other writer can commit between what the draw read and what it writes;
    readers carry on (WAL). Another writer waits for the draw (``busy_timeout``), as it waited for
    its inserts before. A connection already in a transaction (it wrote) holds that lock already.
    """
    conn = db.session.connection()
    if conn.dialect.name != "sqlite":
        db.session.execute(select(Task.id).where(Task.id == task.id).with_for_update())
        return
    driver = conn.connection.driver_connection
    if getattr(driver, "isolation_level", None) is not None and not _sqlite_transaction_open(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def _id_ranges(conn: Connection) -> list[tuple[int | None, int | None]]:
    """The id ranges the eligible targets are read in: one (everything, ``(None, None)``) unless
    the statements share one snapshot (SQLite inside the draw's transaction) and the table is large,
    then up to ``READ_PARTS`` ranges of at least ``MIN_IDS_PER_PART`` ids, in id order."""
    if not _sqlite_transaction_open(conn):
        return [(None, None)]
    # Two scalar subqueries: SQLite answers min() or max() alone from the end of the rowid tree,
    # but both in one SELECT by scanning the whole table (0.13 s at a million rows).
    lo, hi = conn.execute(
        select(select(func.min(Target.id)).scalar_subquery(), select(func.max(Target.id)).scalar_subquery())
    ).one()
    parts = 1 if lo is None else min(READ_PARTS, (hi - lo + 1) // MIN_IDS_PER_PART)
    if parts <= 1:
        return [(None, None)]
    step = (hi - lo) // parts + 1
    return [(lo + i * step, min(hi, lo + (i + 1) * step - 1)) for i in range(parts)]


@dataclass
class _Eligible:
    """The eligible targets, row i of every column being one target, in id order."""

    ids: np.ndarray  # int64
    codes: list[bytes]  # UTF-8, as hashed and written into the snapshot
    strata: np.ndarray  # "S1": A, B, C, D or U
    weights: np.ndarray  # uint8: 1, 2 or 3
    keys: np.ndarray  # uint64 selection keys (algorithm step 3) for the draw's seed
    excluded: int  # class-A targets left out as already inspected this year


def _eligible_columns(
    task: Task, scope: dict[str, list[str]], year: int, exclude_low_risk: bool, seed: bytes
) -> _Eligible:
    """Every eligible target's id, code, stratum, weight and selection key, in id order, and how
    many class-A targets were left out as already inspected this year (003 第十六条).

    One query over the scope computes stratum and weight in SQL from date bounds (no per-row date
    parsing in Python); excluded rows come back marked "X" instead of costing a second scan to count.
    The database hands back each column as ONE string (``group_concat`` / ``string_agg`` over the
    rows in id order) rather than a million rows: building a Python tuple and its objects per row
    was most of the read (0.8 s of about 1 s at a million targets); the strings are split in C and
    parsed in numpy. All four aggregates consume the same rows in the same order, so the columns
    line up by construction; the id order is checked (and restored if a database ever differed).

    On SQLite, inside the draw's transaction (``_lock_for_draw``), a large table is read in
    ``READ_PARTS`` id ranges by a helper thread while this thread hashes the codes of the ranges
    already read: SQLite works without holding the GIL, so on two cores the read and the hashing
    overlap. One transaction means every range sees the same state. Raises ``SnapshotError`` when
    a code contains a line break (the codes' separator).
    """
    years = algo.WEIGHT_YEARS
    last = Target.last_inspected_on
    weight = case(
        (last.is_(None), 3),
        (last < dt.date(year - years["3"] + 1, 1, 1), 3),
        (last < dt.date(year - years["2"] + 1, 1, 1), 2),
        else_=1,
    )
    stratum: ColumnElement[str] = (
        func.coalesce(Target.risk_class, "U") if task.use_risk_classes else literal("U")
    )
    if exclude_low_risk:
        start, end = _year_bounds(year)
        low_risk_seen = and_(Target.risk_class == "A", last >= start, last <= end)
        stratum = case((low_risk_seen, "X"), else_=stratum)
    conn = db.session.connection()
    ranges = _id_ranges(conn)
    conditions = _scope_conditions(scope)
    # Several id ranges (SQLite only, see _id_ranges): each is walked by rowid, never through an
    # index on the scope's columns. With ix_target_scope (kind, status, district) SQLite would scan
    # the whole index once per range for a scope by kind; by rowid each range costs its own rows.
    by_rowid = _scope_conditions(scope, rowid_scan=True)

    def statement(lo: int | None, hi: int | None) -> Any:
        columns = ((Target.id, ","), (Target.code, "\n"), (stratum, ""), (weight, ""))
        if conn.dialect.name != "sqlite":  # PostgreSQL is told the order inside each aggregate
            return select(
                *(
                    func.aggregate_strings(cast(col, String), sep).aggregate_order_by(Target.id)
                    for col, sep in columns
                )
            ).where(*conditions)
        if lo is not None:
            # A rowid range is walked in rowid order, and the aggregates take the rows as they come
            # (checked below all the same): no ORDER BY subquery, 0.1 s less at a million rows.
            return select(*(func.aggregate_strings(col, sep) for col, sep in columns)).where(
                *by_rowid, Target.id.between(lo, hi)
            )
        # SQLite knows ORDER BY inside an aggregate only from 3.44; it feeds an aggregate the rows
        # of an ordered subquery in that order (and never flattens such a subquery into it). It
        # turns numbers into text itself, cheaper than a CAST.
        rows = (
            select(Target.id, Target.code, stratum.label("s"), weight.label("w"))
            .where(*conditions)
            .order_by(Target.id)
            .subquery()
        )
        return select(
            *(
                func.aggregate_strings(col, sep)
                for col, sep in ((rows.c.id, ","), (rows.c.code, "\n"), (rows.c.s, ""), (rows.c.w, ""))
            )
        )

    def produce() -> Iterator[Any]:
        for lo, hi in ranges:
            yield conn.execute(statement(lo, hi)).one()

    id_parts: list[np.ndarray] = []
    codes: list[bytes] = []
    digest_parts: list[bytearray] = []
    s_parts: list[np.ndarray] = []
    w_parts: list[np.ndarray] = []

    def consume(row: Any) -> None:
        id_text, code_text, s_text, w_text = row
        if not id_text:
            return
        ids = np.fromstring(id_text, dtype=np.int64, sep=",")  # text mode: parsed in C, 15 ms a million
        part = code_text.encode("utf-8").split(b"\n")
        if len(part) != len(ids):
            raise algo.SnapshotError("a target code contains a line break")
        if len(s_text) != len(ids) or len(w_text) != len(ids):  # pragma: no cover - one char per row
            raise RuntimeError("the eligible columns do not line up")
        id_parts.append(ids)
        codes.extend(part)
        digest_parts.append(algo.digests(seed, part))
        s_parts.append(np.frombuffer(s_text.encode("ascii"), dtype="S1"))
        w_parts.append(np.frombuffer(w_text.encode("ascii"), dtype=np.uint8) - np.uint8(ord("0")))

    # The database reads the next id range (outside the GIL) while this thread hashes the last.
    _pipelined(produce(), consume, parallel=len(ranges) > 1 and not _thread_bound(conn))
    if not id_parts:
        empty = np.empty(0, np.uint64)
        return _Eligible(np.empty(0, np.int64), [], np.empty(0, "S1"), np.empty(0, np.uint8), empty, 0)
    ids = np.concatenate(id_parts)
    strata, weights = np.concatenate(s_parts), np.concatenate(w_parts)
    keys = algo.keys_from_digests(b"".join(digest_parts), weights)
    for done in (digest_parts, id_parts, s_parts, w_parts):
        done.clear()  # the joined copies are what is kept
    if len(ids) > 1 and not bool((ids[1:] > ids[:-1]).all()):  # pragma: no cover - see statement()
        # Never seen; kept so that the snapshot's order can never depend on a query plan.
        order = np.argsort(ids, kind="stable")
        ids, strata, weights, keys = ids[order], strata[order], weights[order], keys[order]
        codes = [codes[i] for i in order.tolist()]
    keep = strata != b"X"
    excluded = len(ids) - int(np.count_nonzero(keep))
    if excluded:
        ids, strata, weights, keys = ids[keep], strata[keep], weights[keep], keys[keep]
        codes = list(compress(codes, keep.tolist()))
    return _Eligible(ids, codes, strata, weights, keys, excluded)


def required_specialties(task: Task) -> list[str]:
    return sorted({item.specialty for item in task.items if item.specialty})


def _inspector_pool(
    task: Task, day: dt.date, departments: Sequence[int] | None = None
) -> tuple[list[algo.PoolInspector], list[list[str]], dict[str, tuple[int, int]]]:
    """Eligible inspectors of the task's departments (or of ``departments``: its peers) with their
    load, the excluded ones with a reason, and code → (inspector id, department id)."""
    if departments is None:
        departments = [task.initiating_department_id, *sorted(c.department_id for c in task.cooperating)]
    specialties = set(required_specialties(task))
    # Driven by the open inspections, not by the inspectors: team_member grows with every draw
    # ever made, and a join from the inspectors' side made SQLite walk all of it (0.6 s after a
    # few large draws). Counting members of other departments too is harmless: only the pool's
    # loads are looked up below.
    open_visits = select(Inspection.id).where(
        Inspection.state.in_(OPEN_STATES),
        Inspection.window_start <= task.window_end,
        Inspection.window_end >= task.window_start,
    )
    loads = dict(
        db.session.execute(
            select(TeamMember.inspector_id, func.count())
            .where(TeamMember.inspection_id.in_(open_visits), TeamMember.removed_at.is_(None))
            .group_by(TeamMember.inspector_id)
        ).all()
    )
    pool: list[algo.PoolInspector] = []
    excluded: list[list[str]] = []
    ids: dict[str, tuple[int, int]] = {}
    for ins in db.session.scalars(
        select(Inspector).where(Inspector.department_id.in_(departments)).order_by(Inspector.code)
    ):
        reason = None
        if ins.status != "active":
            reason = "status"
        elif ins.kind == "expert":
            reason = "expert"  # experts join on top of the team, never count toward the two
        elif not ins.credential_valid_on(day):
            reason = "credential"
        elif specialties and not specialties & set(ins.specialties or []):
            reason = "specialty"
        if reason:
            excluded.append([ins.code, reason])
            continue
        pool.append(algo.PoolInspector(ins.code, ins.department_id, int(loads.get(ins.id, 0))))
        ids[ins.code] = (ins.id, ins.department_id)
    return pool, excluded, ids


def _mergeable(task: Task, drawn_codes: dict[int, str]) -> dict[str, dict[str, Any]]:
    """For drawn targets that already have an assigned visit overlapping the task's window
    (进一次门、查多项事): target code → {"inspection_id", "members" (inspector codes on its team),
    "has_initiating" (a non-expert member of, or acting for, the initiating department is on it)}.
    This is the form frozen into the draw's parameters, so perform and verify build the same team
    requests from it."""
    found: dict[int, int] = {}
    already_linked = exists().where(
        InspectionTask.inspection_id == Inspection.id, InspectionTask.task_id == task.id
    )
    for inspection_id, target_id in db.session.execute(
        select(Inspection.id, Inspection.target_id)
        .where(
            Inspection.state == "assigned",
            Inspection.window_start <= task.window_end,
            Inspection.window_end >= task.window_start,
            ~already_linked,
        )
        .order_by(Inspection.id)
    ):
        if target_id in drawn_codes and target_id not in found:
            found[target_id] = inspection_id
    merged: dict[str, dict[str, Any]] = {
        drawn_codes[t]: {"inspection_id": i, "members": [], "has_initiating": False} for t, i in found.items()
    }
    by_inspection = {m["inspection_id"]: m for m in merged.values()}
    for chunk in _chunks(sorted(by_inspection)):
        for inspection_id, code, department_id, acting_for, role in db.session.execute(
            select(
                TeamMember.inspection_id,
                Inspector.code,
                TeamMember.department_id,
                TeamMember.acting_for_department_id,
                TeamMember.role,
            )
            .join(Inspector, Inspector.id == TeamMember.inspector_id)
            .where(TeamMember.inspection_id.in_(chunk), TeamMember.removed_at.is_(None))
            .order_by(TeamMember.id)
        ):
            entry = by_inspection[inspection_id]
            entry["members"].append(code)
            # A peer's inspector drawn for the initiating department stands for it here too.
            if task.initiating_department_id in (department_id, acting_for) and role != "expert":
                entry["has_initiating"] = True
    return merged


def team_requests(drawn_codes: Sequence[str], merged: dict[str, dict[str, Any]]) -> list[algo.TeamRequest]:
    """One staffing request per drawn target, in rank order: a new team, or a merge."""
    return [
        algo.TeamRequest(code, tuple(merged[code]["members"]), merged[code]["has_initiating"])
        if code in merged
        else algo.TeamRequest(code)
        for code in drawn_codes
    ]


def _conflicts(pool_codes: set[str], target_codes: dict[int, str]) -> list[list[str]]:
    """Declared conflicts between pool inspectors and drawn targets, as [inspector, target] codes."""
    out = []
    for inspector_code, target_id in db.session.execute(
        select(Inspector.code, Conflict.target_id).join(Inspector, Inspector.id == Conflict.inspector_id)
    ):
        if inspector_code in pool_codes and target_id in target_codes:
            out.append([inspector_code, target_codes[target_id]])
    return sorted(out)


@dataclass
class _Staffing:
    """The teams of a draw and everything they were drawn from, as frozen into its parameters."""

    teams: list[list[algo.Pick]]
    pool: list[algo.PoolInspector]  # the task departments' eligible inspectors
    excluded: list[list[str]]
    conflicts: list[list[str]]
    inspector_ids: dict[str, tuple[int, int]]  # code → (inspector id, department id), peers too
    peers: dict[str, Any] | None  # the peer fallback, when it was needed


def _by_code(p: algo.PoolInspector) -> str:
    return p.code


def _department_nodes() -> list[algo.DepartmentNode]:
    return [
        algo.DepartmentNode(*row)
        for row in db.session.execute(
            select(Department.id, Department.parent_id, Department.level, Department.trade)
        )
    ]


def _department_names(ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return dict(
        db.session.execute(select(Department.id, Department.name).where(Department.id.in_(wanted))).all()
    )


def _shortage_detail(
    exc: algo.NotEnoughInspectors, trades: dict[int, str | None], task: Task, tried_peers: bool
) -> str:
    """What is missing, in words: whose slot, for which target, and why peers did not help."""
    names = _department_names([exc.department_id, *exc.peers_tried])
    text = f"{names.get(exc.department_id, exc.department_id)} has no eligible inspector left for target"
    text += f" {exc.target_code}"
    specialties = required_specialties(task)
    if specialties:
        text += f" (with a specialty among {', '.join(specialties)})"
    trade = trades.get(exc.department_id)
    if trade is None:
        text += "; it has no trade (行业), so no peer department can stand in (003 第十七条)"
    elif not exc.peers_tried:
        text += f"; no other department has its trade {trade}"
    elif tried_peers:
        peers = ", ".join(str(names.get(d, d)) for d in exc.peers_tried)
        text += f"; nor has any of its peer departments of trade {trade}: {peers}"
    return text


def _staff_teams(
    task: Task,
    day: dt.date,
    seed: bytes,
    drawn_codes: dict[int, str],
    order: list[str],
    merged: dict[str, Any],
) -> _Staffing:
    """The drawn targets' teams: from the task's own departments, exactly as "spotcheck-draw/1" drew
    them; only if that runs short, again with each task department's peers of the same trade
    (003 第十七条) frozen into the draw as well. Raises draw_no_inspectors naming what is missing."""
    pool, excluded, inspector_ids = _inspector_pool(task, day)
    conflicts = _conflicts({p.code for p in pool}, drawn_codes)
    cooperating = sorted(c.department_id for c in task.cooperating)
    requests = team_requests(order, merged)

    def assign(
        pool: list[algo.PoolInspector], conflicts: list[list[str]], peers: dict[int, list[list[int]]] | None
    ) -> list[list[algo.Pick]]:
        return algo.assign_teams(
            seed,
            requests,
            pool,
            [(a, b) for a, b in conflicts],
            task.initiating_department_id,
            cooperating,
            task.team_size,
            peers,
        )

    try:
        return _Staffing(assign(pool, conflicts, None), pool, excluded, conflicts, inspector_ids, None)
    except algo.NotEnoughInspectors as exc:
        shortage = exc
    nodes = _department_nodes()
    own = [task.initiating_department_id, *cooperating]
    trades = {d.id: d.trade for d in nodes if d.id in own}
    tiers = {d: algo.peer_tiers(d, nodes) for d in own}
    if not tiers[shortage.department_id]:
        raise ApiError("draw_no_inspectors", detail=_shortage_detail(shortage, trades, task, False))
    outside = sorted({p for t in tiers.values() for tier in t for p in tier} - set(own))
    peer_pool, peer_excluded, peer_ids = _inspector_pool(task, day, outside)
    conflicts = _conflicts({p.code for p in pool} | {p.code for p in peer_pool}, drawn_codes)
    try:
        teams = assign(pool + peer_pool, conflicts, tiers)
    except algo.NotEnoughInspectors as exc:
        raise ApiError("draw_no_inspectors", detail=_shortage_detail(exc, trades, task, True)) from exc
    stand_ins = {
        code: [[p.code, p.role, p.acting_for] for p in team if p.acting_for is not None]
        for code, team in zip(order, teams, strict=True)
        if any(p.acting_for is not None for p in team)
    }
    record = {
        "rule": "same trade; tiers: hierarchy (parent, children, siblings), same level, others",
        "trades": {str(d): trades.get(d) for d in own},
        "tiers": {str(d): t for d, t in tiers.items()},
        "pool": [[p.code, p.department_id, p.load] for p in sorted(peer_pool, key=_by_code)],
        "excluded": peer_excluded,
        "short": sorted({p.acting_for for team in teams for p in team if p.acting_for is not None}),
        "stand_ins": stand_ins,
    }
    return _Staffing(teams, pool, excluded, conflicts, inspector_ids | peer_ids, record)


# -- perform ---------------------------------------------------------------------------------------


def active_draw(task: Task) -> Draw | None:
    return db.session.scalar(select(Draw).where(Draw.task_id == task.id, Draw.status == "active"))


def perform_draw(
    task: Task,
    actor: User | None = None,
    witness: str | None = None,
    today: dt.date | None = None,
    *,
    low_risk_override: str | None = None,
) -> Draw:
    """Draw the task's targets and teams; all or nothing.

    Refuses while the task has an active draw (``draw_already_active``): a draw is never redone in
    place, only voided and drawn again. ``low_risk_override`` is the recorded reason for including
    class-A targets already inspected this year (003 第十六条 excludes them otherwise).
    """
    day = today or today_local()
    witness = (witness or "").strip() or None
    if witness is not None and len(witness) > 200:
        raise ApiError("validation_failed", errors={"witness": ["at most 200 characters"]})
    override = (low_risk_override or "").strip() or None
    not_ready = draw_problems(task)
    if not_ready:
        raise ApiError("draw_task_not_ready", detail=", ".join(not_ready))
    # Two simultaneous draws of one task queue up here; the unique (task_id, attempt) constraint
    # is the backstop.
    _lock_for_draw(task)
    if active_draw(task) is not None:
        raise ApiError("draw_already_active")
    attempt = (db.session.scalar(select(func.max(Draw.attempt)).where(Draw.task_id == task.id)) or 0) + 1

    entropy = secrets.token_bytes(32)
    seed = algo.derive_seed(entropy, witness)
    scope = normalize_scope(task.scope)
    ratios = effective_ratios(task)

    with _gc_paused():
        try:
            rows = _eligible_columns(task, scope, day.year, exclude_low_risk=override is None, seed=seed)
            excluded = rows.excluded
            if not rows.codes:
                raise ApiError(
                    "draw_empty_pool", detail=f"excluded as low-risk inspected this year: {excluded}"
                )
            snapshot = algo.snapshot_bytes(rows.codes, rows.strata, rows.weights)
        except algo.SnapshotError as exc:
            raise ApiError("draw_snapshot_invalid", detail=str(exc)) from exc
        pools = {s: int(n) for s in algo.STRATA if (n := int(np.count_nonzero(rows.strata == s.encode())))}
        counts = algo.compute_counts(pools, ratios, task.fixed_count, task.min_one)
        chosen = algo.select(seed, rows.codes, rows.strata, rows.weights, counts, keys=rows.keys)
        drawn = [
            (int(rows.ids[i]), rows.codes[i].decode("utf-8"), rows.strata[i].decode(), int(rows.weights[i]))
            for i in chosen
        ]
        drawn_codes = {d[0]: d[1] for d in drawn}
        snapshot_rows = len(rows.codes)
        del rows

        merged = _mergeable(task, drawn_codes)
        cooperating = sorted(c.department_id for c in task.cooperating)
        staffing = _staff_teams(task, day, seed, drawn_codes, [d[1] for d in drawn], merged)
        teams = staffing.teams

        snapshot_hash = blob_store().put_bytes(snapshot)
        del snapshot
        parameters: dict[str, Any] = {
            "algorithm": algo.ALGORITHM,
            "draw_date": day.isoformat(),
            "draw_year": day.year,
            "scope": scope,
            "use_risk_classes": task.use_risk_classes,
            "ratios_bp": ratios,
            "fixed_count": task.fixed_count,
            "min_one": task.min_one,
            "weight_years": dict(algo.WEIGHT_YEARS),
            "low_risk_exclusion": {
                "applied": override is None,
                "excluded": excluded,
                "override_reason": override,
            },
            "window": [task.window_start.isoformat(), task.window_end.isoformat()],
            "team": {
                "size": task.team_size,
                "initiating_department_id": task.initiating_department_id,
                "cooperating_department_ids": cooperating,
                "specialties": required_specialties(task),
                "pool": [[p.code, p.department_id, p.load] for p in sorted(staffing.pool, key=_by_code)],
                "excluded": staffing.excluded,
                "conflicts": staffing.conflicts,
                "merged": merged,
                "peers": staffing.peers,  # None unless a department ran short (003 第十七条)
            },
        }
        strata_info = {s: {"pool": pools[s], "ratio_bp": ratios.get(s, 0), "count": counts[s]} for s in pools}
        draw = Draw(
            task_id=task.id,
            attempt=attempt,
            status="active",
            algorithm=algo.ALGORITHM,
            server_entropy=entropy.hex(),
            witness_input=witness,
            seed=seed.hex(),
            snapshot_hash=snapshot_hash,
            snapshot_rows=snapshot_rows,
            parameters=parameters,
            strata=strata_info,
            drawn_by_id=actor.id if actor else None,
        )
        db.session.add(draw)
        try:
            db.session.flush()
        except IntegrityError as exc:  # a concurrent draw of the same task won the race
            raise ApiError("draw_already_active") from exc
        _store_results(draw, task, drawn, merged, teams, staffing.inspector_ids)
    record_event(
        "draw.performed",
        "draw",
        draw.id,
        actor_id=actor.id if actor else None,
        details={
            "task_id": task.id,
            "attempt": attempt,
            "algorithm": algo.ALGORITHM,
            "seed": draw.seed,
            "snapshot_hash": snapshot_hash,
            "snapshot_rows": draw.snapshot_rows,
            "counts": counts,
            "drawn": len(drawn),
            "merged": len(merged),
            "low_risk_override": override,
            "peers_short": staffing.peers["short"] if staffing.peers else [],
        },
    )
    return draw


def _bulk_insert(table: Any, columns: Sequence[str], rows: Sequence[tuple[Any, ...]]) -> None:
    """Multi-row ``INSERT … VALUES (…), (…), …`` on the driver, ``BULK_PARAMS`` values a statement.

    Values must already be in the driver's form (see ``_db_value``). A Core insert of a list of
    dicts spends more time building parameters than the database spends writing them, and even a
    driver-level executemany costs about 2–3 µs a row in the sqlite3 module's per-row loop; one
    statement per ~160 rows spends that once. The same SQL is valid on PostgreSQL.
    """
    if not rows:
        return
    conn = db.session.connection()
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    head = f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) VALUES "
    group = "(" + ", ".join([mark] * len(columns)) + ")"
    per = max(1, BULK_PARAMS // len(columns))
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        conn.exec_driver_sql(head + ", ".join([group] * len(chunk)), tuple(chain.from_iterable(chunk)))


def _db_value(column: Any, value: Any) -> Any:
    """A value as the driver wants it for ``column`` (SQLite stores dates as text)."""
    dialect = db.session.connection().dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process(value) if process else value


def _new_ids(table: Any, n: int) -> list[int]:
    """Primary keys for ``n`` new rows, so executemany needs no RETURNING.

    PostgreSQL hands them out from the table's sequence (safe under concurrency). SQLite has one
    writer at a time and this transaction already holds the write lock (the draw row was flushed),
    so max(id) + 1 … cannot collide.
    """
    conn = db.session.connection()
    if conn.dialect.name == "postgresql":
        return list(
            conn.execute(
                select(func.nextval(func.pg_get_serial_sequence(table.name, "id"))).select_from(
                    func.generate_series(1, n)
                )
            ).scalars()
        )
    start = (conn.execute(select(func.max(table.c.id))).scalar() or 0) + 1
    return list(range(start, start + n))


def _store_results(
    draw: Draw,
    task: Task,
    drawn: Sequence[tuple[int, str, str, int]],
    merged: dict[str, dict[str, Any]],
    teams: Sequence[Sequence[algo.Pick]],
    inspector_ids: dict[str, tuple[int, int]],
) -> None:
    """Write inspections, drawn targets, task links and team members with multi-row inserts."""
    ins_t, member_t = Inspection.__table__, TeamMember.__table__
    now = _db_value(ins_t.c.created_at, utcnow())
    start = _db_value(ins_t.c.window_start, task.window_start)
    end = _db_value(ins_t.c.window_end, task.window_end)
    inspection_of: dict[int, int] = {
        t: merged[code]["inspection_id"] for t, code, _, _ in drawn if code in merged
    }
    # Rows go in in target-id order (new inspections numbered in that order too): the indexes on
    # target_id then grow at neighbouring places instead of at ~25,000 random ones (measured:
    # inspections and drawn targets written 2.5× faster). The rank is a column, so nothing reads
    # meaning into the physical order.
    ranked = sorted(
        (t, rank, code, stratum, weight) for rank, (t, code, stratum, weight) in enumerate(drawn, 1)
    )
    new = [row[0] for row in ranked if row[2] not in merged]
    new_ids = _new_ids(ins_t, len(new)) if new else []
    inspection_of.update(zip(new, new_ids, strict=True))
    draw_id, task_id = draw.id, task.id  # plain ints: an ORM attribute read per row adds up
    _bulk_insert(
        ins_t,
        ("id", "target_id", "window_start", "window_end", "state", "created_at"),
        [(i, t, start, end, "assigned", now) for t, i in zip(new, new_ids, strict=True)],
    )
    _bulk_insert(
        DrawnTarget.__table__,
        ("draw_id", "target_id", "rank", "stratum", "weight", "inspection_id"),
        [(draw_id, t, rank, stratum, weight, inspection_of[t]) for t, rank, _, stratum, weight in ranked],
    )
    _bulk_insert(
        InspectionTask.__table__,
        ("inspection_id", "task_id", "draw_id"),
        [(inspection_of[row[0]], task_id, draw_id) for row in ranked],
    )
    assigned_at = _db_value(member_t.c.assigned_at, utcnow())
    columns = ("inspection_id", "inspector_id", "department_id", "role", "draw_id", "assigned_at")
    if not any(p.acting_for is not None for team in teams for p in team):
        _bulk_insert(
            member_t,
            columns,
            [
                (inspection_of[t], *inspector_ids[code], role, draw_id, assigned_at)
                for t, rank, _, _, _ in ranked
                for code, role, _ in teams[rank - 1]
            ],
        )
        return
    # Someone stands in for a short department: one more column, only for such draws, so the
    # usual draw keeps its statement (and its speed).
    _bulk_insert(
        member_t,
        (*columns, "acting_for_department_id"),
        [
            (inspection_of[t], *inspector_ids[code], role, draw_id, assigned_at, acting_for)
            for t, rank, _, _, _ in ranked
            for code, role, acting_for in teams[rank - 1]
        ],
    )


# -- void ------------------------------------------------------------------------------------------


def void_draw(draw: Draw, actor: User | None, reason: str) -> Draw:
    """Void a draw, keeping it with its reason; the task may then be drawn again (attempt + 1).

    Inspections the draw created that have not started (and serve no other task) are cancelled;
    its task is unlinked from visits it merged into, and the member it added there is removed.
    An inspection already under way stays as it is, still linked: field work is never discarded.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ApiError("validation_failed", errors={"reason": ["required"]})
    if draw.status != "active":
        raise ApiError("draw_voided")
    now = utcnow()
    merged_ids = {m["inspection_id"] for m in draw.parameters.get("team", {}).get("merged", {}).values()}
    linked = list(
        db.session.execute(
            select(Inspection.id, Inspection.state)
            .join(InspectionTask, InspectionTask.inspection_id == Inspection.id)
            .where(InspectionTask.draw_id == draw.id)
        ).all()
    )
    created = [i for i, _ in linked if i not in merged_ids]
    started = {i for i, state in linked if state != "assigned"}
    shared: set[int] = set()
    for chunk in _chunks(created):
        shared |= set(
            db.session.scalars(
                select(InspectionTask.inspection_id).where(
                    InspectionTask.inspection_id.in_(chunk), InspectionTask.draw_id != draw.id
                )
            )
        )
    cancel = [i for i in created if i not in started and i not in shared]
    unlink = [i for i, _ in linked if i not in started]
    merged_linked = [i for i in unlink if i in merged_ids]
    for chunk in _chunks(cancel):
        db.session.execute(update(Inspection).where(Inspection.id.in_(chunk)).values(state="cancelled"))
    for chunk in _chunks(unlink):
        db.session.execute(
            delete(InspectionTask).where(
                InspectionTask.draw_id == draw.id, InspectionTask.inspection_id.in_(chunk)
            )
        )
    for chunk in _chunks(merged_linked):
        db.session.execute(
            update(TeamMember)
            .where(
                TeamMember.draw_id == draw.id,
                TeamMember.inspection_id.in_(chunk),
                TeamMember.removed_at.is_(None),
            )
            .values(removed_at=now)
        )
    draw.status = "voided"
    draw.voided_at = now
    draw.voided_by_id = actor.id if actor else None
    draw.void_reason = reason
    db.session.flush()
    record_event(
        "draw.voided",
        "draw",
        draw.id,
        actor_id=actor.id if actor else None,
        details={
            "task_id": draw.task_id,
            "reason": reason,
            "cancelled": len(cancel),
            "unlinked": len(unlink),
            "kept_started": sorted(started),
        },
    )
    return draw


# -- replacement (003 第十七条) ---------------------------------------------------------------------


def request_replacement(member: TeamMember, reason: str, reason_text: str, actor: User) -> Replacement:
    """Ask to swap a drawn inspector for conflict, illness, post change or work conflict."""
    if reason not in REPLACEMENT_REASONS:
        raise ApiError("validation_failed", errors={"reason": [f"one of {', '.join(REPLACEMENT_REASONS)}"]})
    reason_text = (reason_text or "").strip()
    if len(reason_text) > 2000:
        raise ApiError("validation_failed", errors={"reason_text": ["at most 2000 characters"]})
    inspection = member.inspection
    if member.removed_at is not None or member.role == "expert":
        raise ApiError("replacement_not_allowed", detail="the member is no longer on the team")
    if inspection.state not in REPLACEABLE_STATES:
        raise ApiError("replacement_not_allowed", detail=f"the inspection is {inspection.state}")
    pending = db.session.scalar(
        select(Replacement.id).where(
            Replacement.out_member_id == member.id, Replacement.status == "requested"
        )
    )
    if pending is not None:
        raise ApiError("replacement_not_allowed", detail="a request for this member is already pending")
    replacement = Replacement(
        inspection_id=inspection.id,
        out_member_id=member.id,
        reason=reason,
        reason_text=reason_text,
        status="requested",
        requested_by_id=actor.id,
    )
    db.session.add(replacement)
    db.session.flush()
    record_event(
        "replacement.requested",
        "replacement",
        replacement.id,
        actor_id=actor.id,
        details={"member_id": member.id, "inspection_id": inspection.id, "reason": reason},
    )
    _notify_deciders(replacement, member)
    return replacement


# The bell's message to the leaders who may decide a replacement request (a Chinese source string).
REPLACEMENT_REQUESTED_TEXT = "{requester}申请更换执法人员{inspector}（检查对象：{target}），请审批"


def _notify_deciders(replacement: Replacement, member: TeamMember) -> None:
    """Tell every leader who may decide the request, so it does not wait unseen on the draw page."""
    from server.notifications.services import notify, users_with_role

    leaders = [u for u in users_with_role("leader") if can_decide_replacement(u, member)]
    draw_id = member.draw_id or db.session.scalar(
        select(InspectionTask.draw_id).where(InspectionTask.inspection_id == member.inspection_id).limit(1)
    )
    requester = db.session.get(User, replacement.requested_by_id)
    notify(
        leaders,
        "replacement_requested",
        f"replacement_requested:{replacement.id}",
        REPLACEMENT_REQUESTED_TEXT,
        {
            "requester": requester.display_name if requester else "",
            "inspector": member.inspector.name,
            "target": member.inspection.target.name,
        },
        f"/draws/{draw_id}#replacements" if draw_id else "",
    )


def slot_department_id(member: TeamMember) -> int:
    """The department whose place on the team ``member`` fills: its own, or the one it stands in for."""
    return member.acting_for_department_id or member.department_id


def member_specialties(member: TeamMember) -> list[str]:
    """The specialties (业务专长) the member's place requires: those of the draw that put it, or the
    member it replaced, on the team (a replacement inherits the place). None for a member added
    by hand."""
    current: TeamMember | None = member
    for _ in range(100):  # a chain of replacements; the bound only guards against a loop
        if current is None or current.draw_id is not None:
            break
        previous = db.session.scalar(
            select(Replacement.out_member_id).where(
                Replacement.in_member_id == current.id, Replacement.status == "approved"
            )
        )
        current = db.session.get(TeamMember, previous) if previous is not None else None
    if current is None or current.draw_id is None:
        return []
    draw = db.session.get(Draw, current.draw_id)
    return list(((draw.parameters or {}).get("team") or {}).get("specialties") or []) if draw else []


def replacement_candidates(
    member: TeamMember, day: dt.date, department_ids: Sequence[int] | None = None
) -> list[Inspector]:
    """Who may replace ``member``: of the department whose place it fills (or of ``department_ids``,
    its peers), active, not an expert, credential valid on ``day``, with one of the place's required
    specialties, never on the visit's team before, no declared conflict with the target; ordered
    by code."""
    inspection = member.inspection
    # Everyone ever on the visit's team: those removed (ill, moved, in conflict) do not come back.
    on_team = {m.inspector_id for m in inspection.team} | {member.inspector_id}
    conflicted = set(
        db.session.scalars(select(Conflict.inspector_id).where(Conflict.target_id == inspection.target_id))
    )
    specialties = set(member_specialties(member))
    departments = [slot_department_id(member)] if department_ids is None else list(department_ids)
    return [
        ins
        for ins in db.session.scalars(
            select(Inspector)
            .where(
                Inspector.department_id.in_(departments),
                Inspector.status == "active",
                Inspector.kind != "expert",
            )
            .order_by(Inspector.code)
        )
        if ins.id not in on_team
        and ins.id not in conflicted
        and ins.credential_valid_on(day)
        and (not specialties or bool(specialties & set(ins.specialties or [])))
    ]


def _replacement_pool(member: TeamMember, day: dt.date) -> tuple[list[Inspector], dict[str, Any] | None]:
    """The candidates to draw the replacement from: the place's own department's, or only if it
    has none, those of its peers of the same trade, nearest tier with anyone first (003 第十七条);
    with the record of the peer fallback when it was used. Raises replacement_no_candidate naming
    what is missing."""
    candidates = replacement_candidates(member, day)
    if candidates:
        return candidates, None
    slot = slot_department_id(member)
    nodes = _department_nodes()
    tiers = algo.peer_tiers(slot, nodes)
    for number, tier in enumerate(tiers):
        candidates = replacement_candidates(member, day, tier)
        if candidates:
            return candidates, {
                "department_id": slot,
                "trade": next((n.trade for n in nodes if n.id == slot), None),
                "tiers": tiers,
                "tier": number,
                "specialties": member_specialties(member),
            }
    name = _department_names([slot]).get(slot, str(slot))
    trade = next((n.trade for n in nodes if n.id == slot), None)
    detail = f"{name} has no eligible inspector left for this visit"
    if trade is None:
        detail += "; it has no trade (行业), so no peer department can stand in"
    elif not tiers:
        detail += f"; no other department has its trade {trade}"
    else:
        detail += f"; nor has any of its {sum(map(len, tiers))} peer department(s) of trade {trade}"
    raise ApiError("replacement_no_candidate", detail=detail)


def decide_replacement(
    replacement: Replacement, approve: bool, actor: User, note: str = "", today: dt.date | None = None
) -> Replacement:
    """A leader approves (and the replacement is drawn at random) or rejects a request.

    The redraw uses fresh entropy, stored with the list of eligible candidates, so anyone can
    check the pick with ``algorithm.pick_replacement``. The candidates are the own department's;
    only when it has none left, those of its nearest peer departments of the same trade, and the
    replacement then acts for the department (``Replacement.peers`` records how). With no candidate
    nothing changes (``replacement_no_candidate``) and the request stays pending.
    """
    if not actor.has_role("leader"):
        raise ApiError("forbidden", detail="only a leader may decide a replacement")
    if replacement.status != "requested":
        raise ApiError("replacement_not_allowed", detail=f"the request is already {replacement.status}")
    note = (note or "").strip()
    now = utcnow()
    out = db.session.get(TeamMember, replacement.out_member_id)
    if out is None:  # pragma: no cover - foreign key
        raise ApiError("not_found")
    details: dict[str, Any] = {"approve": approve, "note": note}
    if approve:
        if out.removed_at is not None:
            raise ApiError("replacement_not_allowed", detail="the member is no longer on the team")
        candidates, peers = _replacement_pool(out, today or today_local())
        entropy = secrets.token_bytes(32)
        picked = algo.pick_replacement(entropy, [c.code for c in candidates])
        if picked is None:  # pragma: no cover - _replacement_pool never returns an empty list
            raise ApiError("replacement_no_candidate")
        chosen = next(c for c in candidates if c.code == picked)
        incoming = TeamMember(
            inspection_id=out.inspection_id,
            inspector_id=chosen.id,
            role=out.role,
            department_id=chosen.department_id,
            acting_for_department_id=peers["department_id"] if peers else None,
            assigned_at=now,
        )
        db.session.add(incoming)
        out.removed_at = now
        db.session.flush()
        replacement.in_member_id = incoming.id
        replacement.seed = entropy.hex()
        replacement.candidates = [c.code for c in candidates]
        replacement.peers = peers
        if replacement.reason == "conflict":
            target_id = out.inspection.target_id
            exists_already = db.session.scalar(
                select(Conflict.id).where(
                    Conflict.inspector_id == out.inspector_id, Conflict.target_id == target_id
                )
            )
            if exists_already is None:
                db.session.add(
                    Conflict(
                        inspector_id=out.inspector_id,
                        target_id=target_id,
                        reason=(replacement.reason_text or "回避")[:300],
                    )
                )
        details |= {"out": out.inspector.code, "in": chosen.code, "seed": replacement.seed}
        if peers:
            details["acting_for"] = peers["department_id"]
    replacement.status = "approved" if approve else "rejected"
    replacement.decided_by_id = actor.id
    replacement.decided_at = now
    replacement.decision_note = note
    db.session.flush()
    record_event("replacement.decided", "replacement", replacement.id, actor_id=actor.id, details=details)
    _notify_requester(replacement, out, chosen.name if approve else None)
    return replacement


# The bell's messages to whoever asked for a replacement, once a leader decided (Chinese sources).
REPLACEMENT_APPROVED_TEXT = (
    "更换执法人员的申请已批准：{inspector}由随机抽取的{replacement}接替（检查对象：{target}）"
)
REPLACEMENT_REJECTED_TEXT = "更换执法人员的申请未获批准：{inspector}（检查对象：{target}）"


def _notify_requester(replacement: Replacement, out: TeamMember, replacement_name: str | None) -> None:
    """Tell the one who asked how the leader decided, and who came in."""
    from server.notifications.services import notify

    requester = db.session.get(User, replacement.requested_by_id)
    if requester is None:
        return
    draw_id = out.draw_id or db.session.scalar(
        select(InspectionTask.draw_id).where(InspectionTask.inspection_id == out.inspection_id).limit(1)
    )
    params = {"inspector": out.inspector.name, "target": out.inspection.target.name}
    if replacement_name is not None:
        params["replacement"] = replacement_name
    notify(
        [requester],
        "replacement_decided",
        f"replacement_decided:{replacement.id}",
        REPLACEMENT_APPROVED_TEXT if replacement_name is not None else REPLACEMENT_REJECTED_TEXT,
        params,
        f"/draws/{draw_id}#replacements" if draw_id else "",
    )


# -- verify ----------------------------------------------------------------------------------------


def recompute(
    draw: Draw, snapshot: bytes
) -> tuple[list[tuple[str, str, int]], dict[str, int], list[list[tuple[str, str, int, int | None]]]]:
    """From the snapshot and the stored parameters alone: the drawn rows (code, stratum, weight)
    in rank order, the per-stratum counts, and each drawn target's initial team
    (inspector code, role, department id, department acted for when drawn from a peer)."""
    params = draw.parameters
    codes, strata, weights = algo.parse_snapshot_utf8(snapshot)
    pools = {s: n for s in algo.STRATA if (n := int(np.count_nonzero(strata == s.encode())))}
    counts = algo.compute_counts(pools, params["ratios_bp"], params["fixed_count"], params["min_one"])
    seed = bytes.fromhex(draw.seed)
    chosen = algo.select(seed, codes, strata, weights, counts)
    drawn = [(codes[i].decode("utf-8"), strata[i].decode(), int(weights[i])) for i in chosen]
    team = params["team"]
    peers = team.get("peers")  # absent before "spotcheck-draw/2", None when not needed
    frozen = team["pool"] + (peers["pool"] if peers else [])
    pool = [algo.PoolInspector(code, dept, load) for code, dept, load in frozen]
    departments = {p.code: p.department_id for p in pool}
    teams = algo.assign_teams(
        seed,
        team_requests([code for code, _, _ in drawn], team["merged"]),
        pool,
        [(a, b) for a, b in team["conflicts"]],
        team["initiating_department_id"],
        team["cooperating_department_ids"],
        team["size"],
        {int(d): tiers for d, tiers in peers["tiers"].items()} if peers else None,
    )
    return drawn, counts, [[(p.code, p.role, departments[p.code], p.acting_for) for p in t] for t in teams]


def verify_draw(draw: Draw) -> list[str]:
    """Recompute the draw from its snapshot and parameters; the problems found (empty = OK)."""
    problems: list[str] = []
    if draw.algorithm not in algo.ALGORITHMS:
        return [f"unknown algorithm {draw.algorithm}"]
    peers = (draw.parameters.get("team") or {}).get("peers")
    if draw.algorithm == "spotcheck-draw/1" and peers:
        return ["a spotcheck-draw/1 draw cannot have drawn from peer departments"]
    seed = algo.derive_seed(bytes.fromhex(draw.server_entropy), draw.witness_input)
    if seed.hex() != draw.seed:
        problems.append("seed does not match SHA-256(entropy ‖ witness input)")
    store = blob_store()
    try:
        snapshot = store.read(draw.snapshot_hash)
    except (FileNotFoundError, ValueError):
        return [*problems, "snapshot file missing from the blob store"]
    if hashlib.sha256(snapshot).hexdigest() != draw.snapshot_hash:
        return [*problems, "snapshot file does not match its hash"]
    try:
        with _gc_paused():
            drawn, counts, teams = recompute(draw, snapshot)
    except algo.SnapshotError as exc:
        return [*problems, f"snapshot unreadable: {exc}"]
    except algo.NotEnoughInspectors as exc:
        return [*problems, f"teams cannot be recomputed: {exc}"]
    if snapshot.count(b"\n") - 1 != draw.snapshot_rows:
        problems.append("snapshot row count differs from the stored count")
    stored_counts = {s: v["count"] for s, v in (draw.strata or {}).items()}
    if stored_counts != counts:
        problems.append(f"per-stratum counts differ: stored {stored_counts}, recomputed {counts}")

    stored = db.session.execute(
        select(
            DrawnTarget.rank, Target.code, DrawnTarget.stratum, DrawnTarget.weight, DrawnTarget.inspection_id
        )
        .join(Target, Target.id == DrawnTarget.target_id)
        .where(DrawnTarget.draw_id == draw.id)
        .order_by(DrawnTarget.rank)
    ).all()
    expected = [(rank, c, s, w) for rank, (c, s, w) in enumerate(drawn, start=1)]
    actual = [(r.rank, r.code, r.stratum, r.weight) for r in stored]
    if actual != expected:
        missing = {e[1] for e in expected} - {a[1] for a in actual}
        extra = {a[1] for a in actual} - {e[1] for e in expected}
        detail = []
        if missing:
            detail.append(f"missing {sorted(missing)[:5]}")
        if extra:
            detail.append(f"unexpected {sorted(extra)[:5]}")
        if not detail:
            wrong = [a for a, e in zip(actual, expected, strict=False) if a != e][:3]
            detail.append(f"rank/stratum/weight differ at {wrong}")
        problems.append("drawn targets differ: " + "; ".join(detail))

    code_of_inspection = {r.inspection_id: r.code for r in stored}
    members: dict[str, set[tuple[str, str, int, int | None]]] = {}
    for inspection_id, code, role, department_id, acting_for in db.session.execute(
        select(
            TeamMember.inspection_id,
            Inspector.code,
            TeamMember.role,
            TeamMember.department_id,
            TeamMember.acting_for_department_id,
        )
        .join(Inspector, Inspector.id == TeamMember.inspector_id)
        .where(TeamMember.draw_id == draw.id)
    ):
        target = code_of_inspection.get(inspection_id, f"inspection {inspection_id}")
        members.setdefault(target, set()).add((code, role, department_id, acting_for))
    want = {c: set(t) for (c, _, _), t in zip(drawn, teams, strict=True) if t}
    if members != want:
        differing = sorted(
            set(members) ^ set(want) | {c for c in members if c in want and members[c] != want[c]}
        )
        problems.append(f"teams differ for {len(differing)} target(s), e.g. {differing[:5]}")
    if peers:
        # The summary shown on the pages must be what the recomputation drew, too.
        stand_ins = {
            c: [[code, role, acting] for code, role, _, acting in t if acting is not None]
            for (c, _, _), t in zip(drawn, teams, strict=True)
            if any(m[3] is not None for m in t)
        }
        short = sorted({m[3] for t in teams for m in t if m[3] is not None})
        if peers.get("stand_ins") != stand_ins or peers.get("short") != short:
            problems.append("the stored peer stand-ins differ from the recomputed ones")
    return problems


# -- reading ---------------------------------------------------------------------------------------


def drawn_rows(
    draw: Draw, offset: int = 0, limit: int | None = None, search: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    """A page of drawn targets in rank order, each with its visit's team; and the total count.

    Teams come from one query per page, so a draw with tens of thousands of targets pages cheaply.
    """
    conds = [DrawnTarget.draw_id == draw.id]
    if search:
        like = f"%{search.strip()}%"
        conds.append(or_(Target.code.ilike(like), Target.name.ilike(like)))
    base = select(DrawnTarget).join(Target, Target.id == DrawnTarget.target_id).where(*conds)
    total = db.session.scalar(select(func.count()).select_from(base.subquery())) or 0
    stmt = (
        select(
            DrawnTarget.rank,
            DrawnTarget.stratum,
            DrawnTarget.weight,
            DrawnTarget.target_id,
            Target.code,
            Target.name,
            DrawnTarget.inspection_id,
        )
        .join(Target, Target.id == DrawnTarget.target_id)
        .where(*conds)
        .order_by(DrawnTarget.rank)
        .offset(offset)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    merged = {m["inspection_id"] for m in draw.parameters.get("team", {}).get("merged", {}).values()}
    rows = [
        {
            "rank": r.rank,
            "stratum": r.stratum,
            "weight": r.weight,
            "target_id": r.target_id,
            "target_code": r.code,
            "target_name": r.name,
            "inspection_id": r.inspection_id,
            "merged": r.inspection_id in merged,
            "team": [],
        }
        for r in db.session.execute(stmt)
    ]
    teams = team_members([r["inspection_id"] for r in rows if r["inspection_id"] is not None])
    for r in rows:
        r["team"] = teams.get(r["inspection_id"], [])
    return rows, total


def team_members(inspection_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """inspection id → its team members (removed ones too, marked), leader first then by id; a
    member drawn from a peer department names the department it acts for."""
    out: dict[int, list[dict[str, Any]]] = {}
    names: dict[int, str] = {}
    for chunk in _chunks(sorted(set(inspection_ids))):
        for m, ins, dept in db.session.execute(
            select(TeamMember, Inspector, Department)
            .join(Inspector, Inspector.id == TeamMember.inspector_id)
            .join(Department, Department.id == TeamMember.department_id)
            .where(TeamMember.inspection_id.in_(chunk))
            .order_by(
                TeamMember.inspection_id, case((TeamMember.role == "leader", 0), else_=1), TeamMember.id
            )
        ):
            acting_for = m.acting_for_department_id
            if acting_for is not None and acting_for not in names:
                names |= _department_names([acting_for])
            out.setdefault(m.inspection_id, []).append(
                {
                    "id": m.id,
                    "inspector_id": ins.id,
                    "inspector_code": ins.code,
                    "inspector_name": ins.name,
                    "role": m.role,
                    "department_id": dept.id,
                    "department_name": dept.name,
                    "acting_for_department_id": acting_for,
                    "acting_for_department_name": names.get(acting_for) if acting_for else None,
                    "draw_id": m.draw_id,
                    "removed_at": m.removed_at,
                }
            )
    return out
