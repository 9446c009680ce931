"""The `flask planning` commands."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import select

from server.directory.models import Department
from server.extensions import db
from server.planning.importing import SEED_PLAN
from server.planning.models import Plan


def test_load_seed_and_publish(app: Flask, bureau: Department) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["planning", "load-seed", "--department", bureau.code])
    assert result.exit_code == 0, result.output
    assert "16 tasks" in result.output
    plan = db.session.scalar(select(Plan))
    assert plan is not None
    result = runner.invoke(args=["planning", "publish", str(plan.id)])
    assert result.exit_code == 0 and "published" in result.output
    result = runner.invoke(args=["planning", "load-seed", "--department", bureau.code])
    assert result.exit_code == 1 and "plan_exists" in result.output


def test_import_dry_run_and_errors(app: Flask, bureau: Department, tmp_path: Path) -> None:
    runner = app.test_cli_runner()
    base = ["planning", "import", "--department", bureau.code, "--year", "2025", "--title", "计划"]
    result = runner.invoke(args=[*base, "--dry-run", str(SEED_PLAN)])
    assert result.exit_code == 0, result.output
    assert "new_item" in result.output and "nothing was changed" in result.output
    assert db.session.scalar(select(Plan)) is None
    bad = tmp_path / "bad.csv"
    bad.write_text(SEED_PLAN.read_text("utf-8").replace("7月—11月", "七到十一月", 1), "utf-8")
    result = runner.invoke(args=[*base, str(bad)])
    assert result.exit_code == 1
    assert "line    2" in result.output and "bad_window" in result.output
    assert db.session.scalar(select(Plan)) is None
    result = runner.invoke(
        args=["planning", "import", "--department", "NOPE", "--year", "2025", "--title", "x", str(SEED_PLAN)]
    )
    assert result.exit_code == 1 and "no department" in result.output
