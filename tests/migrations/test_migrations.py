"""The schema exists only through migrations: one head, a clean round trip, and no drift."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade

from server import TestConfig, create_app
from server.extensions import db
from tests.support.pg import PgCluster, app_overrides

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def _app(url: str, tmp: Path):  # type: ignore[no-untyped-def]
    app = create_app(TestConfig, app_overrides(url, tmp))
    return app


def test_single_head() -> None:
    script = ScriptDirectory(str(MIGRATIONS))
    assert len(script.get_heads()) == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'mig.db'}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"mig_{tmp_path.name[-12:].lower().replace('-', '_')}")


def test_upgrade_downgrade_upgrade_and_no_drift(fresh_url: str, tmp_path: Path) -> None:
    app = _app(fresh_url, tmp_path)
    with app.app_context():
        upgrade()
        downgrade(revision="base")
        with db.engine.connect() as conn:
            from sqlalchemy import inspect

            leftover = set(inspect(conn).get_table_names()) - {"alembic_version"}
        assert leftover == set()
        upgrade()
        with db.engine.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, db.metadata)
        # Full-text search tables (SQLite) and the expression index (PostgreSQL) are created by
        # migrations but are not models; ignore them.
        diff = [
            d
            for d in diff
            if not (d[0] == "remove_table" and d[1].name.startswith("target_fts"))
            and not (d[0] == "remove_index" and d[1].name == "ix_target_search_grams_fts")
        ]
        assert diff == [], f"models and migrations differ: {diff}"
        db.engine.dispose()
