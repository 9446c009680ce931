"""Wire schemas: what a push and a pull may look like."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import ValidationError

from sync.errors import CODES, SyncError, change_error
from sync.messages import (
    MAX_CHANGES_PER_PUSH,
    check,
    pull_request_schema,
    pull_response_schema,
    push_request_schema,
    push_response_schema,
)

CHANGE: dict[str, Any] = {
    "change_id": "c0000000-0000-4000-8000-000000000001",
    "record_type": "answer",
    "record_id": "a0000000-0000-4000-8000-000000000001",
    "op": "upsert",
    "base_version": 0,
    "fields": {"value": "yes"},
    "client_time": "2025-06-03T10:00:00+08:00",
}


def test_valid_push_is_returned_as_sent() -> None:
    body = {"device_id": "dev-a", "changes": [CHANGE]}
    assert check(push_request_schema, body) == body
    assert isinstance(check(push_request_schema, body)["changes"][0]["client_time"], str)


@pytest.mark.parametrize(
    "bad",
    [
        {"change_id": "C0000000-0000-4000-8000-000000000001"},  # ids have one spelling: lowercase
        {"op": "delete"},
        {"base_version": -1},
        {"base_version": "1"},
        {"client_time": "2025-06-03T10:00:00"},  # a time without its offset is ambiguous
        {"fields": []},
        {"extra": 1},
    ],
)
def test_bad_changes_fail_the_envelope(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        check(push_request_schema, {"device_id": "dev-a", "changes": [{**CHANGE, **bad}]})


def test_push_size_limits() -> None:
    with pytest.raises(ValidationError):
        check(push_request_schema, {"device_id": "d", "changes": []})
    with pytest.raises(ValidationError):
        check(push_request_schema, {"device_id": "d", "changes": [CHANGE] * (MAX_CHANGES_PER_PUSH + 1)})
    with pytest.raises(ValidationError):
        check(push_request_schema, ["not", "an", "object"])


def test_pull_defaults_and_limits() -> None:
    assert check(pull_request_schema, {}) == {"cursor": None, "limit": 100}
    with pytest.raises(ValidationError):
        check(pull_request_schema, {"limit": 0})


def test_response_schemas_dump_what_the_reference_returns() -> None:
    push = {"results": [{"change_id": "x", "status": "applied", "record_version": 1}], "cursor": "c"}
    assert push_response_schema.dump(push) == push
    pull = {
        "changes": [
            {
                "seq": 1,
                "record_type": "answer",
                "record_id": "r",
                "version": 1,
                "fields": {"a": 1},
                "conflicts": [],
            }
        ],
        "cursor": "c",
        "has_more": False,
    }
    assert pull_response_schema.dump(pull) == pull


def test_problem_codes() -> None:
    assert all(code.startswith(("sync_", "inspection_")) for code in CODES)
    with pytest.raises(ValueError, match="unknown problem code"):
        SyncError("nope", "x")
    with pytest.raises(ValueError, match="not a per-change code"):
        change_error("sync_cursor_invalid", "x")
    problem = SyncError("inspection_incomplete", "1 missing", missing=[{"item": "answer"}])
    assert problem.status == 409 and problem.problem()["missing"] == [{"item": "answer"}]
