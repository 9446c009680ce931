"""Pull by opaque cursor."""

from __future__ import annotations

import base64

import pytest

from sync.downstream import decode_cursor, encode_cursor, pull
from sync.errors import SyncError
from sync.store import MemoryStore
from sync.upstream import write_server_record

INS = "10000000-0000-4000-8000-000000000001"
OTHER = "10000000-0000-4000-8000-000000000002"


def test_cursor_round_trip_and_shape() -> None:
    cursor = encode_cursor(42)
    assert "=" not in cursor and "+" not in cursor and "/" not in cursor
    assert base64.urlsafe_b64decode(cursor + "==") == b'{"seq":42,"v":1}'
    assert decode_cursor(cursor, last_seq=42) == 42
    assert decode_cursor(None, last_seq=0) == 0


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        "",
        base64.urlsafe_b64encode(b"[1]").decode(),
        base64.urlsafe_b64encode(b'{"seq":1,"v":2}').decode(),
        base64.urlsafe_b64encode(b'{"seq":-1,"v":1}').decode(),
        base64.urlsafe_b64encode(b'{"seq":true,"v":1}').decode(),
        base64.urlsafe_b64encode(b'{"seq":"1","v":1}').decode(),
        encode_cursor(11),  # ahead of the server
    ],
)
def test_bad_cursors_are_refused(cursor: str) -> None:
    with pytest.raises(SyncError) as caught:
        decode_cursor(cursor, last_seq=10)
    assert caught.value.code == "sync_cursor_invalid" and caught.value.status == 400


def test_pages_return_each_record_once_at_its_latest_write() -> None:
    store = MemoryStore()
    write_server_record(store, "inspection", INS, {"notes": "1"})  # seq 1
    write_server_record(store, "inspection", OTHER, {"notes": "x"})  # seq 2
    write_server_record(store, "inspection", INS, {"notes": "2"})  # seq 3: INS moves behind OTHER
    page = pull(store, None, 1)
    assert [c["record_id"] for c in page["changes"]] == [OTHER] and page["has_more"] is True
    page2 = pull(store, str(page["cursor"]), 1)
    assert [(c["record_id"], c["fields"]) for c in page2["changes"]] == [(INS, {"notes": "2"})]
    assert page2["has_more"] is False
    empty = pull(store, str(page2["cursor"]), 1)
    assert empty == {"changes": [], "cursor": page2["cursor"], "has_more": False}


def test_pull_only_shows_allowed_inspections() -> None:
    store = MemoryStore()
    write_server_record(store, "inspection", INS, {"notes": "1"})
    write_server_record(store, "inspection", OTHER, {"notes": "x"})
    page = pull(store, None, 10, frozenset({OTHER}))
    assert [c["record_id"] for c in page["changes"]] == [OTHER]
    assert pull(store, None, 10, frozenset())["changes"] == []
