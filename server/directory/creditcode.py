"""统一社会信用代码 (GB 32100-2015): 18 characters, the last a check digit over 31 symbols.

Positions: 1 登记管理部门码, 2 机构类别码, 3–8 登记管理机关行政区划码, 9–17 主体标识码, 18 校验码.
"""

from __future__ import annotations

import random

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, S, V, Z
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


def check_char(first17: str) -> str:
    """The 18th character for the given first 17 (which must use the alphabet)."""
    total = sum(_VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    if len(code) != 18 or any(c not in _VALUE for c in code):
        return False
    return check_char(code[:17]) == code[17]


def problem(code: str) -> str | None:
    """Why a code is not valid, as a short reason code, or None when it is valid."""
    if len(code) != 18:
        return "length"
    if any(c not in _VALUE for c in code):
        return "alphabet"
    if check_char(code[:17]) != code[17]:
        return "check_digit"
    return None


# 机构类别码 after 登记管理部门码 9 (工商): 1 enterprise, 2 individual business, 3 farmer cooperative.
KIND_PREFIX = {"enterprise": "91", "individual": "92", "cooperative": "93"}


def make_code(kind: str, region: str, rng: random.Random) -> str:
    """A random, valid code for demo data: prefix by kind, a 6-digit region, 9 random symbols."""
    body = KIND_PREFIX[kind] + region + "".join(rng.choice(ALPHABET) for _ in range(9))
    return body + check_char(body)
