"""``SqlStore``: all-or-nothing pushes, idempotent replays, pulls by cursor, and seqs in commit order."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, scoped_session

from server.extensions import db
from server.fieldsync.models import SyncChange, SyncCounter, SyncRecord
from server.fieldsync.store import SqlStore
from sync.downstream import decode_cursor, pull
from sync.store import Store, StoredChange, StoredRecord
from sync.upstream import Access, apply_push, write_server_record
from tests.integration.fieldsync.helpers import INSPECTION, OTHER_INSPECTION, answer_change

TEAM = Access(frozenset({INSPECTION}), frozenset({INSPECTION}))


def counts() -> tuple[int, int]:
    records = db.session.scalar(select(func.count()).select_from(SyncRecord))
    changes = db.session.scalar(select(func.count()).select_from(SyncChange))
    return int(records or 0), int(changes or 0)


class FailingStore(SqlStore):
    """Fails while applying the third change: in Python, or in the database (a duplicate key)."""

    def __init__(self, session: Session | scoped_session[Any], mode: str) -> None:
        super().__init__(session)
        self.mode = mode
        self.saved: list[str] = []

    def save_change_result(self, change_id: str, change: StoredChange) -> None:
        self.saved.append(change_id)
        if len(self.saved) == 3:
            if self.mode == "python":
                raise RuntimeError("the disk is full")
            change_id = self.saved[0]  # the database refuses it: primary key
        super().save_change_result(change_id, change)


def test_sql_store_satisfies_the_protocol(store: SqlStore) -> None:
    checked: Store = store  # mypy: SqlStore implements sync.store.Store
    assert checked.last_seq() == 0


@pytest.mark.parametrize("mode", ["python", "database"])
def test_push_failing_at_the_third_change_leaves_nothing(
    app: Flask, inspections: list[str], mode: str
) -> None:
    changes = [answer_change(1, 101, "yes"), answer_change(2, 102, "no"), answer_change(3, 101, "no", 1)]
    before = counts()
    failing = FailingStore(db.session, mode)
    with pytest.raises(RuntimeError if mode == "python" else IntegrityError):
        apply_push(failing, "dev-a", changes, TEAM)
    # The request boundary commits what is left: the session is still usable and holds nothing new.
    db.session.commit()
    store = SqlStore(db.session)
    assert counts() == before
    assert store.last_seq() == 2
    assert store.get_change_result(changes[0]["change_id"]) is None
    assert store.get_record("answer", changes[0]["record_id"]) is None

    # The device retries the same push; it applies from the next seq, without gaps.
    response: Any = apply_push(store, "dev-a", changes, TEAM)
    db.session.commit()
    assert [r["status"] for r in response["results"]] == ["applied", "applied", "applied"]
    assert store.last_seq() == 5
    answer = store.get_record("answer", changes[0]["record_id"])
    assert answer is not None and (answer.version, answer.seq, answer.fields()["value"]) == (2, 5, "no")


def test_replayed_change_returns_the_stored_result(
    app: Flask, store: SqlStore, inspections: list[str]
) -> None:
    change = answer_change(1, 101, "yes")
    first: Any = apply_push(store, "dev-a", [change], TEAM)
    db.session.commit()
    stored = store.get_change_result(change["change_id"])
    assert stored is not None and (stored.device_id, stored.seq) == ("dev-a", 3)
    state = (counts(), store.last_seq(), store.get_record("answer", change["record_id"]))

    # A retry after a lost response, even with different content under the same id, changes nothing.
    retry = dict(change, fields=dict(change["fields"], value="no"))
    again: Any = apply_push(SqlStore(db.session), "dev-a", [retry, retry], TEAM)
    db.session.commit()
    db.session.expire_all()
    assert again["results"] == [first["results"][0]] * 2
    assert (counts(), store.last_seq(), store.get_record("answer", change["record_id"])) == state
    assert store.get_change_result(change["change_id"]) == stored

    # The same id from another device is refused and not stored.
    other: Any = apply_push(store, "dev-b", [change], TEAM)
    assert other["results"][0]["error"]["code"] == "sync_change_id_reused"
    assert store.get_change_result(change["change_id"]) == stored


def test_saving_a_change_id_twice_fails(store: SqlStore) -> None:
    with store.transaction():
        store.save_change_result("c1", StoredChange("dev-a", store.next_seq(), "{}"))
    with pytest.raises(IntegrityError), store.transaction():
        store.save_change_result("c1", StoredChange("dev-a", store.next_seq(), "{}"))
    assert store.last_seq() == 1


def test_records_round_trip_exactly(store: SqlStore) -> None:
    odd_values: dict[str, Any] = {
        "n": None,
        "t": True,
        "one": 1,
        "f": 1.5,
        "zh": "合理缺项",
        "l": [1, {"a": []}],
    }
    with store.transaction():
        written = write_server_record(store, "inspection", INSPECTION, odd_values)
    db.session.commit()
    db.session.expire_all()
    assert store.get_record("inspection", INSPECTION) == written
    assert store.records_for_inspection(INSPECTION) == [written]
    assert store.get_record("answer", INSPECTION) is None  # keyed by type and id


def test_pull_pages_by_cursor_in_seq_order(app: Flask, store: SqlStore, inspections: list[str]) -> None:
    apply_push(store, "dev-a", [answer_change(1, 101, "yes"), answer_change(2, 102, "no")], TEAM)
    with store.transaction():  # the server edits the first inspection last: it moves to the end
        write_server_record(store, "inspection", INSPECTION, {"state": "in_progress"})
        write_server_record(store, "inspection", OTHER_INSPECTION, {"state": "in_progress"})
    db.session.commit()

    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(10):
        page: Any = pull(store, cursor, 2, frozenset({INSPECTION}))
        seen.extend(page["changes"])
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    assert [(c["record_type"], c["seq"]) for c in seen] == [("answer", 3), ("answer", 4), ("inspection", 5)]
    assert decode_cursor(cursor, store.last_seq()) == 5
    empty: Any = pull(store, cursor, 2, frozenset({INSPECTION}))
    assert (empty["changes"], empty["cursor"], empty["has_more"]) == ([], cursor, False)

    everything = store.changes_since(0, 100, None)
    assert [r.seq for r in everything] == [3, 4, 5, 6]
    assert [r.seq for r in store.changes_since(3, 2, None)] == [4, 5]
    assert store.changes_since(0, 100, frozenset()) == []


def test_counter_row_is_recreated_when_missing(store: SqlStore) -> None:
    db.session.execute(delete(SyncCounter))
    assert store.last_seq() == 0
    with store.transaction():
        assert [store.next_seq(), store.next_seq()] == [1, 2]
    db.session.commit()
    assert db.session.get(SyncCounter, 1) is not None and store.last_seq() == 2


def test_concurrent_pushes_take_seqs_in_commit_order(app: Flask, inspections: list[str]) -> None:
    # Push A holds its transaction open; push B must wait for A's commit before taking a seq, so a
    # pull can never see B's seq while A's smaller one is still invisible.
    first = Session(db.engine)
    second = Session(db.engine)
    done: list[Any] = []

    def push_b() -> None:
        try:
            done.append(apply_push(SqlStore(second), "dev-b", [answer_change(2, 102, "no")], TEAM))
            second.commit()
        except Exception as exc:  # reported by the assertions below, not lost in the thread
            done.append(exc)

    try:
        a: Any = apply_push(SqlStore(first), "dev-a", [answer_change(1, 101, "yes")], TEAM)
        thread = threading.Thread(target=push_b)
        thread.start()
        time.sleep(0.5)
        assert done == [], "push B ran while push A held the counter"
        first.commit()
        thread.join(timeout=20)
        assert len(done) == 1 and isinstance(done[0], dict), done
    finally:
        first.close()
        second.close()
    db.session.expire_all()
    store = SqlStore(db.session)
    records: list[StoredRecord] = store.changes_since(2, 10, None)
    assert [(r.fields()["checkpoint_id"], r.seq) for r in records] == [(101, 3), (102, 4)]
    assert a["cursor"] != done[0]["cursor"]
