"""Result categories for tests: the exact list the results migration seeds.

Tests empty every table after each test, seeded reference data included, so tests that need the
categories put them back with ``seed_categories()``. The list is read from the migration itself, so
the tests always use what a real database holds.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import select

from server.extensions import db
from server.results.models import ResultCategory

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
