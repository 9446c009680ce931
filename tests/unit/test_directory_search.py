"""Turning search-box text into a code prefix or full-text phrases (no database)."""

from __future__ import annotations

from server.directory.search import ParsedQuery, fts5_match, parse_query
from server.directory.views import checkpoint_lines, parse_checkpoint_lines


def test_empty_query_asks_for_nothing() -> None:
    assert parse_query("   ") == ParsedQuery()


def test_chinese_fragment_becomes_bigram_phrases() -> None:
    assert parse_query("食品店") == ParsedQuery(phrases=[["食品", "品店"]])
    assert parse_query(" 文水 食品 ") == ParsedQuery(phrases=[["文水"], ["食品"]])


def test_single_character_is_a_prefix_search() -> None:
    parsed = parse_query("食")
    assert parsed.phrases == [["食"]]
    assert fts5_match(parsed.phrases) == '"食" *'


def test_code_prefix_is_upper_cased_and_kept_as_a_name_fallback() -> None:
    parsed = parse_query("91140000ab")
    assert parsed.code_prefix == "91140000AB"
    assert parsed.phrases == [["91", "11", "14", "40", "00", "00", "00", "0a", "ab"]]


def test_punctuation_only_separates_and_never_reaches_the_query_syntax() -> None:
    assert parse_query('食品"店') == ParsedQuery(phrases=[["食品"], ["店"]])
    assert parse_query("（）*") == ParsedQuery(unsearchable=True)
    assert parse_query("OR 食品").code_prefix is None


def test_fts5_match_quotes_phrases_and_ands_them() -> None:
    assert fts5_match([["文水"], ["食品", "品店"]]) == '"文水" AND "食品 品店"'
    assert fts5_match([['a"b']]) == '"a""b"'


def test_checkpoint_lines_round_trip() -> None:
    parsed = parse_checkpoint_lines("查看营业执照 | 现场检查\n\n  检查进货查验记录｜书面检查 \n只写要点")
    assert parsed == [
        {"text": "查看营业执照", "method": "现场检查"},
        {"text": "检查进货查验记录", "method": "书面检查"},
        {"text": "只写要点", "method": ""},
    ]

    class Cp:
        def __init__(self, text: str, method: str) -> None:
            self.text, self.method = text, method

    class It:
        def __init__(self) -> None:
            self.checkpoints = [Cp(p["text"], p["method"]) for p in parsed]

    assert parse_checkpoint_lines(checkpoint_lines(It())) == parsed
