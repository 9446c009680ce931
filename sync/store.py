"""The storage interface the server implements, and ``MemoryStore``, the reference used by the tests.

A record is stored as per-field *claims*: for each field, the latest value each device wrote that no
later write has superseded (see ``conflicts.merge``). A field with one distinct claimed value is
settled; with more it is a clash kept for the team leader. The record's version counts its writes;
``seq`` is the change-log position of its latest write, which is what a pull pages through.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Protocol

from sync.canonical import JSON, canonical_json

SERVER_DEVICE = "server"  # the writer id of server-side writes (assignments, web resolution)


@dataclass(frozen=True)
class Claim:
    device_id: str
    value: JSON
    version: int  # the record version this claim was written at


@dataclass(frozen=True)
class StoredRecord:
    record_type: str
    record_id: str
    inspection_id: str
    version: int
    seq: int
    claims: Mapping[str, tuple[Claim, ...]] = field(default_factory=dict)

    def fields(self) -> dict[str, JSON]:
        """The current value of every field: the settled value, or for a clash a deterministic pick."""
        return {name: current_value(claims) for name, claims in sorted(self.claims.items())}

    def conflicts(self) -> list[dict[str, JSON]]:
        """Open clashes: fields whose claims disagree, with every claimed value by device."""
        out: list[dict[str, JSON]] = []
        for name, claims in sorted(self.claims.items()):
            if is_clash(claims):
                values: list[JSON] = [
                    {"device_id": c.device_id, "value": c.value}
                    for c in sorted(claims, key=lambda c: c.device_id)
                ]
                out.append({"field": name, "values": values})
        return out


def is_clash(claims: tuple[Claim, ...]) -> bool:
    return len({canonical_json(c.value) for c in claims}) > 1


def current_value(claims: tuple[Claim, ...]) -> JSON:
    # While a clash is open the shown value is the claim of the smallest device id: arbitrary, but the
    # same on every server whatever order the changes arrived in, so replicas converge.
    return min(claims, key=lambda c: c.device_id).value if claims else None


@dataclass(frozen=True)
class StoredChange:
    device_id: str
    seq: int
    result_json: str  # canonical JSON of the push result; a replay returns exactly these bytes


class Store(Protocol):
    """What ``upstream``, ``downstream`` and ``content`` need from the server's database.

    Concurrency contract: ``transaction()`` is one database transaction. ``next_seq()`` must hand out
    numbers in commit order — a counter row incremented with ``UPDATE ... RETURNING`` holds its row lock
    until commit, so a later seq can never become visible before an earlier one. A PostgreSQL SEQUENCE
    does not give this (numbers are taken at nextval, not at commit) and would let a pull skip a change
    that commits late. Pulls run in one read transaction.
    """

    def transaction(self) -> AbstractContextManager[None]: ...

    def get_record(self, record_type: str, record_id: str) -> StoredRecord | None: ...

    def put_record(self, record: StoredRecord) -> None: ...

    def records_for_inspection(self, inspection_id: str) -> list[StoredRecord]: ...

    def get_change_result(self, change_id: str) -> StoredChange | None: ...

    def save_change_result(self, change_id: str, change: StoredChange) -> None: ...

    def next_seq(self) -> int: ...

    def last_seq(self) -> int: ...

    def changes_since(
        self, after_seq: int, limit: int, inspection_ids: frozenset[str] | None
    ) -> list[StoredRecord]: ...


class MemoryStore:
    """In-memory ``Store``. A transaction snapshots the state and restores it if the block raises."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], StoredRecord] = {}
        self.changes: dict[str, StoredChange] = {}
        self.seq = 0
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._depth:  # nested: part of the outer transaction, as a savepoint-free SQL session would be
            yield
            return
        saved = (dict(self.records), dict(self.changes), self.seq)
        self._depth += 1
        try:
            yield
        except BaseException:
            self.records, self.changes, self.seq = saved
            raise
        finally:
            self._depth -= 1

    def get_record(self, record_type: str, record_id: str) -> StoredRecord | None:
        return self.records.get((record_type, record_id))

    def put_record(self, record: StoredRecord) -> None:
        self.records[(record.record_type, record.record_id)] = record

    def records_for_inspection(self, inspection_id: str) -> list[StoredRecord]:
        found = [r for r in self.records.values() if r.inspection_id == inspection_id]
        return sorted(found, key=lambda r: (r.record_type, r.record_id))

    def get_change_result(self, change_id: str) -> StoredChange | None:
        return self.changes.get(change_id)

    def save_change_result(self, change_id: str, change: StoredChange) -> None:
        if change_id in self.changes:
            raise KeyError(f"change {change_id} already stored")  # a unique constraint in SQL
        self.changes[change_id] = change

    def next_seq(self) -> int:
        self.seq += 1
        return self.seq

    def last_seq(self) -> int:
        return self.seq

    def changes_since(
        self, after_seq: int, limit: int, inspection_ids: frozenset[str] | None
    ) -> list[StoredRecord]:
        found = [
            r
            for r in self.records.values()
            if r.seq > after_seq and (inspection_ids is None or r.inspection_id in inspection_ids)
        ]
        return sorted(found, key=lambda r: r.seq)[:limit]

    def snapshot(self) -> MemoryStore:
        """A deep copy, for tests that compare states."""
        return copy.deepcopy(self)
