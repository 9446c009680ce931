"""The merge policy, stated once in ``merge``.

Each field of a stored record holds *claims*: the latest value each device wrote that nobody has
superseded. A write by device D based on version B to field F:

1. drops D's own earlier claim on F — a device's later write replaces its earlier one (the protocol
   requires each device to deliver its changes in the order it made them);
2. drops every other claim on F written at a version <= B — D had seen it and chose to replace it —
   unless F is already in an open clash and D may not resolve clashes: an open clash is only closed by
   the team leader (or by every claim coming to agree);
3. keeps every claim written after B — D never saw it, so neither value may be lost;
4. adds D's claim.

If F's remaining claims disagree, F is a same-field clash: both (all) values are kept on the record and
listed in its ``conflicts`` until the team leader resolves it. Fields only one side changed merge
silently. Append-only records are written once: the same content again is a duplicate, different
content is refused. Nothing is ever dropped without the writer having seen it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sync.canonical import JSON, canonical_json, same_json
from sync.store import Claim, StoredRecord, current_value, is_clash


@dataclass(frozen=True)
class Merge:
    status: str  # applied | merged | conflict | duplicate | rejected
    version: int  # the record's version after the change (unchanged unless something changed)
    claims: Mapping[str, tuple[Claim, ...]] = field(default_factory=dict)
    clashes: list[dict[str, JSON]] = field(default_factory=list)  # {field, server_value, client_value}
    error: tuple[str, str] | None = None  # (code, detail) when rejected

    @property
    def changed(self) -> bool:
        return self.status in ("applied", "merged", "conflict")


def _claim_set(claims: tuple[Claim, ...]) -> frozenset[tuple[str, str]]:
    return frozenset((c.device_id, canonical_json(c.value)) for c in claims)


def merge(
    record: StoredRecord | None,
    *,
    device_id: str,
    base_version: int,
    fields: Mapping[str, JSON],
    append_only: bool,
    may_resolve: bool = False,
) -> Merge:
    """Apply one change's fields to ``record`` (None: the record does not exist yet).

    Status: ``applied`` — the change was based on the current version and nothing else was folded in,
    so the device's state now equals the server's at the returned version; ``merged`` — applied on top
    of writes the device has not seen (pull before using the new version as a base); ``conflict`` —
    at least one same-field clash is now open (listed in ``clashes``); ``duplicate`` — the record
    already held exactly this; ``rejected`` — see ``error``.
    """
    version = record.version if record else 0
    if base_version > version:
        return Merge(
            "rejected",
            version,
            error=("sync_base_version_ahead", f"base_version {base_version} > server version {version}"),
        )
    if append_only:
        if record is None:
            created = {name: (Claim(device_id, value, 1),) for name, value in fields.items()}
            return Merge("applied", 1, created)
        if same_json(record.fields(), dict(fields)):
            return Merge("duplicate", version, record.claims)
        return Merge(
            "rejected",
            version,
            error=("sync_append_only", f"{record.record_type} {record.record_id} is append-only"),
        )

    new_version = version + 1
    claims: dict[str, tuple[Claim, ...]] = dict(record.claims) if record else {}
    clashes: list[dict[str, JSON]] = []
    changed = False
    for name in sorted(fields):
        value = fields[name]
        old = claims.get(name, ())
        locked = is_clash(old) and not may_resolve
        keep = tuple(c for c in old if c.device_id != device_id and (c.version > base_version or locked))
        mine = next((c for c in old if c.device_id == device_id and same_json(c.value, value)), None)
        new = tuple(sorted((*keep, mine or Claim(device_id, value, new_version)), key=lambda c: c.device_id))
        if _claim_set(new) != _claim_set(old):
            claims[name] = new
            changed = True
        others = tuple(c for c in claims[name] if not same_json(c.value, value))
        if others:
            clashes.append({"field": name, "server_value": current_value(others), "client_value": value})

    if not changed:
        return Merge("duplicate", version, claims, clashes)
    if clashes:
        return Merge("conflict", new_version, claims, clashes)
    return Merge("applied" if base_version == version else "merged", new_version, claims)
