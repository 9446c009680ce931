"""Content hash, signature staleness and the two-person rule."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from sync.content import (
    Snapshot,
    check_complete,
    completeness,
    content_hash,
    content_of,
    signature_status,
    verify_blob,
)
from sync.errors import SyncError
from sync.store import MemoryStore
from sync.upstream import write_server_record

INS = "10000000-0000-4000-8000-000000000001"
PHOTO = "a" * 64


def snap(**over: Any) -> Snapshot:
    s = Snapshot(INS, {"checkpoint_ids": [1, 2], "inspector_ids": [11, 12, 13], "notes": "n"})
    s.answers = [
        {"checkpoint_id": 2, "value": "no", "note": None},
        {"checkpoint_id": 1, "value": "yes", "note": "ok"},
    ]
    s.photos = [{"sha256": PHOTO}]
    for key, value in over.items():
        setattr(s, key, value)
    return s


def sig(role: str, signer: int | None, content: str, png: str = "b" * 64) -> dict[str, Any]:
    return {"signer_role": role, "signer_id": signer, "content_hash": content, "png_sha256": png}


def signed(s: Snapshot, *signers: int, representative: bool = True) -> Snapshot:
    h = content_hash(s)
    s.signatures = [(f"s{i}", sig("inspector", i, h)) for i in signers]
    if representative:
        s.signatures.append(("s-rep", sig("representative", None, h)))
    return s


def items(missing: list[dict[str, Any]]) -> list[str]:
    return [str(m["item"]) for m in missing]


def test_content_is_canonical_and_order_free() -> None:
    a, b = snap(), snap()
    b.answers = list(reversed(b.answers))
    b.photos = [{"sha256": PHOTO}, {"sha256": PHOTO}]
    assert content_hash(a) == content_hash(b)
    answers = content_of(a)["answers"]
    assert isinstance(answers, list)
    assert [x["checkpoint_id"] for x in answers if isinstance(x, dict)] == [1, 2]
    # The exact bytes, so the PWA can check its own implementation against this value.
    expected = (
        '{"answers":[{"checkpoint_id":1,"note":"ok","value":"yes"},{"checkpoint_id":2,"note":null,"value":"no"}],'
        '"findings":[],"inspection_id":"'
        + INS
        + '","notes":"n","outcome":null,"photos":["'
        + PHOTO
        + '"],"v":1}'
    )
    assert content_hash(a) == hashlib.sha256(expected.encode()).hexdigest()


@pytest.mark.parametrize(
    "edit",
    [
        lambda s: s.answers[0].update(note="x"),
        lambda s: s.inspection.update(notes="other"),
        lambda s: s.photos.append({"sha256": "c" * 64}),
        lambda s: s.findings.append(("f1", {"checkpoint_id": None, "description": "d"})),
        lambda s: setattr(s, "outcome", {"code": "no_contact", "note": None}),
    ],
)
def test_any_edit_makes_signatures_stale(edit: Any) -> None:
    s = snap()
    before = content_hash(s)
    edit(s)
    assert signature_status(before, content_hash(s)) == "stale"
    assert signature_status(content_hash(s), content_hash(s)) == "valid"


def test_signatures_and_checkins_are_not_content() -> None:
    s = snap()
    before = content_hash(s)
    signed(s, 11, 12)
    s.checkins = [{"inspector_id": 11}]
    assert content_hash(s) == before


def test_complete_with_two_inspectors_and_the_representative() -> None:
    assert completeness(signed(snap(), 11, 12), lambda _: True) == []


def test_one_inspector_twice_is_not_two() -> None:
    s = signed(snap(), 11, 11)
    s.signatures.append(("dup", sig("inspector", 11, content_hash(s))))
    missing = completeness(s, lambda _: True)
    assert missing == [
        {
            "item": "inspector_signatures",
            "content_hash": content_hash(s),
            "needed": 2,
            "signed_by": [11],
            "not_signed": [12, 13],
        }
    ]


def test_unassigned_or_stale_signers_do_not_count() -> None:
    s = signed(snap(), 11, 99)
    s.signatures.append(("old", sig("inspector", 12, "0" * 64)))
    assert items(completeness(s, lambda _: True)) == ["inspector_signatures"]


def test_representative_or_refusal_with_witness() -> None:
    s = signed(snap(), 11, 12, representative=False)
    assert items(completeness(s, lambda _: True)) == ["representative_signature_or_refusal"]
    s.refusals = [("r1", {"content_hash": content_hash(s), "witness_name": ""})]
    assert items(completeness(s, lambda _: True)) == ["representative_signature_or_refusal"]
    s.refusals = [("r1", {"content_hash": "0" * 64, "witness_name": "王"})]  # refused other content
    assert items(completeness(s, lambda _: True)) == ["representative_signature_or_refusal"]
    s.refusals = [("r1", {"content_hash": content_hash(s), "witness_name": "王"})]
    assert completeness(s, lambda _: True) == []


def test_unanswered_checkpoints_clashes_and_blobs_are_listed() -> None:
    s = snap()
    s.answers = [{"checkpoint_id": 1, "value": None}]
    s.clashes = [{"record_type": "answer", "record_id": "r", "field": "value"}]
    signed(s, 11, 12)
    missing = completeness(s, lambda sha: sha != PHOTO)
    assert missing == [
        {"item": "answer", "checkpoint_id": 1},
        {"item": "answer", "checkpoint_id": 2},
        {"item": "clash", "record_type": "answer", "record_id": "r", "field": "value"},
        {"item": "blob", "sha256": PHOTO},
    ]


def test_special_outcomes() -> None:
    s = snap(answers=[], photos=[], outcome={"code": "no_contact", "note": None})
    signed(s, 11, 12, representative=False)
    assert completeness(s, lambda _: True) == [{"item": "evidence_photo", "outcome": "no_contact"}]
    s.photos = [{"sha256": PHOTO}]
    signed(s, 11, 12, representative=False)
    assert completeness(s, lambda _: True) == []
    # Refusing to cooperate still needs the refusal (or a signature): somebody was there.
    s.outcome = {"code": "refused_cooperation", "note": None}
    signed(s, 11, 12, representative=False)
    assert items(completeness(s, lambda _: True)) == ["representative_signature_or_refusal"]


def test_check_complete_reads_the_store() -> None:
    store = MemoryStore()
    write_server_record(store, "inspection", INS, {"checkpoint_ids": [], "inspector_ids": [11, 12]})
    with pytest.raises(SyncError) as caught:
        check_complete(store, INS, lambda _: True)
    assert caught.value.code == "inspection_incomplete"
    assert items(caught.value.missing or []) == [
        "inspector_signatures",
        "representative_signature_or_refusal",
    ]


def test_blob_is_rehashed() -> None:
    data = b"photo"
    assert verify_blob(hashlib.sha256(data).hexdigest(), data) == hashlib.sha256(data).hexdigest()
    with pytest.raises(SyncError) as caught:
        verify_blob("0" * 64, data)
    assert caught.value.code == "sync_blob_hash_mismatch"
