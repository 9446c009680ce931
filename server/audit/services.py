"""Append to the audit log (each event's hash covers the previous hash and the event's content),
verify the chain against its checkpoints, record checkpoints, and browse the log."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text

from server.audit.models import AuditCheckpoint, AuditEvent
from server.db import utcnow
from server.extensions import db

GENESIS = "0" * 64


def event_hash(
    prev_hash: str,
    seq: int,
    at: str,
    actor_id: int | None,
    action: str,
    object_type: str,
    object_id: str,
    details: dict[str, Any],
) -> str:
    payload = json.dumps(
        [prev_hash, seq, at, actor_id, action, object_type, object_id, details],
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def record_event(
    action: str,
    object_type: str,
    object_id: object,
    *,
    actor_id: int | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one event inside the caller's transaction (services flush; the boundary commits)."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appends so two transactions never claim the same seq / prev_hash.
        session.execute(text("SELECT pg_advisory_xact_lock(7411)"))
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = utcnow()
    details = json.loads(json.dumps(details or {}, ensure_ascii=False, default=str))
    event = AuditEvent(
        seq=seq,
        at=at,
        actor_id=actor_id,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        details=details,
        prev_hash=prev,
        hash=event_hash(prev, seq, at.isoformat(), actor_id, action, object_type, str(object_id), details),
    )
    session.add(event)
    session.flush()
    return event


@dataclass(frozen=True)
class ChainReport:
    """What ``verify_chain`` found: ``problems`` (each naming a seq) is empty when the log is intact."""

    problems: list[str]
    events: int  # rows checked
    head: tuple[int, str] | None  # (seq, hash) of the last row checked
    checkpoints: int  # checkpoints and anchors compared


def verify_chain(
    anchors: Iterable[tuple[int, str]] = (), *, after: tuple[int, str] | None = None
) -> list[str]:
    """Recompute the chain; returns a list of problems (empty when intact)."""
    return check_chain(anchors, after=after).problems


def check_chain(
    anchors: Iterable[tuple[int, str]] = (), *, after: tuple[int, str] | None = None
) -> ChainReport:
    """Recompute the hash chain and compare it with every recorded checkpoint and given anchor.

    - a modified row: its content no longer matches its hash (or, if the hash was recomputed too,
      the next row's ``prev_hash`` no longer matches — or a later checkpoint's hash);
    - a deleted row: a gap in ``seq`` (or, for the tail, a checkpoint beyond the end);
    - an inserted row: a ``seq`` out of order, a ``prev_hash`` that is not the previous row's hash,
      or a hash that does not match. A row appended at the very end with a correctly computed hash
      is only caught by an anchor recorded outside the database (``flask audit head``).

    ``after`` = (seq, hash) of a trusted checkpoint: check only the rows after it (the hourly job).
    Streams the rows: memory stays flat however long the log is.
    """
    problems: list[str] = []
    expected_seq, prev = (after[0] + 1, after[1]) if after else (1, GENESIS)
    wanted: dict[int, tuple[str, str]] = {}  # seq → (hash, what recorded it)
    for cp in db.session.scalars(select(AuditCheckpoint).order_by(AuditCheckpoint.seq)):
        wanted[cp.seq] = (cp.hash, f"checkpoint of {cp.at.isoformat(timespec='seconds')}Z")
    for seq, hash_ in anchors:
        wanted[int(seq)] = (hash_, "anchor given")
    if after:
        wanted = {seq: w for seq, w in wanted.items() if seq > after[0]}
    columns = (
        AuditEvent.seq,
        AuditEvent.at,
        AuditEvent.actor_id,
        AuditEvent.action,
        AuditEvent.object_type,
        AuditEvent.object_id,
        AuditEvent.details,
        AuditEvent.prev_hash,
        AuditEvent.hash,
    )
    stmt = select(*columns).order_by(AuditEvent.seq)
    if after:
        stmt = stmt.where(AuditEvent.seq > after[0])
    count = 0
    head: tuple[int, str] | None = None
    for row in db.session.execute(stmt.execution_options(yield_per=2000)):
        count += 1
        seq = row.seq
        if seq != expected_seq:
            if seq > expected_seq:
                missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}–{seq - 1}"
                problems.append(f"seq {missing} missing (deleted?): the next row is seq {seq}")
            else:
                problems.append(f"seq {seq}: out of order after seq {expected_seq - 1} (inserted?)")
        if row.prev_hash != prev:
            problems.append(f"seq {seq}: prev_hash does not match the previous row's hash")
        recomputed = event_hash(
            row.prev_hash,
            seq,
            row.at.isoformat(),
            row.actor_id,
            row.action,
            row.object_type,
            row.object_id,
            row.details,
        )
        if recomputed != row.hash:
            problems.append(f"seq {seq}: content does not match its hash (modified or inserted)")
        if seq in wanted and wanted[seq][0] != row.hash:
            problems.append(f"seq {seq}: hash differs from the {wanted[seq][1]} (chain rewritten?)")
        prev = row.hash
        head = (seq, row.hash)
        expected_seq = seq + 1
    last = head[0] if head else (after[0] if after else 0)
    for seq, (_hash, source) in sorted(wanted.items()):
        if seq > last:
            problems.append(f"seq {seq} missing: the log ends at seq {last} but the {source} names seq {seq}")
    return ChainReport(problems, count, head, len(wanted))


def chain_head() -> tuple[int, str] | None:
    row = db.session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def checkpoint_chain(now: dt.datetime) -> dict[str, Any]:
    """The checkpoint job: check the rows added since the last checkpoint, then record the head.

    Idempotent: nothing new since the last checkpoint, nothing recorded. A chain that fails the
    check is not checkpointed (that would anchor the tampering); the admins are notified instead,
    once per problem found.
    """
    from server.notifications.services import notify, users_with_role

    last = db.session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1))
    after = (last.seq, last.hash) if last else None
    report = check_chain(after=after)
    if report.problems:
        notified = notify(
            users_with_role("admin"),
            "audit_chain_broken",
            f"audit_chain_broken:{report.problems[0][:80]}",
            "审计日志校验失败：{problem}",
            {"problem": report.problems[0]},
            "/admin/audit?verify=1",
        )
        return {"checked": report.events, "problems": len(report.problems), "notified": notified}
    if report.head is None:
        return {"checked": 0, "checkpoint": None}
    db.session.add(AuditCheckpoint(seq=report.head[0], hash=report.head[1], at=now))
    db.session.flush()
    return {"checked": report.events, "checkpoint": report.head[0]}


def browse_events(
    *,
    action: str = "",
    object_type: str = "",
    object_id: str = "",
    actor_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[AuditEvent]:
    """Newest first, filtered; ``action`` matches a prefix ("inspection." finds every inspection
    event). Paged by seq (``before_seq``), which stays fast on a log of millions of rows."""
    stmt = select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if object_id:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    if actor_id is not None:
        stmt = stmt.where(AuditEvent.actor_id == actor_id)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.at < until)
    if before_seq is not None:
        stmt = stmt.where(AuditEvent.seq < before_seq)
    return list(db.session.scalars(stmt))
