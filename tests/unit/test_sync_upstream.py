"""apply_push: idempotency, one transaction per push, seq order, the per-change checks."""

from __future__ import annotations

from typing import Any

import pytest

from sync.canonical import canonical_json
from sync.records import answer_id, outcome_id
from sync.store import MemoryStore
from sync.upstream import Access, apply_push, write_server_record

INS = "10000000-0000-4000-8000-000000000001"
A1 = answer_id(INS, 1)


def store_with_inspection() -> MemoryStore:
    store = MemoryStore()
    write_server_record(store, "inspection", INS, {"checkpoint_ids": [1, 2], "inspector_ids": [11, 12]})
    return store


def change(n: int, record_type: str, record_id: str, fields: dict[str, Any], base: int = 0) -> dict[str, Any]:
    op = "upsert" if record_type in ("inspection", "answer", "outcome") else "append"
    return {
        "change_id": f"c0000000-0000-4000-8000-{n:012d}",
        "record_type": record_type,
        "record_id": record_id,
        "op": op,
        "base_version": base,
        "fields": fields,
        "client_time": "2025-06-03T10:00:00+08:00",
    }


def answer(n: int, value: str, base: int = 0) -> dict[str, Any]:
    return change(n, "answer", A1, {"inspection_id": INS, "checkpoint_id": 1, "value": value}, base)


def statuses(body: dict[str, Any]) -> list[str]:
    return [r["status"] for r in body["results"]]


def test_replay_returns_stored_bytes_and_changes_nothing() -> None:
    store = store_with_inspection()
    first = apply_push(store, "a", [answer(1, "yes")])
    before = store.snapshot()
    again = apply_push(store, "a", [answer(1, "yes")])
    assert canonical_json(again["results"]) == canonical_json(first["results"])
    assert store.records == before.records and store.seq == before.seq


def test_replay_returns_the_original_result_even_after_later_writes() -> None:
    store = store_with_inspection()
    apply_push(store, "a", [answer(1, "yes")])
    apply_push(store, "b", [answer(2, "no")])
    assert apply_push(store, "a", [answer(1, "yes")])["results"] == [
        {"change_id": answer(1, "yes")["change_id"], "record_version": 1, "status": "applied"}
    ]


def test_a_failing_push_applies_nothing() -> None:
    class Exploding(MemoryStore):
        calls = 0

        def put_record(self, record: Any) -> None:
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("disk full")
            super().put_record(record)

    store = Exploding()
    write_server_record(store, "inspection", INS, {"checkpoint_ids": [1, 2]})
    before = store.snapshot()
    notes = change(2, "inspection", INS, {"notes": "x"}, base=1)
    with pytest.raises(RuntimeError):
        apply_push(store, "a", [answer(1, "yes"), notes])
    assert store.records == before.records and store.changes == {} and store.seq == before.seq
    # The retry, once the store works again, applies both.
    store.calls = -100
    assert statuses(apply_push(store, "a", [answer(1, "yes"), notes])) == ["applied", "applied"]


def test_each_change_takes_the_next_seq_inside_the_push() -> None:
    store = store_with_inspection()
    apply_push(store, "a", [answer(1, "yes"), change(2, "inspection", INS, {"notes": "n"}, base=1)])
    seqs = [c.seq for c in store.changes.values()]
    assert seqs == sorted(seqs) == [2, 3]
    assert store.records[("answer", A1)].seq == 2
    assert store.records[("inspection", INS)].seq == 3


def test_a_change_id_belongs_to_one_device() -> None:
    store = store_with_inspection()
    apply_push(store, "a", [answer(1, "yes")])
    result = apply_push(store, "b", [answer(1, "yes")])["results"][0]
    assert result["error"]["code"] == "sync_change_id_reused"


def test_immutable_fields_cannot_move() -> None:
    store = store_with_inspection()
    apply_push(store, "a", [answer(1, "yes")])
    moved = change(2, "answer", A1, {"checkpoint_id": 2}, base=1)
    same = change(3, "answer", A1, {"checkpoint_id": 1, "note": "ok"}, base=1)
    body = apply_push(store, "a", [moved, same])
    assert body["results"][0]["error"]["code"] == "sync_field_not_allowed"
    assert statuses(body) == ["rejected", "applied"]


def test_access_limits_writes_and_resolution() -> None:
    store = store_with_inspection()
    result = apply_push(store, "a", [answer(1, "yes")], Access(frozenset()))["results"][0]
    assert result["error"]["code"] == "sync_forbidden"
    assert ("answer", A1) not in store.records
    apply_push(store, "a", [answer(2, "yes")])
    apply_push(store, "b", [answer(3, "no")])  # clash, version 2
    member = Access(frozenset({INS}))
    leader = Access(frozenset({INS}), leads=frozenset({INS}))
    # A member who saw the clash cannot close it by writing again: it stays open.
    assert statuses(apply_push(store, "b", [answer(4, "no", base=2)], member)) == ["conflict"]
    assert store.records[("answer", A1)].conflicts()
    assert statuses(apply_push(store, "a", [answer(5, "no", base=3)], leader)) == ["applied"]
    assert store.records[("answer", A1)].conflicts() == []


def test_outcome_id_is_derived() -> None:
    store = store_with_inspection()
    wrong = change(1, "outcome", A1, {"inspection_id": INS, "code": "no_contact"})
    right = change(2, "outcome", outcome_id(INS), {"inspection_id": INS, "code": "no_contact"})
    assert statuses(apply_push(store, "a", [wrong, right])) == ["rejected", "applied"]


def test_inspector_signature_names_the_inspector() -> None:
    store = store_with_inspection()
    fields = {
        "inspection_id": INS,
        "signer_role": "inspector",
        "signer_id": None,
        "signer_name": "x",
        "content_hash": "0" * 64,
        "png_sha256": "1" * 64,
        "signed_at": "2025-06-03T10:00:00+08:00",
        "device_id": "a",
    }
    sig = change(1, "signature", "a0000000-0000-4000-8000-000000000001", fields)
    assert apply_push(store, "a", [sig])["results"][0]["error"]["code"] == "sync_bad_change"


def test_devices_cannot_create_inspections_or_write_server_fields() -> None:
    store = MemoryStore()
    body = apply_push(store, "a", [change(1, "inspection", INS, {"notes": "x"})])
    assert body["results"][0]["error"]["code"] == "sync_unknown_inspection"
    store = store_with_inspection()
    body = apply_push(store, "a", [change(2, "inspection", INS, {"inspector_ids": [1]}, base=1)])
    assert body["results"][0]["error"]["code"] == "sync_field_not_allowed"


def test_server_write_closes_a_clash() -> None:
    store = store_with_inspection()
    apply_push(store, "a", [answer(1, "yes")])
    apply_push(store, "b", [answer(2, "no")])
    assert store.records[("answer", A1)].conflicts()
    written = write_server_record(store, "answer", A1, {"value": "no"})
    assert written.conflicts() == [] and written.fields()["value"] == "no"
    assert written.inspection_id == INS and written.seq == store.last_seq()


def test_memory_store_transaction_is_reentrant() -> None:
    store = store_with_inspection()

    def nested() -> None:
        with store.transaction():
            with store.transaction():
                store.next_seq()
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        nested()
    assert store.seq == 1
