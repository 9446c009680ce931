"""Result categories and approved inspections for tests.

Tests empty every table after each test, seeded reference data included, so tests that need the
categories put them back with ``seed_categories()``. The list is read from the migration itself, so
the tests always use what a real database holds.

``approve`` leaves what the review's ``approve_inspection`` leaves, set directly on the models (for
tests of publication and follow-up that are not about review): the latest version approved, the
inspection ``approved`` with ``approved_at``, an ``InspectionResult`` on that version with its
categories. An inspection without a version (one never driven through the phones) gets a small one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.inspections.models import Inspection, InspectionVersion
from server.results.models import InspectionResult, InspectionResultCategory, ResultCategory

APPROVED_AT = dt.datetime(2025, 6, 5, 2, 0)  # naive UTC: 10:00 on Thursday 2025-06-05 in Shanghai
MIGRATION = (
    Path(__file__).resolve().parents[2] / "migrations" / "versions" / "20261129_b7d2f5a9c463_results.py"
)


@cache
def seeded_rows() -> tuple[tuple[Any, ...], ...]:
    spec = importlib.util.spec_from_file_location("results_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(module.CATEGORIES)


def seed_categories() -> dict[str, ResultCategory]:
    """The seeded categories (inserted as the migration does unless present), by code, committed.

    The first test on a fresh database still has the migration's rows; later tests start empty.
    """
    present = {c.code: c for c in db.session.scalars(select(ResultCategory))}
    rows = [
        ResultCategory(
            code=code,
            name=name,
            name_en=name_en,
            is_problem=problem,
            needs_follow_up=follow,
            ends_without_inspection=ends,
            position=(n + 1) * 10,
            active=True,
        )
        for n, (code, name, name_en, problem, follow, ends) in enumerate(seeded_rows())
        if code not in present
    ]
    db.session.add_all(rows)
    db.session.commit()
    return {**present, **{c.code: c for c in rows}}


def category(code: str) -> ResultCategory:
    seed_categories()
    return db.session.scalars(select(ResultCategory).where(ResultCategory.code == code)).one()


def _version(inspection: Inspection) -> InspectionVersion:
    latest = inspection.latest_version
    if latest is not None:
        return latest
    record: dict[str, Any] = {
        "v": 1,
        "inspection_id": inspection.id,
        "answers": [],
        "findings": [],
        "photos": [],
    }
    version = InspectionVersion(
        inspection=inspection,
        number=1,
        content_hash=hashlib.sha256(f"inspection {inspection.id}".encode()).hexdigest(),
        record=record,
        status="submitted",
        submitted_at=APPROVED_AT - dt.timedelta(days=2),
    )
    db.session.add(version)
    db.session.flush()
    return version


def approve(
    inspection: Inspection,
    *,
    categories: tuple[str, ...] = ("no_problem",),
    summary: str = "",
    publish: bool = True,
    withhold_status: str = "none",
    approved_at: dt.datetime = APPROVED_AT,
    checked_on: dt.date | None = dt.date(2025, 6, 3),
    result_due_on: dt.date | None = None,
) -> InspectionResult:
    """What the review's approval leaves behind (see the module docstring); committed."""
    inspection = db.session.get(Inspection, inspection.id) or inspection
    version = _version(inspection)
    version.status = "approved"
    version.decided_at = approved_at
    inspection.state = "approved"
    inspection.approved_at = approved_at
    if inspection.checked_on is None:
        inspection.checked_on = checked_on
    inspection.result_due_on = result_due_on
    result = InspectionResult(
        inspection_id=inspection.id,
        version_id=version.id,
        summary=summary,
        publish=publish,
        withhold_status=withhold_status,
        withhold_reason="涉及正在办理的案件" if withhold_status != "none" else "",
        entered_at=approved_at,
    )
    result.category_links = [InspectionResultCategory(category_id=category(code).id) for code in categories]
    db.session.add(result)
    db.session.commit()
    return result
