"""Shared by the field-sync tests: the golden fixtures and their two inspections."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sync.records import answer_id

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sync"
INSPECTION = "10000000-0000-4000-8000-000000000001"  # checkpoints 101, 102; on dev-a's and dev-b's team
OTHER_INSPECTION = "10000000-0000-4000-8000-000000000002"  # assigned to neither device


def load_fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def answer_change(change_id: int, checkpoint_id: int, value: str, base_version: int = 0) -> dict[str, Any]:
    """An upsert of the answer to ``checkpoint_id`` of INSPECTION, as a validated push change."""
    return {
        "change_id": f"c0000000-0000-4000-8000-{change_id:012d}",
        "record_type": "answer",
        "record_id": answer_id(INSPECTION, checkpoint_id),
        "op": "upsert",
        "base_version": base_version,
        "fields": {"inspection_id": INSPECTION, "checkpoint_id": checkpoint_id, "value": value},
        "client_time": "2025-06-03T09:01:00+08:00",
    }
