"""The one table of scheduled jobs (STYLE.md §8): id, schedule, and the service that does the work.

Every job body is a service in its own area with the signature ``(now: datetime) -> dict``: ``now``
is naive UTC (tests and ``flask jobs run-once --now`` pass a frozen one), the dict is the run's
summary (shown on the jobs page); a body may instead return the list of what it changed
(``counts`` names its length in the summary). Bodies flush and never commit; ``run_job`` commits
once, together with the run's record, or rolls everything back and records the failure. Every body
is idempotent: running it twice, or late, or after a missed run, changes nothing more than running
it once.

Schedules are in Asia/Shanghai time. The scheduler coalesces missed runs into one and never runs two
instances of a job at once (``server/scheduler/runner.py``); exactly one process runs the scheduler
(``server/scheduler/lock.py``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JobBody = Callable[[Any], Any]


@dataclass(frozen=True)
class JobDefinition:
    id: str
    func: str  # "module:function", imported when the job is scheduled or run
    trigger: str  # "cron" or "interval" (APScheduler trigger names)
    schedule: dict[str, Any] = field(default_factory=dict)  # the trigger's arguments
    description: str = ""  # Chinese source string, translated on the jobs page
    # For a body that returns a list (of what it changed) instead of a summary dict: the summary's key
    # for its length.
    counts: str = "count"


JOBS: tuple[JobDefinition, ...] = (
    JobDefinition(
        "mark_late",
        "server.deadlines.services:mark_late_inspections",
        "cron",
        {"minute": 5},
        "补算录入期限，标记逾期未录入的检查（视为未完成）",
    ),
    JobDefinition(
        "deadline_reminders",
        "server.deadlines.services:send_deadline_reminders",
        "cron",
        {"hour": 8, "minute": 30},
        "录入期限前提醒审核人员",
    ),
    # Publication's body (issue4-shared.md "Jobs"); it returns the inspections it published.
    JobDefinition(
        "publish_due_results",
        "server.publication.services:publish_due_results",
        "interval",
        {"minutes": 15},
        "按计划公示已审核的检查结果",
        counts="published",
    ),
    JobDefinition(
        "import_watchdog",
        "server.directory.importer:fail_interrupted_imports",
        "interval",
        {"minutes": 5},
        "将因服务重启而中断的导入标记为失败（可重新运行）",
        counts="interrupted",
    ),
    JobDefinition(
        "archive",
        "server.archive.services:archive_due_inspections",
        "cron",
        {"hour": 2, "minute": 15},
        "归档已公示且后续处置均已完结的检查",
    ),
    JobDefinition(
        "kpi_snapshot",
        "server.reports.services:snapshot_kpis",
        "cron",
        {"hour": 3, "minute": 0},
        "保存当日的工作指标快照",
    ),
    JobDefinition(
        "audit_checkpoint",
        "server.audit.services:checkpoint_chain",
        "cron",
        {"minute": 50},
        "记录审计日志链的检查点",
    ),
)


def job(job_id: str) -> JobDefinition | None:
    return next((j for j in JOBS if j.id == job_id), None)


def resolve(definition: JobDefinition) -> JobBody | None:
    """The job's function, or None when its module or function does not exist (yet)."""
    module_name, _, name = definition.func.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and module_name.startswith(exc.name):
            return None  # the area is not there; any other missing import is a real error
        raise
    body = getattr(module, name, None)
    return body if callable(body) else None
