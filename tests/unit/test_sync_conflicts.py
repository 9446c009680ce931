"""The merge policy, case by case."""

from __future__ import annotations

from sync.conflicts import merge
from sync.store import Claim, StoredRecord

INS = "10000000-0000-4000-8000-000000000001"


def record(version: int, **claims: tuple[Claim, ...]) -> StoredRecord:
    return StoredRecord("answer", "r", INS, version, 1, claims)


def test_new_record_is_applied_at_version_one() -> None:
    m = merge(None, device_id="a", base_version=0, fields={"value": "yes"}, append_only=False)
    assert (m.status, m.version) == ("applied", 1)
    assert m.claims == {"value": (Claim("a", "yes", 1),)}


def test_base_ahead_of_server_is_rejected() -> None:
    m = merge(record(2), device_id="a", base_version=3, fields={"value": "no"}, append_only=False)
    assert m.status == "rejected"
    assert m.error is not None and m.error[0] == "sync_base_version_ahead"
    assert merge(None, device_id="a", base_version=1, fields={}, append_only=True).status == "rejected"


def test_fast_forward_replaces_what_the_device_had_seen() -> None:
    rec = record(2, value=(Claim("b", "yes", 2),))
    m = merge(rec, device_id="a", base_version=2, fields={"value": "no"}, append_only=False)
    assert (m.status, m.version) == ("applied", 3)
    assert m.claims["value"] == (Claim("a", "no", 3),)


def test_fields_only_one_side_changed_merge() -> None:
    rec = record(1, value=(Claim("a", "yes", 1),))
    m = merge(rec, device_id="b", base_version=0, fields={"note": "x"}, append_only=False)
    assert (m.status, m.version, m.clashes) == ("merged", 2, [])
    assert set(m.claims) == {"value", "note"}


def test_same_field_clash_keeps_both_values() -> None:
    rec = record(1, value=(Claim("a", "yes", 1),))
    m = merge(rec, device_id="b", base_version=0, fields={"value": "no"}, append_only=False)
    assert m.status == "conflict"
    assert m.clashes == [{"field": "value", "server_value": "yes", "client_value": "no"}]
    assert m.claims["value"] == (Claim("a", "yes", 1), Claim("b", "no", 2))


def test_equal_values_are_not_a_clash() -> None:
    rec = record(1, value=(Claim("a", "yes", 1),))
    m = merge(rec, device_id="b", base_version=0, fields={"value": "yes"}, append_only=False)
    assert (m.status, m.clashes) == ("merged", [])
    # Both devices vouch for it, so a later change by one of them does not silently erase the other.
    later = merge(
        record(m.version, **m.claims),
        device_id="a",
        base_version=0,
        fields={"value": "no"},
        append_only=False,
    )
    assert later.status == "conflict"


def test_a_devices_later_write_replaces_its_own_earlier_one() -> None:
    rec = record(1, value=(Claim("a", "yes", 1),))
    m = merge(rec, device_id="a", base_version=0, fields={"value": "no"}, append_only=False)
    assert (m.status, m.claims["value"]) == ("merged", (Claim("a", "no", 2),))


def test_open_clash_survives_a_non_leader_who_saw_it() -> None:
    rec = record(2, value=(Claim("a", "yes", 1), Claim("b", "no", 2)))
    m = merge(rec, device_id="c", base_version=2, fields={"value": "not_checked"}, append_only=False)
    assert m.status == "conflict"
    assert [c.device_id for c in m.claims["value"]] == ["a", "b", "c"]


def test_leader_who_saw_the_clash_resolves_it() -> None:
    rec = record(2, value=(Claim("a", "yes", 1), Claim("b", "no", 2)))
    m = merge(rec, device_id="a", base_version=2, fields={"value": "no"}, append_only=False, may_resolve=True)
    assert (m.status, m.claims["value"]) == ("applied", (Claim("a", "no", 3),))


def test_leader_who_has_not_seen_every_value_cannot_resolve() -> None:
    rec = record(2, value=(Claim("a", "yes", 1), Claim("b", "no", 2)))
    m = merge(rec, device_id="a", base_version=1, fields={"value": "no"}, append_only=False, may_resolve=True)
    # a's claim becomes "no", agreeing with b: the clash closes by agreement, b's value kept.
    assert m.status == "merged"
    assert {c.device_id for c in m.claims["value"]} == {"a", "b"}


def test_nothing_new_is_a_duplicate() -> None:
    rec = record(3, value=(Claim("a", "yes", 1),))
    m = merge(rec, device_id="a", base_version=0, fields={"value": "yes"}, append_only=False)
    assert (m.status, m.version, m.changed) == ("duplicate", 3, False)


def test_true_and_one_are_different_values() -> None:
    rec = record(1, value=(Claim("a", 1, 1),))
    m = merge(rec, device_id="b", base_version=0, fields={"value": True}, append_only=False)
    assert m.status == "conflict"


def test_append_only_is_written_once() -> None:
    first = merge(None, device_id="a", base_version=0, fields={"d": "x"}, append_only=True)
    assert (first.status, first.version) == ("applied", 1)
    rec = StoredRecord("finding", "f", INS, 1, 1, first.claims)
    same = merge(rec, device_id="b", base_version=0, fields={"d": "x"}, append_only=True)
    other = merge(rec, device_id="a", base_version=0, fields={"d": "y"}, append_only=True)
    assert same.status == "duplicate"
    assert other.status == "rejected" and other.error is not None and other.error[0] == "sync_append_only"
