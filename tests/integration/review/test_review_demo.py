"""``flask review demo-submissions``: demo inspections submitted through the real sync services."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select

from server.audit.services import verify_chain
from server.extensions import db
from server.inspections.models import Inspection, InspectionVersion
from server.review.models import ReviewComment


def _invoke(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.output


def test_demo_submissions(app: Flask) -> None:
    _invoke(app, "demo", "--targets", "300")
    out = _invoke(app, "review", "demo-submissions", "--count", "5")
    assert "5 inspections submitted" in out
    db.session.expire_all()
    submitted = list(db.session.scalars(select(Inspection).where(Inspection.state == "submitted")))
    assert len(submitted) == 5
    versions = list(db.session.scalars(select(InspectionVersion)))
    by_inspection: dict[int, list[InspectionVersion]] = {}
    for v in versions:
        by_inspection.setdefault(v.inspection_id, []).append(v)
    # One was returned with comments and resubmitted: its version 1 returned, version 2 submitted.
    twice = [vs for vs in by_inspection.values() if len(vs) == 2]
    assert len(twice) == 1
    assert sorted((v.number, v.status) for v in twice[0]) == [(1, "returned"), (2, "submitted")]
    assert db.session.scalar(select(ReviewComment.id).limit(1)) is not None
    latest = [max(vs, key=lambda v: v.number) for vs in by_inspection.values()]
    outcomes = [v.record["outcome"]["code"] for v in latest if v.record["outcome"]]
    assert outcomes == ["no_contact"]
    assert any(a["value"] == "no" for v in latest for a in v.record["answers"])
    for v in latest:
        # Every version carries genuine signatures over its own content hash and its photo's EXIF.
        valid = [s for s in v.record["signatures"] if s["status"] == "valid"]
        assert len([s for s in valid if s["signer_role"] == "inspector"]) == 2
        assert all(p["exif_lat"] is not None for p in v.record["photos"])
    assert verify_chain() == []
    again = _invoke(app, "review", "demo-submissions", "--if-none")
    assert "nothing done" in again


def test_demo_decisions(app: Flask) -> None:
    from server.followup.models import FollowUp
    from server.results.models import InspectionResult
    from tests.support.results import seed_categories

    seed_categories()  # emptied with every table after the previous test; a real database has them
    _invoke(app, "demo", "--targets", "300")
    _invoke(app, "review", "demo-submissions", "--count", "6")
    out = _invoke(app, "review", "demo-decisions", "--keep", "2")
    assert "4 approved, 3 published, 1 awaiting" in out
    db.session.expire_all()
    states = sorted(i.state for i in db.session.scalars(select(Inspection)) if i.state != "assigned")
    assert states == ["approved", "published", "published", "published", "submitted", "submitted"]
    results = list(db.session.scalars(select(InspectionResult)))
    assert sorted(r.withhold_status for r in results) == ["none", "none", "none", "requested"]
    assert all(r.withhold_reason for r in results if r.withhold_status == "requested")
    # The problem found (a 否 answer) and the target that could not be contacted are followed up.
    follow_ups = list(db.session.scalars(select(FollowUp)))
    assert sorted(f.kind for f in follow_ups) == ["correction", "routine"]
    assert all(f.status == "open" for f in follow_ups)
    assert verify_chain() == []
    again = _invoke(app, "review", "demo-decisions", "--if-none")
    assert "nothing done" in again
