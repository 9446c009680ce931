"""The declarative base, naming convention and small column helpers shared by every model."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Deterministic constraint names so Alembic autogenerate and downgrades name the same thing.
# The largest value of an Integer id column on PostgreSQL (int4); routes and query arguments that
# name an object by id refuse anything larger rather than overflow in the driver.
MAX_ID = 2**31 - 1

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """Naive UTC timestamp: every *_at column stores UTC; display converts to Asia/Shanghai."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def configure_sqlite(engine: object) -> None:
    """SQLite pragmas for a web app: WAL lets readers go on while one writer writes (an import's
    progress stays readable, a page never waits for a draw), and NORMAL sync is durable in WAL mode
    except for the last transactions on power loss; busy_timeout makes a second writer wait
    instead of failing at once; foreign keys are enforced as on PostgreSQL."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    assert isinstance(engine, Engine)
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: object, _record: object) -> None:
        cursor = dbapi_conn.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")  # PostgreSQL enforces them; SQLite only if asked
        cursor.close()
