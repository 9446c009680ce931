"""``draw_1m``, ``draw_1m_peak_rss`` and ``draws_verify_1m``: a full draw over a million targets.

Each timed run is the whole job a person waits for when they press "draw": ``perform_draw``
(freeze the snapshot, select, form and store the teams) and the commit. Between runs the previous
draw is voided (untimed), so every run draws the same pool with the same inspectors' loads. The
floor is a bare read of the rows and columns a draw needs, timed in the same run, so the ratio
says how much a draw costs over just reading its input.

Peak memory is measured in a child process that does one draw and rolls back (``python -m
bench.draws DB_URL OUT_DIR TASK_ID``), so it is the draw's own high-water mark, not the loader's;
its ``ru_maxrss`` comes from ``os.wait4`` (the resource usage of exactly that child).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from bench import bench_line, median, timed
from bench.dataset import DRAW_DAY, Dataset, log, make_app
from server.extensions import db

FLOOR_SQL = "SELECT id, code, risk_class, last_inspected_on FROM target"
WITNESS = "2025-06-20 福彩3D 开奖号码 7 3 0（基准测试）"


def read_floor() -> float:
    """Seconds to fetch every target's id, code, risk class and last inspection as plain tuples
    from a DBAPI cursor: no SQLAlchemy rows, no type conversion, nothing a draw could skip."""
    cursor = db.session.connection().connection.cursor()
    try:
        seconds, rows = timed(lambda: cursor.execute(FLOOR_SQL).fetchall())
    finally:
        cursor.close()
    del rows
    db.session.rollback()
    return seconds


def peak_rss_mb(ds: Dataset) -> float:
    """The peak resident memory (MB) of a child process performing one draw.

    ``os.wait4`` returns that one child's resource usage; ``RUSAGE_CHILDREN`` would be the maximum
    over every child waited for, including the loader's generator process.
    """
    cmd = [sys.executable, "-m", "bench.draws", ds.url, str(ds.out_dir), str(ds.task_id)]
    proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parent.parent)  # noqa: S603 (our own module)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"the draw child failed with exit code {proc.returncode}")
    return usage.ru_maxrss / 1024  # KiB on Linux


def run(ds: Dataset, runs: int) -> list[str]:
    from server.accounts.models import User
    from server.draws.models import Draw
    from server.draws.services import perform_draw, verify_draw, void_draw
    from server.planning.models import Task

    rss = peak_rss_mb(ds)
    log(f"draw child peak RSS {rss:.0f} MB")
    floors: list[float] = []
    draws: list[float] = []
    drawn = 0
    with ds.app.app_context():
        for n in range(runs):
            floors.append(read_floor())
            task = db.session.get(Task, ds.task_id)
            actor = db.session.get(User, ds.user_id)
            assert task is not None and actor is not None
            active = db.session.scalar(select(Draw).where(Draw.task_id == task.id, Draw.status == "active"))
            if active is not None:
                void_draw(active, actor, "基准测试：重新抽取")
                db.session.commit()

            def job(task: Task = task, actor: User = actor) -> Draw:
                draw = perform_draw(task, actor=actor, witness=WITNESS, today=DRAW_DAY)
                db.session.commit()
                return draw

            seconds, draw = timed(job)
            draws.append(seconds)
            drawn = sum(v["count"] for v in draw.strata.values())
            log(
                f"draw run {n + 1}: {seconds:.3f} s ({drawn} drawn of {draw.snapshot_rows}); "
                f"floor {floors[-1]:.3f} s"
            )
            db.session.expire_all()

        draw_id = draw.id
        verifies: list[float] = []
        for n in range(runs):
            db.session.expire_all()
            target = db.session.get(Draw, draw_id)
            assert target is not None
            seconds, problems = timed(lambda target=target: verify_draw(target))
            verifies.append(seconds)
            db.session.rollback()
            log(f"verify run {n + 1}: {seconds:.3f} s, problems: {problems or 'none'}")
            if problems:
                log(f"verify_draw found problems in an honest draw: {problems[:3]}")
        db.session.remove()
    floor = median(floors)
    return [
        bench_line("draw_1m", median(draws), "s", median(draws) / floor),
        bench_line("draw_1m_peak_rss", rss, "MB", rss / 1024),
        bench_line("draws_verify_1m", median(verifies), "s", median(verifies) / floor),
    ]


def _child(url: str, out_dir: str, task_id: int) -> None:
    """One draw in a fresh process, rolled back: only its memory is of interest."""
    from server.draws.services import perform_draw
    from server.planning.models import Task

    app = make_app(url, Path(out_dir))
    with app.app_context():
        task = db.session.get(Task, task_id)
        assert task is not None
        perform_draw(task, witness=WITNESS, today=DRAW_DAY)
        db.session.rollback()


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], int(sys.argv[3]))
