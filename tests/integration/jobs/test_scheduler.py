"""Exactly one scheduler: the database lock, takeover when the holder dies, and the coordinator.

The clock is frozen and moved by hand (``now`` is passed in); nothing here sleeps.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from flask import Flask

from server.extensions import db
from server.scheduler.lock import AdvisoryLock, LeaseLock, make_lock
from server.scheduler.models import SchedulerLease
from server.scheduler.runner import Coordinator, build_scheduler

T0 = dt.datetime(2025, 10, 30, 1, 0, 0)
TTL = 30


def s(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def test_make_lock_picks_the_database_lock(app: Flask) -> None:
    lock = make_lock(db.engine, TTL)
    expected = AdvisoryLock if db.engine.dialect.name == "postgresql" else LeaseLock
    assert isinstance(lock, expected)


def test_lease_lock_heartbeat_expiry_and_takeover(app: Flask) -> None:
    """The SQLite lock (it works on any database; PostgreSQL uses the advisory lock)."""
    a, b = LeaseLock(db.engine, TTL, "host-a:1"), LeaseLock(db.engine, TTL, "host-b:2")
    assert a.acquire(s(0)) is True
    assert b.acquire(s(1)) is False
    assert a.renew(s(20)) is True  # heartbeat: the lease now runs until s(50)
    assert b.acquire(s(40)) is False
    # a dies (no more heartbeats); once the lease has expired b takes over.
    assert b.acquire(s(51)) is True
    assert a.renew(s(52)) is False  # a's late heartbeat finds the lease gone: a must stop
    assert a.acquire(s(53)) is False
    lease = db.session.get(SchedulerLease, "scheduler")
    assert lease is not None and lease.holder == "host-b:2" and lease.acquired_at == s(51)
    # A clean shutdown releases at once: no waiting for the expiry.
    b.release()
    assert a.acquire(s(54)) is True


def test_lease_lock_two_standbys_racing_for_an_expired_lease(app: Flask) -> None:
    old, b, c = (LeaseLock(db.engine, TTL, h) for h in ("old:1", "b:2", "c:3"))
    assert old.acquire(s(0))
    # Both read the same expired row; the compare-and-swap lets only the first write win.
    assert b.acquire(s(100)) is True
    assert c.acquire(s(100)) is False


# Advisory locks are PostgreSQL's: these run on PostgreSQL only (SQLite has the lease tests above).
postgresql_only = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@postgresql_only
def test_advisory_lock_is_released_when_the_holder_dies(app: Flask) -> None:
    a, b = AdvisoryLock(db.engine, TTL, "host-a:1"), AdvisoryLock(db.engine, TTL, "host-b:2")
    try:
        assert a.acquire(s(0)) is True
        assert b.acquire(s(1)) is False
        assert b.conn is None  # a standby keeps no connection open
        assert a.renew(s(100)) is True  # no expiry: the session holds the lock
        assert b.acquire(s(500)) is False
        # The holder's process dies: its connection goes, and PostgreSQL drops the lock.
        assert a.conn is not None
        a.conn.invalidate()
        a.conn = None
        assert b.acquire(s(501)) is True
        assert a.renew(s(502)) is False
        lease = db.session.get(SchedulerLease, "scheduler")
        assert lease is not None and lease.holder == "host-b:2"
        b.release()
        assert a.acquire(s(503)) is True
    finally:
        a.release()
        b.release()


@postgresql_only
def test_advisory_lock_notices_a_broken_connection(app: Flask) -> None:
    a = AdvisoryLock(db.engine, TTL, "host-a:1")
    try:
        assert a.acquire(s(0))
        assert a.conn is not None
        pid = a.conn.execute(db.text("SELECT pg_backend_pid()")).scalar()
        a.conn.commit()
        with db.engine.connect() as admin:  # the server ends the holder's session (e.g. a restart)
            admin.execute(db.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        assert a.renew(s(1)) is False
        assert a.conn is None
    finally:
        a.release()


class FakeScheduler:
    def __init__(self, log: list[str], name: str) -> None:
        self.log, self.name = log, name

    def start(self) -> None:
        self.log.append(f"{self.name} start")

    def shutdown(self, wait: bool = True) -> None:
        self.log.append(f"{self.name} stop")


def _coordinator(app: Flask, holder: str, log: list[str]) -> Coordinator:
    lock = make_lock(db.engine, TTL, holder)
    return Coordinator(app, lock, lambda _app, _holder: FakeScheduler(log, holder))


def test_coordinators_keep_exactly_one_scheduler(app: Flask) -> None:
    log: list[str] = []
    a, b = _coordinator(app, "a", log), _coordinator(app, "b", log)
    try:
        assert a.tick(s(0)) == "leader"
        assert b.tick(s(1)) == "standby"
        for second in (10, 20, 30, 40):
            assert a.tick(s(second)) == "leader"
            assert b.tick(s(second + 1)) == "standby"
        assert log == ["a start"]
        # a's process dies without a word (no stop(), no more ticks).
        if isinstance(a.lock, AdvisoryLock):
            assert a.lock.conn is not None
            a.lock.conn.invalidate()
            a.lock.conn = None
        # After the lease expired (SQLite) / as soon as the server has ended a's session
        # (PostgreSQL frees a dead connection's advisory lock asynchronously): b keeps ticking, as it
        # does every few seconds, until it leads.
        deadline = time.monotonic() + 10
        while (state := b.tick(s(75))) != "leader" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert state == "leader"
        assert log == ["a start", "b start"]
        # If a was only frozen (a long GC pause) and wakes up, it learns it lost and stops first.
        assert a.tick(s(76)) == "standby"
        assert log == ["a start", "b start", "a stop"]
        # A clean stop hands over at once.
        b.stop()
        assert log[-1] == "b stop"
        assert a.tick(s(77)) == "leader"
    finally:
        a.stop()
        b.stop()


def test_the_real_scheduler_has_every_available_job_once_at_a_time(app: Flask) -> None:
    from server.jobs import JOBS, resolve

    scheduler = build_scheduler(app, "test")
    scheduler.start(paused=True)  # applies the job defaults; paused: nothing runs
    try:
        jobs = {j.id: j for j in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    expected = {d.id for d in JOBS if resolve(d) is not None}
    assert set(jobs) == expected and "mark_late" in jobs
    for job in jobs.values():
        assert job.max_instances == 1 and job.coalesce is True
        assert job.misfire_grace_time == 3600
    assert str(jobs["mark_late"].trigger) == "cron[minute='5']"
    assert str(jobs["mark_late"].trigger.timezone) == "Asia/Shanghai"


def test_create_app_starts_the_coordinator_only_when_enabled(app: Flask, tmp_path: Any) -> None:
    from server import TestConfig, create_app

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    quiet = create_app(
        TestConfig, {"SQLALCHEMY_DATABASE_URI": url, "VAR_DIR": tmp_path, "BLOB_DIR": tmp_path}
    )
    assert "spotcheck_scheduler" not in quiet.extensions
    enabled = create_app(
        TestConfig,
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "VAR_DIR": tmp_path,
            "BLOB_DIR": tmp_path,
            "SCHEDULER_ENABLED": True,
        },
    )
    started = enabled.extensions["spotcheck_scheduler"]
    try:
        assert started["thread"].is_alive()
    finally:
        started["stop"].set()
        started["thread"].join(timeout=10)
    assert not started["thread"].is_alive()
    assert started["coordinator"].scheduler is None  # stopped, lock released
    with enabled.app_context():
        db.engine.dispose()
    with quiet.app_context():
        db.engine.dispose()
