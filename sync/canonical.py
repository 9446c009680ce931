"""Canonical JSON: the one byte form used for hashing, for comparing values and for stored results.

Sorted keys, no insignificant whitespace, UTF-8 without ``\\u`` escapes for non-ASCII text: this is what
``JSON.stringify`` produces in JavaScript once object keys are sorted, so the PWA computes the same
bytes. NaN and infinities are refused because JSON has no spelling for them.
"""

from __future__ import annotations

import hashlib
import json
from typing import TypeAlias

JSON: TypeAlias = "bool | int | float | str | list[JSON] | dict[str, JSON] | None"


def canonical_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_hex(value: object) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def same_json(a: object, b: object) -> bool:
    """Equality as the wire sees it; Python's ``==`` would call ``True`` and ``1`` equal."""
    return canonical_json(a) == canonical_json(b)
