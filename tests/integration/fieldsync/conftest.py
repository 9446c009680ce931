"""Field-sync store fixtures: a ``SqlStore`` on the test session, and the fixtures' shared inspections."""

from __future__ import annotations

import pytest
from flask import Flask

from server.extensions import db
from server.fieldsync.store import SqlStore
from sync.upstream import write_server_record
from tests.integration.fieldsync.helpers import INSPECTION, OTHER_INSPECTION, load_fixture


@pytest.fixture
def store(app: Flask) -> SqlStore:
    return SqlStore(db.session)


@pytest.fixture
def inspections(store: SqlStore) -> list[str]:
    """The two inspections every golden fixture starts from, written by the server (seq 1, 2), committed."""
    pre = load_fixture("01_push_new_answer.json")["preconditions"]
    with store.transaction():
        for rec in pre["records"]:
            write_server_record(store, rec["record_type"], rec["record_id"], rec["fields"])
    db.session.commit()
    return [INSPECTION, OTHER_INSPECTION]
