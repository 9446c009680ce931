"""The audit chain: verify finds every modified, inserted or deleted row; PostgreSQL refuses changes."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from server.audit.models import AuditCheckpoint, AuditEvent
from server.audit.services import check_chain, checkpoint_chain, event_hash, record_event, verify_chain
from server.extensions import db
from server.notifications.models import Notification
from tests.support.factories import login_page

NOW = dt.datetime(2025, 10, 31, 1, 0)


@pytest.fixture
def five(app: Flask) -> list[AuditEvent]:
    events = [record_event("test.step", "thing", n, details={"n": n, "名称": "检查"}) for n in range(1, 6)]
    db.session.commit()
    return events


def tamper(sql: str, **params: Any) -> None:
    """Change the log behind the application's back. On PostgreSQL that takes a superuser who first
    disables the append-only trigger (the tests connect as one)."""
    pg = db.engine.dialect.name == "postgresql"
    with db.engine.begin() as conn:
        if pg:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
            conn.execute(text("ALTER TABLE audit_checkpoint DISABLE TRIGGER audit_checkpoint_append_only"))
        conn.execute(text(sql), params)
        if pg:
            conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
            conn.execute(text("ALTER TABLE audit_checkpoint ENABLE TRIGGER audit_checkpoint_append_only"))
    db.session.expire_all()


def test_an_intact_chain_verifies(five: list[AuditEvent]) -> None:
    report = check_chain()
    assert report.problems == [] and report.events == 5 and report.head == (5, five[-1].hash)


def test_a_modified_row_is_named(five: list[AuditEvent]) -> None:
    details = json.dumps({"n": 99, "名称": "检查"}, ensure_ascii=False)
    tamper("UPDATE audit_event SET details = :d WHERE seq = 3", d=details)
    assert verify_chain() == ["seq 3: content does not match its hash (modified or inserted)"]


def test_a_modified_row_with_a_recomputed_hash_breaks_the_next_link(five: list[AuditEvent]) -> None:
    ev = five[2]
    forged = event_hash(ev.prev_hash, 3, ev.at.isoformat(), None, "test.step", "thing", "3", {"n": 99})
    tamper(
        "UPDATE audit_event SET details = :d, hash = :h WHERE seq = 3",
        d=json.dumps({"n": 99}),
        h=forged,
    )
    assert verify_chain() == ["seq 4: prev_hash does not match the previous row's hash"]


def test_deleted_rows_are_named(five: list[AuditEvent]) -> None:
    tamper("DELETE FROM audit_event WHERE seq IN (2, 3)")
    problems = verify_chain()
    assert problems[0] == "seq 2–3 missing (deleted?): the next row is seq 4"
    assert "seq 4: prev_hash does not match the previous row's hash" in problems
    tamper("DELETE FROM audit_event WHERE seq = 1")
    assert verify_chain()[0] == "seq 1–3 missing (deleted?): the next row is seq 4"


def test_an_inserted_row_is_named(five: list[AuditEvent]) -> None:
    tamper(
        "INSERT INTO audit_event (seq, at, actor_id, action, object_type, object_id, details,"
        " prev_hash, hash) VALUES (6, :at, NULL, 'inspection.approved', 'inspection', '1', '{}', :prev, :h)",
        at=NOW,
        prev=five[-1].hash,
        h="f" * 64,
    )
    assert verify_chain() == ["seq 6: content does not match its hash (modified or inserted)"]


def test_the_tail_and_a_rewritten_chain_are_caught_by_checkpoints(five: list[AuditEvent]) -> None:
    assert checkpoint_chain(NOW) == {"checked": 5, "checkpoint": 5}
    db.session.commit()
    assert checkpoint_chain(NOW) == {"checked": 0, "checkpoint": None}  # nothing new: nothing recorded
    tamper("DELETE FROM audit_event WHERE seq >= 4")
    assert verify_chain() == [
        "seq 5 missing: the log ends at seq 3 but the checkpoint of 2025-10-31T01:00:00Z names seq 5"
    ]
    # Rewriting the whole chain (every hash recomputed) still differs from the checkpoint.
    tamper("DELETE FROM audit_event")
    for n in range(1, 6):
        record_event("test.step", "thing", n, details={"n": n * 10})
    db.session.commit()
    assert verify_chain() == [
        "seq 5: hash differs from the checkpoint of 2025-10-31T01:00:00Z (chain rewritten?)"
    ]


def test_an_anchor_kept_outside_catches_a_rewrite_without_checkpoints(five: list[AuditEvent]) -> None:
    anchor = (5, five[-1].hash)
    tamper("DELETE FROM audit_event")
    for n in range(1, 6):
        record_event("test.step", "thing", n)
    db.session.commit()
    assert verify_chain() == []  # self-consistent: only something kept elsewhere can tell
    assert verify_chain([anchor]) == ["seq 5: hash differs from the anchor given (chain rewritten?)"]


def test_the_checkpoint_job_refuses_to_anchor_a_broken_chain(five: list[AuditEvent], make: Any) -> None:
    admin = make.user(roles=["admin"])
    tamper("UPDATE audit_event SET action = 'test.forged' WHERE seq = 4")
    result = checkpoint_chain(NOW)
    db.session.commit()
    assert result["problems"] == 1 and result["notified"] == 1
    assert db.session.scalar(select(AuditCheckpoint)) is None
    note = db.session.scalar(select(Notification))
    assert note is not None and note.user_id == admin.id and "seq 4" in note.params["problem"]
    assert checkpoint_chain(NOW)["notified"] == 0  # once per problem


def test_cli_verify_exits_non_zero_naming_the_seq(five: list[AuditEvent], app: Flask) -> None:
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0 and ok.output.startswith("OK: 5 events")
    head = runner.invoke(args=["audit", "head"])
    assert head.exit_code == 0 and head.output.strip() == f"5:{five[-1].hash}"
    tamper("UPDATE audit_event SET object_id = '7' WHERE seq = 2")
    bad = runner.invoke(args=["audit", "verify", "--anchor", head.output.strip()])
    assert bad.exit_code == 1
    assert "seq 2: content does not match its hash" in bad.output and "FAILED: 1 problems" in bad.output
    wrong = runner.invoke(args=["audit", "verify", "--anchor", "five:abc"])
    assert wrong.exit_code == 2 and "SEQ:SHA256" in wrong.output


@pytest.fixture
def plain_connection(app: Flask) -> Iterator[Any]:
    with db.engine.connect() as conn:
        yield conn


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_postgresql_refuses_update_and_delete(five: list[AuditEvent], plain_connection: Any) -> None:
    for sql in (
        "UPDATE audit_event SET action = 'x' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 5",
        "INSERT INTO audit_checkpoint (seq, hash, at) VALUES (5, 'h', now()); DELETE FROM audit_checkpoint",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            plain_connection.execute(text(sql))
        plain_connection.rollback()
    assert verify_chain() == []
    # Appending is what the log is for.
    record_event("test.more", "thing", 6)
    db.session.commit()
    assert check_chain().events == 6


def test_audit_page_filters_and_verifies(five: list[AuditEvent], client: FlaskClient, make: Any) -> None:
    admin = make.user(roles=["admin"], username="auditor")
    record_event("inspection.marked_late", "inspection", 42, actor_id=admin.id, details={"due": "2025-10-30"})
    db.session.commit()
    login_page(client, admin)
    page = client.get("/admin/audit").get_data(as_text=True)
    assert "inspection.marked_late" in page and "test.step" in page
    filtered = client.get("/admin/audit?action=inspection.&actor=auditor").get_data(as_text=True)
    assert "inspection.marked_late" in filtered and "test.step" not in filtered
    by_object = client.get("/admin/audit?object_type=thing&object_id=3").get_data(as_text=True)
    assert by_object.count('class="mono">test.step<') == 1
    today = dt.date.today().isoformat()
    assert "test.step" not in client.get("/admin/audit?until=2000-01-01").get_data(as_text=True)
    assert "以下条件无效" in client.get(f"/admin/audit?since=bad&until={today}").get_data(as_text=True)
    verified = client.get("/admin/audit?verify=1").get_data(as_text=True)
    assert "校验通过：6条记录" in verified  # the five and the marked-late event
    tamper("UPDATE audit_event SET object_id = '9' WHERE seq = 2")
    broken = client.get("/admin/audit?verify=1").get_data(as_text=True)
    assert "校验失败" in broken and "seq 2: content does not match its hash" in broken


def test_audit_page_is_for_admins(app: Flask, client: FlaskClient, make: Any) -> None:
    login_page(client, make.user(roles=["leader"], department=make.department()))
    assert client.get("/admin/audit").status_code == 403


def test_log_entries_link_to_the_object_they_are_about(app: Flask, client: FlaskClient, make: Any) -> None:
    from server.audit.views import OBJECT_PAGES, object_url

    admin = make.user(roles=["admin"])
    dept = make.department()
    record_event("department.updated", "department", dept.id, actor_id=admin.id)
    record_event("blob.uploaded", "blob", "ab" * 32, actor_id=admin.id)  # no page of its own
    db.session.commit()
    login_page(client, admin)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert f'<a href="/directory/departments/{dept.id}/edit">department {dept.id}</a>' in html
    assert f"blob {'ab' * 32}</td>" in html
    with app.test_request_context():
        # Every kind maps to a page that exists (url_for raises for an unknown endpoint or argument).
        assert all(object_url(kind, "7") for kind in OBJECT_PAGES)
        assert object_url("inspection", "not-a-number") is None
