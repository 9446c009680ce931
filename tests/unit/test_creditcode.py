"""GB 32100 check digit."""

import random

from server.directory import creditcode
from server.directory.grams import name_grams, query_grams


def test_published_codes_validate() -> None:
    # The standard's own example (91350100M000100Y43) and codes printed on public business licences.
    for code in ("91350100M000100Y43", "91110000100006485K", "91440300708461136T", "914403001922038216"):
        assert creditcode.is_valid(code), code


def test_every_wrong_check_char_is_caught() -> None:
    code = "91110000100006485K"
    for c in creditcode.ALPHABET:
        if c != code[-1]:
            assert creditcode.problem(code[:-1] + c) == "check_digit"


def test_length_and_alphabet() -> None:
    assert creditcode.problem("9111000010000648") == "length"
    assert creditcode.problem("91110000I00006485K") == "alphabet"  # I is not in the alphabet


def test_generated_codes_are_valid() -> None:
    rng = random.Random(1)
    for kind in ("enterprise", "individual", "cooperative"):
        code = creditcode.make_code(kind, "140581", rng)
        assert creditcode.is_valid(code)
        assert code.startswith(creditcode.KIND_PREFIX[kind] + "140581")


def test_name_grams() -> None:
    assert name_grams("高平市食品店") == "高平 平市 市食 食品 品店 店"
    assert query_grams("食品店") == [["食品", "品店"]]
    assert query_grams("食") == [["食"]]
