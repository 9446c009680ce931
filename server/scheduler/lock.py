"""Exactly one scheduler across every process: a database lock that a standby takes over.

PostgreSQL: ``pg_try_advisory_lock`` on a dedicated connection held for as long as the scheduler
runs. The lock belongs to that database session, so it is released by the server the moment the
holder's process dies or its connection drops — no expiry to wait for and no clock involved. Each
heartbeat checks the connection still answers; if not, the lock may be someone else's now, so the
scheduler stops at once.

SQLite has no such locks (and no server to notice a death), so the lock is a lease row: the holder
renews ``expires_at`` on every heartbeat; anyone may take the row over once it has expired. Taking
and renewing are compare-and-swap UPDATEs (the WHERE names the holder and expiry just read), and
SQLite serialises writers, so two standbys racing for an expired lease cannot both win. A holder
whose renewal finds the lease taken stops its scheduler before doing anything else.

Both keep the ``scheduler_lease`` row current, so the jobs page can say who runs the jobs.
``now`` is always passed in (naive UTC), so tests move the clock instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import uuid
from typing import Protocol

from sqlalchemy import Connection, Engine, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from server.scheduler.models import SchedulerLease

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
# The advisory lock's key: any fixed 64-bit number no other code uses (the audit log uses 7411).
ADVISORY_KEY = 0x5C_0E_D0_1E


def holder_id() -> str:
    """Names this process on the jobs page: host, pid and a random suffix (pids get reused)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class SchedulerLock(Protocol):
    holder: str

    def acquire(self, now: dt.datetime) -> bool:
        """Try to become the scheduler; True if this process now holds the lock."""

    def renew(self, now: dt.datetime) -> bool:
        """Heartbeat while holding; False means the lock is lost and the scheduler must stop."""

    def release(self) -> None:
        """Give the lock up so a standby takes over at once."""


def _write_lease(
    conn: Connection, holder: str, now: dt.datetime, ttl: dt.timedelta, *, acquired: bool = False
) -> None:
    """Upsert the informational lease row (PostgreSQL: the advisory lock is the real one)."""
    values = {"holder": holder, "heartbeat_at": now, "expires_at": now + ttl}
    if acquired:
        values["acquired_at"] = now
    done = conn.execute(update(SchedulerLease).where(SchedulerLease.name == LEASE_NAME).values(**values))
    if not done.rowcount:
        conn.execute(
            insert(SchedulerLease).values(
                name=LEASE_NAME, holder=holder, acquired_at=now, heartbeat_at=now, expires_at=now + ttl
            )
        )


class AdvisoryLock:
    """PostgreSQL: a session-level advisory lock on a dedicated connection."""

    def __init__(self, engine: Engine, ttl_seconds: int, holder: str | None = None) -> None:
        self.engine = engine
        self.ttl = dt.timedelta(seconds=ttl_seconds)
        self.holder = holder or holder_id()
        self.conn: Connection | None = None

    def acquire(self, now: dt.datetime) -> bool:
        if self.conn is None:
            self.conn = self.engine.connect()
        try:
            got = bool(
                self.conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": ADVISORY_KEY}).scalar()
            )
            self.conn.commit()  # the lock is the session's; never sit idle in a transaction
        except DBAPIError:
            self._drop()
            return False
        if not got:
            # Keep no connection checked out while standing by; this one holds no lock, so it may
            # go back to the pool.
            self.conn.close()
            self.conn = None
            return False
        with self.engine.begin() as conn:
            _write_lease(conn, self.holder, now, self.ttl, acquired=True)
        return True

    def renew(self, now: dt.datetime) -> bool:
        if self.conn is None:
            return False
        try:
            held = self.conn.execute(
                text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                    "AND pid = pg_backend_pid() AND ((classid::bigint << 32) | objid::bigint) = :k"
                ),
                {"k": ADVISORY_KEY},
            ).scalar()
            self.conn.commit()
        except DBAPIError:
            log.warning("scheduler lock connection lost; stopping the scheduler")
            self._drop()
            return False
        if not held:
            self._drop()
            return False
        with self.engine.begin() as conn:
            _write_lease(conn, self.holder, now, self.ttl)
        return True

    def release(self) -> None:
        if self.conn is None:
            return
        try:
            self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_KEY})
            self.conn.commit()
        except DBAPIError:
            pass
        self._drop()

    def _drop(self) -> None:
        """Close the dedicated connection for good (invalidate: never back into the pool while it
        might still hold the lock)."""
        if self.conn is not None:
            try:
                self.conn.invalidate()
                self.conn.close()
            except DBAPIError:
                pass
            self.conn = None


class LeaseLock:
    """SQLite (and any database without advisory locks): a lease row with heartbeat and expiry."""

    def __init__(self, engine: Engine, ttl_seconds: int, holder: str | None = None) -> None:
        self.engine = engine
        self.ttl = dt.timedelta(seconds=ttl_seconds)
        self.holder = holder or holder_id()

    def acquire(self, now: dt.datetime) -> bool:
        with self.engine.begin() as conn:
            row = conn.execute(select(SchedulerLease).where(SchedulerLease.name == LEASE_NAME)).first()
            if row is None:
                try:
                    with conn.begin_nested():
                        conn.execute(
                            insert(SchedulerLease).values(
                                name=LEASE_NAME,
                                holder=self.holder,
                                acquired_at=now,
                                heartbeat_at=now,
                                expires_at=now + self.ttl,
                            )
                        )
                except IntegrityError:  # another standby inserted it first
                    return False
                return True
            if row.holder != self.holder and row.expires_at > now:
                return False
            # Compare-and-swap: only if nobody renewed or took it since we read it.
            taken = conn.execute(
                update(SchedulerLease)
                .where(
                    SchedulerLease.name == LEASE_NAME,
                    SchedulerLease.holder == row.holder,
                    SchedulerLease.expires_at == row.expires_at,
                )
                .values(holder=self.holder, acquired_at=now, heartbeat_at=now, expires_at=now + self.ttl)
            )
            return taken.rowcount == 1

    def renew(self, now: dt.datetime) -> bool:
        with self.engine.begin() as conn:
            kept = conn.execute(
                update(SchedulerLease)
                .where(
                    SchedulerLease.name == LEASE_NAME,
                    SchedulerLease.holder == self.holder,
                    SchedulerLease.expires_at > now,
                )
                .values(heartbeat_at=now, expires_at=now + self.ttl)
            )
            return kept.rowcount == 1

    def release(self) -> None:
        """Expire the lease now, so a standby need not wait for the expiry."""
        with self.engine.begin() as conn:
            conn.execute(
                update(SchedulerLease)
                .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == self.holder)
                .values(expires_at=dt.datetime(1970, 1, 1))
            )


def make_lock(engine: Engine, ttl_seconds: int, holder: str | None = None) -> SchedulerLock:
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, ttl_seconds, holder)
    return LeaseLock(engine, ttl_seconds, holder)
