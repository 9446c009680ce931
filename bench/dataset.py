"""A fresh SQLite database with a million targets, built through the migrations on every run.

The targets come from the demo's generator (``server.demo.TargetGenerator``: valid credit codes,
the demo's kind, status, risk-class and inspection-history mix, search grams), inserted with core
executemany batches. Nothing is cached between runs: a CI machine starts from nothing.
"""

from __future__ import annotations

import datetime as dt
import random
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask
from sqlalchemy import text

from server import Config, create_app
from server.demo import TargetGenerator
from server.extensions import db

OUT_DIR = Path(__file__).resolve().parent / "out"
DRAW_DAY = dt.date(2025, 6, 20)  # inside the demo data's year, so last year's history weighs in
# DOMAIN.md §3's provincial example, in basis points; U (unclassified) draws at the class-B rate.
RATIOS_BP = {"A": 100, "B": 200, "C": 1000, "D": 3000, "U": 200}
INSPECTORS = 60


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


@dataclass
class Dataset:
    app: Flask
    url: str
    out_dir: Path
    task_id: int
    user_id: int
    targets: int
    load_seconds: float


def make_app(url: str, out_dir: Path) -> Flask:
    return create_app(
        Config,
        {
            "SQLALCHEMY_DATABASE_URI": url,
            "VAR_DIR": out_dir,
            "BLOB_DIR": out_dir / "blobs",
            "SECRET_KEY": "bench-only",
        },
    )


@contextmanager
def fts_insert_trigger_paused() -> Iterator[None]:
    """Load without SQLite's full-text insert trigger on ``target``, then index everything at once.

    The migration's AFTER INSERT trigger indexes row by row (about 3x the cost of the insert
    itself); FTS5's 'rebuild' command does the same work in one pass over the content table. The
    trigger is put back verbatim from ``sqlite_master``, so the database ends exactly as the
    migrations left it, whatever the migrations say.
    """
    triggers = db.session.execute(
        text(
            "SELECT name, sql FROM sqlite_master "
            "WHERE type = 'trigger' AND tbl_name = 'target' AND sql LIKE '%AFTER INSERT%'"
        )
    ).all()
    indexes = db.session.scalars(
        text(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND sql LIKE 'CREATE VIRTUAL TABLE%fts5%' AND sql LIKE '%content=''target''%'"
        )
    ).all()
    for name, _ in triggers:
        db.session.execute(text(f'DROP TRIGGER "{name}"'))
    try:
        yield
        for name in indexes:
            db.session.execute(text(f'INSERT INTO "{name}"("{name}") VALUES (\'rebuild\')'))
    finally:
        for _, sql in triggers:
            db.session.execute(text(sql))


def build(targets: int, seed: int = 2025, out_dir: Path = OUT_DIR) -> Dataset:
    """Migrate a new database under ``out_dir`` and fill it; returns where it is and what is in it."""
    from flask_migrate import upgrade

    from server.accounts.services import create_user
    from server.demo import insert_targets
    from server.directory.models import TARGET_STATUSES, Checkpoint, Department, Inspector, Item
    from server.planning.models import Plan, Task, TaskItem

    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    url = f"sqlite:///{out_dir / 'bench.db'}"
    app = make_app(url, out_dir)
    with app.app_context():
        upgrade()
        started = time.perf_counter()
        dept = Department(code="140581-SJJ", name="高平市市场监督管理局", level="county")
        db.session.add(dept)
        items = []
        for n, name in enumerate(("登记事项检查", "公示信息检查"), start=1):
            item = Item(
                code=f"GP-{n:02d}",
                name=name,
                kind="general",
                department=dept,
                legal_basis="《企业信息公示暂行条例》",
            )
            item.checkpoints = [Checkpoint(position=1, text="与登记、公示信息一致", method="现场检查")]
            db.session.add(item)
            items.append(item)
        gen = TargetGenerator(random.Random(seed + 1))  # names of inspectors only
        for n in range(1, INSPECTORS + 1):
            db.session.add(
                Inspector(
                    code=f"GP{n:03d}",
                    name=gen.person(),
                    department=dept,
                    credential_no=f"1405812{n:04d}",
                    credential_valid_until=dt.date(2029, 12, 31),
                    kind="general",
                    specialties=[],
                )
            )
        user = create_user("bench-supervisor", "bench-only-password", "基准测试", ["supervisor"], None)
        user.department = dept
        plan = Plan(
            year=DRAW_DAY.year,
            department=dept,
            title="基准测试计划",
            status="published",
            published_at=dt.datetime.now(dt.UTC).replace(tzinfo=None),
        )
        task = Task(
            plan=plan,
            seq=1,
            name="全库不定向抽查（基准）",
            task_type="undirected",
            scope={"statuses": list(TARGET_STATUSES)},  # every target, whatever its kind or status
            base_ratio_bp=RATIOS_BP["U"],
            class_ratios_bp={k: v for k, v in RATIOS_BP.items() if k != "U"},
            window_start=dt.date(DRAW_DAY.year, 7, 1),
            window_end=dt.date(DRAW_DAY.year, 11, 30),
            initiating_department=dept,
            team_size=2,
        )
        task.item_links = [TaskItem(item=item, position=i) for i, item in enumerate(items)]
        db.session.add_all([plan, task])
        db.session.flush()
        with fts_insert_trigger_paused():
            count = insert_targets(TargetGenerator(random.Random(seed)).generate(targets))
        db.session.commit()
        load_seconds = time.perf_counter() - started
        dataset = Dataset(app, url, out_dir, task.id, user.id, count, load_seconds)
        db.session.remove()
        db.engine.dispose()
    log(f"{count} targets loaded in {load_seconds:.1f} s")
    return dataset
