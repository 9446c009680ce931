"""The protocol's problem codes.

A problem is ``{"code": ..., "detail": ...}`` (plus ``missing`` for ``inspection_incomplete``). Codes are
stable; the PWA branches on them, never on ``detail``. Per-change codes appear in a push result's
``error``; request-level codes are the body of a non-2xx response (the HTTP status is given here).
"""

from __future__ import annotations

from typing import Final

from sync.canonical import JSON

# code -> (HTTP status when the whole request fails; 200 for codes only ever used inside a push result)
CODES: Final[dict[str, int]] = {
    # Request-level: the push/pull envelope failed schema validation; nothing was applied.
    "sync_bad_request": 400,
    # Request-level: the pull cursor is not one this server issued (garbled, wrong version, or ahead of
    # the server, e.g. after a restore); the client drops it and pulls again from the start.
    "sync_cursor_invalid": 400,
    # Request-level: HEAD/GET /blobs/<sha256> — the server does not hold this blob yet; PUT it.
    "sync_missing_blob": 404,
    # Request-level: PUT /blobs/<sha256> — the body's SHA-256 differs from the URL; nothing stored.
    "sync_blob_hash_mismatch": 400,
    # Request-level: finalize refused; ``missing`` lists exactly what the two-person rule still needs.
    "inspection_incomplete": 409,
    # Per change: record_type is not one this server knows (a newer client); the change is not applied.
    "sync_unknown_record_type": 200,
    # Per change: base_version is higher than the server's version of the record (it never issued it).
    "sync_base_version_ahead": 200,
    # Per change: a different write to an append-only record (finding, photo, signature, refusal, check-in).
    "sync_append_only": 200,
    # Per change: a field this record type does not accept from devices, or an immutable field changed.
    "sync_field_not_allowed": 200,
    # Per change: the change is inconsistent (wrong op for the type, bad value, wrong derived id, ...).
    "sync_bad_change": 200,
    # Per change: the inspection the change belongs to does not exist on the server.
    "sync_unknown_inspection": 200,
    # Per change: the device's user is not on this inspection's team, or the change names another
    # inspector as its author (signer_id, recorded_by, inspector_id).
    "sync_forbidden": 200,
    # Per change: this change_id was already used by another device; change ids must be fresh UUIDs.
    "sync_change_id_reused": 200,
    # Per change: the inspection is submitted for review (or approved, published, archived) and takes no
    # device writes until a reviewer returns it; the device shows the change as rejected, never drops it.
    "sync_inspection_locked": 200,
}


class SyncError(Exception):
    """A request-level problem; the server renders it as a problem document with CODES[code]."""

    def __init__(self, code: str, detail: str, missing: list[dict[str, JSON]] | None = None) -> None:
        if code not in CODES:
            raise ValueError(f"unknown problem code {code!r}")
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail
        self.missing = missing

    @property
    def status(self) -> int:
        return CODES[self.code]

    def problem(self) -> dict[str, JSON]:
        body: dict[str, JSON] = {"code": self.code, "detail": self.detail}
        if self.missing is not None:
            body["missing"] = list(self.missing)
        return body


def change_error(code: str, detail: str) -> dict[str, JSON]:
    """The ``error`` object of a rejected push result."""
    if CODES.get(code) != 200:
        raise ValueError(f"{code!r} is not a per-change code")
    return {"code": code, "detail": detail}
