"""Append to the audit log. Each event's hash covers the previous hash and the event's content."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select, text

from server.audit.models import AuditEvent
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


def verify_chain() -> list[str]:
    """Recompute the chain; returns a list of problems (empty when intact)."""
    problems: list[str] = []
    prev = GENESIS
    expected_seq = 1
    for ev in db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq)):
        if ev.seq != expected_seq:
            problems.append(f"seq {expected_seq} missing (next is {ev.seq})")
        if ev.prev_hash != prev:
            problems.append(f"seq {ev.seq}: prev_hash does not match the previous event")
        h = event_hash(
            ev.prev_hash,
            ev.seq,
            ev.at.isoformat(),
            ev.actor_id,
            ev.action,
            ev.object_type,
            ev.object_id,
            ev.details,
        )
        if h != ev.hash:
            problems.append(f"seq {ev.seq}: content does not match its hash")
        prev = ev.hash
        expected_seq = ev.seq + 1
    return problems
