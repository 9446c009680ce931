"""``SqlStore``: ``sync.store.Store`` on the application's SQLAlchemy session.

The field API builds one per request (``SqlStore(db.session)``) and hands it to
``sync.upstream.apply_push`` and ``sync.downstream.pull``; the request still commits once.

Concurrency. ``transaction()`` first takes the row lock of the ``sync_counter`` row with an UPDATE
that changes nothing, then opens a SAVEPOINT. The lock is held until the request's transaction ends
(releasing or rolling back the savepoint does not release it), so:

- pushes are serialised: every read a push makes (stored results, the records it merges into) happens
  after the previous push committed, so no write is merged onto a stale version (PostgreSQL's default
  READ COMMITTED gives each statement a fresh snapshot; on SQLite the UPDATE takes the write lock);
- ``next_seq()`` hands out numbers in commit order, which is what lets a pull never skip a change that
  commits late (PROTOCOL §8).

A failing push rolls back to the savepoint: none of its records, results or seqs remain, and the
caller's session stays usable.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, scoped_session

from server.fieldsync.models import SyncChange, SyncCounter, SyncRecord
from sync.store import Claim, StoredChange, StoredRecord

if TYPE_CHECKING:
    from sync.store import Store

COUNTER_ID = 1


class SqlStore:
    """The server's ``Store``. Never commits: the request (or CLI command) boundary does."""

    def __init__(self, session: Session | scoped_session[Any]) -> None:
        # ``db.session`` (a scoped session) in requests; a plain Session in scripts and tests.
        self.session = session
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:  # nested: part of the outer push, as in MemoryStore
            yield
            return
        self._lock_counter()
        self._depth += 1
        try:
            with self.session.begin_nested():
                yield
        finally:
            self._depth -= 1

    def get_record(self, record_type: str, record_id: str) -> StoredRecord | None:
        row = self.session.get(SyncRecord, (record_type, record_id))
        return _stored_record(row) if row is not None else None

    def put_record(self, record: StoredRecord) -> None:
        row = self.session.get(SyncRecord, (record.record_type, record.record_id))
        if row is None:
            row = SyncRecord(record_type=record.record_type, record_id=record.record_id)
            self.session.add(row)
        row.inspection_id = record.inspection_id
        row.version = record.version
        row.seq = record.seq
        # A new dict every time: the JSON column only notices reassignment, not in-place edits.
        row.claims = {
            name: [{"device_id": c.device_id, "value": c.value, "version": c.version} for c in claims]
            for name, claims in record.claims.items()
        }
        self.session.flush()

    def records_for_inspection(self, inspection_id: str) -> list[StoredRecord]:
        rows = self.session.scalars(select(SyncRecord).where(SyncRecord.inspection_id == inspection_id))
        # Sorted here, not by ORDER BY: a PostgreSQL collation may order hyphens differently from Python.
        return sorted((_stored_record(r) for r in rows), key=lambda r: (r.record_type, r.record_id))

    def get_change_result(self, change_id: str) -> StoredChange | None:
        row = self.session.get(SyncChange, change_id)
        return StoredChange(row.device_id, row.seq, row.result_json) if row is not None else None

    def save_change_result(self, change_id: str, change: StoredChange) -> None:
        self.session.add(
            SyncChange(
                change_id=change_id,
                device_id=change.device_id,
                seq=change.seq,
                result_json=change.result_json,
            )
        )
        # Flush now so a second save of the same id fails here (primary key), as the Protocol requires.
        self.session.flush()

    def next_seq(self) -> int:
        seq = self.session.execute(
            update(SyncCounter)
            .where(SyncCounter.id == COUNTER_ID)
            .values(next_seq=SyncCounter.next_seq + 1)
            .returning(SyncCounter.next_seq - 1),
            execution_options={"synchronize_session": False},
        ).scalar_one_or_none()
        if seq is None:
            self._ensure_counter()
            return self.next_seq()
        return int(seq)

    def last_seq(self) -> int:
        seq = self.session.scalar(select(SyncCounter.next_seq - 1).where(SyncCounter.id == COUNTER_ID))
        return int(seq) if seq is not None else 0

    def changes_since(
        self, after_seq: int, limit: int, inspection_ids: frozenset[str] | None
    ) -> list[StoredRecord]:
        query = select(SyncRecord).where(SyncRecord.seq > after_seq)
        if inspection_ids is not None:
            if not inspection_ids:
                return []
            query = query.where(SyncRecord.inspection_id.in_(sorted(inspection_ids)))
        rows = self.session.scalars(query.order_by(SyncRecord.seq).limit(limit))
        return [_stored_record(r) for r in rows]

    def _lock_counter(self) -> None:
        # An UPDATE that changes nothing: it takes the counter's row lock (PostgreSQL) or the database
        # write lock (SQLite) before the push reads anything, and holds it until the request commits.
        locked = self.session.execute(
            update(SyncCounter)
            .where(SyncCounter.id == COUNTER_ID)
            .values(next_seq=SyncCounter.next_seq)
            .returning(SyncCounter.id),
            execution_options={"synchronize_session": False},
        ).scalar_one_or_none()
        if locked is None:
            self._ensure_counter()
            self._lock_counter()

    def _ensure_counter(self) -> None:
        # The migration inserts the row; this covers a database whose tables were emptied (tests, a
        # restore of data only). ON CONFLICT: two first pushes racing both try to insert it.
        dialect = self.session.get_bind().dialect.name
        insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        self.session.execute(
            insert(SyncCounter)
            .values(id=COUNTER_ID, next_seq=1)
            .on_conflict_do_nothing(index_elements=["id"])
        )


def _stored_record(row: SyncRecord) -> StoredRecord:
    claims = {
        name: tuple(Claim(c["device_id"], c["value"], int(c["version"])) for c in values)
        for name, values in row.claims.items()
    }
    return StoredRecord(row.record_type, row.record_id, row.inspection_id, row.version, row.seq, claims)


if TYPE_CHECKING:
    # mypy checks SqlStore against the Protocol here, so a drift in sync/store.py fails the type check.
    _check: Store = SqlStore(Session())
