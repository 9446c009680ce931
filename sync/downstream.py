"""Pull: the records that changed after a cursor, oldest change first, in pages.

The cursor is opaque to clients: base64url (no padding) of the canonical JSON ``{"seq":N,"v":1}``.
It carries no MAC on purpose: a device can only ever pull inspections it is assigned to, so a forged
cursor can at worst make it re-read or skip its own data — the server filters by access, not by
cursor. The version field lets the encoding change later; an unknown version is ``sync_cursor_invalid``.

A page holds each changed record once, in its latest state (a record written three times since the
cursor appears once, at the seq of its latest write). Because seqs are handed out in commit order
(see ``store.Store``), a page never skips a change that commits later with a smaller seq.
"""

from __future__ import annotations

import base64
import binascii
import json

from sync.canonical import JSON, canonical_json
from sync.errors import SyncError
from sync.store import Store, StoredRecord

CURSOR_VERSION = 1


def encode_cursor(seq: int) -> str:
    raw = canonical_json({"seq": seq, "v": CURSOR_VERSION}).encode("ascii")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str | None, last_seq: int) -> int:
    """The seq a cursor stands for (0 for none); ``SyncError('sync_cursor_invalid')`` otherwise."""
    if cursor is None:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw.decode("ascii"))
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise SyncError("sync_cursor_invalid", "the cursor is not one this server issued") from exc
    if not isinstance(data, dict) or data.get("v") != CURSOR_VERSION:
        raise SyncError("sync_cursor_invalid", "unknown cursor version")
    seq = data.get("seq")
    if not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        raise SyncError("sync_cursor_invalid", "the cursor is not one this server issued")
    if seq > last_seq:
        # Issued by a server whose log went further than ours (e.g. before a restore from backup): the
        # device must start over, or it would silently miss everything written up to that seq.
        raise SyncError("sync_cursor_invalid", "the cursor is ahead of this server; pull from the start")
    return seq


def pulled_record(record: StoredRecord) -> dict[str, JSON]:
    return {
        "seq": record.seq,
        "record_type": record.record_type,
        "record_id": record.record_id,
        "version": record.version,
        "fields": record.fields(),
        "conflicts": list(record.conflicts()),
    }


def pull(
    store: Store, cursor: str | None, limit: int, inspection_ids: frozenset[str] | None = None
) -> dict[str, JSON]:
    """The PullResponse body for records (of ``inspection_ids``; None: all) changed after ``cursor``.

    With ``inspection_ids`` the response also lists them as ``assigned``: the inspections the device's
    user is on now. One missing from it was withdrawn (a replacement, a voided draw, the archive); the
    device keeps whatever it has not synced of it and drops the rest.
    """
    after = decode_cursor(cursor, store.last_seq())
    page = store.changes_since(after, limit + 1, inspection_ids)
    has_more = len(page) > limit
    page = page[:limit]
    # An empty page keeps the cursor where it was: moving it to last_seq would be safe only if that
    # read were in the same snapshot as the page, and staying put is always safe.
    next_seq = page[-1].seq if page else after
    body: dict[str, JSON] = {
        "changes": [pulled_record(r) for r in page],
        "cursor": encode_cursor(next_seq),
        "has_more": has_more,
    }
    if inspection_ids is not None:
        assigned: list[JSON] = [*sorted(inspection_ids)]
        body["assigned"] = assigned
    return body
