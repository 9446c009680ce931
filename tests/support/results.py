"""Approved inspections with results, for tests of publication and follow-up.

The review services (approve with a result) are written in parallel, so ``approve`` sets what their
``approve_inspection`` sets, directly on the models: the latest version approved, the inspection
``approved`` with ``approved_at``, an ``InspectionResult`` on that version with its categories. An
inspection without a version (one never driven through the phones) gets a small frozen version.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.util
from pathlib import Path
from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.inspections.models import Inspection, InspectionVersion
from server.results.models import InspectionResult, InspectionResultCategory, ResultCategory

APPROVED_AT = dt.datetime(2025, 6, 5, 2, 0)  # naive UTC: 10:00 on Thursday 2025-06-05 in Shanghai


def _seeded_categories() -> list[tuple[str, str, str, bool, bool, bool]]:
    """The migration's seed list: the one source of the categories the tests use."""
    path = next(Path(__file__).resolve().parents[2].glob("migrations/versions/*_b7d2f5a9c463_results.py"))
    spec = importlib.util.spec_from_file_location("results_migration", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.CATEGORIES)


def ensure_categories() -> None:
    """Tests empty every table after each test, seeded reference data too: put the seed back."""
    if db.session.scalar(select(ResultCategory.id).limit(1)) is not None:
        return
    for n, (code, name, name_en, problem, follow, ends) in enumerate(_seeded_categories()):
        db.session.add(
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
        )
    db.session.commit()


def category(code: str) -> ResultCategory:
    ensure_categories()
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
