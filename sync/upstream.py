"""Applying a device's push: ``apply_push`` (and ``write_server_record`` for the server's own writes).

Idempotency: every change carries a client-generated ``change_id``. The first time a change arrives
its result is computed, stored as canonical JSON under that id and returned; every later delivery of
the same id (a retry after a lost response, a duplicate in the same push) returns those stored bytes
and changes nothing. A rejection is final for its change id too: to try again the device makes a new
change.

Ordering: all of a push's changes are applied in one store transaction, in the order sent. Each new
change takes the next ``seq`` from the store inside that transaction; the record it writes carries
that seq, which is what pulls page through.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sync.canonical import JSON, canonical_json, same_json
from sync.conflicts import merge
from sync.downstream import encode_cursor
from sync.errors import change_error
from sync.records import SPECS, answer_id, field_errors, outcome_id
from sync.store import SERVER_DEVICE, Claim, Store, StoredChange, StoredRecord


@dataclass(frozen=True)
class Access:
    """What the pushing device's user may do: the server fills this from team membership.

    ``inspections``: the inspection ids the user is assigned to (None: any, for trusted tools and
    tests). ``leads``: the inspections where the user is team leader and so may resolve clashes.
    ``locked``: inspections that take no device writes now (submitted for review, approved,
    published, archived); a change to one is rejected with ``sync_inspection_locked``.
    ``people``: the inspector ids the user writes as — an inspector's signature (``signer_id``), who
    recorded a finding or refusal (``recorded_by``), who checked in (``inspector_id``). Naming anyone
    else is ``sync_forbidden``: one phone must not sign for the second inspector of the two-person
    rule. None: not checked (trusted tools and tests).
    """

    inspections: frozenset[str] | None = None
    leads: frozenset[str] = frozenset()
    locked: frozenset[str] = frozenset()
    people: frozenset[int] | None = None


class _Reject(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


def apply_push(
    store: Store, device_id: str, changes: Sequence[Mapping[str, Any]], access: Access | None = None
) -> dict[str, JSON]:
    """Apply validated changes (``messages.PushRequestSchema``) and return the PushResponse body."""
    access = access or Access()
    results: list[JSON] = []
    with store.transaction():
        for change in changes:
            change_id = str(change["change_id"])
            stored = store.get_change_result(change_id)
            if stored is not None and stored.device_id != device_id:
                # Not stored under this id: the id belongs to the other device's change.
                refused = _result(
                    change_id, "rejected", 0, error=("sync_change_id_reused", "used by another device")
                )
                results.append(cast(JSON, json.loads(canonical_json(refused))))
                continue
            if stored is None:
                seq = store.next_seq()
                result_json = canonical_json(_apply_one(store, device_id, change, seq, access))
                stored = StoredChange(device_id, seq, result_json)
                store.save_change_result(change_id, stored)
            results.append(cast(JSON, json.loads(stored.result_json)))
        cursor = encode_cursor(store.last_seq())
    return {"results": results, "cursor": cursor}


def _result(
    change_id: str,
    status: str,
    version: int,
    conflicts: list[dict[str, JSON]] | None = None,
    error: tuple[str, str] | None = None,
) -> dict[str, JSON]:
    out: dict[str, JSON] = {"change_id": change_id, "status": status, "record_version": version}
    if conflicts:
        out["conflicts"] = list(conflicts)
    if error:
        out["error"] = change_error(*error)
    return out


def _apply_one(
    store: Store, device_id: str, change: Mapping[str, Any], seq: int, access: Access
) -> dict[str, JSON]:
    change_id = str(change["change_id"])
    record_type = str(change["record_type"])
    record_id = str(change["record_id"])
    record = store.get_record(record_type, record_id) if record_type in SPECS else None
    try:
        inspection_id = _check(store, change, record, access)
    except _Reject as exc:
        return _result(change_id, "rejected", record.version if record else 0, error=(exc.code, exc.detail))
    spec = SPECS[record_type]
    result = merge(
        record,
        device_id=device_id,
        base_version=int(change["base_version"]),
        fields=change["fields"],
        append_only=spec.append_only,
        may_resolve=inspection_id in access.leads,
    )
    if result.changed:
        store.put_record(
            StoredRecord(record_type, record_id, inspection_id, result.version, seq, result.claims)
        )
    return _result(change_id, result.status, result.version, result.clashes, result.error)


def _check(store: Store, change: Mapping[str, Any], record: StoredRecord | None, access: Access) -> str:
    """Everything that can make a change unacceptable before merging; returns its inspection id."""
    record_type = str(change["record_type"])
    record_id = str(change["record_id"])
    values: Mapping[str, JSON] = change["fields"]
    spec = SPECS.get(record_type)
    if spec is None:
        raise _Reject("sync_unknown_record_type", f"unknown record_type {record_type!r}")
    if change["op"] != spec.op:
        raise _Reject("sync_bad_change", f"{record_type} records take op {spec.op!r}")
    if spec.append_only and change["base_version"] != 0:
        raise _Reject("sync_bad_change", "an append has base_version 0")
    if not values:
        raise _Reject("sync_bad_change", "fields is empty")
    unknown = sorted(set(values) - spec.allowed)
    if unknown:
        raise _Reject("sync_field_not_allowed", f"{record_type} does not accept {', '.join(unknown)}")
    if record is not None:
        current = record.fields()
        moved = sorted(f for f in spec.immutable & set(values) if not same_json(values[f], current.get(f)))
        if moved:
            raise _Reject("sync_field_not_allowed", f"{', '.join(moved)} cannot change")
    errors = field_errors(record_type, values, creating=record is None)
    if errors:
        raise _Reject("sync_bad_change", canonical_json(errors))

    if record_type == "inspection":
        inspection_id = record_id
    elif record is not None:
        inspection_id = record.inspection_id
    else:
        inspection_id = str(values["inspection_id"])
    inspection = store.get_record("inspection", inspection_id)
    if inspection is None:
        raise _Reject("sync_unknown_inspection", f"no inspection {inspection_id}")
    if access.inspections is not None and inspection_id not in access.inspections:
        raise _Reject("sync_forbidden", f"not assigned to inspection {inspection_id}")
    if inspection_id in access.locked:
        raise _Reject("sync_inspection_locked", f"inspection {inspection_id} takes no changes now")
    if access.people is not None:
        for name in _PERSON_FIELDS.get(record_type, ()):
            person = values.get(name)
            if name == "signer_id" and values.get("signer_role") != "inspector":
                continue
            if person is not None and person not in access.people:
                raise _Reject("sync_forbidden", f"{name} {person} is not the device's user")

    if record is None and record_type == "answer":
        checkpoint = values["checkpoint_id"]
        if record_id != answer_id(inspection_id, cast(int, checkpoint)):
            raise _Reject("sync_bad_change", "record_id must be answer_id(inspection_id, checkpoint_id)")
        checkpoints = inspection.fields().get("checkpoint_ids")
        if not isinstance(checkpoints, list) or checkpoint not in checkpoints:
            raise _Reject("sync_bad_change", f"checkpoint {checkpoint} is not on this inspection's checklist")
    if record is None and record_type == "outcome" and record_id != outcome_id(inspection_id):
        raise _Reject("sync_bad_change", "an outcome's record_id is outcome_id(inspection_id)")
    if (
        record_type == "signature"
        and values.get("signer_role") == "inspector"
        and values.get("signer_id") is None
    ):
        raise _Reject("sync_bad_change", "an inspector's signature names signer_id")
    return inspection_id


# The fields of each record type that name the inspector who did it (see ``Access.people``).
_PERSON_FIELDS: dict[str, tuple[str, ...]] = {
    "signature": ("signer_id",),
    "finding": ("recorded_by",),
    "refusal": ("recorded_by",),
    "checkin": ("inspector_id",),
}


def write_server_record(
    store: Store,
    record_type: str,
    record_id: str,
    fields: Mapping[str, JSON],
    *,
    inspection_id: str | None = None,
) -> StoredRecord:
    """The server's own write (creating an assignment, or a leader resolving a clash on the web page).

    Authoritative, not merged: each written field ends with the single claim of ``SERVER_DEVICE``,
    which closes any clash on it. Fields are not checked against what devices may write (the server
    owns e.g. ``checkpoint_ids`` and ``inspector_ids`` of an inspection). Call inside the caller's
    transaction; it takes its own seq so devices pull the write.
    """
    record = store.get_record(record_type, record_id)
    version = (record.version if record else 0) + 1
    claims = dict(record.claims) if record else {}
    for name, value in fields.items():
        claims[name] = (Claim(SERVER_DEVICE, value, version),)
    if inspection_id is None:
        inspection_id = record.inspection_id if record else record_id
    written = StoredRecord(record_type, record_id, inspection_id, version, store.next_seq(), claims)
    store.put_record(written)
    return written
