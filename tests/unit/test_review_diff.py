"""Pure review helpers: the version diff, the photo checks and the suggested result categories."""

from __future__ import annotations

from typing import Any

import pytest

from server.results.services import suggested_codes
from server.review.diff import diff_records
from server.review.photos import photo_checks


def _record(
    answers: list[tuple[int, str | None, str | None]],
    *,
    notes: str | None = None,
    outcome: dict[str, Any] | None = None,
    findings: tuple[str, ...] = (),
    photos: tuple[str, ...] = (),
    signatures: tuple[str, ...] = (),
    content_hash: str = "a" * 64,
) -> dict[str, Any]:
    return {
        "content_hash": content_hash,
        "content": {
            "notes": notes,
            "outcome": outcome,
            "answers": [{"checkpoint_id": c, "value": v, "note": n} for c, v, n in answers],
        },
        "inspection": {
            "checklist": [
                {"checkpoints": [{"id": 1, "text": "年报是否公示"}, {"id": 2, "text": "住所是否一致"}]}
            ]
        },
        "answers": [{"checkpoint_id": c, "value": v} for c, v, _ in answers],
        "findings": [{"id": f, "description": f"问题{f}"} for f in findings],
        "photos": [{"sha256": p, "taken_at": "2025-06-03T09:00:00+08:00"} for p in photos],
        "signatures": [{"id": s, "signer_name": s} for s in signatures],
    }


def test_identical_versions_have_an_empty_diff() -> None:
    rec = _record([(1, "yes", None), (2, "yes", None)], photos=("p1",), signatures=("s1",))
    diff = diff_records(rec, rec, 1, 2)
    assert diff.empty and not diff.content_changed


def test_answers_notes_outcome_findings_photos_and_signatures() -> None:
    old = _record([(1, "yes", None), (2, "yes", None)], photos=("p1", "p2"), signatures=("s1",))
    new = _record(
        [(1, "yes", ""), (2, "no", "地址不符")],
        notes="补充说明",
        outcome={"code": "no_activity", "note": ""},
        findings=("f1",),
        photos=("p2", "p3"),
        signatures=("s1", "s2"),
        content_hash="b" * 64,
    )
    diff = diff_records(old, new, 1, 2)
    assert diff.content_changed and not diff.empty
    [change] = diff.answers  # checkpoint 1: None and "" are both "no note", so unchanged
    assert (change.checkpoint_id, change.text, change.old_value, change.new_value) == (
        2,
        "住所是否一致",
        "yes",
        "no",
    )
    assert change.value_changed and change.note_changed and change.new_note == "地址不符"
    assert diff.notes == (None, "补充说明")
    assert diff.outcome == (None, {"code": "no_activity", "note": ""})
    assert [f["id"] for f in diff.findings_added] == ["f1"] and diff.findings_removed == []
    assert [p["sha256"] for p in diff.photos_added] == ["p3"]
    assert [p["sha256"] for p in diff.photos_removed] == ["p1"]
    assert [s["id"] for s in diff.signatures_added] == ["s2"]
    data = diff.as_dict()
    assert data["notes"] == {"old": None, "new": "补充说明"} and data["content_changed"] is True
    assert data["answers"][0]["checkpoint_id"] == 2


def test_a_newly_answered_checkpoint_is_a_change() -> None:
    diff = diff_records(_record([(1, "yes", None)]), _record([(1, "yes", None), (2, "not_applicable", None)]))
    [change] = diff.answers
    assert change.old_value is None and change.new_value == "not_applicable"


def test_photo_checks_compare_device_and_exif() -> None:
    near = {
        "lat": 35.7913,
        "lon": 112.9236,
        "exif_lat": 35.7915,
        "exif_lon": 112.9237,
        "taken_at": "2025-06-03T09:12:00+08:00",
        "exif_taken_at": "2025-06-03T01:13:00Z",
    }
    checks = photo_checks(near)
    assert checks["distance_m"] == pytest.approx(24, abs=3)
    assert checks["time_gap_s"] == 60
    assert not checks["gps_mismatch"] and not checks["time_mismatch"]
    far = {**near, "exif_lat": 39.9075, "exif_lon": 116.3973, "exif_taken_at": "2026-05-01T02:20:30Z"}
    checks = photo_checks(far)
    assert checks["distance_m"] > 500_000 and checks["gps_mismatch"] and checks["time_mismatch"]
    missing = photo_checks({"lat": None, "lon": None, "taken_at": "garbled"})
    assert missing == {"distance_m": None, "time_gap_s": None, "gps_mismatch": False, "time_mismatch": False}


@pytest.mark.parametrize(
    ("record", "codes"),
    [
        ({"outcome": {"code": "deregistered"}, "answers": []}, ["deregistered"]),
        ({"outcome": None, "answers": [{"value": "yes"}, {"value": "no"}]}, ["pending"]),
        ({"outcome": None, "answers": [{"value": "yes"}], "findings": [{"id": "f"}]}, ["pending"]),
        (
            {"outcome": {"code": None}, "answers": [{"value": "yes"}, {"value": "not_applicable"}]},
            ["no_problem"],
        ),
    ],
)
def test_suggested_categories(record: dict[str, Any], codes: list[str]) -> None:
    assert suggested_codes(record) == codes
