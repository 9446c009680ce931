"""Two phones edit one inspection offline; any delivery order converges and loses nothing.

Each device produces a fixed stream of changes from the state it pulled (base_version 1 for the
server-made inspection, 0 for everything else), as a phone that stays offline does. Delivery is then
arbitrary: the two outboxes interleave in any order, pushes are cut into any batch sizes, requests
get lost before reaching the server, responses get lost after it committed (the batch is retried,
possibly re-cut), stale copies of earlier pushes arrive late, and a change may appear twice in one
push. What the protocol requires — and the PWA's FIFO outbox guarantees — is only that a device
never delivers a change for the first time before all its earlier changes were delivered.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from sync.canonical import canonical_json
from sync.records import answer_id
from sync.store import MemoryStore
from sync.upstream import Access, apply_push, write_server_record

INS = "10000000-0000-4000-8000-000000000001"
CHECKPOINTS = (1, 2, 3)
DEVICES = ("dev-a", "dev-b")
APPENDED = ("finding", "photo", "signature")
HEX = "0123456789abcdef"


def seeded_store() -> MemoryStore:
    store = MemoryStore()
    fields = {"checkpoint_ids": list(CHECKPOINTS), "inspector_ids": [11, 12], "leader_id": 11, "notes": None}
    write_server_record(store, "inspection", INS, fields)
    return store


# One edit a device can make: (kind, checkpoint, field, value)
edit = st.one_of(
    st.tuples(
        st.just("answer"),
        st.sampled_from(CHECKPOINTS),
        st.sampled_from(["value", "note"]),
        st.sampled_from(["yes", "no", "not_checked", "not_applicable", None]),
    ),
    st.tuples(st.just("notes"), st.just(0), st.just("notes"), st.sampled_from(["甲", "乙", "丙", None])),
    st.tuples(
        st.sampled_from(APPENDED),
        st.sampled_from((None, *CHECKPOINTS)),
        st.just(""),
        st.text(HEX, min_size=1, max_size=3),
    ),
)


def make_stream(device: str, edits: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    changes: list[dict[str, Any]] = []
    created: set[int] = set()
    for n, (kind, checkpoint, name, value) in enumerate(edits):
        change_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{device}/{n}"))
        if kind == "answer":
            fields: dict[str, Any] = {name: value if name == "value" else (value and f"{device}:{value}")}
            if checkpoint not in created:  # the first write creates the record: it names what it belongs to
                fields |= {"inspection_id": INS, "checkpoint_id": checkpoint}
                created.add(checkpoint)
            record = ("answer", answer_id(INS, checkpoint), "upsert", fields)
        elif kind == "notes":
            record = ("inspection", INS, "upsert", {"notes": value and f"{device}:{value}"})
        else:
            record = (kind, change_id, "append", appended_fields(kind, device, n, checkpoint, value))
        record_type, record_id, op, fields = record
        base = 1 if record_type == "inspection" else 0
        changes.append(
            {
                "change_id": change_id,
                "record_type": record_type,
                "record_id": record_id,
                "op": op,
                "base_version": base,
                "fields": fields,
                "client_time": f"2025-06-03T10:{n % 60:02d}:00+08:00",
            }
        )
    return changes


def appended_fields(kind: str, device: str, n: int, checkpoint: int | None, text: str) -> dict[str, Any]:
    digest = (text * 64)[:64]
    when = "2025-06-03T10:00:00+08:00"
    if kind == "finding":
        return {
            "inspection_id": INS,
            "checkpoint_id": checkpoint,
            "description": f"{device} {n} {text}",
            "recorded_by": 11,
            "recorded_at": when,
        }
    if kind == "photo":
        return {
            "inspection_id": INS,
            "sha256": digest,
            "checkpoint_id": checkpoint,
            "taken_at": when,
            "device_id": device,
        }
    return {
        "inspection_id": INS,
        "signer_role": "inspector",
        "signer_id": 11 if device == "dev-a" else 12,
        "signer_name": device,
        "content_hash": digest,
        "png_sha256": digest,
        "signed_at": when,
        "device_id": device,
    }


@dataclass
class Outbox:
    device: str
    pending: list[dict[str, Any]]
    sent: list[dict[str, Any]] = field(default_factory=list)  # delivered at least once


@dataclass
class Run:
    store: MemoryStore
    first_results: dict[str, str] = field(default_factory=dict)  # change_id -> canonical result JSON

    def push(self, device: str, changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        body = apply_push(self.store, device, changes, Access(frozenset({INS})))
        results = body["results"]
        assert isinstance(results, list)
        for change, result in zip(changes, results, strict=True):
            assert isinstance(result, dict)
            assert result["change_id"] == change["change_id"]
            assert result["status"] != "rejected", result
            # A replay returns the stored result byte for byte.
            first = self.first_results.setdefault(str(change["change_id"]), canonical_json(result))
            assert canonical_json(result) == first
        return [r for r in results if isinstance(r, dict)]


def deliver(streams: dict[str, list[dict[str, Any]]], plan: list[tuple[int, int, int, int]]) -> MemoryStore:
    """Deliver every stream following ``plan``; each step is (device, batch size, fate, extra)."""
    run = Run(seeded_store())
    boxes = [Outbox(d, list(streams[d])) for d in DEVICES]
    steps = iter(plan)
    while any(box.pending for box in boxes):
        device_ix, size, fate, extra = next(steps, (0, 8, 0, 0))
        box = boxes[device_ix % 2] if boxes[device_ix % 2].pending else next(b for b in boxes if b.pending)
        batch = box.pending[: 1 + size % 8]
        if fate == 1:  # the request is lost before it reaches the server
            continue
        if fate == 2 and box.sent:  # a stale copy of an earlier push arrives late
            old = box.sent[extra % len(box.sent) :][:3]
            run.push(box.device, old)
            continue
        sent = list(batch)
        if fate == 3:  # the same change twice in one push (the copy after the original: order holds)
            k = extra % len(batch)
            sent.insert(k + 1 + extra % (len(batch) - k), batch[k])
        run.push(box.device, sent)
        box.sent.extend(batch)
        if fate == 4:  # committed, but the response is lost: the outbox keeps the batch and retries
            continue
        del box.pending[: len(batch)]
    return run.store


def state_of(store: MemoryStore) -> dict[tuple[str, str], Any]:
    """The server state modulo bookkeeping (versions, seqs): current values and every claim by device."""
    return {
        key: (
            canonical_json(record.fields()),
            sorted(
                (name, sorted((c.device_id, canonical_json(c.value)) for c in claims))
                for name, claims in record.claims.items()
            ),
        )
        for key, record in store.records.items()
    }


plan_step = st.tuples(st.integers(0, 1), st.integers(0, 7), st.integers(0, 4), st.integers(0, 50))


@settings(max_examples=150, deadline=None)
@given(
    edits_a=st.lists(edit, max_size=12),
    edits_b=st.lists(edit, max_size=12),
    plan=st.lists(plan_step, max_size=40),
)
def test_any_delivery_converges_and_loses_nothing(
    edits_a: list[tuple[Any, ...]], edits_b: list[tuple[Any, ...]], plan: list[tuple[int, int, int, int]]
) -> None:
    streams = {"dev-a": make_stream("dev-a", edits_a), "dev-b": make_stream("dev-b", edits_b)}
    final = deliver(streams, plan)

    # The same state as plain in-order delivery, A first or B first.
    a_first = deliver(streams, [(0, 7, 0, 0)] * 100)
    b_first = deliver(streams, [(1, 7, 0, 0)] * 100)
    assert state_of(final) == state_of(a_first) == state_of(b_first)

    # Every appended finding, photo and signature is present exactly once, as written.
    appended = [c for s in streams.values() for c in s if c["op"] == "append"]
    stored_appends = [r for r in final.records.values() if r.record_type in APPENDED]
    assert sorted(r.record_id for r in stored_appends) == sorted(c["record_id"] for c in appended)
    for change in appended:
        record = final.records[(change["record_type"], change["record_id"])]
        assert canonical_json(record.fields()) == canonical_json(change["fields"])

    # No value a device wrote is lost: its last write to each field is still its claim there, so it is
    # either the current value or one side of a clash kept for the team leader.
    for device, stream in streams.items():
        last: dict[tuple[str, str, str], Any] = {}
        for change in stream:
            for name, value in change["fields"].items():
                last[(change["record_type"], change["record_id"], name)] = value
        for (record_type, record_id, name), value in last.items():
            record = final.records[(record_type, record_id)]
            claims = {c.device_id: c.value for c in record.claims[name]}
            assert canonical_json(claims[device]) == canonical_json(value)
            conflicted = {str(c["field"]) for c in record.conflicts()}
            assert canonical_json(record.fields()[name]) == canonical_json(value) or name in conflicted

    # Every clash is real: both devices wrote the field, with different last values.
    for record in final.records.values():
        for clash in record.conflicts():
            values = clash["values"]
            assert isinstance(values, list)
            assert {v["device_id"] for v in values if isinstance(v, dict)} == set(DEVICES)
