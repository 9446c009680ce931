"""Bulk import into the directories (一单两库) from CSV or XLSX: all rows valid, or nothing changes.

The flow of one ``ImportJob``:

1. read the stored file: XLSX (openpyxl, read-only), or CSV in UTF-8 (with or without BOM),
   UTF-16 with BOM (Excel's "Unicode text") or, failing UTF-8, GB18030 (a superset of GBK/GB2312,
   what Excel on Chinese Windows writes);
2. map the header row (Chinese names or English aliases) to fields;
3. look up every referenced code with one query per lookup set (chunked IN lists), not per row;
4. validate every row in memory, in line order, collecting every problem with the spreadsheet's
   line number (header = line 1) and a stable reason code;
5. stop there for a dry run or when anything is wrong; otherwise write everything with Core bulk
   inserts/updates inside one transaction, which commits together with the job's final state.

Semantics worth knowing (also shown on the import page):

- ``create`` mode refuses codes that already exist; ``upsert`` updates the row with that code.
  In upsert, only columns present in the file are written and a blank cell keeps the stored
  value, so a file with just 统一社会信用代码 + 风险等级 reclassifies risk without touching the rest.
  Target rows whose values equal the stored ones are not written at all (reported as unchanged).
- Conflicts are keyed by (inspector, target), history records by (target, date, department,
  task name); in upsert mode a matching record gets the file's reason / result.
- Items: one row per checkpoint. Rows with the same 事项代码 form one item, checkpoints in row
  order; the item columns may be left blank on the repeated rows (if filled they must agree), and
  a 检查要点 cell with line breaks gives one checkpoint per line. Upserting an item replaces its
  checklist position by position.
- Tags and specialties are separated by 、 ; , (half or full width) or line breaks.
- ``last_inspected_on`` never goes behind the imported history: a history import raises it to
  the latest imported date, a target upsert keeps it at least at the latest recorded inspection.

Line 1 is the header (a title row above it is skipped); blank rows are ignored but keep their
numbers. Uploads are stored in the blob store, so a job can always be re-checked from its bytes.

Progress: ``processed_rows`` is written through a separate short connection so pollers see it
while the job's own transaction is open. SQLite allows one writer, so while the apply phase holds
the write lock the progress lives only in ``LIVE_PROGRESS`` (this process); PostgreSQL gets both.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import func, select, text, update

from server.audit.services import record_event
from server.db import utcnow
from server.directory.import_formats import Problems, Unreadable, read_table
from server.directory.import_kinds import IMPORTERS, table_of
from server.directory.models import IMPORT_KINDS, IMPORT_MODES, ImportJob
from server.errors import ApiError
from server.extensions import db
from server.storage import blob_store

log = logging.getLogger(__name__)

PROGRESS_EVERY = 0.5  # seconds between progress writes
ANALYZE_AFTER = 5000  # rows written before PostgreSQL statistics are refreshed in the same transaction
FINAL_STATUSES = ("invalid", "ready", "done", "failed")
RUNNING_STATUSES = ("validating", "applying")
# A running job writes its heartbeat with its progress (every PROGRESS_EVERY seconds); one silent
# this long was interrupted (its process restarted). Far above any pause of a live job, below
# the time an admin waits before wondering.
STALE_AFTER = dt.timedelta(minutes=10)
STATUS_LABELS = {
    "validating": "校验中",
    "invalid": "有错误",
    "ready": "校验通过",
    "applying": "导入中",
    "done": "已完成",
    "failed": "失败",
}
SUMMARY_LABELS = {
    "rows": "数据行",
    "created": "新增条数",
    "updated": "更新条数",
    "unchanged": "无变化（未写入）",
    "checkpoints": "检查要点",
    "tags": "标签",
    "last_inspected_updated": "更新了最近检查日期的对象",
    "unknown_columns": "未识别（已忽略）的列",
    "source": "文件格式",
}

# Progress of running jobs in this process: job id → (status, processed_rows).
LIVE_PROGRESS: dict[int, tuple[str, int]] = {}
_THREADS: dict[int, threading.Thread] = {}


class Progress:
    """Progress of one job, visible to other requests while the job's transaction is open."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id
        self.status = "validating"
        self.done = 0
        self._last = 0.0
        self._sqlite = db.engine.dialect.name == "sqlite"

    def phase(self, status: str, total: int | None = None) -> None:
        self.status, self.done = status, 0
        self._write(total=total, force=True)

    def tick(self, done: int) -> None:
        self.done = done
        self._write()

    def _write(self, total: int | None = None, force: bool = False) -> None:
        LIVE_PROGRESS[self.job_id] = (self.status, self.done)
        now = time.monotonic()
        if not force and now - self._last < PROGRESS_EVERY:
            return
        self._last = now
        # SQLite: the apply transaction holds the only write lock; another connection would wait
        # for it and time out. The in-process LIVE_PROGRESS carries progress meanwhile.
        if self._sqlite and self.status == "applying" and not force:
            return
        values: dict[str, Any] = {"status": self.status, "processed_rows": self.done}
        values["heartbeat_at"] = utcnow()
        if total is not None:
            values["total_rows"] = total
        table = table_of(ImportJob)
        with db.engine.begin() as conn:
            conn.execute(update(table).where(table.c.id == self.job_id).values(**values))


def _check_choice(kind: str, mode: str) -> None:
    if kind not in IMPORT_KINDS:
        raise ApiError("validation_failed", detail=f"unknown import kind {kind!r}")
    if mode not in IMPORT_MODES:
        raise ApiError("validation_failed", detail=f"unknown import mode {mode!r}")


def create_import_job(
    kind: str,
    data: bytes,
    filename: str,
    mode: str = "create",
    dry_run: bool = False,
    actor_id: int | None = None,
) -> ImportJob:
    """Store the file in the blob store and add a job in state ``validating``; flushes, never commits."""
    _check_choice(kind, mode)
    sha = blob_store().put_bytes(data)
    job = ImportJob(
        kind=kind,
        mode=mode,
        filename=Path(filename).name[:255] or "upload",
        file_sha256=sha,
        status="validating",
        dry_run=dry_run,
        created_by_id=actor_id,
        heartbeat_at=utcnow(),
        errors=[],
        summary={},
    )
    db.session.add(job)
    db.session.flush()
    record_event(
        "import.started",
        "import_job",
        job.id,
        actor_id=actor_id,
        details={"kind": kind, "mode": mode, "dry_run": dry_run, "filename": job.filename, "sha256": sha},
    )
    return job


def copy_import_job(source: ImportJob, actor_id: int | None) -> ImportJob:
    """A real run of a clean dry run's file (validated again, since the directories may have moved)."""
    if not source.dry_run or source.status in ("validating", "applying"):
        raise ApiError("import_not_ready")
    if source.status != "ready":
        raise ApiError("import_invalid", detail=f"{source.error_count} errors")
    return create_import_job(
        source.kind,
        blob_store().read(source.file_sha256),
        source.filename,
        mode=source.mode,
        dry_run=False,
        actor_id=actor_id,
    )


def rerun_import_job(source: ImportJob, actor_id: int | None) -> ImportJob:
    """A failed job's file once more, as it was asked for (dry run or not): after an interruption
    or an internal error, nothing of it was applied."""
    if source.status != "failed":
        raise ApiError("import_not_failed")
    return create_import_job(
        source.kind,
        blob_store().read(source.file_sha256),
        source.filename,
        mode=source.mode,
        dry_run=source.dry_run,
        actor_id=actor_id,
    )


def fail_interrupted_imports(now: dt.datetime) -> list[int]:
    """The import watchdog job: a job still validating or applying whose heartbeat stopped more
    than ``STALE_AFTER`` ago was interrupted by a restart. Mark it failed with a reason the admin
    reads on its page (which offers to run the file again); nothing else to undo, since an import
    is one transaction. Returns the ids of the jobs marked.

    A job running in this process is alive whatever its heartbeat says (an apply on SQLite writes
    none). One running in another process on SQLite holds the write lock while it applies: this
    job's update waits for it and then finds the job finished, or gives up and runs again later.
    """
    table = table_of(ImportJob)
    beat = func.coalesce(table.c.heartbeat_at, table.c.created_at)
    stale = (table.c.status.in_(RUNNING_STATUSES), beat < now - STALE_AFTER)
    marked: list[int] = []
    for job_id in db.session.scalars(select(table.c.id).where(*stale).order_by(table.c.id)).all():
        if job_id in _THREADS:
            continue
        problems = Problems()
        problems.add(None, None, None, "interrupted")
        done = db.session.execute(
            update(table)
            .where(table.c.id == job_id, *stale)
            .values(status="failed", error_count=problems.count, errors=problems.sorted(), finished_at=now)
        )
        if done.rowcount:  # type: ignore[attr-defined]
            marked.append(job_id)
            record_event("import.failed", "import_job", job_id, details={"reason": "interrupted"})
    return marked


def _finish(job: ImportJob, status: str, problems: Problems, summary: dict[str, Any], processed: int) -> None:
    table = table_of(ImportJob)
    db.session.execute(
        update(table)
        .where(table.c.id == job.id)
        .values(
            status=status,
            processed_rows=processed,
            error_count=problems.count,
            errors=problems.sorted(),
            summary=summary,
            finished_at=utcnow(),
        )
    )
    record_event(
        f"import.{status}",
        "import_job",
        job.id,
        actor_id=job.created_by_id,
        details={
            "kind": job.kind,
            "mode": job.mode,
            "error_count": problems.count,
            "created": summary.get("created"),
            "updated": summary.get("updated"),
        },
    )


@contextmanager
def _custom_plans() -> Iterator[None]:
    """PostgreSQL: plan each lookup for its own values while the job runs.

    psycopg prepares a statement after a few executions, and PostgreSQL may then keep one generic
    plan for it. A generic plan made while ``target`` was small (say, during the first import into
    an empty directory) scans the table and compares every row with every code of the IN list:
    minutes for 100k codes. Unprepared statements get a fresh plan with the actual values, which
    uses the unique index or a hashed IN list.
    """
    raw: Any = db.session.connection().connection.driver_connection
    if not hasattr(raw, "prepare_threshold"):
        yield
        return
    saved = raw.prepare_threshold
    raw.prepare_threshold = None
    try:
        yield
    finally:
        raw.prepare_threshold = saved


def _check_and_apply(
    job: ImportJob, problems: Problems, progress: Progress, summary: dict[str, Any]
) -> tuple[str, int]:
    """The job's outcome as (final status, rows processed); writes only when it is ``done``."""
    try:
        sheet = read_table(blob_store().read(job.file_sha256), job.filename)
    except Unreadable as exc:
        problems.add(None, None, None, "unreadable", reason=str(exc))
        return "invalid", 0
    summary["source"] = sheet.source
    importer = IMPORTERS[job.kind](job.mode, problems, progress.tick)
    if sheet.rows:
        importer.map_header(sheet)  # removes the header row from sheet.rows
        summary["unknown_columns"] = importer.unknown_columns
    rows = sheet.rows
    summary["rows"] = len(rows)
    limit = int(current_app.config.get("IMPORT_MAX_ROWS", 2_000_000))
    if not rows:
        problems.add(None, None, None, "no_rows")
    elif len(rows) > limit:
        problems.add(None, None, None, "too_many_rows", count=len(rows), max=limit)
    if problems.count:
        return "invalid", 0
    progress.phase("validating", total=len(rows))
    importer.validate(rows)
    if problems.count:
        return "invalid", len(rows)
    if job.dry_run:
        importer.preview()
        summary.update(importer.outcome.summary())
        return "ready", len(rows)
    # Every write from here on is one transaction, committed together with the job's "done".
    progress.phase("applying")
    importer.apply()
    summary.update(importer.outcome.summary())
    written = len(importer.outcome.created) + len(importer.outcome.updated)
    if db.session.get_bind().dialect.name == "postgresql" and written >= ANALYZE_AFTER:
        # Fresh statistics right away, so the next import or search plans for the new size
        # instead of waiting for autovacuum (allowed inside a transaction; sees our own rows).
        for table in importer.tables:
            db.session.execute(text(f"ANALYZE {table}"))
    return "done", len(rows)


def process_import_job(job_id: int) -> ImportJob:
    """Validate, and unless it is a dry run or invalid, apply the job; commits (a job boundary)."""
    job = db.session.get(ImportJob, job_id)
    if job is None:
        raise ApiError("import_not_found")
    if job.status != "validating":
        return job  # already processed (or being processed by another thread)
    started = time.monotonic()
    problems = Problems()
    progress = Progress(job.id)
    summary: dict[str, Any] = {}
    try:
        with _custom_plans():
            status, processed = _check_and_apply(job, problems, progress, summary)
        if status in ("ready", "done"):
            summary["seconds"] = round(time.monotonic() - started, 2)
        _finish(job, status, problems, summary, processed)
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        log.exception("import job %s failed", job_id)
        failed = Problems()
        failed.add(None, None, None, "internal_error", reason=type(exc).__name__)
        _finish(job, "failed", failed, summary, 0)
        db.session.commit()
    finally:
        LIVE_PROGRESS.pop(job_id, None)
    db.session.expire(job)
    return job


def run_import(
    kind: str,
    rows_source: Path | bytes,
    filename: str,
    mode: str = "create",
    dry_run: bool = False,
    actor_id: int | None = None,
) -> ImportJob:
    """Import synchronously (CLI, tests, other areas): create the job, commit it, process it.

    Returns the finished job: ``status`` is ``done`` or ``ready`` (dry run) when clean, ``invalid``
    with ``errors`` otherwise, ``failed`` on an unexpected error. Nothing changes unless ``done``.
    """
    data = rows_source.read_bytes() if isinstance(rows_source, Path) else rows_source
    job = create_import_job(kind, data, filename, mode=mode, dry_run=dry_run, actor_id=actor_id)
    db.session.commit()
    return process_import_job(job.id)


def _run_in_thread(app: Flask, job_id: int) -> None:
    with app.app_context():
        try:
            process_import_job(job_id)
        except Exception:  # process_import_job records failures itself; this is a last resort
            log.exception("import thread for job %s crashed", job_id)
        finally:
            db.session.remove()
            _THREADS.pop(job_id, None)


def start_import(job: ImportJob) -> threading.Thread:
    """Process a committed job in a background thread with its own app context and session."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    thread = threading.Thread(target=_run_in_thread, args=(app, job.id), name=f"import-{job.id}", daemon=True)
    _THREADS[job.id] = thread
    thread.start()
    return thread


def wait_for_imports(timeout: float = 60.0) -> None:
    """Join running import threads (tests, orderly shutdown)."""
    deadline = time.monotonic() + timeout
    for thread in list(_THREADS.values()):
        thread.join(max(0.0, deadline - time.monotonic()))


def job_progress(job: ImportJob) -> tuple[str, int]:
    """(status, processed_rows), preferring this process's live figures while the job runs."""
    if job.status not in FINAL_STATUSES and job.id in LIVE_PROGRESS:
        return LIVE_PROGRESS[job.id]
    return job.status, job.processed_rows
