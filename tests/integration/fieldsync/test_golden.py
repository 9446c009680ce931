"""Every golden fixture (tests/fixtures/sync) replayed against ``SqlStore`` gives the stored responses."""

from __future__ import annotations

from typing import Any, cast

import pytest
from flask import Flask

from server.extensions import db
from server.fieldsync.store import SqlStore
from sync.canonical import canonical_json
from sync.golden import Server, grant_access
from sync.upstream import write_server_record
from tests.integration.fieldsync.helpers import FIXTURES, load_fixture

FIXTURE_NAMES = sorted(p.name for p in FIXTURES.glob("*.json"))


def sql_server(pre: dict[str, Any]) -> Server:
    """``golden.Server.from_preconditions`` with the database store in place of a MemoryStore."""
    store = SqlStore(db.session)
    # golden.Server only calls the Store methods on it; its annotation names the reference store.
    server = Server(store=cast(Any, store))
    with store.transaction():
        for rec in pre.get("records", []):
            write_server_record(
                store,
                rec["record_type"],
                rec["record_id"],
                rec["fields"],
                inspection_id=rec.get("inspection_id"),
            )
    db.session.commit()
    server.blobs.update(pre.get("blobs", []))
    for device, grant in pre.get("access", {}).items():
        server.access[device] = grant_access(grant)
    return server


def test_fixtures_are_found() -> None:
    assert len(FIXTURE_NAMES) >= 10


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_golden_fixture_replays_exactly(app: Flask, name: str) -> None:
    fixture = load_fixture(name)
    server = sql_server(fixture.get("preconditions", {}))
    for number, step in enumerate(fixture["steps"], start=1):
        got = server.handle(step)
        # Each step is its own request: it commits, and the next one reads from the database.
        db.session.commit()
        db.session.expire_all()
        assert canonical_json(got) == canonical_json(step["response"]), (
            f"{name} step {number} ({step['call']})"
        )
