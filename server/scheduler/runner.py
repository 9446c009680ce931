"""The scheduler's life in one process: stand by, take the lock, run APScheduler, give it up.

Every process that enables the scheduler (each web worker with ``SCHEDULER_ENABLED``, or
``flask jobs run``) runs a ``Coordinator``. Its ``tick`` is the whole state machine, called every
third of the lease period by a daemon thread:

- standby: try to take the lock; on success build and start APScheduler with every available job
  of ``server/jobs.py`` — this process is now the one scheduler;
- leader: renew the lock; if that fails, the lock may already be someone else's, so shut the
  scheduler down at once (without waiting for a running job, which commits on its own or not).

Ordering matters twice. The scheduler starts only *after* the lock is held, and stops *before*
anything else when a renewal fails, so two schedulers never overlap by design; a job that still
finishes after the handover is harmless because every job is idempotent. ``tick`` takes ``now`` so
tests move a frozen clock and never sleep.
"""

from __future__ import annotations

import atexit
import datetime as dt
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask

from server import jobs as job_table
from server.db import utcnow
from server.jobs import resolve
from server.scheduler.lock import SchedulerLock, make_lock

log = logging.getLogger(__name__)

# A run that missed its time (the process was down, the lock changed hands) still runs if it is
# less than this late; coalescing turns several missed runs into one.
MISFIRE_GRACE_SECONDS = 3600


class Scheduler(Protocol):
    def start(self) -> None: ...

    def shutdown(self, wait: bool = True) -> None: ...


def scheduled_run(app: Flask, job_id: str, holder: str) -> None:
    """What APScheduler calls: one job run in its own app context (its own database session)."""
    from server.scheduler.services import run_job

    with app.app_context():
        run_job(job_id, utcnow(), trigger="schedule", holder=holder)


def build_scheduler(app: Flask, holder: str = "") -> BackgroundScheduler:
    """APScheduler with every available job of the table: one instance at a time, missed runs coalesced."""
    from server.scheduler.services import make_trigger, tz

    with app.app_context():
        scheduler = BackgroundScheduler(
            timezone=tz(),
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": MISFIRE_GRACE_SECONDS},
        )
        for definition in job_table.JOBS:
            if resolve(definition) is None:
                log.warning("job %s skipped: %s not found", definition.id, definition.func)
                continue
            scheduler.add_job(
                scheduled_run,
                make_trigger(definition),
                args=(app, definition.id, holder),
                id=definition.id,
                name=definition.id,
                replace_existing=True,
            )
    return scheduler


class Coordinator:
    def __init__(
        self,
        app: Flask,
        lock: SchedulerLock,
        scheduler_factory: Callable[[Flask, str], Scheduler] = build_scheduler,
    ) -> None:
        self.app = app
        self.lock = lock
        self.scheduler_factory = scheduler_factory
        self.scheduler: Scheduler | None = None
        self._mutex = threading.Lock()  # tick and stop may come from different threads

    @property
    def is_leader(self) -> bool:
        return self.scheduler is not None

    def tick(self, now: dt.datetime | None = None) -> str:
        """One step of the state machine; returns "leader" or "standby"."""
        now = now or utcnow()
        with self._mutex:
            if self.scheduler is None:
                if self.lock.acquire(now):
                    log.info("scheduler lock taken by %s; starting the jobs", self.lock.holder)
                    scheduler = self.scheduler_factory(self.app, self.lock.holder)
                    scheduler.start()
                    self.scheduler = scheduler
            elif not self.lock.renew(now):
                log.warning("scheduler lock lost by %s; stopping the jobs", self.lock.holder)
                self.scheduler.shutdown(wait=False)
                self.scheduler = None
            return "leader" if self.scheduler is not None else "standby"

    def stop(self) -> None:
        """Stop the jobs, then give the lock up so a standby takes over without waiting."""
        with self._mutex:
            if self.scheduler is not None:
                self.scheduler.shutdown(wait=False)
                self.scheduler = None
            self.lock.release()


def coordinator_for(app: Flask, **kwargs: Any) -> Coordinator:
    from server.extensions import db

    with app.app_context():
        lock = make_lock(db.engine, int(app.config["SCHEDULER_LEASE_SECONDS"]))
    return Coordinator(app, lock, **kwargs)


def heartbeat_seconds(app: Flask) -> float:
    return max(1.0, int(app.config["SCHEDULER_LEASE_SECONDS"]) / 3)


def run_loop(coordinator: Coordinator, stop: threading.Event, interval: float) -> None:
    """Tick until told to stop; a database hiccup is logged and retried on the next tick."""
    while not stop.is_set():
        try:
            coordinator.tick()
        except Exception:
            log.exception("scheduler coordinator tick failed")
        stop.wait(interval)
    coordinator.stop()


def start_in_background(app: Flask) -> tuple[Coordinator, threading.Event, threading.Thread]:
    """Start the coordinator thread of a web process (``SCHEDULER_ENABLED``)."""
    coordinator = coordinator_for(app)
    stop = threading.Event()
    thread = threading.Thread(
        target=run_loop,
        args=(coordinator, stop, heartbeat_seconds(app)),
        name="spotcheck-scheduler",
        daemon=True,
    )
    thread.start()

    def _shutdown() -> None:
        stop.set()
        thread.join(timeout=10)

    atexit.register(_shutdown)
    app.extensions["spotcheck_scheduler"] = {"coordinator": coordinator, "stop": stop, "thread": thread}
    return coordinator, stop, thread
