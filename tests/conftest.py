"""Fixtures shared by every test: the app on SQLite and on a throwaway PostgreSQL 15.

Integration tests take ``app`` (or ``client``), which is parametrized over both databases, so
the same suite runs on each. The schema is built once per database through the migrations; after
each test every table is emptied. Under CI=true a missing PostgreSQL fails instead of skipping.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from server import TestConfig, create_app
from tests.support.pg import PgCluster, app_overrides, start_cluster

# Run under a non-UTC zone so any code that confuses local time and UTC shows it.
os.environ["TZ"] = "America/Phoenix"
time.tzset()

IN_CI = os.environ.get("CI") == "true"


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    try:
        cluster = start_cluster()
    except (FileNotFoundError, OSError) as exc:
        if IN_CI:
            raise
        pytest.skip(f"PostgreSQL 15 server not available: {exc}")
    yield cluster
    cluster.stop()


def _migrate(url: str, var_dir: Path) -> None:
    from flask_migrate import upgrade

    app = create_app(TestConfig, app_overrides(url, var_dir))
    with app.app_context():
        upgrade()
        from server.extensions import db

        db.engine.dispose()


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    var_dir = tmp_path_factory.mktemp("schema")
    if request.param == "sqlite":
        url = f"sqlite:///{var_dir / 'test.db'}"
    else:
        cluster: PgCluster = request.getfixturevalue("pg_cluster")
        url = cluster.create_database("spotcheck_test")
    _migrate(url, var_dir)
    return url


def _empty_all_tables(app: Flask) -> None:
    from server.extensions import db

    with app.app_context():
        db.session.remove()
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(
                    text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE")
                )
            else:
                for t in tables:
                    conn.execute(text(f'DELETE FROM "{t}"'))
        db.engine.dispose()


class SessionResettingClient(FlaskClient):
    """Each request runs in its own app context, as in production: its own ``g`` (CSRF token,
    locale) and its own database session. The test's session is rolled back around each request,
    so it holds no open transaction while the request writes and sees committed data afterwards."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        from server.extensions import db

        db.session.rollback()
        with self.application.app_context():
            resp = super().open(*args, **kwargs)
        db.session.rollback()
        return resp


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(TestConfig, app_overrides(database_url, tmp_path))
    app.test_client_class = SessionResettingClient
    with app.app_context():
        yield app
    _empty_all_tables(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make(app: Flask) -> Any:
    """Factory functions: make.department(), make.user(roles=...), make.token(user), ..."""
    from tests.support import factories

    return factories
