"""The target_search_index migration: applies, indexes existing rows, and downgrades cleanly."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text

from server import TestConfig, create_app
from server.directory.grams import name_grams, query_grams
from server.extensions import db
from tests.support.pg import PgCluster, app_overrides

BEFORE = "ebfd0393f47b"


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'search.db'}"
    cluster: PgCluster = request.getfixturevalue("pg_cluster")
    return cluster.create_database(f"search_{tmp_path.name[-12:].lower().replace('-', '_')}")


def _index_objects(conn) -> set[str]:  # type: ignore[no-untyped-def]
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT name FROM sqlite_master WHERE name LIKE 'target_fts%'"))
    else:
        rows = conn.execute(
            text("SELECT indexname FROM pg_indexes WHERE indexname = 'ix_target_search_grams_fts'")
        )
    return {r[0] for r in rows}


def _matches(conn, fragment: str) -> list[str]:  # type: ignore[no-untyped-def]
    grams = " ".join(query_grams(fragment)[0])
    if conn.dialect.name == "sqlite":
        sql = (
            "SELECT t.code FROM target_fts JOIN target t ON t.id = target_fts.rowid WHERE target_fts MATCH :m"
        )
        return [r[0] for r in conn.execute(text(sql), {"m": f'"{grams}"'})]
    sql = (
        "SELECT code FROM target WHERE to_tsvector('simple', search_grams) @@ phraseto_tsquery('simple', :m)"
    )
    return [r[0] for r in conn.execute(text(sql), {"m": grams})]


def test_upgrade_indexes_existing_rows_and_downgrade_removes_everything(
    fresh_url: str, tmp_path: Path
) -> None:
    app = create_app(TestConfig, app_overrides(fresh_url, tmp_path))
    with app.app_context():
        upgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            assert _index_objects(conn) == set()
            conn.execute(
                text(
                    "INSERT INTO target (code, name, kind, industry, district, address, legal_rep,"
                    " status, search_grams, created_at, updated_at) VALUES ('P-1', '文水县好味食品店',"
                    " 'project', '', '', '', '', 'active', :g, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"g": name_grams("文水县好味食品店")},
            )
        upgrade()
        with db.engine.begin() as conn:
            assert _index_objects(conn)
            assert _matches(conn, "好味食品") == ["P-1"]  # rows that existed before are indexed
            assert _matches(conn, "五金") == []
        downgrade(revision=BEFORE)
        with db.engine.begin() as conn:
            assert _index_objects(conn) == set()
            assert "target" in inspect(conn).get_table_names()
            # Writes still work without the triggers' table.
            conn.execute(text("UPDATE target SET search_grams = '' WHERE code = 'P-1'"))
        upgrade()
        with db.engine.begin() as conn:
            assert _matches(conn, "好味食品") == []  # rebuilt from the current grams
        db.engine.dispose()
